import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import VoxPluginKit

/// Turns every failure into the one JSON error shape, gives each request an
/// id (`X-Request-Id`), and logs server-side failures with their details.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = VoxRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = request.headers[.xRequestID] ?? RequestID.next()
        var context = context
        context.logger[metadataKey: "request.id"] = .string(id)
        context.requestID = id
        do {
            var response = try await next(request, context)
            response.headers[.xRequestID] = id
            return response
        } catch {
            let vox = Self.translate(error, request: request)
            if vox.code == .internal {
                context.logger.error("request failed", metadata: ["error": .string(String(describing: error)), "path": .string(request.uri.path)])
            }
            var response = try vox.response(from: request, context: context)
            response.headers[.xRequestID] = id
            return response
        }
    }

    static func translate(_ error: Error, request: Request) -> VoxError {
        switch error {
        case let e as VoxError: return e
        case let e as HTTPError:
            switch e.status {
            case .notFound: return VoxError(.notFound, "no route \(request.method) \(request.uri.path) (see the README's socket API)")
            case .contentTooLarge: return VoxError(.invalidRequest, "request body is larger than the limit of \(APILimits.maxBodyBytes) bytes (limits.max_body_bytes)", status: .contentTooLarge)
            case .methodNotAllowed: return VoxError(.invalidRequest, "\(request.method) is not allowed on \(request.uri.path)", status: .methodNotAllowed)
            default:
                return VoxError(e.status.code >= 500 ? .internal : .invalidRequest, e.body ?? e.status.reasonPhrase, status: e.status)
            }
        case is NIOTooManyBytesError:
            return VoxError(.invalidRequest, "request body is larger than the limit of \(APILimits.maxBodyBytes) bytes (limits.max_body_bytes)", status: .contentTooLarge)
        case let e as DecodingError: return VoxError(.invalidRequest, "malformed JSON body: \(Self.describe(e))")
        case let e as VoxPluginError: return VoxError(e.code, e.message)
        default: return VoxError(.internal, "internal error (see the daemon's log)")
        }
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "" : " at \(p.hasPrefix(".") ? String(p.dropFirst()) : p)"
        }
        switch e {
        case .dataCorrupted(let c): return "not valid JSON\(path(c))"
        case .keyNotFound(let k, let c): return "missing field \"\(k.stringValue)\"\(path(c))"
        case .typeMismatch(let t, let c): return "wrong type\(path(c)): expected \(t)"
        case .valueNotFound(let t, let c): return "null where \(t) is required\(path(c))"
        @unknown default: return "\(e)"
        }
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-Id")!
    // What served a request (validated once, not on every response).
    static let xVoxProvider = HTTPField.Name("X-Vox-Provider")!
    static let xVoxModel = HTTPField.Name("X-Vox-Model")!
    static let xVoxVoice = HTTPField.Name("X-Vox-Voice")!
    static let xVoxAttempts = HTTPField.Name("X-Vox-Attempts")!
    static let xVoxSampleRate = HTTPField.Name("X-Vox-Sample-Rate")!
}

/// Request ids: unique per daemon run, cheap (no logger metadata involved).
enum RequestID {
    private static let prefix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    private static let counter = SerialCounter()

    static func next() -> String { "\(prefix)-\(counter.increment())" }
}

/// A lock-protected counter: each call gets the next number, from 1.
final class SerialCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value: UInt64 = 0
    func increment() -> UInt64 { lock.withLock { value += 1; return value } }
}

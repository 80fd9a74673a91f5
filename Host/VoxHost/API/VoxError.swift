import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VoxPluginKit

/// The one error shape of the socket API:
/// `{"error": {"code", "message", "provider", "retriable"}}`, plus
/// `"problems": [{"path", "reason"}]` when a body was refused for several
/// reasons at once (validation reports all of them; the message lists them too).
/// Codes are the ABI's closed set; `status(for:)` is the only place that maps
/// a code to an HTTP status.
public struct VoxError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public var code: VoxErrorCode
    public var message: String
    public var provider: String?
    public var retriable: Bool
    /// Only for answers the codes cannot express: 413 (body too large),
    /// 409 (stale version, duplicate name, still referenced), 428 (no version).
    public var statusOverride: HTTPResponse.Status?
    public var retryAfterSeconds: Int?
    /// More headers for the answer (a key's `X-RateLimit-*`).
    public var headers: HTTPFields = [:]
    /// Every problem of a refused body, each naming its field.
    public var problems: [FieldProblem]?

    public init(_ code: VoxErrorCode, _ message: String, provider: String? = nil, retriable: Bool? = nil,
                status: HTTPResponse.Status? = nil) {
        self.code = code
        self.message = message
        self.provider = provider
        self.retriable = retriable ?? code.retriableByDefault
        self.statusOverride = status
    }

    /// A plugin's error, attributed to its provider.
    public init(_ e: VoxPluginError, provider: String) {
        self.init(e.code, e.message, provider: provider, retriable: e.retriable)
        retryAfterSeconds = e.retryAfterMs.map { max(1, ($0 + 999) / 1000) }
    }

    public static func status(for code: VoxErrorCode) -> HTTPResponse.Status {
        switch code {
        case .invalidRequest: return .badRequest
        case .unauthenticated: return .unauthorized
        case .forbidden: return .forbidden
        case .notFound: return .notFound
        case .rateLimited: return .tooManyRequests
        case .unavailable: return .serviceUnavailable
        case .timeout: return .gatewayTimeout
        case .unsupported: return .notImplemented
        case .cancelled: return HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")
        case .internal: return .internalServerError
        }
    }

    public var status: HTTPResponse.Status { statusOverride ?? Self.status(for: code) }

    public var description: String { "\(code.name): \(message)" + (provider.map { " (provider \($0))" } ?? "") }

    /// A refusal listing every problem (400 unless `status` says otherwise).
    public init(problems: [FieldProblem], what: String, status: HTTPResponse.Status? = nil) {
        let n = problems.count
        self.init(.invalidRequest, "\(what): \(n) problem\(n == 1 ? "" : "s"): " + problems.map(\.description).joined(separator: "; "), status: status)
        self.problems = problems
    }

    /// A 409: the write conflicts with the stored state; nothing changed.
    public static func conflict(_ message: String) -> VoxError {
        VoxError(.invalidRequest, message, status: .conflict)
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "code": .string(code.name),
            "message": .string(message),
            "provider": provider.map(JSONValue.string) ?? .null,
            "retriable": .bool(retriable),
        ]
        if let problems { o["problems"] = .array(problems.map(\.json)) }
        return .object(["error": .object(o)])
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        for f in self.headers { headers[f.name] = f.value }
        let body = (try? VoxJSON.encode(json)) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// One thing wrong with a request body: the field's path (`llm.temperature`,
/// `variables[2].name`, `text`) and why.
/// A problem inside a text (a malformed placeholder) also carries where it
/// is: the character offset from 0, and line and column from 1.
public struct FieldProblem: Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var position: TextPosition?
    public init(_ path: String, _ reason: String, at position: TextPosition? = nil) {
        self.path = path; self.reason = reason; self.position = position
    }
    public var description: String {
        let at = position.map { " at offset \($0.offset) (line \($0.line), column \($0.column))" } ?? ""
        return (path.isEmpty ? "" : "\(path): ") + reason + at
    }
    public var json: JSONValue {
        var o: [String: JSONValue] = ["path": .string(path), "reason": .string(reason)]
        if let p = position {
            o["position"] = .number(Double(p.offset)); o["line"] = .number(Double(p.line)); o["column"] = .number(Double(p.column))
        }
        return .object(o)
    }
}

public struct TextPosition: Hashable, Sendable {
    public var offset: Int
    public var line: Int
    public var column: Int
    public init(offset: Int, line: Int, column: Int) { self.offset = offset; self.line = line; self.column = column }
}

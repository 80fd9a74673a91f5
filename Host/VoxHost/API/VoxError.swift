import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VoxPluginKit

/// The one error shape of the socket API:
/// `{"error": {"code", "message", "provider", "retriable"}}`.
/// Codes are the ABI's closed set; `status(for:)` is the only place that maps
/// a code to an HTTP status.
public struct VoxError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public var code: VoxErrorCode
    public var message: String
    public var provider: String?
    public var retriable: Bool
    /// Only for transport-level answers the codes cannot express (413).
    public var statusOverride: HTTPResponse.Status?
    public var retryAfterSeconds: Int?

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

    public var json: JSONValue {
        .object(["error": .object([
            "code": .string(code.name),
            "message": .string(message),
            "provider": provider.map(JSONValue.string) ?? .null,
            "retriable": .bool(retriable),
        ])])
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        let body = (try? VoxJSON.encode(json)) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

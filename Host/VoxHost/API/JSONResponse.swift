import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VoxPluginKit

/// A JSON response from any Encodable (sorted keys, stable bytes).
func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, etag version: Int? = nil) throws -> Response {
    let data = try VoxJSON.encode(value)
    var r = Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    if let version { r.headers[.eTag] = "\"\(version)\"" }
    return r
}

extension Request {
    /// A query parameter, nil when absent or empty.
    func query(_ name: String) -> String? {
        guard let v = uri.queryParameters[name[...]].map(String.init), !v.isEmpty else { return nil }
        return v
    }

    /// A boolean query parameter (true/1/yes), refusing anything else.
    func boolQuery(_ name: String) throws -> Bool {
        guard let v = query(name)?.lowercased() else { return false }
        switch v {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw VoxError(.invalidRequest, "query parameter \(name) must be true or false, not \"\(v)\"")
        }
    }
}

extension Request {
    /// Decodes a JSON body of at most `limits.max_body_bytes`, with errors
    /// that name the field (our coder, not the framework's generic message).
    func decodeJSON<T: Decodable>(_ type: T.Type, context: VoxRequestContext) async throws -> T {
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        guard buffer.readableBytes > 0 else { throw VoxError(.invalidRequest, "the request needs a JSON body") }
        return try VoxJSON.decode(type, from: Data(buffer.readableBytesView))
    }
}

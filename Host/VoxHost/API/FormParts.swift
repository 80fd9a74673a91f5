import Foundation
import HTTPTypes
import Hummingbird
import MultipartKit
import NIOCore

/// A `multipart/form-data` request body as parts (MultipartKit's parser),
/// with the upload limit and clear errors for what is not a form.
struct FormParts {
    struct Part {
        var name: String
        var fileName: String?
        var contentType: String?
        var bytes: [UInt8]
        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    static func read(_ request: Request, limit: Int, what: String) async throws -> [Part] {
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/form-data"),
              let boundary = boundary(of: type) else {
            throw VoxError(.invalidRequest, what)
        }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch is NIOTooManyBytesError {
            throw VoxError(.invalidRequest, "the upload is larger than the limit of \(limit) bytes (limits.max_upload_bytes)", status: .contentTooLarge)
        }
        var raw: [(headers: [(String, String)], body: ByteBuffer)] = []
        var headers: [(String, String)] = []
        var body = ByteBuffer()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { headers.append(($0, $1)) }
        parser.onBody = { body.writeBuffer(&$0) }
        parser.onPartComplete = {
            raw.append((headers, body))
            headers = []
            body = ByteBuffer()
        }
        do { try parser.execute(buffer) } catch {
            throw VoxError(.invalidRequest, "malformed multipart body: \(error)")
        }
        return raw.compactMap { part in
            let disposition = part.headers.first { $0.0.lowercased() == "content-disposition" }?.1 ?? ""
            guard let name = parameter("name", in: disposition) else { return nil }
            return Part(name: name, fileName: parameter("filename", in: disposition),
                        contentType: part.headers.first { $0.0.lowercased() == "content-type" }?.1,
                        bytes: Array(part.body.readableBytesView))
        }
    }

    static func boundary(of contentType: String) -> String? {
        parameter("boundary", in: contentType)
    }

    /// `key=value` or `key="value"` from a header's parameters.
    static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";") {
            let kv = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, kv[0].lowercased() == key else { continue }
            var v = kv[1]
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }
        return nil
    }
}

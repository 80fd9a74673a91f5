import Foundation
import VoxPluginKit

/// A `multipart/form-data` body (RFC 7578): text fields and file parts,
/// CRLF line ends, a random boundary that the content cannot contain.
public struct MultipartForm {
    public let boundary: String
    public private(set) var body: [UInt8] = []

    public init() {
        boundary = "voxd-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    public var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    public mutating func field(_ name: String, _ value: String) {
        head("Content-Disposition: form-data; name=\"\(Self.quoted(name))\"")
        body += Array(value.utf8)
        body += Array("\r\n".utf8)
    }

    public mutating func file(_ name: String, filename: String, contentType: String, _ bytes: [UInt8]) {
        head("Content-Disposition: form-data; name=\"\(Self.quoted(name))\"; filename=\"\(Self.quoted(filename))\"\r\nContent-Type: \(contentType)")
        body += bytes
        body += Array("\r\n".utf8)
    }

    /// The body with its closing delimiter.
    public func finished() -> [UInt8] { body + Array("--\(boundary)--\r\n".utf8) }

    private mutating func head(_ headers: String) {
        body += Array("--\(boundary)\r\n\(headers)\r\n\r\n".utf8)
    }

    /// Quotes and line breaks cannot appear inside a quoted parameter.
    private static func quoted(_ s: String) -> String {
        s.replacingOccurrences(of: "\"", with: "%22").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
    }
}

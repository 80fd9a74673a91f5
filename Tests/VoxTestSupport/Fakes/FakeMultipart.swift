import Foundation

/// A strict `multipart/form-data` reader (RFC 7578 / RFC 2046) for the
/// fakes: it returns the parts and every way the body departs from the
/// format, so a fake can record them as violations.
public struct FakeMultipart: Sendable {
    public struct Part: Sendable {
        public var name: String
        public var filename: String?
        public var contentType: String?
        public var data: [UInt8]
        public var text: String { String(decoding: data, as: UTF8.self) }
    }

    public var parts: [Part] = []
    public var problems: [String] = []

    public func first(_ name: String) -> Part? { parts.first { $0.name == name } }
    public func all(_ name: String) -> [Part] { parts.filter { $0.name == name } }

    /// The boundary of a `multipart/form-data; boundary=…` content type.
    public static func boundary(ofContentType type: String?) -> String? {
        guard let type, type.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for param in type.split(separator: ";").dropFirst() {
            let kv = param.trimmingCharacters(in: .whitespaces)
            if kv.lowercased().hasPrefix("boundary=") {
                var b = String(kv.dropFirst("boundary=".count))
                if b.hasPrefix("\""), b.hasSuffix("\""), b.count >= 2 { b = String(b.dropFirst().dropLast()) }
                return b.isEmpty ? nil : b
            }
        }
        return nil
    }

    public init(body: [UInt8], boundary: String) {
        if boundary.count > 70 { problems.append("boundary longer than 70 characters") }
        let dash = Array("--\(boundary)".utf8)
        let delimiter = Array("\r\n--\(boundary)".utf8)
        guard body.starts(with: dash) else {
            problems.append("body does not start with --boundary")
            return
        }
        var i = dash.count
        while true {
            // After a delimiter: "--" closes, CRLF opens a part.
            if body[i...].starts(with: Array("--".utf8)) {
                let rest = body[(i + 2)...]
                if !(rest.isEmpty || rest.starts(with: Array("\r\n".utf8))) { problems.append("bytes after the closing delimiter are not CRLF") }
                return
            }
            guard body[i...].starts(with: Array("\r\n".utf8)) else {
                problems.append("delimiter not followed by CRLF or --")
                return
            }
            i += 2
            guard let headerEnd = Self.find(Array("\r\n\r\n".utf8), in: body, from: i) else {
                problems.append("part headers not ended by a blank line")
                return
            }
            let headerText = String(decoding: body[i..<headerEnd], as: UTF8.self)
            let dataStart = headerEnd + 4
            guard let end = Self.find(delimiter, in: body, from: dataStart) else {
                problems.append("a part is not closed by a delimiter (no closing --boundary--)")
                return
            }
            parts.append(part(headers: headerText, data: Array(body[dataStart..<end])))
            i = end + delimiter.count
        }
    }

    private mutating func part(headers: String, data: [UInt8]) -> Part {
        var p = Part(name: "", filename: nil, contentType: nil, data: data)
        var sawDisposition = false
        for line in headers.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { problems.append("malformed part header line \"\(line)\""); continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch name {
            case "content-disposition":
                sawDisposition = true
                let params = value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                if params.first?.lowercased() != "form-data" { problems.append("Content-Disposition is not form-data: \(value)") }
                for param in params.dropFirst() {
                    guard let eq = param.firstIndex(of: "=") else { continue }
                    let k = param[..<eq].lowercased()
                    var v = String(param[param.index(after: eq)...])
                    if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) } else {
                        problems.append("unquoted \(k) parameter in Content-Disposition")
                    }
                    if k == "name" { p.name = v } else if k == "filename" { p.filename = v }
                }
            case "content-type":
                p.contentType = value
            default:
                break
            }
        }
        if !sawDisposition { problems.append("a part without Content-Disposition") }
        if p.name.isEmpty { problems.append("a part without a name") }
        return p
    }

    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        let first = needle[0]
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == first, hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

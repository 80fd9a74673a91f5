/// A URL query string built item by item, for providers whose requests are
/// configured in the query (Deepgram's /v1/listen and /v1/speak,
/// ElevenLabs' `output_format`). Items keep their order; a name may repeat
/// (`keyterm=a&keyterm=b`); booleans are written `true` / `false`; names and
/// values are percent-encoded (everything but RFC 3986 unreserved characters).
///
/// ```swift
/// var q = URLQuery()
/// q.add("model", "nova-3")
/// q.add("smart_format", true)
/// client.send("POST", "/v1/listen" + q.suffix, …)   // "/v1/listen?model=nova-3&smart_format=true"
/// ```
public struct URLQuery: Sendable, Equatable {
    public private(set) var items: [(name: String, value: String)] = []

    public init() {}

    public mutating func add(_ name: String, _ value: String) { items.append((name, value)) }
    public mutating func add(_ name: String, _ value: Bool) { items.append((name, value ? "true" : "false")) }
    public mutating func add(_ name: String, _ value: Int) { items.append((name, String(value))) }
    /// Whole numbers without a fraction ("2", not "2.0").
    public mutating func add(_ name: String, _ value: Double) {
        items.append((name, value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)))
    }

    /// The values given for `name`, in order.
    public func values(_ name: String) -> [String] { items.filter { $0.name == name }.map(\.value) }
    public func contains(_ name: String) -> Bool { items.contains { $0.name == name } }

    /// `name=value&…`, percent-encoded.
    public var encoded: String {
        items.map { Self.escape($0.name) + "=" + Self.escape($0.value) }.joined(separator: "&")
    }

    /// `?` + `encoded`, or "" when there are no items.
    public var suffix: String { items.isEmpty ? "" : "?" + encoded }

    public static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(b >> 4)], hex[Int(b & 0xF)]], as: UTF8.self)
            }
        }
        return out
    }

    public static func == (a: URLQuery, b: URLQuery) -> Bool { a.encoded == b.encoded }
}

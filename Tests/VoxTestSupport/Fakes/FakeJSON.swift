import Foundation

/// JSON for the providers' fakes: parsed strictly (a `1` is never a Bool,
/// integers stay integers) so a fake can check the types a client sent,
/// and written with keys in the order given, as the providers' docs show.
public indirect enum FakeJSON: Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([FakeJSON])
    case object([(String, FakeJSON)])

    // MARK: reading

    /// Parses JSON text; nil when it is not JSON.
    public static func parse(_ bytes: [UInt8]) -> FakeJSON? {
        try? JSONDecoder().decode(Decoded.self, from: Data(bytes)).value
    }

    public subscript(key: String) -> FakeJSON? {
        if case .object(let pairs) = self { return pairs.last { $0.0 == key }?.1 }
        return nil
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var int: Int? { if case .int(let i) = self { return i }; return nil }
    /// Any number.
    public var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var array: [FakeJSON]? { if case .array(let a) = self { return a }; return nil }
    public var keys: [String]? { if case .object(let p) = self { return p.map(\.0) }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// "string", "integer", "number", "boolean", "array", "object", "null".
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    // MARK: writing

    public var description: String { text }

    /// Compact JSON text.
    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? (d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : String(d)) : "null"
        case .string(let s): return Self.quote(s)
        case .array(let a): return "[" + a.map(\.text).joined(separator: ",") + "]"
        case .object(let p): return "{" + p.map { Self.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    public var bytes: [UInt8] { Array(text.utf8) }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// Decodable twin, strict about types.
    private struct Decoded: Decodable {
        let value: FakeJSON
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        init(from decoder: Decoder) throws {
            if let keyed = try? decoder.container(keyedBy: Key.self) {
                value = .object(try keyed.allKeys.sorted { $0.stringValue < $1.stringValue }.map {
                    ($0.stringValue, try keyed.decode(Decoded.self, forKey: $0).value)
                })
                return
            }
            if var list = try? decoder.unkeyedContainer() {
                var items: [FakeJSON] = []
                while !list.isAtEnd { items.append(try list.decode(Decoded.self).value) }
                value = .array(items)
                return
            }
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { value = .null }
            else if let b = try? c.decode(Bool.self) { value = .bool(b) }
            else if let i = try? c.decode(Int.self) { value = .int(i) }
            else if let d = try? c.decode(Double.self) { value = .double(d) }
            else { value = .string(try c.decode(String.self)) }
        }
    }
}

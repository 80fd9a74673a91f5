import Foundation

/// Any JSON value. Control data crosses the plugin ABI as JSON; this is the
/// loss-free Swift view of it for the parts that have no fixed shape
/// (provider options, OpenAI chat bodies, settings).
public enum JSONValue: Codable, Hashable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n.rounded() == n, abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var doubleValue: Double? { if case .number(let n) = self { return n }; return nil }
    public var intValue: Int? {
        if case .number(let n) = self, n.rounded() == n, abs(n) < 9e15 { return Int(n) }
        return nil
    }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
}

/// The JSON coders used on both sides of the ABI. No key strategy: the
/// schema types spell their snake_case keys, and pass-through JSON (options,
/// chat bodies) keeps its keys as they are. Sorted output for stable bytes.
public enum VoxJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        if let v = value as? JSONValue {
            var out: [UInt8] = []
            out.reserveCapacity(256)
            v.write(into: &out)
            return Data(out)
        }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try e.encode(value)
    }
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        if T.self == JSONValue.self { return try JSONValue.parse(data) as! T }
        let d = JSONDecoder()
        return try d.decode(type, from: data)
    }
    /// Encodes for the wire as a String (JSON is always valid UTF-8).
    public static func string<T: Encodable>(_ value: T) -> String {
        if let v = value as? JSONValue { return v.serialized }
        return (try? encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

// MARK: - Fast paths for the per-chunk hot path
//
// Measured on this machine (Swift 6.3.1, Linux, release, a 200-byte chat
// chunk): JSONDecoder into JSONValue 50 µs (each type probe in init(from:)
// throws); JSONEncoder 16.5 µs and JSONSerialization write with sorted keys
// 110 µs. Events cross the ABI once per chunk, so VoxJSON parses and writes
// JSONValue with JSONParser and the writer below; other types keep Codable.

extension JSONValue {
    /// Parses JSON text (any value at the top level); see JSONParser.
    public static func parse(_ data: Data) throws -> JSONValue {
        try JSONParser.parse(data)
    }

    /// Parses JSON bytes without going through `Data` (one copy fewer).
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONParser.parse(bytes: bytes)
    }

    /// Parses JSON text.
    public static func parse(_ text: String) throws -> JSONValue {
        try JSONParser.parse(bytes: Array(text.utf8))
    }

    /// Compact JSON text with sorted keys (stable bytes).
    public var serialized: String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the compact JSON text (sorted keys) to `out`.
    public func write(into out: inout [UInt8]) {
        switch self {
        case .null: out += Self.nullBytes
        case .bool(let b): out += b ? Self.trueBytes : Self.falseBytes
        case .number(let n):
            if !n.isFinite { out += Self.nullBytes } else if n.rounded() == n, abs(n) < 1e15 { out += String(Int64(n)).utf8 } else { out += "\(n)".utf8 }
        case .string(let s): Self.quote(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.quote(key, into: &out)
                out.append(UInt8(ascii: ":"))
                o[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let nullBytes = Array("null".utf8), trueBytes = Array("true".utf8), falseBytes = Array("false".utf8)
    private static let hex = Array("0123456789abcdef".utf8)

    /// A JSON string literal for `s`, as UTF-8. Runs of bytes that need no
    /// escape are copied whole: appending byte by byte cost most of an
    /// explain answer's rendering (VoxBench router).
    public static func quote(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var run = 0
            for i in bytes.indices {
                let byte = bytes[i]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i]))
                run = i + 1
                switch byte {
                case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                default: out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A JSON string literal for `s`.
    public static func quote(_ s: String) -> String {
        var out: [UInt8] = []
        quote(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

// op_done crosses the ABI once per operation: Foundation's coders cost more
// there (a JSONEncoder and a JSONDecoder made and run for a few fields, ~6%
// of voxd's CPU for a small chat) than the rest of the result's trip. These
// write the same text as `VoxJSON.string` (sorted keys, integers without a
// fraction) and read what `JSONDecoder` would, with the kit's parser.
extension OperationResult {
    /// The result as op_done's JSON.
    public var wireJSON: String {
        var o: [String: JSONValue] = [:]
        if let finishReason { o["finish_reason"] = .string(finishReason) }
        if let usage {
            var u: [String: JSONValue] = [:]
            if let v = usage.characters { u["characters"] = .number(Double(v)) }
            if let v = usage.audioSeconds { u["audio_seconds"] = .number(v) }
            if let v = usage.inputTokens { u["input_tokens"] = .number(Double(v)) }
            if let v = usage.outputTokens { u["output_tokens"] = .number(Double(v)) }
            if let v = usage.requests { u["requests"] = .number(Double(v)) }
            o["usage"] = .object(u)
        }
        return JSONValue.object(o).serialized
    }

    /// Reads op_done's JSON: an object whose known keys have their types
    /// (null is absent; other keys are ignored). Anything else throws.
    public init(wireJSON data: Data) throws {
        struct Invalid: Error, CustomStringConvertible { let description: String }
        guard case .object(let o) = try JSONValue.parse(data) else { throw Invalid(description: "the result is not a JSON object") }
        func present(_ v: JSONValue?) -> JSONValue? { if case .null? = v { return nil }; return v }
        func int(_ u: [String: JSONValue], _ key: String) throws -> Int? {
            guard let v = present(u[key]) else { return nil }
            guard let i = v.intValue else { throw Invalid(description: "usage.\(key) is not an integer") }
            return i
        }
        self.init()
        if let f = present(o["finish_reason"]) {
            guard let s = f.stringValue else { throw Invalid(description: "finish_reason is not a string") }
            finishReason = s
        }
        if let uv = present(o["usage"]) {
            guard case .object(let u) = uv else { throw Invalid(description: "usage is not an object") }
            var usage = Usage()
            usage.characters = try int(u, "characters")
            if let a = present(u["audio_seconds"]) {
                guard let d = a.doubleValue else { throw Invalid(description: "usage.audio_seconds is not a number") }
                usage.audioSeconds = d
            }
            usage.inputTokens = try int(u, "input_tokens")
            usage.outputTokens = try int(u, "output_tokens")
            usage.requests = try int(u, "requests")
            self.usage = usage
        }
    }
}

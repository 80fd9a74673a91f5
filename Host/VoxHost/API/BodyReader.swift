import Foundation
import Hummingbird
import VoxPluginKit

/// Reads a JSON body field by field, collecting every problem (wrong type,
/// out of range, unknown field, missing) with its path instead of stopping
/// at the first, so a client sees all of them in one answer.
struct BodyReader {
    var problems: [FieldProblem] = []

    static func path(_ prefix: String, _ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    mutating func problem(_ path: String, _ reason: String, at position: TextPosition? = nil) {
        problems.append(FieldProblem(path, reason, at: position))
    }

    /// Refuses members not in `known`, naming the ones that are.
    mutating func rejectUnknown(_ o: [String: JSONValue], _ prefix: String, known: [String]) {
        for key in o.keys.sorted() where !known.contains(key) {
            problem(Self.path(prefix, key), "unknown field (known: \(known.joined(separator: ", ")))")
        }
    }

    mutating func object(_ o: [String: JSONValue], _ key: String, _ prefix: String, required: Bool = false) -> [String: JSONValue]? {
        guard let v = present(o, key, prefix, required: required, what: "an object") else { return nil }
        guard case .object(let inner) = v else { problem(Self.path(prefix, key), "must be an object, not \(Self.kind(v))"); return nil }
        return inner
    }

    mutating func array(_ o: [String: JSONValue], _ key: String, _ prefix: String) -> [JSONValue]? {
        guard let v = present(o, key, prefix, required: false, what: "an array") else { return nil }
        guard case .array(let a) = v else { problem(Self.path(prefix, key), "must be an array, not \(Self.kind(v))"); return nil }
        return a
    }

    mutating func string(_ o: [String: JSONValue], _ key: String, _ prefix: String, required: Bool = false,
                         maxLength: Int? = nil, allowEmpty: Bool = false) -> String? {
        guard let v = present(o, key, prefix, required: required, what: "a string") else { return nil }
        guard case .string(let s) = v else { problem(Self.path(prefix, key), "must be a string, not \(Self.kind(v))"); return nil }
        if !allowEmpty, s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { problem(Self.path(prefix, key), "must not be empty"); return nil }
        if let maxLength, s.count > maxLength { problem(Self.path(prefix, key), "is \(s.count) characters, over the limit of \(maxLength)"); return nil }
        return s
    }

    mutating func bool(_ o: [String: JSONValue], _ key: String, _ prefix: String) -> Bool? {
        guard let v = present(o, key, prefix, required: false, what: "true or false") else { return nil }
        guard case .bool(let b) = v else { problem(Self.path(prefix, key), "must be true or false, not \(Self.kind(v))"); return nil }
        return b
    }

    mutating func double(_ o: [String: JSONValue], _ key: String, _ prefix: String, range: ClosedRange<Double>? = nil) -> Double? {
        guard let v = present(o, key, prefix, required: false, what: "a number") else { return nil }
        guard case .number(let n) = v else { problem(Self.path(prefix, key), "must be a number, not \(Self.kind(v))"); return nil }
        if let range, !range.contains(n) {
            problem(Self.path(prefix, key), "\(Self.format(n)) is out of range: must be \(Self.format(range.lowerBound))–\(Self.format(range.upperBound))")
            return nil
        }
        return n
    }

    mutating func int(_ o: [String: JSONValue], _ key: String, _ prefix: String, min: Int? = nil, max: Int? = nil, oneOf: [Int]? = nil) -> Int? {
        guard let v = present(o, key, prefix, required: false, what: "an integer") else { return nil }
        guard case .number(let n) = v, n.rounded() == n, abs(n) < 1e15 else { problem(Self.path(prefix, key), "must be an integer, not \(Self.kind(v))"); return nil }
        let i = Int(n)
        if let min, i < min { problem(Self.path(prefix, key), "\(i) is out of range: must be ≥ \(min)"); return nil }
        if let max, i > max { problem(Self.path(prefix, key), "\(i) is out of range: must be ≤ \(max)"); return nil }
        if let oneOf, !oneOf.contains(i) { problem(Self.path(prefix, key), "\(i) is not allowed: must be one of \(oneOf.map(String.init).joined(separator: ", "))"); return nil }
        return i
    }

    /// A string that must be one of `allowed`.
    mutating func choice(_ o: [String: JSONValue], _ key: String, _ prefix: String, _ allowed: [String]) -> String? {
        guard let s = string(o, key, prefix) else { return nil }
        guard allowed.contains(s) else { problem(Self.path(prefix, key), "\"\(s)\" is not allowed: must be one of \(allowed.joined(separator: ", "))"); return nil }
        return s
    }

    private mutating func present(_ o: [String: JSONValue], _ key: String, _ prefix: String, required: Bool, what: String) -> JSONValue? {
        guard let v = o[key], v != .null else {
            if required { problem(Self.path(prefix, key), "missing: must be \(what)") }
            return nil
        }
        return v
    }

    static func kind(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    static func format(_ n: Double) -> String { n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n) }

    /// A name for a stored object: 1–80 characters of letters, digits,
    /// spaces and `- _ . , ( ) & + # : ! ?`; no `..`, no `--`, no leading or
    /// trailing space. Names show up in listings, exports and file names a
    /// client may derive from them, so path separators, quotes, semicolons
    /// and control characters are refused rather than stored.
    mutating func name(_ o: [String: JSONValue], _ key: String = "name", _ prefix: String = "", required: Bool) -> String? {
        guard let s = string(o, key, prefix, required: required, maxLength: 80) else { return nil }
        let p = Self.path(prefix, key)
        let allowedPunctuation = Set("-_.,()&+#:!? ".unicodeScalars)
        if let bad = s.unicodeScalars.first(where: { !(CharacterSet.letters.contains($0) || CharacterSet.decimalDigits.contains($0) || allowedPunctuation.contains($0)) }) {
            let shown = bad.properties.isWhitespace || bad.value < 0x20 ? String(format: "U+%04X", bad.value) : "\"\(bad)\""
            problem(p, "\(shown) is not allowed in a name (letters, digits, spaces and - _ . , ( ) & + # : ! ? only)")
            return nil
        }
        if s.contains("..") || s.contains("--") { problem(p, "\"..\" and \"--\" are not allowed in a name"); return nil }
        if s != s.trimmingCharacters(in: .whitespaces) { problem(p, "must not start or end with a space"); return nil }
        return s
    }
}

extension Request {
    /// The body as a JSON object (the only top-level shape config routes take).
    func jsonObject(context: VoxRequestContext) async throws -> [String: JSONValue] {
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        guard buffer.readableBytes > 0 else { throw VoxError(.invalidRequest, "the request needs a JSON body") }
        let value: JSONValue
        do { value = try JSONValue.parse(Data(buffer.readableBytesView)) } catch {
            throw VoxError(.invalidRequest, "malformed JSON body: \(error)")
        }
        guard case .object(let o) = value else { throw VoxError(.invalidRequest, "the body must be a JSON object, not \(BodyReader.kind(value))") }
        return o
    }
}

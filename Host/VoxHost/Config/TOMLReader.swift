import TOMLKit
import VoxPluginKit

/// Reads a TOML table strictly: every key must be known and of the right
/// type, and every problem names the file and the dotted key. Collects
/// problems instead of stopping at the first.
struct TOMLReader {
    let file: String
    private(set) var problems: [ConfigProblem] = []

    init(file: String) { self.file = file }

    static func parse(_ text: String, file: String) throws -> TOMLTable {
        do { return try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw ConfigProblem(file: file, reason: "malformed TOML at line \(e.source.begin.line), column \(e.source.begin.column): \(e.description)")
        }
    }

    mutating func problem(_ key: String?, _ reason: String) {
        problems.append(ConfigProblem(file: file, key: key, reason: reason))
    }

    /// Reports keys of `table` not in `known`.
    mutating func rejectUnknown(_ table: TOMLTable, prefix: String, known: Set<String>) {
        for key in table.keys.sorted() where !known.contains(key) {
            problem(join(prefix, key), "unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    mutating func table(_ t: TOMLTable, _ key: String, prefix: String) -> TOMLTable? {
        guard let v = t[key] else { return nil }
        guard let sub = v.table else { problem(join(prefix, key), "must be a table, not \(v.type)"); return nil }
        return sub
    }

    mutating func string(_ t: TOMLTable, _ key: String, prefix: String) -> String? {
        guard let v = t[key] else { return nil }
        guard let s = v.string else { problem(join(prefix, key), "must be a string, not \(v.type)"); return nil }
        return s
    }

    mutating func bool(_ t: TOMLTable, _ key: String, prefix: String) -> Bool? {
        guard let v = t[key] else { return nil }
        guard let b = v.bool else { problem(join(prefix, key), "must be true or false, not \(v.type)"); return nil }
        return b
    }

    mutating func int(_ t: TOMLTable, _ key: String, prefix: String, range: ClosedRange<Int>) -> Int? {
        guard let v = t[key] else { return nil }
        guard let i = v.int else { problem(join(prefix, key), "must be an integer, not \(v.type)"); return nil }
        guard range.contains(i) else { problem(join(prefix, key), "must be in \(range.lowerBound)…\(range.upperBound), not \(i)"); return nil }
        return i
    }

    mutating func double(_ t: TOMLTable, _ key: String, prefix: String, range: ClosedRange<Double>) -> Double? {
        guard let v = t[key] else { return nil }
        guard let d = v.double ?? v.int.map(Double.init) else { problem(join(prefix, key), "must be a number, not \(v.type)"); return nil }
        guard range.contains(d) else { problem(join(prefix, key), "must be in \(range.lowerBound)…\(range.upperBound), not \(d)"); return nil }
        return d
    }

    mutating func strings(_ t: TOMLTable, _ key: String, prefix: String) -> [String]? {
        guard let v = t[key] else { return nil }
        guard let a = v.array else { problem(join(prefix, key), "must be an array of strings, not \(v.type)"); return nil }
        var out: [String] = []
        for (i, e) in a.enumerated() {
            guard let s = e.string else { problem("\(join(prefix, key))[\(i)]", "must be a string, not \(e.type)"); return nil }
            out.append(s)
        }
        return out
    }

    func join(_ prefix: String, _ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    /// Any TOML value as JSON (dates become strings).
    static func json(_ v: TOMLValueConvertible) -> JSONValue {
        switch v.type {
        case .table:
            let t = v.table!
            var o: [String: JSONValue] = [:]
            for key in t.keys { o[key] = json(t[key]!) }
            return .object(o)
        case .array: return .array(v.array!.map { json($0) })
        case .string: return .string(v.string!)
        case .int: return .number(Double(v.int!))
        case .double: return .number(v.double!)
        case .bool: return .bool(v.bool!)
        default: return .string(v.debugDescription)
        }
    }
}

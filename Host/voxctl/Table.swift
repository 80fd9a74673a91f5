import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Human output: aligned tables, colour only on a terminal, pretty JSON for --json.

enum Terminal {
    static let stdoutIsTTY = isatty(STDOUT_FILENO) == 1

    /// Colour on stdout only when it is a terminal and NO_COLOR is unset (https://no-color.org).
    static let colour: Bool = {
        let env = ProcessInfo.processInfo.environment
        let noColour = !(env["NO_COLOR"] ?? "").isEmpty
        return stdoutIsTTY && !noColour && env["TERM"] != "dumb"
    }()

    /// Width to fit tables into: the terminal's, else $COLUMNS, else 120.
    static let width: Int = {
        var size = winsize()
        if stdoutIsTTY, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
            return Int(size.ws_col)
        }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 20 {
            return columns
        }
        return 120
    }()
}

enum Colour: String {
    case green = "32"
    case red = "31"
    case yellow = "33"
    case dim = "2"
    case bold = "1"

    func wrap(_ text: String) -> String {
        Terminal.colour ? "\u{1B}[\(rawValue)m\(text)\u{1B}[0m" : text
    }
}

struct Cell: ExpressibleByStringLiteral {
    var text: String
    var colour: Colour?

    init(_ text: String, colour: Colour? = nil) {
        // One line per row: tabs/newlines in daemon strings would break the alignment.
        self.text = text.split(whereSeparator: \.isNewline).joined(separator: " ")
            .replacingOccurrences(of: "\t", with: " ")
        self.colour = colour
    }

    init(stringLiteral value: String) { self.init(value) }
}

/// Plain aligned columns separated by two spaces, with a header row. The `truncating` columns,
/// if any, are cut with "…" (widest first) so that rows fit in `Terminal.width`.
struct Table {
    var headers: [String]
    var rows: [[Cell]] = []
    var truncating: [Int]

    init(_ headers: [String], truncating columns: [Int] = []) {
        self.headers = headers
        self.truncating = columns.filter { headers.indices.contains($0) }
    }

    mutating func add(_ row: [Cell]) {
        precondition(row.count == headers.count, "table row has \(row.count) cells, expected \(headers.count)")
        rows.append(row)
    }

    func render(width maxWidth: Int = Terminal.width) -> String {
        let gap = 2
        var widths = headers.indices.map { column in
            rows.reduce(headers[column].count) { max($0, $1[column].text.count) }
        }
        // Shrink the widest truncatable column, one character at a time, until the rows fit or
        // every truncatable column is down to its minimum (its header, at least 12).
        let minimum = { (column: Int) in max(self.headers[column].count, 12) }
        var total = widths.reduce(0, +) + gap * (widths.count - 1)
        while total > maxWidth,
              let column = truncating.filter({ widths[$0] > minimum($0) }).max(by: { widths[$0] < widths[$1] })
        {
            widths[column] -= 1
            total -= 1
        }

        func line(_ cells: [Cell], header: Bool) -> String {
            var out = ""
            for (column, cell) in cells.enumerated() {
                let last = column == cells.count - 1
                var text = cell.text
                if text.count > widths[column] {
                    text = String(text.prefix(max(widths[column] - 1, 0))) + "…"
                }
                // Pad before colouring so escape codes do not count towards the width.
                let padding = last ? "" : String(repeating: " ", count: widths[column] - text.count + gap)
                let colour = header ? Colour.bold : cell.colour
                if last, text.isEmpty {
                    // No trailing spaces after an empty last cell.
                    while out.hasSuffix(" ") { out.removeLast() }
                } else {
                    out += (text.isEmpty ? text : colour?.wrap(text) ?? text) + padding
                }
            }
            return out
        }

        var lines = [line(headers.map { Cell($0) }, header: true)]
        lines += rows.map { line($0, header: false) }
        return lines.joined(separator: "\n")
    }

    func print() {
        Swift.print(render())
    }
}

/// "key: value" lines with the keys aligned; rows with a nil/empty value are skipped.
func printFields(_ fields: [(String, String?)]) {
    let present = fields.compactMap { key, value in value.flatMap { $0.isEmpty ? nil : (key, $0) } }
    let width = present.map(\.0.count).max() ?? 0
    for (key, value) in present {
        let label = key + ":" + String(repeating: " ", count: width - key.count + 1)
        // Continuation lines of a multi-line value line up under its first line.
        let indent = "\n" + String(repeating: " ", count: label.count)
        print(Colour.dim.wrap(label) + value.split(whereSeparator: \.isNewline).joined(separator: indent))
    }
}

/// Pretty-prints a JSON document: two-space indent, sorted keys (stable output), `[]`/`{}` for
/// empty containers; raw text if it is not JSON.
func printJSON(_ data: Data) {
    guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
        FileHandle.standardOutput.write(data)
        if data.last != UInt8(ascii: "\n") { print("") }
        return
    }
    print(prettyJSON(object))
}

func prettyJSON(_ value: Any, indent: String = "") -> String {
    let inner = indent + "  "
    switch value {
    case let object as [String: Any]:
        if object.isEmpty { return "{}" }
        let members = object.keys.sorted().map { key in
            inner + jsonScalar(key) + ": " + prettyJSON(object[key]!, indent: inner)
        }
        return "{\n" + members.joined(separator: ",\n") + "\n" + indent + "}"
    case let array as [Any]:
        if array.isEmpty { return "[]" }
        return "[\n" + array.map { inner + prettyJSON($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
    default:
        return jsonScalar(value)
    }
}

/// A string, number, bool or null as JSON text, exactly as Foundation parsed it.
private func jsonScalar(_ value: Any) -> String {
    guard let data = try? JSONSerialization.data(
        withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes])
    else { return "null" }
    return String(decoding: data, as: UTF8.self)
}

/// 12.5 → "12s", 3723 → "1h 2m", 90061 → "1d 1h 1m".
func humanDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let total = Int(seconds)
    let days = total / 86_400, hours = total % 86_400 / 3_600, minutes = total % 3_600 / 60, secs = total % 60
    if days > 0 { return "\(days)d \(hours)h \(minutes)m" }
    if hours > 0 { return "\(hours)h \(minutes)m" }
    if minutes > 0 { return "\(minutes)m \(secs)s" }
    return "\(secs)s"
}

/// Colour for a plugin state.
func stateColour(_ state: String?) -> Colour? {
    switch state {
    case "loaded": return .green
    case "failed": return .red
    case "disabled": return .yellow
    default: return nil
    }
}

/// An incremental `text/event-stream` parser (the WHATWG server-sent events
/// format, which the OpenAI-compatible streaming endpoints use: openai.md "Streaming").
///
/// Feed it the body's chunks as they arrive, cut anywhere (mid-line, mid
/// UTF-8 sequence, between CR and LF); it returns the `data` of each
/// complete event. Handles LF, CRLF and CR line ends, comment lines
/// (`: keep-alive`), multi-line data (joined with "\n"), and fields it does
/// not use (`event:`, `id:`, `retry:`), which are ignored.
public struct SSEParser {
    public init() {}
    private var line: [UInt8] = []
    private var dataLines: [String] = []
    private var hasData = false
    private var afterCR = false
    private var atStart = true

    /// Consumes bytes; returns the data of every event they completed.
    public mutating func feed(_ bytes: [UInt8]) -> [String] {
        var events: [String] = []
        for b in bytes {
            switch b {
            case 0x0D: // CR ends a line; a following LF belongs to it
                endLine(into: &events)
                afterCR = true
            case 0x0A:
                if afterCR { afterCR = false } else { endLine(into: &events) }
            default:
                afterCR = false
                line.append(b)
            }
        }
        return events
    }

    /// The end of the stream: a last line without its line end, and an event
    /// without its blank line, still count (lenient: the spec drops them).
    public mutating func finish() -> [String] {
        var events: [String] = []
        if !line.isEmpty { endLine(into: &events) }
        if hasData { events.append(dataLines.joined(separator: "\n")) }
        dataLines = []
        hasData = false
        return events
    }

    private mutating func endLine(into events: inout [String]) {
        defer { line.removeAll(keepingCapacity: true) }
        if atStart {
            atStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) } // a UTF-8 BOM
        }
        if line.isEmpty { // blank line: dispatch
            if hasData { events.append(dataLines.joined(separator: "\n")) }
            dataLines = []
            hasData = false
            return
        }
        if line[0] == UInt8(ascii: ":") { return } // comment
        let field: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        } else {
            field = line[...]
            value = []
        }
        guard field.elementsEqual("data".utf8) else { return }
        dataLines.append(String(decoding: value, as: UTF8.self))
        hasData = true
    }
}

import Foundation

/// `{{name}}` placeholders in a prompt text: finding them, reporting the
/// malformed ones with their positions, and substituting values.
///
/// A placeholder is `{{`, optional spaces, a variable name (a letter or `_`,
/// then letters, digits or `_`, at most 64), optional spaces, `}}`. Anything
/// else that opens with `{{` is malformed: unclosed, empty, a name with other
/// characters, a `{{` nested inside. A `}}` that closes nothing is malformed
/// too, so a typo like `{name}}` is caught instead of read aloud.
public enum PromptText {
    public struct Placeholder: Hashable, Sendable {
        public var name: String
        /// The whole `{{ name }}` in the text.
        public var range: Range<String.Index>
        public var position: TextPosition
    }

    public struct Malformed: Hashable, Sendable {
        public var snippet: String
        public var reason: String
        public var position: TextPosition
    }

    public static func isVariableName(_ s: Substring) -> Bool {
        guard let first = s.unicodeScalars.first, s.unicodeScalars.count <= 64,
              first == "_" || ("a"..."z").contains(first) || ("A"..."Z").contains(first) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
    }

    /// Every placeholder and every malformed one, in text order.
    public static func scan(_ text: String) -> (placeholders: [Placeholder], malformed: [Malformed]) {
        var placeholders: [Placeholder] = []
        var malformed: [Malformed] = []
        // Positions by character: offset from 0, line and column from 1.
        var offset = 0, line = 1, column = 1
        var i = text.startIndex
        func position() -> TextPosition { TextPosition(offset: offset, line: line, column: column) }
        func advance(to end: String.Index) {
            while i < end {
                if text[i] == "\n" { line += 1; column = 1 } else { column += 1 }
                offset += 1
                i = text.index(after: i)
            }
        }
        func snippet(_ r: Range<String.Index>) -> String {
            let s = text[r]
            return s.count > 40 ? String(s.prefix(40)) + "…" : String(s)
        }
        while i < text.endIndex {
            let rest = text[i...]
            if rest.hasPrefix("{{") {
                let start = position()
                let inner = text.index(i, offsetBy: 2)
                let close = text.range(of: "}}", range: inner..<text.endIndex)
                let reopen = text.range(of: "{{", range: inner..<(close?.lowerBound ?? text.endIndex))
                guard let close, reopen == nil else {
                    let end = reopen?.lowerBound ?? text.index(inner, offsetBy: min(38, text.distance(from: inner, to: text.endIndex)))
                    malformed.append(Malformed(snippet: snippet(i..<end), reason: "\"{{\" is never closed with \"}}\"", position: start))
                    advance(to: inner)
                    continue
                }
                let name = text[inner..<close.lowerBound].trimmingCharacters(in: .whitespaces)
                let whole = i..<close.upperBound
                if name.isEmpty {
                    malformed.append(Malformed(snippet: snippet(whole), reason: "empty placeholder: write {{variable_name}}", position: start))
                } else if !isVariableName(Substring(name)) {
                    malformed.append(Malformed(snippet: snippet(whole), reason: "\"\(name)\" is not a variable name (a letter or _, then letters, digits or _; at most 64)", position: start))
                } else {
                    placeholders.append(Placeholder(name: name, range: whole, position: start))
                }
                advance(to: close.upperBound)
            } else if rest.hasPrefix("}}") {
                malformed.append(Malformed(snippet: "}}", reason: "\"}}\" closes no \"{{\"", position: position()))
                advance(to: text.index(i, offsetBy: 2))
            } else {
                advance(to: text.index(after: i))
            }
        }
        return (placeholders, malformed)
    }

    /// The text with each placeholder replaced by its value; placeholders
    /// without a value are left as they are (callers check first).
    public static func substitute(_ text: String, _ values: [String: String]) -> String {
        let found = scan(text).placeholders
        var out = ""
        var last = text.startIndex
        for p in found {
            out += text[last..<p.range.lowerBound]
            out += values[p.name] ?? String(text[p.range])
            last = p.range.upperBound
        }
        out += text[last...]
        return out
    }
}

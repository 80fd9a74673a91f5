// Pure helpers of the espeak-ng layer: names, language tags, text.

import CEspeakNG
import Foundation

// MARK: - Pure helpers (unit-testable, no espeak calls)

/// Name, tag and text handling shared by the engine and VoiceDescription.
enum EspeakSupport {
    /// espeak copies a selected language into a 20-byte buffer with strcpy (SetVoiceStack).
    static let maxLanguageBytes = 19

    /// Parses espeak's `languages` field: (priority byte, NUL-terminated string)*,
    /// terminated by a 0 priority byte. Returns lowercase tags in listed order.
    static func parseLanguageList(_ pointer: UnsafePointer<CChar>) -> [String] {
        parseLanguagePriorities(pointer).map(\.tag)
    }

    /// As `parseLanguageList`, with each tag's priority (lower is preferred).
    static func parseLanguagePriorities(_ pointer: UnsafePointer<CChar>) -> [(tag: String, priority: Int)] {
        var result: [(tag: String, priority: Int)] = []
        var p = pointer
        while p.pointee != 0 {                       // priority byte; 0 ends the list
            let priority = Int(UInt8(bitPattern: p.pointee))
            p += 1
            let tag = String(cString: p)
            p += strlen(p) + 1                       // bytes, not repaired UTF-8 length
            let normalized = tag.lowercased()
            if !normalized.isEmpty, !result.contains(where: { $0.tag == normalized }) {
                result.append((normalized, priority))
            }
        }
        return result
    }

    /// Unique URL-safe ids, stable for a given set of voices regardless of order:
    /// the primary language tag if no other voice has it; otherwise the voice
    /// whose file name equals the tag keeps it and the others use their
    /// sanitised file name, then their sanitised identifier, then "-2", "-3"…
    static func assignVoiceIDs(_ voices: [(identifier: String, primaryLanguage: String?)]) -> [String] {
        func lastComponent(_ identifier: String) -> String {
            String(identifier.split(separator: "/").last ?? Substring(identifier))
        }
        let tags = voices.map { sanitizeID($0.primaryLanguage ?? "") }
        var tagCount: [String: Int] = [:]
        for tag in tags where !tag.isEmpty { tagCount[tag, default: 0] += 1 }
        var proposals: [String] = []
        for (i, voice) in voices.enumerated() {
            let tag = tags[i]
            let file = sanitizeID(lastComponent(voice.identifier))
            if !tag.isEmpty && (tagCount[tag] == 1 || file == tag) {
                proposals.append(tag)
            } else if !file.isEmpty && !tags.contains(file) {
                proposals.append(file)
            } else {
                let full = sanitizeID(voice.identifier)
                proposals.append(full.isEmpty ? "voice" : full)
            }
        }
        var used: Set<String> = []
        var result: [String] = []
        for proposal in proposals {
            var id = proposal
            var n = 2
            while used.contains(id) { id = "\(proposal)-\(n)"; n += 1 }
            used.insert(id)
            result.append(id)
        }
        return result
    }

    /// Lowercase; runs of anything outside [a-z0-9] become one "-"; trimmed of "-".
    static func sanitizeID(_ s: String) -> String {
        var out = ""
        var pendingDash = false
        for scalar in s.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                if pendingDash && !out.isEmpty { out.append("-") }
                pendingDash = false
                out.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
        }
        return out
    }

    /// "en_US" → "en-us"; nil if the tag is not [A-Za-z0-9_-]+ or is too long for espeak.
    static func normalizeLanguageTag(_ tag: String) -> String? {
        let trimmed = tag.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        var out = ""
        for scalar in trimmed.unicodeScalars {
            switch scalar {
            case "a"..."z", "0"..."9": out.unicodeScalars.append(scalar)
            case "A"..."Z": out.append(Character(scalar).lowercased())
            case "-", "_": out.append("-")
            default: return nil
            }
        }
        let parts = out.split(separator: "-", omittingEmptySubsequences: true)
        guard !parts.isEmpty else { return nil }
        let normalized = parts.joined(separator: "-")
        return normalized.utf8.count <= maxLanguageBytes ? normalized : nil
    }

    /// Splits "gmw/en-US+f3" into base "gmw/en-US" and variant "f3".
    static func splitVariant(_ name: String) -> (base: String, variant: String?) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard let plus = trimmed.firstIndex(of: "+") else { return (trimmed, nil) }
        let variant = String(trimmed[trimmed.index(after: plus)...]).trimmingCharacters(in: .whitespaces)
        return (String(trimmed[..<plus]).trimmingCharacters(in: .whitespaces), variant.isEmpty ? nil : variant)
    }

    /// Drops NUL and control characters other than tab/newline/return: espeak
    /// treats U+0001 as the start of an embedded command even in plain text.
    static func sanitizeText(_ text: String) -> String {
        let needsWork = text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" }
        guard needsWork else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r" {
                out.append(" ")
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}

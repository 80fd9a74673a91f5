import Foundation
import VoxPluginKit

/// Renders a prompt with values for its variables, as plain text or as the
/// sectioned instructions realtime models take.
public enum PromptRenderer {
    public enum Mode: String, Sendable, CaseIterable { case text, realtime }

    public struct Rendered: Sendable, Equatable {
        public var text: String
        public var warning: String?
        /// Realtime only: where each section came from (`request`, `prompt`, `text`, `default`).
        public var sectionSources: [String: String]?
        /// The value each declared variable got.
        public var values: [String: String]
    }

    /// Renders `prompt`. Every problem is reported at once in one
    /// `VoxError` (400): malformed placeholders with their positions,
    /// placeholders naming undeclared variables, unknown values, missing
    /// required values; and a result over `limits.maxChars`.
    public static func render(_ prompt: Prompt, values: [String: String], mode: Mode = .text,
                              sections overrides: [String: String] = [:], limits: PromptLimits) throws -> Rendered {
        var problems: [FieldProblem] = []
        // The texts that take part, by the field path problems name.
        var parts: [(path: String, text: String)] = []
        var sources: [String: String]?
        switch mode {
        case .text:
            parts = [("text", prompt.text)]
        case .realtime:
            var s: [String: String] = [:]
            for key in RealtimeSections.order {
                if let v = overrides[key] { parts.append(("sections.\(key)", v)); s[key] = "request" }
                else if let v = prompt.sections[key] { parts.append(("prompt.sections.\(key)", v)); s[key] = "prompt" }
                else if key == "role" { parts.append(("text", prompt.text)); s[key] = "text" }
                else { parts.append(("default.\(key)", RealtimeSections.defaults[key]!)); s[key] = "default" }
            }
            sources = s
        }
        let declared = Dictionary(prompt.variables.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for part in parts {
            let scan = PromptText.scan(part.text)
            for m in scan.malformed {
                problems.append(FieldProblem(part.path, "malformed placeholder \"\(m.snippet)\": \(m.reason)", at: m.position))
            }
            for p in scan.placeholders where declared[p.name] == nil {
                problems.append(FieldProblem(part.path, "{{\(p.name)}} names a variable the prompt does not declare (declared: \(names(prompt)))", at: p.position))
            }
        }
        for key in values.keys.sorted() where declared[key] == nil {
            problems.append(FieldProblem("values.\(key)", "unknown variable (declared: \(names(prompt)))"))
        }
        var resolved: [String: String] = [:]
        for v in prompt.variables {
            if let given = values[v.name] { resolved[v.name] = given }
            else if let d = v.defaultValue { resolved[v.name] = d }
            else if v.required { problems.append(FieldProblem("values.\(v.name)", "required variable is missing (it has no default)")) }
            else { resolved[v.name] = "" }
        }
        if !problems.isEmpty { throw VoxError(problems: problems, what: "prompt \(prompt.id) not rendered") }

        let text: String
        switch mode {
        case .text:
            text = PromptText.substitute(prompt.text, resolved)
        case .realtime:
            text = zip(RealtimeSections.order, parts).map { key, part in
                "# \(RealtimeSections.titles[key]!)\n" + PromptText.substitute(part.text, resolved).trimmingCharacters(in: .whitespacesAndNewlines)
            }.joined(separator: "\n\n")
        }
        if text.count > limits.maxChars {
            throw VoxError(problems: [FieldProblem("text", "the rendered text is \(text.count) characters, over the limit of \(limits.maxChars) (prompts.max_chars)")],
                           what: "prompt \(prompt.id) not rendered")
        }
        let warning = text.count > limits.warnChars
            ? "the rendered text is \(text.count) characters, over the advised \(limits.warnChars) (prompts.warn_chars): long instructions slow a voice agent's first answer"
            : nil
        return Rendered(text: text, warning: warning, sectionSources: sources, values: resolved)
    }

    private static func names(_ p: Prompt) -> String {
        p.variables.isEmpty ? "none" : p.variables.map(\.name).joined(separator: ", ")
    }
}

/// The sections of instructions for realtime (speech-to-speech) models, in
/// the order they are assembled, with the defaults used for missing ones.
public enum RealtimeSections {
    public static let order = ["role", "personality", "context", "tools", "conversation_flow", "rules", "safety", "output_format", "pronunciation"]

    static let titles: [String: String] = [
        "role": "Role & Objective", "personality": "Personality & Tone", "context": "Context", "tools": "Tools",
        "conversation_flow": "Conversation Flow", "rules": "Rules", "safety": "Safety & Escalation",
        "output_format": "Output Format", "pronunciation": "Pronunciation",
    ]

    public static let defaults: [String: String] = [
        "role": "You are a helpful voice assistant.",
        "personality": "Warm, calm and brief. Sound like a helpful person on the phone, not like a document being read out.",
        "context": "No further context was given. Do not invent facts about the business, its prices, its policies or its opening hours.",
        "tools": "You have no tools. Never claim to look something up, book, send or change anything.",
        "conversation_flow": "Greet the caller in one short sentence, find out what they need, help with one thing at a time, and confirm before you end the call.",
        "rules": "Keep each turn to one to three short sentences. Ask one question at a time. If you did not catch something, say so and ask the caller to repeat it. Never talk over the caller.",
        "safety": "Never ask for passwords, full card numbers or other secrets. If someone is in danger, tell them to call their local emergency number. When the caller asks for a person, offer to hand over.",
        "output_format": "Speak in plain sentences. No markdown, lists, headings, emojis or links: they would be read aloud. Say numbers, prices, dates and times as words, for example \"twenty-five dollars\" and \"March third at two thirty\".",
        "pronunciation": "Read codes and reference numbers one character at a time. Read phone numbers digit by digit, in small groups. Say email addresses with \"at\" and \"dot\".",
    ]
}

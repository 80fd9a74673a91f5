import Foundation
import VoxPluginKit

/// An AI template: one complete voice-agent configuration (STT, TTS, LLM,
/// VAD, turn detection, audio, system prompt), stored or a read-only preset.
///
/// The configuration is kept as the normalised JSON object `config` (the
/// body's members other than name and description), so what a client saved
/// is what it reads back, member for member.
public struct AITemplate: Hashable, Sendable {
    public var id: String
    public var name: String
    public var description: String?
    public var config: [String: JSONValue]
    public var preset: Bool
    public var version: Int
    public var createdAt: String?
    public var updatedAt: String?

    public init(id: String, name: String, description: String? = nil, config: [String: JSONValue], preset: Bool = false,
                version: Int = 1, createdAt: String? = nil, updatedAt: String? = nil) {
        self.id = id; self.name = name; self.description = description; self.config = config; self.preset = preset
        self.version = version; self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    public var json: JSONValue {
        var o = config
        o["id"] = .string(id)
        o["name"] = .string(name)
        o["description"] = description.map(JSONValue.string) ?? .null
        o["preset"] = .bool(preset)
        o["version"] = .number(Double(version))
        o["created_at"] = createdAt.map(JSONValue.string) ?? .null
        o["updated_at"] = updatedAt.map(JSONValue.string) ?? .null
        return .object(o)
    }

    /// A component's member, e.g. `string("tts", "voice")`.
    func string(_ section: String, _ key: String) -> String? { config[section]?[key]?.stringValue }
    func number(_ section: String, _ key: String) -> Double? { config[section]?[key]?.doubleValue }

    /// The three provider-backed components and the operations that can serve them.
    static let components: [(key: String, noun: String, operations: [VoxOperation])] = [
        ("stt", "speech-to-text", [.sttStream, .sttTranscribe]),
        ("tts", "text-to-speech", [.ttsSynthesize]),
        ("llm", "chat", [.llmChat]),
    ]
}

/// The shape of a template body: members, types and ranges. `read` reports
/// every problem at once, each with its field path.
enum TemplateSchema {
    static let configKeys = ["stt", "tts", "llm", "vad", "turn_detection", "audio", "system_prompt"]
    static let sampleRates = [16000, 24000, 48000]

    /// Reads a whole template body (create, validate) or, with `partial`,
    /// the members of an update. Returns the normalised members.
    static func read(_ body: [String: JSONValue], partial: Bool = false, extraKnown: [String] = []) -> (name: String?, description: String?, config: [String: JSONValue], problems: [FieldProblem]) {
        var r = BodyReader()
        r.rejectUnknown(body, "", known: ["name", "description"] + configKeys + extraKnown)
        let name = r.name(body, required: !partial)
        let description = r.string(body, "description", "", maxLength: 500, allowEmpty: true)
        var config: [String: JSONValue] = [:]

        if let o = r.object(body, "stt", "") {
            r.rejectUnknown(o, "stt", known: ["provider", "model", "language"])
            var out: [String: JSONValue] = [:]
            out["provider"] = r.string(o, "provider", "stt", required: true, maxLength: 64).map(JSONValue.string)
            out["model"] = r.string(o, "model", "stt", maxLength: 200).map(JSONValue.string)
            out["language"] = language(&r, o, "stt").map(JSONValue.string)
            config["stt"] = .object(out)
        }
        if let o = r.object(body, "tts", "") {
            r.rejectUnknown(o, "tts", known: ["provider", "model", "voice", "speed", "stability", "options"])
            var out: [String: JSONValue] = [:]
            out["provider"] = r.string(o, "provider", "tts", required: true, maxLength: 64).map(JSONValue.string)
            out["model"] = r.string(o, "model", "tts", maxLength: 200).map(JSONValue.string)
            out["voice"] = r.string(o, "voice", "tts", maxLength: 200).map(JSONValue.string)
            out["speed"] = r.double(o, "speed", "tts", range: 0.5...2.0).map(JSONValue.number)
            out["stability"] = r.double(o, "stability", "tts", range: 0...1).map(JSONValue.number)
            // Provider-specific tuning, passed through as the request's `options`.
            out["options"] = r.object(o, "options", "tts").map(JSONValue.object)
            config["tts"] = .object(out)
        }
        if let o = r.object(body, "llm", "") {
            r.rejectUnknown(o, "llm", known: ["provider", "model", "temperature", "max_tokens", "top_p", "frequency_penalty", "presence_penalty"])
            var out: [String: JSONValue] = [:]
            out["provider"] = r.string(o, "provider", "llm", required: true, maxLength: 64).map(JSONValue.string)
            out["model"] = r.string(o, "model", "llm", maxLength: 200).map(JSONValue.string)
            out["temperature"] = r.double(o, "temperature", "llm", range: 0...2).map(JSONValue.number)
            out["max_tokens"] = r.int(o, "max_tokens", "llm", min: 1, max: 1_000_000).map { .number(Double($0)) }
            out["top_p"] = r.double(o, "top_p", "llm", range: 0...1).map(JSONValue.number)
            out["frequency_penalty"] = r.double(o, "frequency_penalty", "llm", range: -2...2).map(JSONValue.number)
            out["presence_penalty"] = r.double(o, "presence_penalty", "llm", range: -2...2).map(JSONValue.number)
            config["llm"] = .object(out)
        }
        if let o = r.object(body, "vad", "") {
            r.rejectUnknown(o, "vad", known: ["enabled", "threshold", "prefix_padding_ms", "silence_duration_ms"])
            var out: [String: JSONValue] = [:]
            out["enabled"] = r.bool(o, "enabled", "vad").map(JSONValue.bool)
            out["threshold"] = r.double(o, "threshold", "vad", range: 0...1).map(JSONValue.number)
            out["prefix_padding_ms"] = r.int(o, "prefix_padding_ms", "vad", min: 0, max: 60_000).map { .number(Double($0)) }
            out["silence_duration_ms"] = r.int(o, "silence_duration_ms", "vad", min: 0, max: 60_000).map { .number(Double($0)) }
            config["vad"] = .object(out)
        }
        if let t = r.choice(body, "turn_detection", "", ["server_vad", "none"]) { config["turn_detection"] = .string(t) }
        if let o = r.object(body, "audio", "") {
            r.rejectUnknown(o, "audio", known: ["input_transcription", "sample_rate"])
            var out: [String: JSONValue] = [:]
            out["input_transcription"] = r.bool(o, "input_transcription", "audio").map(JSONValue.bool)
            out["sample_rate"] = r.int(o, "sample_rate", "audio", oneOf: sampleRates).map { .number(Double($0)) }
            config["audio"] = .object(out)
        }
        if let o = r.object(body, "system_prompt", "") {
            r.rejectUnknown(o, "system_prompt", known: ["id", "variables"])
            var out: [String: JSONValue] = [:]
            out["id"] = r.string(o, "id", "system_prompt", required: true, maxLength: 100).map(JSONValue.string)
            if let vars = r.object(o, "variables", "system_prompt") {
                var values: [String: JSONValue] = [:]
                for (k, v) in vars {
                    if case .string = v { values[k] = v } else { r.problem("system_prompt.variables.\(k)", "must be a string, not \(BodyReader.kind(v))") }
                }
                out["variables"] = .object(values)
            }
            config["system_prompt"] = .object(out)
        }
        return (name, description, config, r.problems)
    }

    /// A BCP-47-looking tag (`en`, `en-US`, `hi-IN`, `multi`).
    private static func language(_ r: inout BodyReader, _ o: [String: JSONValue], _ prefix: String) -> String? {
        guard let s = r.string(o, "language", prefix, maxLength: 35) else { return nil }
        let ok = s.split(separator: "-", omittingEmptySubsequences: false).allSatisfy { part in
            (1...8).contains(part.count) && part.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII }
        }
        if !ok { r.problem("\(prefix).language", "\"\(s)\" is not a language tag like \"en\", \"en-US\" or \"hi-IN\""); return nil }
        return s
    }
}

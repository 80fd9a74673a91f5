import VoxPluginKit

/// The JSON body of POST /v1/text-to-speech/{voice_id}/stream, and its
/// query, from a SynthesisRequest (elevenlabs.md "Text-to-speech", the
/// spec's `Body_Text_to_speech_streaming_…`). Everything that can be
/// checked is checked here, before any request, with the field named.
///
/// `options` read (others are ignored, as SCHEMAS.md has readers do with
/// members they do not know, so a request failed over from another
/// provider still works):
/// - voice settings, overriding the voice's stored ones for this request:
///   `stability`, `similarity_boost`, `style` (0–1), `use_speaker_boost`
///   (bool), `speed` (0.7–1.2; the request's own `speed` wins);
/// - `seed` (0–4294967295), `previous_text`, `next_text`,
///   `previous_request_ids` / `next_request_ids` (≤3 strings each),
///   `pronunciation_dictionary_locators` (≤3 `{pronunciation_dictionary_id,
///   version_id}`), `apply_text_normalization` (auto|on|off),
///   `apply_language_text_normalization` (bool);
/// - `output_format`: an exact ElevenLabs format (see OutputFormat).
///
/// The request's `language` is checked against the model's languages and
/// sent as `language_code` only to the models that take one.
struct SpeechBody {
    var body: [String: JSONValue]
    var model: String
    var outputFormat: OutputFormat

    static let speedRange = 0.7...1.2
    static let languageEnforcing: Set<String> = ["eleven_turbo_v2_5", "eleven_flash_v2_5"]

    init(_ r: SynthesisRequest, defaultModel: String, defaultPCMRate: Int) throws {
        model = r.model ?? defaultModel
        guard !model.isEmpty else { throw VoxPluginError.invalidRequest("model: must not be empty") }
        guard !r.input.isEmpty else { throw VoxPluginError.invalidRequest("input: must not be empty") }
        // Per-request limits: elevenlabs.md "Models".
        if let limit = ElevenLabsCatalog.ttsModel(model)?.maxCharacters, r.input.count > limit {
            let longer = ElevenLabsCatalog.ttsModels.filter { ($0.maxCharacters ?? 0) > limit }.map(\.id)
            throw VoxPluginError.invalidRequest("input: \(r.input.count) characters; \(model) takes at most \(limit) per request"
                + (longer.isEmpty ? "" : " (\(longer.joined(separator: ", ")) take up to \(ElevenLabsCatalog.ttsModels.compactMap(\.maxCharacters).max()!))"))
        }
        let o = try Self.options(r.options)
        body = ["text": .string(r.input), "model_id": .string(model)]
        if let lang = r.language, !lang.isEmpty {
            let code = try Self.languageCode(lang)
            if let known = ElevenLabsCatalog.ttsModel(model), !known.languages.contains(code) {
                throw VoxPluginError.invalidRequest("language: \(model) does not speak \"\(lang)\"; its languages: \(known.languages.joined(separator: ", "))")
            }
            // The spec: "only Turbo v2.5 and Flash v2.5 support language
            // enforcement. For other models, an error will be returned if
            // language code is provided": the others read the language from the text.
            if Self.languageEnforcing.contains(model) { body["language_code"] = .string(code) }
        }

        var settings: [String: JSONValue] = [:]
        for key in ["stability", "similarity_boost", "style"] {
            if let v = try Self.number(o, key, in: 0...1) { settings[key] = .number(v) }
        }
        if let v = try Self.bool(o, "use_speaker_boost") { settings["use_speaker_boost"] = .bool(v) }
        if let speed = r.speed {
            guard Self.speedRange.contains(speed) else {
                throw VoxPluginError.invalidRequest("speed: \(speed) is outside what ElevenLabs takes, 0.7…1.2 (voice_settings.speed)")
            }
            settings["speed"] = .number(speed)
        } else if let speed = try Self.number(o, "speed", in: Self.speedRange) {
            settings["speed"] = .number(speed)
        }
        if !settings.isEmpty { body["voice_settings"] = .object(settings) }

        if let seed = o["seed"], seed != .null {
            guard let s = seed.intValue, (0...4_294_967_295).contains(s) else {
                throw VoxPluginError.invalidRequest("options.seed: must be an integer in 0…4294967295")
            }
            body["seed"] = .number(Double(s))
        }
        for key in ["previous_text", "next_text"] {
            if let v = o[key], v != .null {
                guard let text = v.stringValue else { throw VoxPluginError.invalidRequest("options.\(key): must be a string") }
                body[key] = .string(text)
            }
        }
        for key in ["previous_request_ids", "next_request_ids"] {
            if let v = o[key], v != .null {
                guard let ids = v.arrayValue, ids.count <= 3, ids.allSatisfy({ $0.stringValue?.isEmpty == false }) else {
                    throw VoxPluginError.invalidRequest("options.\(key): must be an array of at most 3 request ids (strings)")
                }
                body[key] = .array(ids)
            }
        }
        if let v = o["pronunciation_dictionary_locators"], v != .null {
            guard let list = v.arrayValue, list.count <= 3, list.allSatisfy({
                $0["pronunciation_dictionary_id"]?.stringValue?.isEmpty == false
                    && ($0["version_id"] == nil || $0["version_id"] == .null || $0["version_id"]?.stringValue != nil)
            }) else {
                throw VoxPluginError.invalidRequest("options.pronunciation_dictionary_locators: must be at most 3 objects {\"pronunciation_dictionary_id\": \"…\", \"version_id\": \"…\"}")
            }
            body["pronunciation_dictionary_locators"] = .array(list.map { l in
                var o: [String: JSONValue] = ["pronunciation_dictionary_id": l["pronunciation_dictionary_id"]!]
                if let v = l["version_id"], v != .null { o["version_id"] = v }
                return .object(o)
            })
        }
        if let v = o["apply_text_normalization"], v != .null {
            guard let s = v.stringValue, ["auto", "on", "off"].contains(s) else {
                throw VoxPluginError.invalidRequest("options.apply_text_normalization: must be \"auto\", \"on\" or \"off\"")
            }
            body["apply_text_normalization"] = .string(s)
        }
        if let v = try Self.bool(o, "apply_language_text_normalization") { body["apply_language_text_normalization"] = .bool(v) }

        var explicit: String?
        if let v = o["output_format"], v != .null {
            guard let s = v.stringValue else { throw VoxPluginError.invalidRequest("options.output_format: must be a string such as \"mp3_44100_128\"") }
            explicit = s
        }
        outputFormat = try OutputFormat.choose(for: r.format, defaultPCMRate: defaultPCMRate, explicit: explicit)
    }

    static func options(_ v: JSONValue?) throws -> [String: JSONValue] {
        guard let v, v != .null else { return [:] }
        guard let o = v.objectValue else { throw VoxPluginError.invalidRequest("options: must be an object") }
        return o
    }

    static func number(_ o: [String: JSONValue], _ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let v = o[key], v != .null else { return nil }
        guard let d = v.doubleValue, range.contains(d) else {
            throw VoxPluginError.invalidRequest("options.\(key): must be a number in \(range.lowerBound.shortText)…\(range.upperBound.shortText)")
        }
        return d
    }

    static func bool(_ o: [String: JSONValue], _ key: String) throws -> Bool? {
        guard let v = o[key], v != .null else { return nil }
        guard let b = v.boolValue else { throw VoxPluginError.invalidRequest("options.\(key): must be true or false") }
        return b
    }

    /// `language_code` is ISO 639-1 (elevenlabs.md); a BCP 47 tag keeps its
    /// language subtag ("pt-BR" → "pt").
    static func languageCode(_ tag: String) throws -> String {
        let primary = tag.split(whereSeparator: { $0 == "-" || $0 == "_" }).first.map { $0.lowercased() } ?? ""
        guard (2...3).contains(primary.count), primary.allSatisfy({ $0 >= "a" && $0 <= "z" }) else {
            throw VoxPluginError.invalidRequest("language: \"\(tag)\" is not a BCP 47 language tag (e.g. \"en\", \"pt-BR\")")
        }
        return primary
    }
}

extension Double {
    /// 0.7 as "0.7", 1.0 as "1".
    var shortText: String { self == rounded() ? String(Int(self)) : String(self) }
}

import ProviderSupport
import VoxPluginKit

/// The query of `/v1/listen`, one builder for the pre-recorded POST and the
/// live WebSocket (deepgram.md: the live socket takes "same feature params
/// as REST (string booleans) plus" a few of its own). Model and language
/// come from the request, features from `options`, with voxd's defaults:
/// `smart_format` and `punctuate` on, and for files `utterances` on (they
/// become the transcript's segments). An option the client sets wins.
///
/// Param names and types are the spec's: openapi.yml `/v1/listen`
/// parameters (pre-recorded) and asyncapi.yml `/v1/listen` bindings.query
/// (live).
enum ListenQuery {
    enum Mode: Equatable {
        case prerecorded
        /// Raw audio on the socket: `encoding` (linear16 …), `sample_rate`, `channels`.
        case live(encoding: String, sampleRate: Int, channels: Int)
    }

    enum Kind {
        case bool
        /// A string, or a list of strings sent as repeated params.
        case strings
        case oneOf(Set<String>)
        case number(ClosedRange<Double>)
        case boolOrStrings // detect_language: a bool or a list of codes
        case boolOrString // summarize: true/false or a version ("v2")
        case integerOrFalse(ClosedRange<Int>) // endpointing: milliseconds, or false
    }

    /// Options both modes take (the spec lists each for REST and WS).
    static let common: [String: Kind] = [
        "punctuate": .bool, "smart_format": .bool, "diarize": .bool, "numerals": .bool, "profanity_filter": .bool,
        "dictation": .bool, "multichannel": .bool, "detect_entities": .bool, "mip_opt_out": .bool,
        "diarize_model": .oneOf(["latest", "v1", "v2"]),
        "keyterm": .strings, "keywords": .strings, "search": .strings, "replace": .strings, "redact": .strings,
        "tag": .strings, "extra": .strings, "version": .strings,
    ]
    /// Pre-recorded only (openapi.yml `/v1/listen`).
    static let prerecordedOnly: [String: Kind] = [
        "utterances": .bool, "paragraphs": .bool, "filler_words": .bool, "measurements": .bool, "sentiment": .bool,
        "topics": .bool, "intents": .bool, "detect_language": .boolOrStrings, "summarize": .boolOrString,
        "utt_split": .number(0...60), "custom_topic": .strings, "custom_intent": .strings,
        "custom_topic_mode": .oneOf(["strict", "extended"]), "custom_intent_mode": .oneOf(["strict", "extended"]),
    ]
    /// Live only (asyncapi.yml `/v1/listen`; deepgram.md "Live STT").
    static let liveOnly: [String: Kind] = [
        "interim_results": .bool, "vad_events": .bool, "endpointing": .integerOrFalse(0...60_000),
        "utterance_end_ms": .number(1000...60_000),
    ]
    /// Set by the plugin, never by options, and why.
    static let refused: [String: String] = [
        "model": "use the request's model", "language": "use the request's language",
        "encoding": "set from the audio format", "sample_rate": "set from the audio format", "channels": "set from the audio format",
        "callback": "voxd waits for the answer; callbacks are not supported",
        "callback_method": "voxd waits for the answer; callbacks are not supported",
    ]

    static func kinds(_ mode: Mode) -> [String: Kind] {
        common.merging(mode == .prerecorded ? prerecordedOnly : liveOnly) { a, _ in a }
    }

    /// The query and the model it names.
    static func build(_ r: TranscriptionRequest, mode: Mode) throws -> (query: URLQuery, model: String) {
        let model = r.model.flatMap { $0.isEmpty ? nil : $0 } ?? DeepgramCatalog.defaultSTTModel
        let isNova3 = model.hasPrefix("nova-3")
        var values: [String: [String]] = ["smart_format": ["true"], "punctuate": ["true"]]
        switch mode {
        case .prerecorded:
            values["utterances"] = ["true"]
        case .live(let encoding, let rate, let channels):
            values["encoding"] = [encoding]
            values["sample_rate"] = [String(rate)]
            values["channels"] = [String(channels)]
            values["interim_results"] = [(r.interimResults ?? false) ? "true" : "false"]
        }
        if let options = r.options, options != .null {
            guard let o = options.objectValue else { throw VoxPluginError.invalidRequest("options: must be an object") }
            let kinds = kinds(mode)
            for (key, value) in o.sorted(by: { $0.key < $1.key }) where value != .null {
                if let why = refused[key] { throw VoxPluginError.invalidRequest("options.\(key): not accepted (\(why))") }
                guard let kind = kinds[key] else {
                    let other = mode == .prerecorded ? liveOnly[key] != nil : prerecordedOnly[key] != nil
                    if other { throw VoxPluginError.invalidRequest("options.\(key): only for \(mode == .prerecorded ? "live" : "pre-recorded") transcription") }
                    throw VoxPluginError.invalidRequest("options.\(key): unknown; deepgram takes \(kinds.keys.sorted().joined(separator: ", "))")
                }
                values[key] = try strings(value, kind, key: "options.\(key)")
            }
        }
        // keyterm: "Only compatible with Nova-3" (spec /v1/listen).
        if values["keyterm"] != nil, !isNova3 {
            throw VoxPluginError.invalidRequest("options.keyterm: only nova-3 models take key terms (model is \(model)); use options.keywords")
        }
        var q = URLQuery()
        q.add("model", model)
        if let language = try language(r.language, model: model) { q.add("language", language) }
        for key in values.keys.sorted() { for v in values[key]! { q.add(key, v) } }
        return (q, model)
    }

    /// A BCP-47 tag, or `multi` (code-switching, nova-3 only: deepgram.md
    /// "Pre-recorded STT").
    static func language(_ tag: String?, model: String) throws -> String? {
        guard let tag, !tag.isEmpty else { return nil }
        if tag == "multi" {
            guard model.hasPrefix("nova-3") else {
                throw VoxPluginError.invalidRequest("language: multi (code-switching) needs a nova-3 model, not \(model)")
            }
            return tag
        }
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
        let ok = (2...3).contains(parts[0].count) && parts[0].allSatisfy { $0.isASCII && $0.isLetter }
            && parts.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
        guard ok else { throw VoxPluginError.invalidRequest("language: \"\(tag)\" is not a BCP-47 tag (e.g. en, en-US, pt-BR) or multi") }
        return tag
    }

    /// An option's value as the query's strings ("true"/"false" for booleans).
    static func strings(_ v: JSONValue, _ kind: Kind, key: String) throws -> [String] {
        func list() -> [String]? {
            if let s = v.stringValue { return [s] }
            guard let a = v.arrayValue, !a.isEmpty else { return nil }
            let s = a.compactMap(\.stringValue)
            return s.count == a.count ? s : nil
        }
        switch kind {
        case .bool:
            guard let b = v.boolValue else { throw VoxPluginError.invalidRequest("\(key): must be true or false") }
            return [b ? "true" : "false"]
        case .strings:
            guard let l = list(), l.allSatisfy({ !$0.isEmpty }) else { throw VoxPluginError.invalidRequest("\(key): must be a string or a list of strings") }
            return l
        case .oneOf(let allowed):
            guard let s = v.stringValue, allowed.contains(s) else {
                throw VoxPluginError.invalidRequest("\(key): must be one of \(allowed.sorted().joined(separator: ", "))")
            }
            return [s]
        case .number(let range):
            guard let d = v.doubleValue, range.contains(d) else {
                throw VoxPluginError.invalidRequest("\(key): must be a number in \(number(range.lowerBound))…\(number(range.upperBound))")
            }
            return [number(d)]
        case .boolOrStrings:
            if let b = v.boolValue { return [b ? "true" : "false"] }
            guard let l = list() else { throw VoxPluginError.invalidRequest("\(key): must be true, false or a list of language codes") }
            return l
        case .boolOrString:
            if let b = v.boolValue { return [b ? "true" : "false"] }
            guard let s = v.stringValue, !s.isEmpty else { throw VoxPluginError.invalidRequest("\(key): must be true, false or a version string") }
            return [s]
        case .integerOrFalse(let range):
            if v.boolValue == false { return ["false"] }
            guard let i = v.intValue, range.contains(i) else {
                throw VoxPluginError.invalidRequest("\(key): must be false or milliseconds in \(range.lowerBound)…\(range.upperBound)")
            }
            return [String(i)]
        }
    }

    static func number(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
    }
}

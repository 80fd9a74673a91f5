import Foundation
import ProviderSupport
import VoxPluginKit

/// Discovery: `GET /v1/models?include_outdated=false` (deepgram.md "Models")
/// answers `{"stt": […], "tts": […]}`. STT entries are models; TTS entries
/// are both models and voices ("TTS voices = TTS models": `canonical_name`
/// is the value for `model=`). Failures surface as errors; the host serves
/// the last good list, marked stale.
struct Discovery {
    let client: ProviderClient

    struct Found {
        var stt: [ModelInfo]
        var tts: [(voice: TTSVoice, info: Voice)]
    }

    func fetch() async throws -> Found {
        let list = try await client.json("GET", "/v1/models?include_outdated=false")
        let stt = list["stt"]?.arrayValue, tts = list["tts"]?.arrayValue
        guard stt != nil || tts != nil else {
            throw VoxPluginError(.unavailable, "deepgram sent a model list without stt or tts: \(ProviderErrors.snippet(VoxJSON.string(list)))", retriable: true)
        }
        return Found(stt: Self.sttModels(stt ?? []), tts: (tts ?? []).compactMap(Self.voice))
    }

    /// One model per canonical name, with what it serves: `batch` → files,
    /// `streaming` → live listen. Flux models are left out: they speak the
    /// v2 turn-taking socket (`/v2/listen`, deepgram.md: out of scope).
    static func sttModels(_ entries: [JSONValue]) -> [ModelInfo] {
        var seen: Set<String> = []
        var out: [ModelInfo] = []
        for e in entries {
            guard let id = e["canonical_name"]?.stringValue ?? e["name"]?.stringValue, !id.isEmpty,
                  !id.hasPrefix("flux"), seen.insert(id).inserted else { continue }
            var ops: [VoxOperation] = []
            if e["batch"]?.boolValue != false { ops.append(.sttTranscribe) }
            if e["streaming"]?.boolValue == true { ops.append(.sttStream) }
            guard !ops.isEmpty else { continue }
            let about = [e["architecture"]?.stringValue, e["version"]?.stringValue.map { "version \($0)" }].compactMap { $0 }
            out.append(ModelInfo(id: id, operations: ops, languages: e["languages"]?.arrayValue?.compactMap(\.stringValue),
                                 description: about.isEmpty ? nil : about.joined(separator: ", ")))
        }
        return out
    }

    /// A TTS entry as a voice: gender from `metadata.tags`
    /// (`feminine`/`masculine`), accent, age, use cases, the sample as
    /// the preview.
    static func voice(_ e: JSONValue) -> (voice: TTSVoice, info: Voice)? {
        guard let canonical = e["canonical_name"]?.stringValue, !canonical.isEmpty else { return nil }
        let name = e["name"]?.stringValue ?? canonical
        let languages = e["languages"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let architecture = e["architecture"]?.stringValue ?? (canonical.hasPrefix("aura-2-") ? "aura-2" : "aura")
        let meta = e["metadata"]
        let tags = (meta?["tags"]?.arrayValue ?? []).compactMap { $0.stringValue?.lowercased() }
        let gender = tags.contains("feminine") ? "female" : tags.contains("masculine") ? "male" : nil
        let useCases = (meta?["use_cases"]?.arrayValue ?? []).compactMap(\.stringValue)
        var description = architecture == "aura-2" ? "Aura-2" : "Aura"
        if !useCases.isEmpty { description += "; " + useCases.joined(separator: ", ") }
        let info = Voice(id: canonical, name: name.prefix(1).uppercased() + name.dropFirst(), languages: languages.isEmpty ? nil : languages,
                         gender: gender, age: meta?["age"]?.stringValue.map(age), accent: meta?["accent"]?.stringValue,
                         description: description, model: canonical, custom: false, previewUrl: meta?["sample"]?.stringValue)
        return (TTSVoice(canonical: canonical, name: name.lowercased(), architecture: architecture, languages: languages), info)
    }

    /// Deepgram's ages ("Young Adult", "Adult", "Mature") in SCHEMAS.md's
    /// words (young, middle_aged, old); others lowercased, spaces as `_`.
    static func age(_ a: String) -> String {
        switch a.lowercased() {
        case "young", "young adult": return "young"
        case "adult", "middle aged", "middle-aged": return "middle_aged"
        case "mature", "senior", "old": return "old"
        default: return a.lowercased().replacingOccurrences(of: " ", with: "_")
        }
    }
}

/// The voices a request may name: the documented ones (DeepgramCatalog)
/// and the last discovered list. A voice is its canonical name
/// (`aura-2-thalia-en`) or its short name (`thalia`); a short name in
/// several families or languages goes to the requested model's family and
/// language, then the request's language, then Aura-2, then English.
final class VoiceBook: @unchecked Sendable {
    private let lock = NSLock()
    private var discovered: [TTSVoice] = []
    private var didDiscover = false
    private let discover: @Sendable () async throws -> [TTSVoice]

    init(discover: @escaping @Sendable () async throws -> [TTSVoice]) { self.discover = discover }

    func remember(_ voices: [TTSVoice]) {
        lock.withLock { discovered = voices; didDiscover = true }
    }

    var known: [TTSVoice] {
        let found = lock.withLock { discovered }
        let names = Set(found.map(\.canonical))
        return found + DeepgramCatalog.ttsVoices.filter { !names.contains($0.canonical) }
    }

    /// The voice to speak with. A name neither list knows triggers one
    /// discovery (a voice newer than this plugin), then not_found.
    func resolve(voice: String?, model: String?, language: String?) async throws -> TTSVoice {
        let wanted = voice.flatMap { $0.isEmpty ? nil : $0 } ?? model.flatMap { $0.isEmpty ? nil : $0 } ?? DeepgramCatalog.defaultTTSModel
        if let v = find(wanted, model: model, language: language) { return v }
        if !lock.withLock({ didDiscover }) {
            remember(try await discover())
            if let v = find(wanted, model: model, language: language) { return v }
        }
        let what = voice == nil ? "model" : "voice"
        throw VoxPluginError.notFound("deepgram has no \(what) \"\(wanted)\": its voices are its Aura TTS models, named in full (aura-2-thalia-en) or short (thalia); GET /v1/voices?provider=deepgram lists them")
    }

    func find(_ name: String, model: String?, language: String?) -> TTSVoice? {
        let all = known
        let key = name.lowercased()
        if let exact = all.first(where: { $0.canonical == key }) { return exact }
        let matches = all.filter { $0.name == key }
        guard !matches.isEmpty else { return nil }
        let context = model.flatMap { m in all.first { $0.canonical == m.lowercased() } }
        let lang = language.map { String($0.lowercased().split(separator: "-").first ?? "") }
        func score(_ v: TTSVoice) -> Int {
            var s = 0
            if let context, v.architecture == context.architecture { s += 8 }
            if let context, v.languages.first == context.languages.first { s += 4 }
            if let lang, v.languages.contains(where: { $0.lowercased().hasPrefix(lang) }) { s += 4 }
            if v.architecture == "aura-2" { s += 2 }
            if v.languages.contains(where: { $0.hasPrefix("en") }) { s += 1 }
            return s
        }
        return matches.max { score($0) < score($1) }
    }
}

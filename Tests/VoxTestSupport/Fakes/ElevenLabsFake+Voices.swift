import Foundation
import Hummingbird

/// One voice of the fake's account.
public struct FakeVoice: Sendable {
    public var id: String
    public var name: String
    /// premade | cloned | generated | professional (elevenlabs.md "Voices").
    public var category: String
    public var labels: [(String, String)]
    public var description: String?
    public var previewURL: String?
    /// (language, model_id, locale) of `verified_languages`.
    public var verified: [(String, String, String?)]
}

/// GET /v1/models, GET /v1/voices and POST /v1/voices/add (elevenlabs.md
/// "Models", "Voices", "Instant voice cloning"; the spec's
/// ModelResponseModel, GetVoicesResponseModel, Body_Add_voice_v1_voices_add_post).
extension ElevenLabsFake {
    /// The premade voices (the first is the spec's example voice) and the
    /// account's own: a professional clone and a designed voice.
    public static let accountVoices: [FakeVoice] = [
        FakeVoice(id: "21m00Tcm4TlvDq8ikWAM", name: "Rachel", category: "premade",
                  labels: [("accent", "american"), ("age", "young"), ("gender", "female"), ("description", "calm"), ("use_case", "narration")],
                  description: nil, previewURL: "https://storage.googleapis.com/eleven-public-prod/premade/voices/21m00Tcm4TlvDq8ikWAM/preview.mp3", verified: []),
        FakeVoice(id: "pNInz6obpgDQGcFmaJgB", name: "Adam", category: "premade",
                  labels: [("accent", "american"), ("age", "middle aged"), ("gender", "male"), ("description", "deep"), ("use_case", "narration")],
                  description: nil, previewURL: "https://storage.googleapis.com/eleven-public-prod/premade/voices/pNInz6obpgDQGcFmaJgB/preview.mp3", verified: []),
        FakeVoice(id: "PVCnarrator000000001", name: "Studio Narrator", category: "professional",
                  labels: [("accent", "british"), ("age", "old"), ("gender", "male"), ("language", "en")],
                  description: "My professional voice clone", previewURL: "https://storage.googleapis.com/eleven-public-prod/pvc/PVCnarrator000000001/preview.mp3",
                  verified: [("en", "eleven_multilingual_v2", "en-GB"), ("fr", "eleven_multilingual_v2", "fr-FR")]),
        FakeVoice(id: "GENforestsprite00001", name: "Forest Sprite", category: "generated",
                  labels: [("age", "young"), ("gender", "non-binary"), ("descriptive", "whispery"), ("language", "de")],
                  description: nil, previewURL: nil, verified: []),
    ]

    /// Text-to-speech models the fake takes: what GET /v1/models lists with
    /// can_do_text_to_speech, and the legacy ids.
    static let ttsModels: Set<String> = ["eleven_multilingual_v2", "eleven_v3", "eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_flash_v2",
                                         "eleven_turbo_v2", "eleven_multilingual_v1", "eleven_monolingual_v1"]

    /// Every voice the account has now, cloned ones last.
    public var allVoices: [FakeVoice] { Self.accountVoices + lock.withLock { clonedVoices } }

    func models(_ r: RecordedRequest) -> Response {
        if !r.body.isEmpty { core.violation("\(r.path): GET with a body (\(r.body.count) bytes)") }
        checkQuery(r, allowed: [:])
        if case .malformedJSON = core.behaviour(r.path) {
            return .fake(200, contentType: "application/json", Array("[{\"model_id\":\"eleven_multilingual_v2\",\"name\":".utf8), headers: commonHeaders())
        }
        func lang(_ id: String, _ name: String) -> FakeJSON { .object([("language_id", .string(id)), ("name", .string(name))]) }
        let multilingual = [lang("en", "English"), lang("de", "German"), lang("fr", "French"), lang("ja", "Japanese"), lang("fil", "Filipino")]
        func model(_ id: String, _ name: String, tts: Bool, sts: Bool, languages: [FakeJSON], cost: Double, maxChars: Int, group: String) -> FakeJSON {
            .object([
                ("model_id", .string(id)), ("name", .string(name)), ("can_be_finetuned", .bool(true)),
                ("can_do_text_to_speech", .bool(tts)), ("can_do_voice_conversion", .bool(sts)), ("can_use_style", .bool(true)),
                ("can_use_speaker_boost", .bool(true)), ("serves_pro_voices", .bool(false)), ("token_cost_factor", .double(cost)),
                ("description", .string("\(name), the fake's copy.")), ("requires_alpha_access", .bool(false)),
                ("max_characters_request_free_user", .int(2500)), ("max_characters_request_subscribed_user", .int(5000)),
                ("maximum_text_length_per_request", .int(maxChars)), ("languages", .array(languages)),
                ("model_rates", .object([("character_cost_multiplier", .double(cost))])), ("concurrency_group", .string(group)),
            ])
        }
        // A bare array, no wrapper (elevenlabs.md "Models").
        let body = FakeJSON.array([
            model("eleven_multilingual_v2", "Eleven Multilingual v2", tts: true, sts: false, languages: multilingual, cost: 1, maxChars: 10_000, group: "standard"),
            model("eleven_flash_v2_5", "Eleven Flash v2.5", tts: true, sts: false, languages: multilingual + [lang("hu", "Hungarian"), lang("vi", "Vietnamese")],
                  cost: 0.5, maxChars: 40_000, group: "turbo"),
            model("eleven_v3", "Eleven v3 (alpha)", tts: true, sts: false, languages: multilingual + [lang("he", "Hebrew")], cost: 1, maxChars: 3_000, group: "standard"),
            model("eleven_flash_v2", "Eleven Flash v2", tts: true, sts: false, languages: [lang("en", "English")], cost: 0.5, maxChars: 30_000, group: "turbo"),
            model("eleven_multilingual_sts_v2", "Eleven Multilingual v2 (speech-to-speech)", tts: false, sts: true, languages: multilingual, cost: 1,
                  maxChars: 10_000, group: "standard"),
        ])
        return .fake(200, contentType: "application/json", body.bytes, headers: commonHeaders())
    }

    static func voiceJSON(_ v: FakeVoice) -> FakeJSON {
        let samples: FakeJSON = v.category == "cloned"
            ? .array([.object([("sample_id", .string("smp\(v.id.suffix(6))")), ("file_name", .string("reference")), ("mime_type", .string("audio/wav")),
                               ("size_bytes", .int(32_044)), ("hash", .string("0f1e2d3c"))])])
            : .null
        return .object([
            ("voice_id", .string(v.id)), ("name", .string(v.name)), ("samples", samples), ("category", .string(v.category)),
            ("fine_tuning", .null), ("labels", .object(v.labels.map { ($0.0, FakeJSON.string($0.1)) })),
            ("description", v.description.map { .string($0) } ?? .null), ("preview_url", v.previewURL.map { .string($0) } ?? .null),
            ("available_for_tiers", .array([])),
            ("settings", .object([("stability", .double(0.5)), ("similarity_boost", .double(0.75)), ("style", .double(0)),
                                  ("use_speaker_boost", .bool(true)), ("speed", .double(1))])),
            ("sharing", .null), ("high_quality_base_model_ids", .array([.string("eleven_multilingual_v2"), .string("eleven_flash_v2_5")])),
            ("verified_languages", .array(v.verified.map { l in
                .object([("language", .string(l.0)), ("model_id", .string(l.1)), ("accent", .null),
                         ("locale", l.2.map { .string($0) } ?? .null), ("preview_url", .null)])
            })),
            ("is_owner", .bool(v.category != "premade")), ("is_legacy", .bool(false)), ("is_mixed", .bool(false)),
            ("created_at_unix", v.category == "premade" ? .null : .int(1_750_000_000)),
        ])
    }

    func voices(_ r: RecordedRequest) -> Response {
        if !r.body.isEmpty { core.violation("\(r.path): GET with a body (\(r.body.count) bytes)") }
        checkQuery(r, allowed: ["show_legacy": Self.isBool])
        if case .malformedJSON = core.behaviour(r.path) {
            return .fake(200, contentType: "application/json", Array("{\"voices\":[{\"voice_id\":\"21m00Tcm4T".utf8), headers: commonHeaders())
        }
        let body = FakeJSON.object([("voices", .array(allVoices.map(Self.voiceJSON)))])
        return .fake(200, contentType: "application/json", body.bytes, headers: commonHeaders())
    }

    /// The spec's parts of Body_Add_voice_v1_voices_add_post.
    static let addVoiceFields: Set<String> = ["name", "files", "remove_background_noise", "description", "labels"]
    /// What the first bytes of a file of each content type look like.
    static let audioMagic: [String: [[UInt8]]] = [
        "audio/wav": [Array("RIFF".utf8)], "audio/x-wav": [Array("RIFF".utf8)], "audio/wave": [Array("RIFF".utf8)],
        "audio/mpeg": [Array("ID3".utf8), [0xFF]], "audio/ogg": [Array("OggS".utf8)], "audio/flac": [Array("fLaC".utf8)],
        "audio/webm": [[0x1A, 0x45, 0xDF, 0xA3]], "audio/mp4": [],
    ]

    func checkAudioFile(_ part: FakeMultipart.Part, path: String) {
        guard let name = part.filename, !name.isEmpty else { core.violation("\(path): \(part.name) part without a filename"); return }
        guard let type = part.contentType?.lowercased(), let magic = Self.audioMagic[type] else {
            core.violation("\(path): \(part.name) part \"\(name)\" has Content-Type \(part.contentType ?? "none"), not an audio type")
            return
        }
        if part.data.isEmpty { core.violation("\(path): \(part.name) part \"\(name)\" is empty") }
        if type == "audio/mp4", !(part.data.count >= 8 && part.data[4..<8].elementsEqual("ftyp".utf8)) {
            core.violation("\(path): \(part.name) part \"\(name)\" is audio/mp4 without an ftyp box")
        } else if !magic.isEmpty, !magic.contains(where: { part.data.starts(with: $0) }) {
            core.violation("\(path): \(part.name) part \"\(name)\" is not \(type) (it starts with \(part.data.prefix(4).map { String($0) }))")
        }
        let ext = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        let exts = ["audio/wav": ["wav"], "audio/x-wav": ["wav"], "audio/wave": ["wav"], "audio/mpeg": ["mp3"], "audio/ogg": ["ogg", "opus"],
                    "audio/flac": ["flac"], "audio/webm": ["webm"], "audio/mp4": ["m4a", "mp4"]][type] ?? []
        if !exts.contains(ext) { core.violation("\(path): \(part.name) part \"\(name)\" has an extension that does not match \(type)") }
    }

    func addVoice(_ r: RecordedRequest) -> Response {
        let (parsed, failure) = multipart(r)
        guard let form = parsed else { return failure! }
        checkQuery(r, allowed: [:])
        var seen: Set<String> = []
        for part in form.parts {
            if !Self.addVoiceFields.contains(part.name) { core.violation("\(r.path): unknown field \"\(part.name)\"") }
            if part.name != "files", !seen.insert(part.name).inserted { core.violation("\(r.path): field \"\(part.name)\" sent twice") }
            if part.name != "files", part.filename != nil { core.violation("\(r.path): field \"\(part.name)\" sent as a file") }
        }
        guard let name = form.first("name")?.text, !name.isEmpty else {
            core.violation("\(r.path): no name")
            return validationError(["body", "name"], "field required", type: "value_error.missing")
        }
        let files = form.all("files")
        guard !files.isEmpty else {
            core.violation("\(r.path): no files part")
            return validationError(["body", "files"], "field required", type: "value_error.missing")
        }
        for f in files { checkAudioFile(f, path: r.path) }
        if let v = form.first("remove_background_noise")?.text, !Self.isBool(v) { core.violation("\(r.path): remove_background_noise \"\(v)\" is not true/false") }
        var labels: [(String, String)] = []
        if let text = form.first("labels")?.text {
            // A JSON-encoded string of a string → string map.
            guard let json = FakeJSON.parse(Array(text.utf8)), let keys = json.keys else {
                core.violation("\(r.path): labels is not a JSON-encoded object: \(text.prefix(60))")
                return validationError(["body", "labels"], "labels must be a JSON object", type: "value_error")
            }
            for k in keys {
                guard let v = json[k]?.string else { core.violation("\(r.path): label \"\(k)\" is not a string"); continue }
                labels.append((k, v))
            }
        }
        if case .malformedJSON = core.behaviour(r.path) {
            return .fake(200, contentType: "application/json", Array("{\"voice_id\":\"IVC".utf8), headers: commonHeaders())
        }
        let voice: FakeVoice = lock.withLock {
            let v = FakeVoice(id: String(format: "IVC%017ld", clonedVoices.count + 1), name: name, category: "cloned", labels: labels,
                              description: form.first("description")?.text, previewURL: nil, verified: [])
            clonedVoices.append(v)
            return v
        }
        let body = FakeJSON.object([("voice_id", .string(voice.id)), ("requires_verification", .bool(false))])
        return .fake(200, contentType: "application/json", body.bytes, headers: commonHeaders())
    }
}

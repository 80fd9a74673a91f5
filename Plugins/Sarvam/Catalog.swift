import ProviderSupport
import VoxPluginKit

/// What the plugin declares: operations, the documented models, speakers
/// and prices. Every provider fact cites sarvam.md
/// (/work/shared/providers/sarvam.md: `sarvamai` SDK 0.1.39, docs.sarvam.ai
/// 2025–Jul 2026; Sarvam publishes no OpenAPI file).
enum SarvamCatalog {
    /// voxd uses `default_model` for speech when a request names only the provider.
    static let defaultTTSModel = "bulbul:v3"
    /// "saaras:v3 (API default; switched from saarika in 2026-06)".
    static let defaultSTTModel = "saaras:v3"
    static let defaultChatModel = "sarvam-30b"

    /// STT models sarvam.md names: current saaras:v3/v4, "legacy still seen"
    /// saarika:v2.5/v2/v1 (the first three are declared in `models`).
    static let sttModels = ["saaras:v3", "saaras:v4", "saarika:v2.5", "saarika:v2", "saarika:v1"]
    /// STT models that take `mode` (and the longer language list).
    static let saarasModes: Set<String> = ["saaras:v3", "saaras:v4"]
    /// `mode` values of saaras:v3/v4.
    static let modes = ["transcribe", "translate", "verbatim", "translit", "codemix"]

    /// The stock speakers (no listing endpoint: "ship the list"), as of
    /// `sarvamai` SDK 0.1.39 (2026), specs/sarvam/tts-speakers.json.
    /// bulbul:v2 documents genders; bulbul:v3's 37 have none ("gender not given by API").
    static let v2Female = ["anushka", "manisha", "vidya", "arya"]
    static let v2Male = ["abhilash", "karun", "hitesh"]
    static let v3Speakers = [
        "shubh", "aditya", "ritu", "priya", "neha", "rahul", "pooja", "rohan", "simran", "kavya", "amit", "dev", "ishita",
        "shreya", "ratan", "varun", "manan", "sumit", "roopa", "kabir", "aayan", "ashutosh", "advait", "anand", "tanya",
        "tarun", "sunny", "mani", "gokul", "vijay", "shruti", "suhani", "mohit", "kavitha", "rehan", "soham", "rupali",
    ]

    /// What each TTS model takes (sarvam.md "Text-to-speech REST").
    struct TTSModel: Sendable {
        var id: String
        var speakers: [String]
        var defaultSpeaker: String
        /// "Max chars: v3/v4-flash 2500, v2 1500".
        var maxChars: Int
        var pace: ClosedRange<Double>
        /// `pitch`, `loudness`, `enable_preprocessing`: v2 only.
        var v2Controls: Bool
        /// `temperature`, `dict_id`: v3/v4 only.
        var v3Controls: Bool
        /// `speech_sample_rate`; "REST v3/v4 also 32000, 44100, 48000".
        var sampleRates: [Int]
    }

    static let ttsModels: [TTSModel] = [
        TTSModel(id: "bulbul:v3", speakers: v3Speakers, defaultSpeaker: "shubh", maxChars: 2500, pace: 0.5...2.0,
                 v2Controls: false, v3Controls: true, sampleRates: [8000, 16000, 22050, 24000, 32000, 44100, 48000]),
        TTSModel(id: "bulbul:v2", speakers: v2Female + v2Male, defaultSpeaker: "anushka", maxChars: 1500, pace: 0.3...3.0,
                 v2Controls: true, v3Controls: false, sampleRates: [8000, 16000, 22050, 24000]),
    ]
    static func ttsModel(_ id: String) -> TTSModel? { ttsModels.first { $0.id == id } }

    static let models: [ModelInfo] = [
        ModelInfo(id: "bulbul:v3", operations: [.ttsSynthesize], languages: SarvamLanguages.tts, defaultVoice: "shubh",
                  description: "Bulbul v3 speech in 11 Indian languages (37 speakers)"),
        ModelInfo(id: "bulbul:v2", operations: [.ttsSynthesize], languages: SarvamLanguages.tts, defaultVoice: "anushka",
                  description: "Bulbul v2 speech with pitch and loudness controls (7 speakers)"),
        ModelInfo(id: defaultSTTModel, operations: [.sttTranscribe, .sttStream], languages: SarvamLanguages.stt(model: defaultSTTModel),
                  description: "Saaras v3: transcription up to 30 s; options.mode transcribe|translate|verbatim|translit|codemix"),
        ModelInfo(id: "saaras:v4", operations: [.sttTranscribe, .sttStream], languages: SarvamLanguages.stt(model: "saaras:v4"),
                  description: "Saaras v4: transcription up to 30 s, modes and options.keyterms"),
        ModelInfo(id: "saarika:v2.5", operations: [.sttTranscribe], languages: SarvamLanguages.stt(model: "saarika:v2.5"),
                  description: "Saarika v2.5 (legacy default before 2026-06): transcription up to 30 s"),
        ModelInfo(id: defaultChatModel, operations: [.llmChat], description: "Sarvam 30B chat completions, streamed"),
        ModelInfo(id: "sarvam-105b", operations: [.llmChat], description: "Sarvam 105B chat completions, streamed"),
        ModelInfo(id: "sarvam-105b-conversations", operations: [.llmChat], description: "Sarvam 105B tuned for conversations, streamed"),
    ]

    /// sarvam.md "Pricing": INR per 1M tokens, sarvam-105b only (third-party
    /// transcription of the pricing page, 2026-09-20); STT/TTS and the other
    /// chat models: "not captured", so not declared. voxd prices in USD: the
    /// rupee figures are converted at an assumed ₹88.0 per US$ (not from
    /// sarvam.md; the rate is the source's to update).
    static let inrPerUSD = 88.0
    static let prices: [Price] = [
        Price(operation: .llmChat, model: "sarvam-105b", unit: "input_token", usdPerUnit: 29.28 / inrPerUSD / 1_000_000,
              source: "sarvam.md Pricing: ₹29.28 / 1M input tokens (2026-09-20), at an assumed ₹88.0 = US$1"),
        Price(operation: .llmChat, model: "sarvam-105b", unit: "output_token", usdPerUnit: 73.2 / inrPerUSD / 1_000_000,
              source: "sarvam.md Pricing: ₹73.2 / 1M output tokens (2026-09-20), at an assumed ₹88.0 = US$1"),
    ]

    static var capabilities: Capabilities {
        Capabilities(
            operations: [
                .llmChat: OperationCapability(stream: true, tools: true),
                // JSON with base64 audio: one piece, not a stream.
                .ttsSynthesize: OperationCapability(stream: false, formats: SarvamSpeechFormat.declared,
                                                    sampleRates: ttsModel(defaultTTSModel)!.sampleRates),
                .sttTranscribe: OperationCapability(formats: AudioUpload.declared),
                // The streaming socket: raw 16-bit mono pcm (input_audio_codec=pcm_s16le).
                .sttStream: OperationCapability(stream: true, formats: [.pcmS16LE], sampleRates: StreamingOperation.sampleRates),
                .voicesList: OperationCapability(custom: false, clone: false),
                .modelsList: OperationCapability(),
            ],
            models: models,
            defaultModel: defaultTTSModel,
            defaultVoice: "shubh",
            languages: SarvamLanguages.sttBase + SarvamLanguages.sttSaarasExtra,
            prices: prices
        )
    }

    /// The documented speakers of one TTS model, or of both.
    static func voices(for model: String?) throws -> [Voice] {
        let chosen: [TTSModel]
        if let model {
            guard let m = ttsModel(model) else {
                throw VoxPluginError.notFound("sarvam has no speaker list for model \"\(model)\"; speakers are documented for \(ttsModels.map(\.id).joined(separator: ", "))")
            }
            chosen = [m]
        } else {
            chosen = ttsModels
        }
        return chosen.flatMap { m in
            m.speakers.map { id in
                let gender = v2Female.contains(id) && m.id == "bulbul:v2" ? "female" : v2Male.contains(id) && m.id == "bulbul:v2" ? "male" : nil
                return Voice(id: id, name: id.capitalized, languages: SarvamLanguages.tts, gender: gender,
                             description: "\(m.id) stock speaker", model: m.id, custom: false)
            }
        }
    }
}

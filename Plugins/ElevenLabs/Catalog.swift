import VoxPluginKit

/// What the plugin declares: operations, the documented models with their
/// languages and per-request text limits, and prices. Provider facts cite
/// elevenlabs.md (/work/shared/providers/elevenlabs.md); discovery
/// (GET /v1/models, GET /v1/voices) replaces the declared models' languages
/// with the account's real ones.
enum ElevenLabsCatalog {
    /// The API's own default `model_id` (elevenlabs.md "Text-to-speech").
    static let defaultTTSModel = "eleven_multilingual_v2"
    /// `model_id` is required for speech-to-text; scribe_v1 is the 2025 spec's model.
    static let defaultSTTModel = "scribe_v1"
    /// "Rachel", the spec's example voice (elevenlabs.md "Voices").
    static let defaultVoice = "21m00Tcm4TlvDq8ikWAM"

    // Languages by model. Not in elevenlabs.md: ElevenLabs' "Models" docs page
    // (29 languages for Multilingual v2, those + hu, no, vi for the v2.5
    // models, English only for Flash/Turbo v2 and English v1, 70+ for v3).
    // The ids GET /v1/models returns (`languages[].language_id`) win.
    static let multilingualV2Languages = ["en", "ja", "zh", "de", "hi", "fr", "ko", "pt", "it", "es", "id", "nl", "tr", "fil", "pl",
                                          "sv", "bg", "ro", "ar", "cs", "el", "fi", "hr", "ms", "sk", "da", "ta", "uk", "ru"]
    static let v25Languages = multilingualV2Languages + ["hu", "no", "vi"]
    static let multilingualV1Languages = ["en", "de", "pl", "es", "it", "fr", "pt", "hi"]
    static let v3Languages = ["af", "ar", "hy", "as", "az", "be", "bn", "bs", "bg", "ca", "ceb", "ny", "hr", "cs", "da", "nl", "en", "et",
                              "fil", "fi", "fr", "gl", "ka", "de", "el", "gu", "ha", "he", "hi", "hu", "is", "id", "ga", "it", "ja", "jv",
                              "kn", "kk", "ky", "ko", "lv", "ln", "lt", "lb", "mk", "ms", "ml", "zh", "mr", "ne", "no", "ps", "fa", "pl",
                              "pt", "pa", "ro", "ru", "sr", "sd", "sk", "sl", "so", "es", "sw", "sv", "ta", "te", "th", "tr", "uk", "ur",
                              "vi", "cy"]

    struct TTSModel {
        var id: String
        var languages: [String]
        /// Credits per character (elevenlabs.md "Models": Flash/Turbo 1
        /// credit per 2 chars, others 1 credit/char).
        var creditsPerCharacter: Double
        /// Characters per request (elevenlabs.md "Models"), nil where the
        /// file gives none (the provider then decides).
        var maxCharacters: Int?
        var description: String
    }

    static let ttsModels: [TTSModel] = [
        TTSModel(id: "eleven_multilingual_v2", languages: multilingualV2Languages, creditsPerCharacter: 1, maxCharacters: 10_000,
                 description: "Multilingual v2: the most life-like, 29 languages (the API's default)"),
        TTSModel(id: "eleven_v3", languages: v3Languages, creditsPerCharacter: 1, maxCharacters: nil,
                 description: "Eleven v3: the most expressive, 70+ languages"),
        TTSModel(id: "eleven_flash_v2_5", languages: v25Languages, creditsPerCharacter: 0.5, maxCharacters: 40_000,
                 description: "Flash v2.5: lowest latency, 32 languages, half the credits"),
        TTSModel(id: "eleven_turbo_v2_5", languages: v25Languages, creditsPerCharacter: 0.5, maxCharacters: 40_000,
                 description: "Turbo v2.5: low latency, 32 languages, half the credits"),
        TTSModel(id: "eleven_flash_v2", languages: ["en"], creditsPerCharacter: 0.5, maxCharacters: 30_000,
                 description: "Flash v2: lowest latency, English only"),
        TTSModel(id: "eleven_turbo_v2", languages: ["en"], creditsPerCharacter: 0.5, maxCharacters: 30_000,
                 description: "Turbo v2: low latency, English only"),
        TTSModel(id: "eleven_multilingual_v1", languages: multilingualV1Languages, creditsPerCharacter: 1, maxCharacters: nil,
                 description: "Multilingual v1 (legacy)"),
        TTSModel(id: "eleven_monolingual_v1", languages: ["en"], creditsPerCharacter: 1, maxCharacters: nil,
                 description: "English v1 (legacy)"),
    ]

    /// elevenlabs.md "Speech-to-text": `scribe_v1`, `scribe_v1_experimental`
    /// (2025 spec); `scribe_v2` from SDK 2.78. Not listed by GET /v1/models,
    /// so discovery adds these to what it finds.
    static let sttModels: [ModelInfo] = [
        ModelInfo(id: "scribe_v1", operations: [.sttTranscribe], description: "Scribe v1: 99 languages, word timestamps, diarization, audio events"),
        ModelInfo(id: "scribe_v1_experimental", operations: [.sttTranscribe], description: "Scribe v1 with experimental improvements"),
        ModelInfo(id: "scribe_v2", operations: [.sttTranscribe], description: "Scribe v2 (SDK 2.78)"),
    ]

    static func ttsModel(_ id: String) -> TTSModel? { ttsModels.first { $0.id == id } }

    /// $0.10 per 1,000 credits: ElevenLabs' API price for Multilingual v2/v3
    /// is $0.10 per 1,000 characters at 1 credit per character, and Flash/Turbo
    /// $0.05 at 0.5 (ElevenLabs API pricing page as reported in June 2026;
    /// elevenlabs.md: "per-dollar API rates vary by plan — not captured").
    static let defaultUSDPerCredit = 0.0001

    /// Prices in credits turned into dollars with the plan's `usd_per_credit`.
    static func prices(usdPerCredit: Double) -> [Price] {
        ttsModels.map { m in
            Price(operation: .ttsSynthesize, model: m.id, unit: "character", usdPerUnit: m.creditsPerCharacter * usdPerCredit,
                  source: "elevenlabs.md Pricing: \(m.creditsPerCharacter == 1 ? "1 credit" : "0.5 credit") per character (help center); "
                      + "× settings.usd_per_credit $\(usdPerCredit) per credit (plan-dependent)")
        } + sttModels.map { m in
            Price(operation: .sttTranscribe, model: m.id, unit: "audio_second", usdPerUnit: 0.22 / 3600,
                  source: "ElevenLabs API pricing, Scribe $0.22 per audio hour (reported June 2026); elevenlabs.md: per audio hour, plan-dependent, uncertain")
        }
    }

    static func models(defaultVoice: String) -> [ModelInfo] {
        ttsModels.map { ModelInfo(id: $0.id, operations: [.ttsSynthesize], languages: $0.languages, defaultVoice: defaultVoice, description: $0.description) }
            + sttModels
    }

    static func capabilities(_ s: ElevenLabsSettings) -> Capabilities {
        var languages: [String] = []
        for m in ttsModels { for l in m.languages where !languages.contains(l) { languages.append(l) } }
        return Capabilities(
            operations: [
                // Chunked audio from /stream, in the output_format asked for.
                .ttsSynthesize: OperationCapability(stream: true, formats: OutputFormat.declared, sampleRates: OutputFormat.declaredRates),
                // "all major audio and video formats"; raw 16 kHz pcm goes as file_format=pcm_s16le_16.
                .sttTranscribe: OperationCapability(formats: Upload.declared),
                // Every voice whose category is not premade is the user's own.
                .voicesList: OperationCapability(custom: true, clone: true),
                .voicesClone: OperationCapability(),
                .modelsList: OperationCapability(),
            ],
            models: models(defaultVoice: s.defaultVoice),
            defaultModel: s.defaultModel,
            defaultVoice: s.defaultVoice,
            languages: languages,
            prices: prices(usdPerCredit: s.usdPerCredit)
        )
    }
}

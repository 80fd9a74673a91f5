import VoxPluginKit

/// What the plugin declares: operations, the documented models (Deepgram's
/// voices ARE its TTS models), formats, rates and prices. Facts cite
/// deepgram.md (/work/shared/providers/deepgram.md) and the official spec it
/// was written from (specs/deepgram/openapi.yml @ 4ba987c).
enum DeepgramCatalog {
    static let defaultSTTModel = "nova-3"
    /// voxd uses `default_model` for speech when a request names only the
    /// provider, so it is the TTS default (the STT default is the first STT
    /// model declared, nova-3).
    static let defaultTTSModel = "aura-2-thalia-en"

    /// openapi.yml `V1ListenPostParametersModel0` ("public models available
    /// to all accounts"), nova-3 first. `model` also takes any other string
    /// (custom models), which the plugin passes on; the provider decides.
    static let sttModels = [
        "nova-3", "nova-3-general", "nova-3-medical",
        "nova-2", "nova-2-general", "nova-2-meeting", "nova-2-finance", "nova-2-conversationalai", "nova-2-voicemail",
        "nova-2-video", "nova-2-medical", "nova-2-drivethru", "nova-2-automotive",
        "nova", "nova-general", "nova-phonecall", "nova-medical",
        "enhanced", "enhanced-general", "enhanced-meeting", "enhanced-phonecall", "enhanced-finance",
        "base", "meeting", "phonecall", "finance", "conversationalai", "voicemail", "video",
    ]

    /// openapi.yml `V1SpeakPostParametersModel`: Aura-1 `aura-<voice>-en`
    /// (deepgram.md "TTS (Aura)": angus … zeus) and Aura-2
    /// `aura-2-<voice>-<lang>`, by language.
    static let aura1Voices = ["angus", "arcas", "asteria", "athena", "helios", "hera", "luna", "orion", "orpheus", "perseus", "stella", "zeus"]
    static let aura2Voices: [(language: String, names: [String])] = [
        ("en", ["amalthea", "andromeda", "apollo", "arcas", "aries", "asteria", "athena", "atlas", "aurora", "callista", "cora",
                "cordelia", "delia", "draco", "electra", "harmonia", "helena", "hera", "hermes", "hyperion", "iris", "janus", "juno",
                "jupiter", "luna", "mars", "minerva", "neptune", "odysseus", "ophelia", "orion", "orpheus", "pandora", "phoebe",
                "pluto", "saturn", "selene", "thalia", "theia", "vesta", "zeus"]),
        ("es", ["agustina", "alvaro", "antonia", "aquila", "carina", "celeste", "diana", "estrella", "gloria", "javier", "luciano",
                "nestor", "olivia", "selena", "silvia", "sirio", "valerio"]),
        ("de", ["aurelia", "elara", "fabian", "julius", "kara", "lara", "viktoria"]),
        ("nl", ["beatrix", "cornelia", "daphne", "hestia", "lars", "leda", "rhea", "roman", "sander"]),
        ("fr", ["agathe", "hector"]),
        ("it", ["cesare", "cinzia", "demetra", "dionisio", "elio", "flavio", "livia", "maia", "melia", "perseo"]),
        ("ja", ["ama", "ebisu", "fujin", "izanami", "uzume"]),
    ]

    /// The documented TTS models, as the voice book knows them.
    static let ttsVoices: [TTSVoice] =
        aura1Voices.map { TTSVoice(canonical: "aura-\($0)-en", name: $0, architecture: "aura", languages: ["en"]) }
        + aura2Voices.flatMap { lang, names in
            names.map { TTSVoice(canonical: "aura-2-\($0)-\(lang)", name: $0, architecture: "aura-2", languages: [lang]) }
        }

    /// Aura-2's languages (the `-<lang>` suffixes of the spec's model enum).
    static let languages = aura2Voices.map(\.language)

    static var models: [ModelInfo] {
        // STT languages differ per model; GET /v1/models lists them.
        sttModels.map { ModelInfo(id: $0, operations: [.sttTranscribe, .sttStream],
                                  description: $0 == defaultSTTModel ? "transcription of files and live audio (default); language=multi for code-switching" : "transcription of files and live audio") }
        + ttsVoices.map { v in
            ModelInfo(id: v.canonical, operations: [.ttsSynthesize], languages: v.languages, defaultVoice: v.canonical,
                      description: "\(v.architecture == "aura-2" ? "Aura-2" : "Aura-1") voice \(v.name.capitalized); the voice is the model")
        }
    }

    /// deepgram.md "Pricing" (pay-as-you-go, 2025; the file says "verify").
    static var prices: [Price] {
        let stt = ["nova-3", "nova-3-general"].map {
            Price(operation: .sttTranscribe, model: $0, unit: "audio_second", usdPerUnit: 0.0043 / 60,
                  source: "deepgram.md Pricing: Nova-3 pre-recorded $0.0043 / min")
        }
        // The live listen (stt.stream).
        let stream = ["nova-3", "nova-3-general"].map {
            Price(operation: .sttStream, model: $0, unit: "audio_second", usdPerUnit: 0.0077 / 60,
                  source: "deepgram.md Pricing: Nova-3 streaming $0.0077 / min")
        }
        let tts = ttsVoices.map { v in
            v.architecture == "aura-2"
                ? Price(operation: .ttsSynthesize, model: v.canonical, unit: "character", usdPerUnit: 0.030 / 1000,
                        source: "deepgram.md Pricing: Aura-2 $0.030 / 1k chars")
                : Price(operation: .ttsSynthesize, model: v.canonical, unit: "character", usdPerUnit: 0.015 / 1000,
                        source: "deepgram.md Pricing: Aura-1 $0.015 / 1k chars")
        }
        return stt + stream + tts
    }

    static var capabilities: Capabilities {
        Capabilities(
            operations: [
                // Chunked audio as generated; encodings and linear16 rates of
                // deepgram.md "TTS (Aura)" (mp3 is 22050 Hz, opus 48000 Hz,
                // mu-law/A-law 8000/16000 Hz).
                .ttsSynthesize: OperationCapability(stream: true, formats: SpeechFormat.declared, sampleRates: SpeechFormat.linear16Rates),
                // Raw bytes of any container Deepgram detects; raw pcm_s16le
                // is wrapped in a WAV header (Upload.swift says why).
                .sttTranscribe: OperationCapability(formats: ListenUpload.declared),
                // Live: raw linear16 / mu-law / A-law (deepgram.md "Live STT" encoding).
                .sttStream: OperationCapability(stream: true, formats: [.pcmS16LE, .mulaw, .alaw], sampleRates: LiveOperation.sampleRates),
                // Voices = TTS models of GET /v1/models; no custom voices, no cloning.
                .voicesList: OperationCapability(custom: false, clone: false),
                .modelsList: OperationCapability(),
            ],
            models: models,
            defaultModel: defaultTTSModel,
            defaultVoice: defaultTTSModel,
            languages: languages,
            prices: prices
        )
    }
}

/// One TTS model (= voice): `canonical_name` is the value for `model=`,
/// `name` the short name ("thalia"), `architecture` "aura-2" or "aura".
struct TTSVoice: Sendable, Hashable {
    var canonical: String
    var name: String
    var architecture: String
    var languages: [String]
}

import ProviderSupport
import VoxPluginKit

/// What the plugin declares: operations, the documented models and voices,
/// and the published prices. Every provider fact cites openai.md
/// (/work/shared/providers/openai.md, from the official OpenAPI spec).
enum OpenAICatalog {
    /// voxd uses `default_model` for speech when a request names only the
    /// provider, so it is the TTS default.
    static let defaultTTSModel = "gpt-4o-mini-tts"
    static let defaultChatModel = "gpt-4o-mini"
    /// whisper-1 answers verbose_json: segments, words and the duration.
    static let defaultSTTModel = "whisper-1"
    /// Supported by every TTS model (openai.md "POST /audio/speech").
    static let defaultVoice = "alloy"

    /// openai.md "POST /audio/speech": `voice` built-ins; tts-1/-hd support
    /// only the original subset (marked uncertain for the newer voices, so a
    /// request is not refused on that ground: the provider decides).
    static let originalVoices = ["alloy", "ash", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer"]
    static let newerVoices = ["ballad", "verse", "marin", "cedar"]
    static var allVoices: [String] { originalVoices + newerVoices }
    static let classicTTSModels: Set<String> = ["tts-1", "tts-1-hd"]

    static let models: [ModelInfo] = [
        ModelInfo(id: "gpt-4o-mini-tts", operations: [.ttsSynthesize], defaultVoice: defaultVoice,
                  description: "steerable speech: options.instructions sets tone and style"),
        ModelInfo(id: "tts-1", operations: [.ttsSynthesize], defaultVoice: defaultVoice, description: "low-latency speech"),
        ModelInfo(id: "tts-1-hd", operations: [.ttsSynthesize], defaultVoice: defaultVoice, description: "higher-quality speech"),
        ModelInfo(id: "whisper-1", operations: [.sttTranscribe], description: "transcription with segments and word timestamps"),
        ModelInfo(id: "gpt-4o-transcribe", operations: [.sttTranscribe], description: "transcription (text only, json)"),
        ModelInfo(id: "gpt-4o-mini-transcribe", operations: [.sttTranscribe], description: "cheaper transcription (text only, json)"),
        ModelInfo(id: defaultChatModel, operations: [.llmChat], description: "chat completions with tools, streamed"),
    ]

    /// openai.md "Pricing" (list prices; verify before billing use).
    static let prices: [Price] = [
        Price(operation: .ttsSynthesize, model: "tts-1", unit: "character", usdPerUnit: 15.0 / 1_000_000,
              source: "openai.md Pricing: $15 / 1M chars (pricing page, Nov 2025)"),
        Price(operation: .ttsSynthesize, model: "tts-1-hd", unit: "character", usdPerUnit: 30.0 / 1_000_000,
              source: "openai.md Pricing: $30 / 1M chars (pricing page, 2025)"),
        Price(operation: .ttsSynthesize, model: "gpt-4o-mini-tts", unit: "input_token", usdPerUnit: 0.60 / 1_000_000,
              source: "openai.md Pricing: $0.60 / 1M text-in tokens (pricing page, Jul 2026)"),
        Price(operation: .ttsSynthesize, model: "gpt-4o-mini-tts", unit: "output_token", usdPerUnit: 12.0 / 1_000_000,
              source: "openai.md Pricing: $12 / 1M audio-out tokens (pricing page, Jul 2026)"),
        Price(operation: .sttTranscribe, model: "whisper-1", unit: "audio_second", usdPerUnit: 0.006 / 60,
              source: "openai.md Pricing: $0.006 / min (pricing page, 2025)"),
        Price(operation: .sttTranscribe, model: "gpt-4o-transcribe", unit: "audio_second", usdPerUnit: 0.006 / 60,
              source: "openai.md Pricing: ~$0.006 / min, token-billed; marked uncertain"),
        Price(operation: .sttTranscribe, model: "gpt-4o-mini-transcribe", unit: "audio_second", usdPerUnit: 0.003 / 60,
              source: "openai.md Pricing: ~$0.003 / min, token-billed; marked uncertain"),
    ]

    static var capabilities: Capabilities {
        Capabilities(
            operations: [
                .llmChat: OperationCapability(stream: true, tools: true),
                // response_format mp3 opus aac flac wav pcm; pcm is 24 kHz s16le mono.
                .ttsSynthesize: OperationCapability(stream: true, formats: SpeechFormat.declared, sampleRates: [24_000]),
                // file: flac mp3 mp4 mpeg mpga m4a ogg wav webm, as far as the kit's
                // encodings name them; pcm_s16le is wrapped in a WAV header here.
                .sttTranscribe: OperationCapability(formats: AudioUpload.declared),
                // A fixed list of built-ins: "No list-voices endpoint for built-ins".
                .voicesList: OperationCapability(custom: false, clone: false),
                .modelsList: OperationCapability(),
            ],
            models: models,
            defaultModel: defaultTTSModel,
            defaultVoice: defaultVoice,
            prices: prices
        )
    }

    /// The documented voices; for tts-1/-hd only the original subset.
    static func voices(for model: String?) -> [Voice] {
        let original = originalVoices.map {
            Voice(id: $0, name: $0.capitalized, description: "built-in voice, all TTS models", custom: false)
        }
        if let model, classicTTSModels.contains(model) { return original }
        return original + newerVoices.map {
            Voice(id: $0, name: $0.capitalized, description: "built-in voice, \(defaultTTSModel) only",
                  model: defaultTTSModel, custom: false)
        }
    }

    /// What voxd can do with a model id from GET /models: speech for tts*,
    /// transcription for *transcribe* and whisper*, chat for the other
    /// text-generation families; nil for models voxd cannot use
    /// (embeddings, images, moderation, realtime…).
    static func operations(forModel id: String) -> [VoxOperation]? {
        let m = id.lowercased()
        if m.hasPrefix("tts") || m.contains("-tts") { return [.ttsSynthesize] }
        if m.contains("transcribe") || m.hasPrefix("whisper") { return [.sttTranscribe] }
        let notChat = ["embedding", "moderation", "dall-e", "image", "realtime", "sora", "davinci", "babbage", "search", "computer-use", "codex"]
        if notChat.contains(where: { m.contains($0) }) { return nil }
        return [.llmChat]
    }

    /// A discovered model, with what is declared about it when known.
    static func model(discovered id: String) -> ModelInfo? {
        if let known = models.first(where: { $0.id == id }) { return known }
        guard let ops = operations(forModel: id) else { return nil }
        return ModelInfo(id: id, operations: ops, defaultVoice: ops == [.ttsSynthesize] ? defaultVoice : nil)
    }
}

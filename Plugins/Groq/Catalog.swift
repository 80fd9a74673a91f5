import ProviderSupport
import VoxPluginKit

/// What the plugin declares: operations, the documented models and voices,
/// and the published prices. Every provider fact cites groq.md
/// (/work/shared/providers/groq.md: `groq` SDK 1.7.0 and Groq's docs; the
/// API spec itself is not public).
enum GroqCatalog {
    /// voxd uses `default_model` for speech when a request names only the
    /// provider, so it is the TTS default; chat and transcription default to
    /// the first model of theirs below.
    static let defaultTTSModel = english
    static let defaultChatModel = "llama-3.3-70b-versatile"
    /// The cheaper Whisper ($0.04 vs $0.111 per audio hour, "Pricing").
    static let defaultSTTModel = "whisper-large-v3-turbo"

    static let english = "canopylabs/orpheus-v1-english"
    static let arabic = "canopylabs/orpheus-arabic-saudi"

    /// groq.md "Text-to-speech", `voice`: fixed per model ("no voice-listing
    /// endpoint (voices fixed per model, record them in the plugin)").
    /// The default voice of a model is the first of its list.
    static let orpheusVoices: [String: [String]] = [
        english: ["autumn", "diana", "hannah", "austin", "daniel", "troy"],
        arabic: ["abdullah", "fahad", "sultan", "lulwa", "noura", "aisha"],
    ]
    /// What each Orpheus model speaks, as BCP 47 tags ("English", "Arabic Saudi").
    static let orpheusLanguages: [String: [String]] = [english: ["en"], arabic: ["ar-SA"]]

    static let models: [ModelInfo] = [
        ModelInfo(id: english, operations: [.ttsSynthesize], languages: ["en"], defaultVoice: "autumn",
                  description: "Orpheus speech (English); bracketed directions such as [cheerful] steer the delivery"),
        ModelInfo(id: arabic, operations: [.ttsSynthesize], languages: ["ar-SA"], defaultVoice: "abdullah",
                  description: "Orpheus speech (Saudi Arabic)"),
        ModelInfo(id: defaultSTTModel, operations: [.sttTranscribe], description: "Whisper large v3 turbo: fast transcription with segments and words"),
        ModelInfo(id: "whisper-large-v3", operations: [.sttTranscribe], description: "Whisper large v3: transcription with segments and words"),
        // groq.md "Chat completions": "Chat models change often (e.g. …); discover via /models".
        ModelInfo(id: defaultChatModel, operations: [.llmChat], description: "chat completions with tools, streamed"),
        ModelInfo(id: "llama-3.1-8b-instant", operations: [.llmChat], description: "chat completions with tools, streamed"),
        ModelInfo(id: "openai/gpt-oss-120b", operations: [.llmChat], description: "chat completions with tools and reasoning, streamed"),
        ModelInfo(id: "qwen/qwen3-32b", operations: [.llmChat], description: "chat completions with tools and reasoning, streamed"),
        ModelInfo(id: "groq/compound", operations: [.llmChat], description: "Groq's compound system (built-in tools), streamed"),
    ]

    /// groq.md "Pricing": Whisper is billed per audio hour; voxd bills
    /// per audio second. (groq.md also notes a billed minimum of 10 s per
    /// request, "verify": not applied here.) Orpheus per-character and chat
    /// per-token prices were not captured in groq.md, so they are not declared.
    static let prices: [Price] = [
        Price(operation: .sttTranscribe, model: "whisper-large-v3", unit: "audio_second", usdPerUnit: 0.111 / 3600,
              source: "groq.md Pricing: $0.111 / audio hour (Groq pricing page, 2025)"),
        Price(operation: .sttTranscribe, model: "whisper-large-v3-turbo", unit: "audio_second", usdPerUnit: 0.04 / 3600,
              source: "groq.md Pricing: $0.04 / audio hour (Groq pricing page, 2025; third-party listing 2026)"),
    ]

    static var capabilities: Capabilities {
        Capabilities(
            operations: [
                .llmChat: OperationCapability(stream: true, tools: true),
                // No SSE or chunked-stream mode for speech (groq.md "Response: audio
                // bytes … No SSE mode"); `sample_rate` takes the listed rates.
                .ttsSynthesize: OperationCapability(stream: false, formats: GroqSpeechFormat.declared, sampleRates: GroqSpeechFormat.sampleRates),
                .sttTranscribe: OperationCapability(formats: AudioUpload.declared),
                .voicesList: OperationCapability(custom: false, clone: false),
                .modelsList: OperationCapability(),
            ],
            models: models,
            defaultModel: defaultTTSModel,
            defaultVoice: "autumn",
            prices: prices
        )
    }

    /// The documented voices of one Orpheus model, or of both.
    static func voices(for model: String?) throws -> [Voice] {
        let ids = model.map { [$0] } ?? [english, arabic]
        return try ids.flatMap { id -> [Voice] in
            guard let names = orpheusVoices[id] else {
                throw VoxPluginError.notFound("groq has no voice list for model \"\(id)\"; voices are documented for \(english) and \(arabic)")
            }
            return names.map { Voice(id: $0, name: $0.capitalized, languages: orpheusLanguages[id], model: id, custom: false) }
        }
    }

    /// What voxd can do with a model id from GET /models: transcription for
    /// whisper*, speech for Orpheus, PlayAI and *tts*, chat for the rest;
    /// nil for what voxd cannot use (guard/safety classifiers and
    /// embedding models are not chat models for a voice pipeline).
    static func operations(forModel id: String) -> [VoxOperation]? {
        let m = id.lowercased()
        if m.contains("whisper") { return [.sttTranscribe] }
        if m.contains("orpheus") || m.contains("playai") || m.contains("tts") { return [.ttsSynthesize] }
        if ["embed", "guard", "prompt-guard", "safeguard"].contains(where: { m.contains($0) }) { return nil }
        return [.llmChat]
    }

    /// A discovered model, with what is declared about it when known.
    static func model(discovered id: String) -> ModelInfo? {
        if let known = models.first(where: { $0.id == id }) { return known }
        guard let ops = operations(forModel: id) else { return nil }
        return ModelInfo(id: id, operations: ops, description: ops == [.ttsSynthesize] ? "speech (voices not documented in groq.md)" : nil)
    }
}

import Foundation
import ProviderSupport
import VoxPluginKit

/// Groq: chat completions, Whisper transcription and Orpheus speech over
/// Groq's OpenAI-compatible REST API (provider reference:
/// /work/shared/providers/groq.md, targeting `groq` SDK 1.7.0 and the docs
/// of 2025–26). All network goes through the host (`context.http`).
///
/// Config (plugins.d/groq.toml):
/// ```toml
/// [settings]                 # all optional: the common remote settings (ProviderSettings)
/// base_url = "https://api.groq.com/openai/v1"
/// first_byte_timeout_ms = 30000
/// idle_timeout_ms = 30000
/// [secrets]
/// api_key = "env:GROQ_API_KEY"   # sent as Authorization: Bearer <key>
/// ```
///
/// Operations:
/// - `llm.chat`: POST /chat/completions, always streamed upstream; usage
///   from the final chunk's `x_groq.usage`; `logit_bias`, `messages[].name`
///   and `n` ≠ 1 refused before any request (GroqChat).
/// - `stt.transcribe`: POST /audio/transcriptions (whisper-large-v3,
///   whisper-large-v3-turbo); `options.response_format` json | text |
///   verbose_json (default); srt/vtt refused: Groq has neither.
/// - `tts.synthesize`: POST /audio/speech with the Orpheus models
///   (`canopylabs/orpheus-v1-english`, `canopylabs/orpheus-arabic-saudi`),
///   WAV opened into pcm_s16le, or wav/mp3/flac/ogg/mulaw passed through.
/// - `models.list`: GET /models; `voices.list`: the documented Orpheus voices.
final class GroqPlugin: VoxPlugin {
    static let info = PluginInfo(name: "groq", version: "1.0.0", vendor: "voxd project",
                                 description: "Groq: chat completions, Whisper transcription and Orpheus text-to-speech over the OpenAI-compatible API")
    /// groq.md "Basics": every path is under /openai/v1.
    static let defaultBaseURL = "https://api.groq.com/openai/v1"

    let context: PluginContext
    let client: ProviderClient
    let capabilities = GroqCatalog.capabilities

    init(context: PluginContext) throws {
        self.context = context
        let settings = try ProviderSettings(context.settings, defaultBaseURL: Self.defaultBaseURL)
        let key = try Provider.apiKey(context, provider: "groq", example: "GROQ_API_KEY")
        // groq.md "Basics": Authorization: Bearer gsk_…; request id in x-request-id;
        // errors in OpenAI's shape ("Errors"). Keys look like gsk_…: redacted too.
        let provider = Provider(name: "groq", version: Self.info.version, apiKey: key, authHeader: ("Authorization", "Bearer \(key)"),
                                requestIDHeaders: ["x-request-id"], keyPatterns: ["gsk_[A-Za-z0-9_*.\\-]+"])
        client = ProviderClient(http: context.http, provider: provider, settings: settings)
        context.log(.info, "groq ready: \(settings.baseURL)")
    }

    func chat(_ request: JSONValue, output: EventOutput) async throws -> OperationResult {
        try await GroqChat.make(client).run(request, output: output)
    }

    func synthesize(_ request: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
        try await SpeechOperation(client: client).run(request, output: output)
    }

    func transcribe(_ request: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult {
        try await TranscriptionOperation(client: client).run(request, audio: audio, output: output)
    }

    /// GET {base}/models: `{"object":"list","data":[Model]}`; live answers
    /// also carry `active` (groq.md "Endpoints", undocumented): a model
    /// marked inactive is left out, as are those voxd cannot use.
    func listModels(_ request: ModelListRequest) async throws -> [ModelInfo] {
        let list = try await client.json("GET", "/models")
        guard let data = list["data"]?.arrayValue else {
            throw VoxPluginError(.unavailable, "groq sent a model list without data", retriable: true)
        }
        let ids = data.filter { $0["active"]?.boolValue != false }.compactMap { $0["id"]?.stringValue }
        return ids.sorted().compactMap { GroqCatalog.model(discovered: $0) }
    }

    /// The documented Orpheus voices (no voice-listing endpoint).
    func listVoices(_ request: VoiceListRequest) async throws -> [Voice] {
        try GroqCatalog.voices(for: request.model)
    }
}

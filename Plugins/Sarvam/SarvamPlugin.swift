import Foundation
import ProviderSupport
import VoxPluginKit

/// Sarvam AI: Indian-language speech-to-text (Saaras/Saarika), text-to-speech
/// (Bulbul) and chat over Sarvam's REST API (provider reference:
/// /work/shared/providers/sarvam.md, targeting `sarvamai` SDK 0.1.39 and the
/// docs up to Jul 2026; Sarvam renames things often — where a field was
/// renamed this plugin sends the newest name: TTS `language_code`, not the
/// older `target_language_code`). All network goes through the host.
///
/// Config (plugins.d/sarvam.toml):
/// ```toml
/// [settings]                 # all optional: the common remote settings (ProviderSettings)
/// base_url = "https://api.sarvam.ai"
/// ws_base_url = "wss://api.sarvam.ai"   # streaming speech-to-text socket root
/// stream_chunk_ms = 500                 # streaming: audio per frame (100–2000)
/// stream_final_wait_ms = 3000           # streaming: quiet wait for the last transcript (500–30000)
/// first_byte_timeout_ms = 30000
/// idle_timeout_ms = 30000
/// [secrets]
/// api_key = "env:SARVAM_API_KEY"   # sent as api-subscription-key
/// ```
///
/// Operations:
/// - `stt.transcribe`: POST /speech-to-text (saaras:v3 default, saaras:v4,
///   saarika:v2.5), at most 30 s of audio; `options.mode`,
///   `options.keyterms`; language as BCP 47, mapped to Sarvam's `xx-IN`.
/// - `tts.synthesize`: POST /text-to-speech (bulbul:v3 default, bulbul:v2),
///   the base64 WAV opened into pcm_s16le at `speech_sample_rate`, or
///   wav/mp3/flac/aac/mulaw/alaw passed through.
/// - `llm.chat`: POST /v1/chat/completions (sarvam-* models; others via
///   /v2/chat/completions), streamed.
/// - `models.list`: GET /v2/models (chat) with the declared speech models;
///   `voices.list`: the documented stock speakers per model.
/// - `stt.stream`: the `wss://…/speech-to-text/ws` socket (Streaming.swift),
///   saaras:v3/v4, finals and VAD events.
/// Not here: streaming TTS over WebSocket, the batch STT job API,
/// cloned voices (beta), bulbul:v4-flash personas.
final class SarvamPlugin: VoxPlugin {
    static let info = PluginInfo(name: "sarvam", version: "1.0.0", vendor: "voxd project",
                                 description: "Sarvam AI: Indian-language speech-to-text, text-to-speech and chat over the REST API")
    static let defaultBaseURL = "https://api.sarvam.ai"

    let context: PluginContext
    let client: ProviderClient
    let capabilities = SarvamCatalog.capabilities
    let wsBaseURL: String
    let streamChunkMs: Int
    let streamFinalWaitMs: Int

    init(context: PluginContext) throws {
        self.context = context
        let settings = try ProviderSettings(context.settings, defaultBaseURL: Self.defaultBaseURL,
                                            extraKeys: ["ws_base_url", "stream_chunk_ms", "stream_final_wait_ms"])
        wsBaseURL = try settings.url("ws_base_url", "wss://api.sarvam.ai", websocket: true)
        streamChunkMs = try settings.int("stream_chunk_ms", 500, in: 100...2000)
        streamFinalWaitMs = try settings.int("stream_final_wait_ms", 3000, in: 500...30_000)
        let key = try Provider.apiKey(context, provider: "sarvam", example: "SARVAM_API_KEY")
        // sarvam.md "Basics": header api-subscription-key on every call; the
        // request id travels in the bodies (read by errorBody).
        var provider = Provider(name: "sarvam", version: Self.info.version, apiKey: key, authHeader: ("api-subscription-key", key),
                                requestIDHeaders: ["x-request-id"], errorBody: Self.errorBody)
        // "auth failure: 403 (not 401)": for answers without a body to read.
        provider.badKeyStatuses = [401, 403]
        client = ProviderClient(http: context.http, provider: provider, settings: settings)
        context.log(.info, "sarvam ready: \(settings.baseURL)")
    }

    /// sarvam.md "Errors": `{"error":{"message","code","request_id"}}`; a bad
    /// key is a 403 (not 401) with code invalid_api_key_error or
    /// authentication_error, so `badKey` makes it unauthenticated.
    @Sendable static func errorBody(_ json: JSONValue?, _ raw: [UInt8]) -> ProviderErrorBody {
        var said = ProviderErrorBody.openAIStyle(json, raw)
        let err = json?["error"]
        let code = err?["code"]?.stringValue
        said.badKey = code == "invalid_api_key_error" || code == "authentication_error"
        if let id = err?["request_id"]?.stringValue ?? json?["request_id"]?.stringValue, let m = said.message {
            said.message = "\(m) (request \(id))"
        }
        return said
    }

    func streamTranscription(_ request: TranscriptionRequest, input: AudioInputStream, output: EventOutput) async throws -> OperationResult {
        try await StreamingOperation(context: context, client: client, wsBaseURL: wsBaseURL, chunkMs: streamChunkMs,
                                     finalWaitMs: streamFinalWaitMs).run(request, input: input, output: output)
    }

    func chat(_ request: JSONValue, output: EventOutput) async throws -> OperationResult {
        let model = request["model"]?.stringValue ?? SarvamCatalog.defaultChatModel
        return try await SarvamChat.make(client, model: model).run(request, output: output)
    }

    func synthesize(_ request: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
        try await SpeechOperation(client: client).run(request, output: output)
    }

    func transcribe(_ request: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult {
        try await TranscriptionOperation(client: client).run(request, audio: audio, output: output)
    }

    /// GET {base}/v2/models (OpenAI list shape; chat models), then the
    /// declared speech models, which that list does not carry.
    func listModels(_ request: ModelListRequest) async throws -> [ModelInfo] {
        let list = try await client.json("GET", "/v2/models")
        guard let data = list["data"]?.arrayValue else {
            throw VoxPluginError(.unavailable, "sarvam sent a model list without data", retriable: true)
        }
        let chat = data.compactMap { $0["id"]?.stringValue }.sorted().map { id in
            SarvamCatalog.models.first { $0.id == id } ?? ModelInfo(id: id, operations: [.llmChat], description: "chat completions, streamed")
        }
        let speech = SarvamCatalog.models.filter { $0.operations != [.llmChat] }
        return speech + chat
    }

    /// The documented stock speakers ("no listing endpoint for stock voices").
    func listVoices(_ request: VoiceListRequest) async throws -> [Voice] {
        try SarvamCatalog.voices(for: request.model)
    }
}

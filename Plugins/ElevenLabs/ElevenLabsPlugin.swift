import Foundation
import ProviderSupport
import VoxPluginKit

/// ElevenLabs: text-to-speech (streamed), speech-to-text (Scribe), the
/// account's voices and models, and instant voice cloning, over the REST API
/// (provider reference: /work/shared/providers/elevenlabs.md; official spec
/// specs/elevenlabs/openapi.json of 2025-08-25, with the enums SDK 2.78
/// added). All network goes through the host (`context.http`).
///
/// Operations and the endpoints they use:
/// - `tts.synthesize`: POST /v1/text-to-speech/{voice_id}/stream with
///   `output_format` from the requested format (SpeechOperation, SpeechBody,
///   OutputFormat). A voice may be given by id or by name.
/// - `stt.transcribe`: POST /v1/speech-to-text (TranscriptionOperation).
/// - `models.list`: GET /v1/models (a bare array) plus the Scribe models,
///   which that list leaves out.
/// - `voices.list`: GET /v1/voices, the v1 route: the whole account in one
///   answer (v2 pages; v1 is not deprecated). Every voice but `premade`
///   ones is `custom`.
/// - `voices.clone`: POST /v1/voices/add (CloneOperation).
/// The WebSocket stream-input route is not used.
///
/// Config (plugins.d/elevenlabs.toml):
/// ```toml
/// [settings]                 # all optional, see ElevenLabsSettings
/// base_url = "https://api.elevenlabs.io"
/// default_model = "eleven_multilingual_v2"
/// default_voice = "21m00Tcm4TlvDq8ikWAM"
/// pcm_sample_rate = 24000
/// enable_logging = true
/// usd_per_credit = 0.0001
/// [secrets]
/// api_key = "env:ELEVENLABS_API_KEY"   # sent as xi-api-key
/// ```
final class ElevenLabsPlugin: VoxPlugin {
    static let info = PluginInfo(name: "elevenlabs", version: "1.0.0", vendor: "voxd project",
                                 description: "ElevenLabs: streamed text-to-speech, Scribe transcription, custom voices and instant cloning over the REST API")

    let context: PluginContext
    let settings: ElevenLabsSettings
    let client: ProviderClient
    let voices: VoiceDirectory
    let capabilities: Capabilities

    init(context: PluginContext) throws {
        self.context = context
        settings = try ElevenLabsSettings(context.settings)
        let key = try Provider.apiKey(context, provider: "elevenlabs", example: "ELEVENLABS_API_KEY")
        // elevenlabs.md "Basics": `xi-api-key: <key>`; answers carry `request-id`.
        // Keys are "sk_" + hex; one quoted in a message is removed too.
        let provider = Provider(name: "elevenlabs", version: Self.info.version, apiKey: key, authHeader: ("xi-api-key", key),
                                requestIDHeaders: ["request-id", "x-request-id"], keyPatterns: ["sk_[A-Za-z0-9]{8,}"],
                                errorBody: ElevenLabsErrorBody.read)
        client = ProviderClient(http: context.http, provider: provider, settings: settings.common)
        voices = VoiceDirectory(client: client)
        capabilities = ElevenLabsCatalog.capabilities(settings)
        context.log(.info, "elevenlabs ready: \(settings.common.baseURL)")
    }

    func synthesize(_ request: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
        try await SpeechOperation(client: client, settings: settings, voices: voices).run(request, output: output)
    }

    func transcribe(_ request: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult {
        try await TranscriptionOperation(client: client, settings: settings).run(request, audio: audio, output: output)
    }

    /// GET /v1/models: a bare array of models (elevenlabs.md "Models");
    /// those with `can_do_text_to_speech` are voxd's speech models, with
    /// their `languages[].language_id`. The Scribe models are not in it.
    func listModels(_ request: ModelListRequest) async throws -> [ModelInfo] {
        let list = try await client.json("GET", "/v1/models")
        guard let items = list.arrayValue else {
            throw VoxPluginError(.unavailable, "elevenlabs sent a model list that is not an array: \(ProviderErrors.snippet(VoxJSON.string(list)))", retriable: true)
        }
        var models: [ModelInfo] = []
        for m in items {
            guard let id = m["model_id"]?.stringValue, !id.isEmpty, m["can_do_text_to_speech"]?.boolValue == true else { continue }
            var languages: [String] = []
            for l in m["languages"]?.arrayValue ?? [] {
                if let tag = l["language_id"]?.stringValue.flatMap(VoiceDirectory.bcp47), !languages.contains(tag) { languages.append(tag) }
            }
            let description = [m["name"]?.stringValue, m["description"]?.stringValue].compactMap { $0?.isEmpty == false ? $0 : nil }.joined(separator: ": ")
            models.append(ModelInfo(id: id, operations: [.ttsSynthesize], languages: languages.isEmpty ? nil : languages,
                                    defaultVoice: settings.defaultVoice, description: description.isEmpty ? nil : description))
        }
        return models + ElevenLabsCatalog.sttModels
    }

    /// The account's voices; `include_custom: false` leaves only premade ones.
    func listVoices(_ request: VoiceListRequest) async throws -> [Voice] {
        let all = try await voices.list()
        return request.includeCustom == false ? all.filter { $0.custom != true } : all
    }

    func cloneVoice(_ request: VoiceCloneRequest, audio: AudioData) async throws -> Voice {
        try await CloneOperation(client: client, voices: voices).run(request, audio: audio)
    }
}

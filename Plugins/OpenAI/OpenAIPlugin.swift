import Foundation
import VoxPluginKit

/// OpenAI: chat completions, speech, transcription and discovery over the
/// public REST API (provider reference: /work/shared/providers/openai.md).
/// All network goes through the host (`context.http`), which owns TLS,
/// pooling, proxies and the timeouts the settings ask for.
///
/// Config (plugins.d/openai.toml):
/// ```toml
/// [settings]                 # all optional, see OpenAISettings
/// base_url = "https://api.openai.com/v1"
/// [secrets]
/// api_key = "env:OPENAI_API_KEY"
/// ```
final class OpenAIPlugin: VoxPlugin {
    static let info = PluginInfo(name: "openai", version: "1.0.0", vendor: "voxd project",
                                 description: "OpenAI: chat completions, text-to-speech and transcription over the REST API")

    let context: PluginContext
    let client: OpenAIClient
    let capabilities = OpenAICatalog.capabilities

    init(context: PluginContext) throws {
        self.context = context
        let settings = try OpenAISettings(context.settings)
        let key: String
        do {
            key = try context.secret("api_key").trimmingCharacters(in: .whitespacesAndNewlines)
        } catch let e as VoxPluginError {
            throw VoxPluginError.invalidRequest("openai needs an API key: bind one in plugins.d/openai.toml as [secrets] api_key = \"env:OPENAI_API_KEY\" (\(e.message))")
        }
        guard !key.isEmpty else {
            throw VoxPluginError.invalidRequest("openai needs an API key: the secret bound to [secrets] api_key is empty")
        }
        client = OpenAIClient(http: context.http, settings: settings, apiKey: key)
        context.log(.info, "openai ready: \(settings.baseURL)")
    }

    func chat(_ request: JSONValue, output: EventOutput) async throws -> OperationResult {
        try await ChatOperation(client: client).run(request, output: output)
    }

    func synthesize(_ request: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
        try await SpeechOperation(client: client).run(request, output: output)
    }

    func transcribe(_ request: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult {
        try await TranscriptionOperation(client: client).run(request, audio: audio, output: output)
    }

    /// GET {base}/models: `{"object":"list","data":[{"id",…}]}` (openai.md
    /// "GET /models"), each id with what voxd can do with it.
    func listModels(_ request: ModelListRequest) async throws -> [ModelInfo] {
        let response = try await client.send("GET", "/models", accept: "application/json")
        let bytes = try await client.collect(response, what: "GET /models")
        guard let list = try? VoxJSON.decode(JSONValue.self, from: Data(bytes)), let data = list["data"]?.arrayValue else {
            throw VoxPluginError(.unavailable, "openai sent malformed JSON for the model list: \(OpenAIErrors.snippet(bytes))", retriable: true)
        }
        let ids = data.compactMap { $0["id"]?.stringValue }
        return ids.sorted().compactMap { OpenAICatalog.model(discovered: $0) }
    }

    /// The documented built-in voices ("No list-voices endpoint for built-ins").
    func listVoices(_ request: VoiceListRequest) async throws -> [Voice] {
        OpenAICatalog.voices(for: request.model)
    }
}

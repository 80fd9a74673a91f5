import Foundation
import ProviderSupport
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
    let client: ProviderClient
    let capabilities = OpenAICatalog.capabilities

    init(context: PluginContext) throws {
        self.context = context
        let settings = try OpenAISettings(context.settings)
        let key = try Provider.apiKey(context, provider: "openai", example: "OPENAI_API_KEY")
        // Auth per openai.md "Basics": bearer key, optional organization/project.
        var extra: [(String, String)] = []
        if let o = settings.organization { extra.append(("OpenAI-Organization", o)) }
        if let p = settings.project { extra.append(("OpenAI-Project", p)) }
        // The 401 message quotes a masked key (sk-…): redacted too.
        let provider = Provider(name: "openai", version: Self.info.version, apiKey: key, authHeader: ("Authorization", "Bearer \(key)"),
                                extraHeaders: extra, requestIDHeaders: ["x-request-id"], keyPatterns: ["sk-[A-Za-z0-9_*.\\-]+"])
        client = ProviderClient(http: context.http, provider: provider, settings: settings.common)
        context.log(.info, "openai ready: \(settings.common.baseURL)")
    }

    func chat(_ request: JSONValue, output: EventOutput) async throws -> OperationResult {
        try await CompatChat(client: client, defaultModel: OpenAICatalog.defaultChatModel).run(request, output: output)
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
        let list = try await client.json("GET", "/models")
        guard let data = list["data"]?.arrayValue else {
            throw VoxPluginError(.unavailable, "openai sent a model list without data", retriable: true)
        }
        let ids = data.compactMap { $0["id"]?.stringValue }
        return ids.sorted().compactMap { OpenAICatalog.model(discovered: $0) }
    }

    /// The documented built-in voices ("No list-voices endpoint for built-ins").
    func listVoices(_ request: VoiceListRequest) async throws -> [Voice] {
        OpenAICatalog.voices(for: request.model)
    }
}

import Foundation
import ProviderSupport
import VoxPluginKit

/// Deepgram: pre-recorded transcription (Nova), speech (Aura) and
/// discovery over the REST API (provider reference:
/// /work/shared/providers/deepgram.md, written from the official
/// deepgram-api-specs openapi.yml/asyncapi.yml @ 4ba987c, 2026-07-22).
/// All network goes through the host (`context.http`).
///
/// Operations:
/// - `stt.transcribe` — `POST /v1/listen` with the raw file bytes; query
///   built by ListenQuery (model default nova-3, language BCP-47 or `multi`
///   for nova-3, `smart_format`/`punctuate`/`utterances` on by default,
///   `options` = Deepgram's feature params). One `transcript` event.
/// - `tts.synthesize` — `POST /v1/speak?model=<voice>` with `{"text"}`,
///   audio streamed as it arrives; raw pcm is `encoding=linear16&container=none`.
/// - `models.list`, `voices.list` — `GET /v1/models`; voices are the TTS models.
/// - `stt.stream` — the live `wss://…/v1/listen` socket through the host's
///   WebSocket service (Live.swift): audio out as pushed, KeepAlive when
///   idle, CloseStream at the end; partial/final/utterance_end/
///   speech_started events (ListenMessages).
///
/// Targets: `/v1/listen` and `/v1/speak` as in the spec; `diarize_model`
/// is accepted next to the deprecated `diarize` (the spec's replacement);
/// the Aura-2 voices of the spec's model enum.
///
/// Config (plugins.d/deepgram.toml):
/// ```toml
/// [settings]                              # all optional
/// base_url = "https://api.deepgram.com"   # REST root (or a gateway / test fake)
/// ws_base_url = "wss://api.deepgram.com"  # WebSocket root, for live listen
/// keepalive_ms = 4000                     # live: KeepAlive after this much silence
/// connect_timeout_ms = 0                  # and first_byte_/idle_/total_timeout_ms (ProviderSettings)
/// [secrets]
/// api_key = "env:DEEPGRAM_API_KEY"        # sent as "Authorization: Token <key>"
/// ```
final class DeepgramPlugin: VoxPlugin {
    static let info = PluginInfo(name: "deepgram", version: "1.0.0", vendor: "voxd project",
                                 description: "Deepgram: Nova transcription (files and live) and Aura text-to-speech")

    let context: PluginContext
    let client: ProviderClient
    let settings: DeepgramSettings
    let voices: VoiceBook
    let capabilities = DeepgramCatalog.capabilities

    init(context: PluginContext) throws {
        self.context = context
        settings = try DeepgramSettings(context.settings)
        let key = try Provider.apiKey(context, provider: "deepgram", example: "DEEPGRAM_API_KEY")
        // deepgram.md "Basics": `Authorization: Token <API_KEY>` (not Bearer);
        // `dg-request-id` on every answer. Key-shaped text (the console issues
        // 40-hex-digit keys; not in deepgram.md) is redacted from messages too.
        let provider = Provider(name: "deepgram", version: Self.info.version, apiKey: key, authHeader: ("Authorization", "Token \(key)"),
                                requestIDHeaders: ["dg-request-id"], keyPatterns: ["\\b[0-9a-f]{40}\\b"],
                                errorBody: ProviderErrorBody.deepgram)
        let client = ProviderClient(http: context.http, provider: provider, settings: settings.common)
        self.client = client
        voices = VoiceBook(discover: { try await Discovery(client: client).fetch().tts.map(\.voice) })
        context.log(.info, "deepgram ready: \(settings.common.baseURL) (live: \(settings.wsBaseURL))")
    }

    func transcribe(_ request: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult {
        try await TranscriptionOperation(client: client).run(request, audio: audio, output: output)
    }

    func streamTranscription(_ request: TranscriptionRequest, input: AudioInputStream, output: EventOutput) async throws -> OperationResult {
        try await LiveOperation(context: context, client: client, settings: settings).run(request, input: input, output: output)
    }

    func synthesize(_ request: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
        try await SpeechOperation(client: client, voices: voices).run(request, output: output)
    }

    func listModels(_ request: ModelListRequest) async throws -> [ModelInfo] {
        let found = try await Discovery(client: client).fetch()
        voices.remember(found.tts.map(\.voice))
        let tts = found.tts.map { v in
            ModelInfo(id: v.voice.canonical, operations: [.ttsSynthesize], languages: v.voice.languages.isEmpty ? nil : v.voice.languages,
                      defaultVoice: v.voice.canonical, description: v.info.description)
        }
        return found.stt + tts
    }

    /// The TTS models as voices; `model` narrows to one voice or one
    /// architecture ("aura-2"), `language` to a language.
    func listVoices(_ request: VoiceListRequest) async throws -> [Voice] {
        let found = try await Discovery(client: client).fetch()
        voices.remember(found.tts.map(\.voice))
        return found.tts.filter { v in
            if let m = request.model?.lowercased(), !m.isEmpty, v.voice.canonical != m, v.voice.architecture != m { return false }
            if let l = request.language?.lowercased(), !l.isEmpty,
               !v.voice.languages.contains(where: { $0.lowercased() == l || $0.lowercased().hasPrefix(l + "-") || l.hasPrefix($0.lowercased() + "-") }) {
                return false
            }
            return true
        }.map(\.info)
    }
}

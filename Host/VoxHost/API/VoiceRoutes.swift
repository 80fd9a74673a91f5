import CVoxPlugin
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VoxPluginKit

/// Voices beyond listing: hearing one, and adding one.
///
/// `POST /v1/voices/preview` — JSON `{"provider": "elevenlabs", "voice":
/// "…", "text": "…", "model": "…", "language": "…", "response_format":
/// "wav"}` (or `"voice": "provider/voice"` without `provider`): the voice
/// speaking `text` (at most 500 characters), or a sample sentence in the
/// voice's language when there is no text. Answered like
/// /v1/audio/speech (streamed audio, X-Vox-* headers). An unknown voice is
/// a 404 naming a few of the provider's voices.
///
/// `POST /v1/voices` — multipart: `provider`, `name`, `file` (reference
/// audio), optional `description` and `labels` (a JSON object of strings):
/// the provider clones the voice (instant cloning); answered 201 with
/// `{"voice": Voice + "provider"}`. The provider's voice list is refreshed
/// on the next listing, so the new voice appears there marked custom.
struct VoiceRoutes {
    let daemon: VoxDaemon
    static let maxPreviewChars = 500

    struct PreviewRequest: Decodable {
        var provider: String?
        var voice: String
        var text: String?
        var model: String?
        var language: String?
        var responseFormat: String?
        var speed: Double?
        enum CodingKeys: String, CodingKey {
            case provider, voice, text, model, language, speed
            case responseFormat = "response_format"
        }
    }

    func register(on router: Router<VoxRequestContext>) {
        router.post("/v1/voices/preview") { request, context in
            let body = try await request.decodeJSON(PreviewRequest.self, context: context)
            let started = try await daemon.startSpeech(try await speechRequest(for: body))
            return SpeechRoutes.stream(started, logger: context.logger)
        }
        router.post("/v1/voices") { request, _ in try await clone(request) }
    }

    /// The preview as a speech request, after checking the voice exists.
    func speechRequest(for p: PreviewRequest) async throws -> SpeechRequest {
        var provider = p.provider
        var voiceID = p.voice
        if provider == nil, let slash = p.voice.firstIndex(of: "/") {
            provider = String(p.voice[..<slash])
            voiceID = String(p.voice[p.voice.index(after: slash)...])
        }
        guard let provider, !provider.isEmpty else {
            throw VoxError(.invalidRequest, "name the provider: \"provider\": \"…\" or \"voice\": \"provider/voice\"")
        }
        guard !voiceID.isEmpty else { throw VoxError(.invalidRequest, "voice is empty") }
        if let text = p.text, text.count > Self.maxPreviewChars {
            throw VoxError(.invalidRequest, "a preview text is at most \(Self.maxPreviewChars) characters; this one has \(text.count) (use /v1/audio/speech for longer text)")
        }
        guard let instance = await daemon.providers().first(where: { $0.name == provider }) else {
            throw VoxError(.notFound, "no loaded provider named \"\(provider)\"")
        }
        guard instance.capabilities.supports(.ttsSynthesize) else {
            throw VoxError(.invalidRequest, "\(provider) does not synthesize speech", provider: provider)
        }
        var voice: Voice?
        if instance.capabilities.supports(.voicesList) {
            let listed = await daemon.catalog.voices(of: [instance], language: nil, gender: nil, refresh: false)
            if listed.voices.isEmpty, let why = listed.errors[provider] {
                throw VoxError(.unavailable, "\(provider) could not list its voices: \(why)", provider: provider, retriable: true)
            }
            voice = listed.voices.first { $0.voice.id == voiceID }?.voice
            guard voice != nil else {
                let some = listed.voices.prefix(8).map(\.voice.id).joined(separator: ", ")
                throw VoxError(.notFound, "\(provider) has no voice \"\(voiceID)\" (some of its voices: \(some); GET /v1/voices?provider=\(provider) lists all)", provider: provider)
            }
        }
        let language = p.language ?? voice?.languages?.first
        let text = p.text ?? Self.sampleText(language: language, name: voice?.name ?? voiceID)
        var model = p.model.map { "\(provider)/\($0)" } ?? provider
        if p.model == nil, let m = voice?.model { model = "\(provider)/\(m)" }
        return SpeechRequest(model: model, input: text, voice: voiceID, responseFormat: p.responseFormat, speed: p.speed,
                             language: language, options: nil)
    }

    /// A sentence to hear a voice by, in its language (English otherwise).
    static func sampleText(language: String?, name: String) -> String {
        let lang = (language ?? "en").lowercased().split(separator: "-").first.map(String.init) ?? "en"
        let samples: [String: String] = [
            "en": "Hello, I'm \(name). This is how I sound when I read your text aloud.",
            "es": "Hola, soy \(name). Así sueno cuando leo tu texto en voz alta.",
            "fr": "Bonjour, je suis \(name). Voici ma voix quand je lis votre texte à voix haute.",
            "de": "Hallo, ich bin \(name). So klinge ich, wenn ich deinen Text vorlese.",
            "it": "Ciao, sono \(name). Ecco come suono quando leggo il tuo testo ad alta voce.",
            "pt": "Olá, eu sou \(name). É assim que eu soo quando leio o seu texto em voz alta.",
            "nl": "Hallo, ik ben \(name). Zo klink ik wanneer ik je tekst voorlees.",
            "hi": "नमस्ते, मैं \(name) हूँ। आपका पाठ पढ़ते समय मेरी आवाज़ ऐसी सुनाई देती है।",
            "ja": "こんにちは、\(name)です。あなたの文章を読み上げるとき、こんな声になります。",
        ]
        return samples[lang] ?? samples["en"]!
    }

    func clone(_ request: Request) async throws -> Response {
        let parts = try await FormParts.read(request, limit: daemon.config.maxUploadBytes,
                                             what: "send multipart/form-data with provider, name and a file part holding the reference audio")
        var provider: String?, name: String?, description: String?, labels: [String: String]?
        var file: FormParts.Part?
        for part in parts {
            switch part.name {
            case "provider": provider = part.text
            case "name": name = part.text.trimmingCharacters(in: .whitespaces)
            case "description": description = part.text
            case "labels":
                guard let obj = try? JSONDecoder().decode([String: String].self, from: Data(part.bytes)) else {
                    throw VoxError(.invalidRequest, "labels must be a JSON object of strings, e.g. {\"accent\":\"british\"}")
                }
                labels = obj
            case "file", "files":
                guard file == nil else { throw VoxError(.invalidRequest, "send one reference file") }
                file = part
            default: throw VoxError(.invalidRequest, "unknown form field \"\(part.name)\" (provider, name, description, labels, file)")
            }
        }
        guard let provider, !provider.isEmpty else { throw VoxError(.invalidRequest, "the form has no provider field") }
        guard let name, !name.isEmpty else { throw VoxError(.invalidRequest, "the form has no name field (the new voice's name)") }
        guard let file, !file.bytes.isEmpty else { throw VoxError(.invalidRequest, "the form has no file part with the reference audio") }
        guard let encoding = AudioSniff.encoding(of: Array(file.bytes.prefix(64))) else {
            throw VoxError(.invalidRequest, "file\(file.fileName.map { " \"\($0)\"" } ?? "") does not look like audio (expected wav, mp3, ogg/opus, flac, webm or m4a)")
        }
        guard let instance = await daemon.providers().first(where: { $0.name == provider }) else {
            throw VoxError(.notFound, "no loaded provider named \"\(provider)\"")
        }
        guard instance.capabilities[.voicesList]?.clone == true || instance.capabilities.supports(.voicesClone) else {
            throw VoxError(.unsupported, "\(provider) does not clone voices", provider: provider)
        }
        var req: [String: JSONValue] = ["name": .string(name)]
        if let description { req["description"] = .string(description) }
        if let labels { req["labels"] = .object(labels.mapValues(JSONValue.string)) }
        let op = try daemon.start(instance, VOX_OP_CLONE_VOICE, request: VoxJSON.string(JSONValue.object(req)),
                                  input: AudioData(format: AudioFormat(encoding: encoding), bytes: file.bytes))
        var voice: JSONValue?
        do {
            while let out = try await op.next() {
                if case .event(let json) = out, let v = try? VoxJSON.decode(JSONValue.self, from: Data(json.utf8)), v["type"]?.stringValue == "voice" {
                    voice = v["voice"]
                }
            }
        } catch let e as VoxPluginError {
            throw VoxError(e, provider: provider)
        }
        guard case .object(var o)? = voice, o["id"]?.stringValue?.isEmpty == false else {
            throw VoxError(.unavailable, "\(provider) finished cloning without naming the new voice", provider: provider, retriable: true)
        }
        await daemon.catalog.invalidateVoices(of: instance)
        o["provider"] = .string(provider)
        return try jsonResponse(JSONValue.object(["voice": .object(o)]), status: .created)
    }
}

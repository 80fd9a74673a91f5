import Foundation
import ProviderSupport
import VoxPluginKit

/// The audio OpenAI can return (openai.md "POST /audio/speech",
/// `response_format`), as voxd encodings.
enum SpeechFormat {
    /// What capabilities declare.
    static let declared: [AudioEncoding] = [.mp3, .opus, .aac, .flac, .wav, .pcmS16LE]

    /// The `response_format` for a requested encoding and the format of the
    /// bytes that come back. No format asked, or one OpenAI cannot make
    /// (pcm_f32le, mu-law, webm…): pcm, which the host converts.
    /// `pcm` = raw 24 kHz 16-bit signed little-endian mono; `wav` is 24 kHz.
    static func wire(for encoding: AudioEncoding?) -> (responseFormat: String, format: AudioFormat) {
        switch encoding {
        case .mp3: return ("mp3", AudioFormat(encoding: .mp3))
        case .opus: return ("opus", AudioFormat(encoding: .opus))
        case .aac: return ("aac", AudioFormat(encoding: .aac))
        case .flac: return ("flac", AudioFormat(encoding: .flac))
        case .wav: return ("wav", AudioFormat(encoding: .wav, sampleRate: 24_000, channels: 1))
        default: return ("pcm", AudioFormat(encoding: .pcmS16LE, sampleRate: 24_000, channels: 1))
        }
    }
}

/// `tts.synthesize`: POST {base}/audio/speech, the audio streamed to the
/// host in the chunks the provider sends (chunked transfer: "playback can
/// start on first bytes").
struct SpeechOperation {
    let client: ProviderClient

    /// The JSON body, after checking what can be checked before a request.
    /// Options used: `instructions`; others are ignored, as SCHEMAS.md has
    /// readers do with members they do not know.
    static func body(_ r: SynthesisRequest) throws -> (body: JSONValue, model: String, voice: String) {
        let model = r.model ?? OpenAICatalog.defaultTTSModel
        guard !r.input.isEmpty else { throw VoxPluginError.invalidRequest("input: must not be empty") }
        // `input`: max 4096 chars.
        guard r.input.count <= 4096 else {
            throw VoxPluginError.invalidRequest("input: \(r.input.count) characters; openai takes at most 4096 per request")
        }
        let voice = r.voice ?? OpenAICatalog.defaultVoice
        let voiceValue: JSONValue
        if voice.hasPrefix("voice_") {
            voiceValue = .object(["id": .string(voice)]) // a custom voice: {"id": "voice_…"}
        } else if OpenAICatalog.allVoices.contains(voice) {
            voiceValue = .string(voice)
        } else {
            throw VoxPluginError.notFound("openai has no voice \"\(voice)\"; its voices are \(OpenAICatalog.allVoices.joined(separator: ", ")) (or a custom voice_… id)")
        }
        var body: [String: JSONValue] = ["model": .string(model), "input": .string(r.input), "voice": voiceValue,
                                         "response_format": .string(SpeechFormat.wire(for: r.format?.encoding).responseFormat)]
        if let speed = r.speed {
            // `speed`: 0.25–4.0.
            guard (0.25...4.0).contains(speed) else { throw VoxPluginError.invalidRequest("speed: must be in 0.25…4.0") }
            body["speed"] = .number(speed)
        }
        if let options = r.options, options != .null {
            guard let o = options.objectValue else { throw VoxPluginError.invalidRequest("options: must be an object") }
            if let ins = o["instructions"], ins != .null {
                guard let text = ins.stringValue else { throw VoxPluginError.invalidRequest("options.instructions: must be a string") }
                // `instructions`: "ignored/not supported by tts-1, tts-1-hd".
                if OpenAICatalog.classicTTSModels.contains(model) {
                    throw VoxPluginError.invalidRequest("options.instructions: \(model) does not take instructions; use \(OpenAICatalog.defaultTTSModel)")
                }
                body["instructions"] = .string(text)
            }
        }
        return (.object(body), model, voice)
    }

    func run(_ r: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
        let (body, model, voice) = try Self.body(r)
        let format = SpeechFormat.wire(for: r.format?.encoding).format
        let path = "/audio/speech"
        let response = try await client.postJSON(path, body)
        try await output.metadata(model: model, voice: voice)
        let samples = format.encoding == .pcmS16LE ? WholeSamples() : nil // pcm: whole samples only
        let total = try await client.relayAudio(response, to: output, what: "POST \(path)") { chunk in
            (samples?.cut(chunk) ?? chunk[...], format)
        }
        guard total > 0 else {
            throw VoxPluginError(.unavailable, "openai: provider returned no audio (HTTP \(response.status) with an empty body)",
                                 httpStatus: response.status, retriable: true)
        }
        let seconds: Double? = format.encoding == .pcmS16LE ? Double(total / 2) / 24_000 : nil
        return OperationResult(usage: Usage(characters: r.input.count, audioSeconds: seconds))
    }
}

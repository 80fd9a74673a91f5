import Foundation
import ProviderSupport
import VoxPluginKit

/// The audio Groq can return (groq.md "Text-to-speech", `response_format`:
/// SDK enum `flac mp3 mulaw ogg wav`, wav the documented default and "the
/// safest"), as voxd encodings.
enum GroqSpeechFormat {
    /// What capabilities declare. pcm_s16le is Groq's WAV with the header taken off.
    static let declared: [AudioEncoding] = [.pcmS16LE, .wav, .mp3, .flac, .opus, .mulaw]
    /// `sample_rate`: the documented values.
    static let sampleRates = [8000, 16000, 22050, 24000, 32000, 44100, 48000]

    /// The `response_format` for a requested encoding, and the format to
    /// pass the bytes on in — nil when the WAV is opened and its samples sent
    /// as pcm_s16le at the rate its header says (groq.md: "Orpheus output at
    /// 48 kHz (uncertain)", so the header, not a constant, decides).
    static func wire(for encoding: AudioEncoding?, sampleRate: Int?) -> (responseFormat: String, passthrough: AudioFormat?) {
        switch encoding {
        case .wav: return ("wav", AudioFormat(encoding: .wav, sampleRate: sampleRate, channels: 1))
        case .mp3: return ("mp3", AudioFormat(encoding: .mp3))
        case .flac: return ("flac", AudioFormat(encoding: .flac))
        // groq.md names the container only ("ogg"); voxd's ogg encoding is Ogg
        // Opus. Which codec Groq puts inside is not documented (uncertain).
        case .opus: return ("ogg", AudioFormat(encoding: .opus))
        case .mulaw: return ("mulaw", AudioFormat(encoding: .mulaw, sampleRate: sampleRate, channels: 1))
        default: return ("wav", nil)
        }
    }
}

/// `tts.synthesize`: POST {base}/audio/speech (groq.md "Text-to-speech"),
/// the audio forwarded as it arrives.
struct SpeechOperation {
    let client: ProviderClient

    struct Plan {
        var body: JSONValue
        var model: String
        var voice: String
        var responseFormat: String
        var passthrough: AudioFormat?
    }

    /// The JSON body, after checking what can be checked before a request.
    /// Fields: `model`, `input`, `voice`, `response_format`, `sample_rate`
    /// (only when the request names one of the documented rates), `speed`.
    /// `options` carry nothing Groq-specific; unknown members are ignored,
    /// as SCHEMAS.md has readers do.
    static func plan(_ r: SynthesisRequest) throws -> Plan {
        let model = r.model ?? GroqCatalog.defaultTTSModel
        guard !r.input.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw VoxPluginError.invalidRequest("input: must not be empty")
        }
        if let options = r.options, options != .null, options.objectValue == nil {
            throw VoxPluginError.invalidRequest("options: must be an object")
        }
        let voice: String
        if let voices = GroqCatalog.orpheusVoices[model] {
            let asked = (r.voice ?? voices[0]).lowercased()
            guard voices.contains(asked) else {
                throw VoxPluginError.notFound("groq model \(model) has no voice \"\(r.voice ?? "")\"; its voices are \(voices.joined(separator: ", "))")
            }
            voice = asked
        } else {
            // A speech model groq.md lists no voices for (e.g. a discovered
            // legacy PlayAI model): the provider decides, but a voice is required.
            guard let v = r.voice, !v.isEmpty else {
                throw VoxPluginError.invalidRequest("voice: required for groq model \(model) (voices are documented only for \(GroqCatalog.english) and \(GroqCatalog.arabic))")
            }
            voice = v
        }
        let rate = r.format?.sampleRate.flatMap { GroqSpeechFormat.sampleRates.contains($0) ? $0 : nil }
        let wire = GroqSpeechFormat.wire(for: r.format?.encoding, sampleRate: rate)
        var body: [String: JSONValue] = ["model": .string(model), "input": .string(r.input), "voice": .string(voice),
                                         "response_format": .string(wire.responseFormat)]
        if let rate { body["sample_rate"] = .number(Double(rate)) }
        if let speed = r.speed {
            // `speed`: "range undocumented in SDK"; only a positive number makes sense.
            guard speed > 0 else { throw VoxPluginError.invalidRequest("speed: must be a positive number") }
            body["speed"] = .number(speed)
        }
        return Plan(body: .object(body), model: model, voice: voice, responseFormat: wire.responseFormat, passthrough: wire.passthrough)
    }

    func run(_ r: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
        let plan = try Self.plan(r)
        let path = "/audio/speech"
        let response = try await client.postJSON(path, plan.body)
        try await output.metadata(model: plan.model, voice: plan.voice)
        let wav = WAVCut()
        let passthrough = plan.passthrough, status = response.status
        let total = try await client.relayAudio(response, to: output, what: "POST \(path)") { chunk in
            if let format = passthrough { return (chunk[...], format) }
            let pcm: [UInt8]
            do { pcm = try wav.reader.feed(chunk) } catch let e as VoxPluginError {
                throw VoxPluginError(.unavailable, "groq: \(e.message)", httpStatus: status, retriable: true)
            }
            return wav.reader.format.map { (pcm[...], $0) }
        }
        guard total > 0 else {
            throw VoxPluginError(.unavailable, "groq: provider returned no audio (HTTP \(response.status) with an empty body)",
                                 httpStatus: response.status, retriable: true)
        }
        if plan.passthrough == nil {
            guard wav.reader.header != nil else {
                throw VoxPluginError(.unavailable, "groq: the audio ended inside its WAV header (\(total) bytes)", httpStatus: response.status, retriable: true)
            }
            guard wav.reader.pcmBytes > 0 else {
                throw VoxPluginError(.unavailable, "groq: provider returned no audio (a WAV header without samples)", httpStatus: response.status, retriable: true)
            }
        }
        return OperationResult(usage: Usage(characters: r.input.count, audioSeconds: plan.passthrough == nil ? wav.reader.seconds : nil))
    }
}

/// The WAV reader of one relayed answer (called one chunk at a time).
private final class WAVCut: @unchecked Sendable {
    var reader = WAVFile.PCMReader()
}

import Foundation
import ProviderSupport
import VoxPluginKit

/// The audio Sarvam returns (sarvam.md "Text-to-speech REST",
/// `output_audio_codec`: wav (default) mp3 linear16 mulaw alaw flac aac opus),
/// as voxd encodings.
enum SarvamSpeechFormat {
    /// What capabilities declare. pcm_s16le is the WAV with its header taken
    /// off; opus is left out ("opus rejected on v3/v4 REST").
    static let declared: [AudioEncoding] = [.pcmS16LE, .wav, .mp3, .flac, .aac, .mulaw, .alaw]

    /// The `output_audio_codec` for a requested encoding; `opened` when the
    /// WAV is turned into pcm_s16le here.
    static func codec(for encoding: AudioEncoding?) -> (codec: String, opened: Bool) {
        switch encoding {
        case .wav: return ("wav", false)
        case .mp3: return ("mp3", false)
        case .flac: return ("flac", false)
        case .aac: return ("aac", false)
        case .mulaw: return ("mulaw", false)
        case .alaw: return ("alaw", false)
        default: return ("wav", true)
        }
    }
}

/// `tts.synthesize`: POST {base}/text-to-speech, JSON in, JSON out with the
/// audio as base64 (`{"request_id", "audios": ["<base64 WAV>"]}`).
struct SpeechOperation {
    let client: ProviderClient
    /// The default `speech_sample_rate` ("22050 (default)").
    static let defaultSampleRate = 22050

    struct Plan {
        var body: JSONValue
        var model: String
        var speaker: String
        var codec: String
        var opened: Bool
        var sampleRate: Int
    }

    /// The JSON body, after every check that can be made before a request.
    /// `speed` → `pace`; `language` → `language_code` (guessed from the
    /// script when absent); `options`: `pitch`, `loudness`,
    /// `enable_preprocessing` (bulbul:v2), `temperature`, `dict_id`
    /// (bulbul:v3); other members are ignored, as SCHEMAS.md has readers do.
    static func plan(_ r: SynthesisRequest) throws -> Plan {
        let modelID = r.model ?? SarvamCatalog.defaultTTSModel
        guard let m = SarvamCatalog.ttsModel(modelID) else {
            throw VoxPluginError.notFound("sarvam has no speech model \"\(modelID)\"; this plugin speaks with \(SarvamCatalog.ttsModels.map(\.id).joined(separator: ", ")) (bulbul:v1 is retired)")
        }
        let text = r.input
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw VoxPluginError.invalidRequest("input: must not be empty") }
        guard text.count <= m.maxChars else {
            throw VoxPluginError.invalidRequest("input: \(text.count) characters; sarvam \(m.id) takes at most \(m.maxChars) per request")
        }
        let speaker = (r.voice ?? m.defaultSpeaker).lowercased()
        guard m.speakers.contains(speaker) else {
            throw VoxPluginError.notFound("sarvam \(m.id) has no speaker \"\(r.voice ?? "")\"; its speakers are \(m.speakers.joined(separator: ", "))")
        }
        let language: String
        if let asked = r.language, !asked.isEmpty {
            guard let code = SarvamLanguages.code(for: asked, in: SarvamLanguages.tts) else {
                throw VoxPluginError.invalidRequest("language: sarvam speaks no \"\(asked)\"; it speaks \(SarvamLanguages.tts.joined(separator: ", "))")
            }
            language = code
        } else {
            language = SarvamLanguages.guess(text: text)
        }
        let (codec, opened) = SarvamSpeechFormat.codec(for: r.format?.encoding)
        let rate = r.format?.sampleRate.flatMap { m.sampleRates.contains($0) ? $0 : nil } ?? defaultSampleRate
        // `language_code` is the name SDK ≥0.1.30 sends; SDK ≤0.1.2x and the
        // docs up to early 2026 called it `target_language_code` (sarvam.md).
        var body: [String: JSONValue] = [
            "text": .string(text), "language_code": .string(language), "speaker": .string(speaker), "model": .string(m.id),
            "speech_sample_rate": .number(Double(rate)), "output_audio_codec": .string(codec),
        ]
        if let speed = r.speed {
            guard m.pace.contains(speed) else {
                throw VoxPluginError.invalidRequest("speed: sarvam \(m.id) takes a pace in \(m.pace.lowerBound)…\(m.pace.upperBound), not \(speed)")
            }
            body["pace"] = .number(speed)
        }
        if let options = r.options, options != .null {
            guard let o = options.objectValue else { throw VoxPluginError.invalidRequest("options: must be an object") }
            func number(_ key: String, _ range: ClosedRange<Double>, v2: Bool) throws {
                guard let v = o[key], v != .null else { return }
                guard v2 ? m.v2Controls : m.v3Controls else {
                    throw VoxPluginError.invalidRequest("options.\(key): sarvam \(m.id) does not take \(key); it is a \(v2 ? "bulbul:v2" : "bulbul:v3") control")
                }
                guard let n = v.doubleValue, range.contains(n) else {
                    throw VoxPluginError.invalidRequest("options.\(key): must be a number in \(range.lowerBound)…\(range.upperBound)")
                }
                body[key] = .number(n)
            }
            try number("pitch", -0.75...0.75, v2: true)
            try number("loudness", 0.3...3.0, v2: true)
            try number("temperature", 0.01...1.0, v2: false)
            if let v = o["enable_preprocessing"], v != .null {
                guard let b = v.boolValue else { throw VoxPluginError.invalidRequest("options.enable_preprocessing: must be true or false") }
                if m.v2Controls {
                    body["enable_preprocessing"] = .bool(b)
                } else if !b {
                    // "always on for v3/v4": true is what happens anyway; false cannot be had.
                    throw VoxPluginError.invalidRequest("options.enable_preprocessing: always on for sarvam \(m.id); it cannot be turned off")
                }
            }
            if let v = o["dict_id"], v != .null {
                guard m.v3Controls else { throw VoxPluginError.invalidRequest("options.dict_id: sarvam \(m.id) does not take pronunciation dictionaries; use bulbul:v3") }
                guard let s = v.stringValue, !s.isEmpty else { throw VoxPluginError.invalidRequest("options.dict_id: must be a non-empty string") }
                body["dict_id"] = .string(s)
            }
        }
        return Plan(body: .object(body), model: m.id, speaker: speaker, codec: codec, opened: opened, sampleRate: rate)
    }

    func run(_ r: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
        let plan = try Self.plan(r)
        let answer = try await client.json("POST", "/text-to-speech", body: plan.body)
        let requestID = answer["request_id"]?.stringValue.map { " (request \($0))" } ?? ""
        func noAudio(_ why: String) -> VoxPluginError {
            VoxPluginError(.unavailable, "sarvam: provider returned no audio: \(why)\(requestID)", retriable: true)
        }
        guard let audios = answer["audios"]?.arrayValue else { throw noAudio("the answer has no audios array") }
        guard let first = audios.first?.stringValue, !first.isEmpty else { throw noAudio("audios is empty") }
        guard let data = Data(base64Encoded: first, options: .ignoreUnknownCharacters), !data.isEmpty else {
            throw noAudio("audios[0] is not base64 audio")
        }
        try await output.metadata(model: plan.model, voice: plan.speaker)
        let bytes = [UInt8](data)
        guard plan.opened else {
            // Passed through as Sarvam made it, in pieces of a host-friendly size.
            let format = AudioFormat(encoding: AudioEncoding(rawValue: plan.codec) ?? .wav,
                                     sampleRate: plan.codec == "mp3" || plan.codec == "aac" || plan.codec == "flac" ? nil : plan.sampleRate, channels: 1)
            for start in stride(from: 0, to: bytes.count, by: 16_384) {
                try await output.write(Array(bytes[start..<min(start + 16_384, bytes.count)]), format: format)
            }
            return OperationResult(usage: Usage(characters: r.input.count))
        }
        var wav = WAVFile.PCMReader(maxHeaderBytes: bytes.count)
        let pcm: [UInt8]
        do { pcm = try wav.feed(bytes) } catch let e as VoxPluginError { throw noAudio(e.message) }
        guard let header = wav.header, let format = wav.format else { throw noAudio("audios[0] is not a complete WAV file (\(bytes.count) bytes)") }
        guard !pcm.isEmpty else { throw noAudio("a WAV file without samples") }
        // 100 ms per chunk (DESIGN.md: chunks of 20–100 ms), whole frames.
        let step = max(1, header.sampleRate / 10) * 2 * header.channels
        for start in stride(from: 0, to: pcm.count, by: step) {
            try await output.write(Array(pcm[start..<min(start + step, pcm.count)]), format: format)
        }
        return OperationResult(usage: Usage(characters: r.input.count, audioSeconds: wav.seconds))
    }
}

import VoxPluginKit

/// The `output_format` query of text-to-speech, `codec_samplerate[_bitrate]`
/// (elevenlabs.md "Text-to-speech"; the spec's enum plus the values SDK 2.78
/// added: `mp3_24000_48`, `pcm_32000`, `wav_*`). `pcm_*` is raw signed 16-bit
/// little-endian mono; `ulaw_8000` / `alaw_8000` are raw G.711; `wav_*` is
/// that pcm in a WAV file. `mp3_44100_192` needs Creator+, `pcm_44100` Pro+
/// (the spec's description): the provider refuses those on smaller plans.
struct OutputFormat: Equatable, Sendable {
    /// The query value, e.g. "pcm_24000".
    var name: String
    /// What the bytes that come back are.
    var format: AudioFormat

    static let pcmRates = [8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000]
    static let mp3Names = ["mp3_22050_32", "mp3_24000_48", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128", "mp3_44100_192"]
    static let opusNames = ["opus_48000_32", "opus_48000_64", "opus_48000_96", "opus_48000_128", "opus_48000_192"]
    static let allNames: [String] = mp3Names + pcmRates.map { "pcm_\($0)" } + pcmRates.map { "wav_\($0)" } + ["ulaw_8000", "alaw_8000"] + opusNames

    /// The encodings voxd can ask for and get as they are.
    static let declared: [AudioEncoding] = [.pcmS16LE, .wav, .mp3, .opus, .mulaw, .alaw]
    /// Every rate some format comes in.
    static let declaredRates = pcmRates

    /// A documented value as a format; nil for anything else.
    static func named(_ name: String) -> OutputFormat? {
        guard allNames.contains(name) else { return nil }
        let parts = name.split(separator: "_")
        guard parts.count >= 2, let rate = Int(parts[1]) else { return nil }
        let encoding: AudioEncoding
        switch parts[0] {
        case "pcm": encoding = .pcmS16LE
        case "wav": encoding = .wav
        case "mp3": encoding = .mp3
        case "opus": encoding = .opus
        case "ulaw": encoding = .mulaw
        case "alaw": encoding = .alaw
        default: return nil
        }
        return OutputFormat(name: name, format: AudioFormat(encoding: encoding, sampleRate: rate, channels: 1))
    }

    /// The format for a request: `explicit` (options.output_format) when
    /// given, checked against the encoding asked for; otherwise the asked
    /// encoding at the asked rate when ElevenLabs makes it, the nearest rate
    /// when not, and pcm when the encoding is not one ElevenLabs makes
    /// (pcm_f32le, flac, aac, webm: the host converts, SCHEMAS.md).
    static func choose(for requested: AudioFormat?, defaultPCMRate: Int, explicit: String?) throws -> OutputFormat {
        if let explicit {
            guard let f = named(explicit) else {
                throw VoxPluginError.invalidRequest("options.output_format: \"\(explicit)\" is not an ElevenLabs output format; use one of \(allNames.joined(separator: ", "))")
            }
            if let asked = requested?.encoding, asked != f.format.encoding {
                throw VoxPluginError.invalidRequest("options.output_format: \(explicit) makes \(f.format.encoding.rawValue) audio, but the request asks for \(asked.rawValue)")
            }
            return f
        }
        let rate = requested?.sampleRate
        switch requested?.encoding {
        case .wav?: return named("wav_\(nearest(rate) ?? defaultPCMRate)")!
        case .mp3?:
            switch rate {
            case 22_050?: return named("mp3_22050_32")!
            case 24_000?: return named("mp3_24000_48")!
            default: return named("mp3_44100_128")! // the API's default
            }
        case .opus?: return named("opus_48000_64")!
        case .mulaw?: return named("ulaw_8000")!
        case .alaw?: return named("alaw_8000")!
        default: return named("pcm_\(nearest(rate) ?? defaultPCMRate)")!
        }
    }

    /// The supported pcm rate closest to `rate` (the higher one on a tie).
    static func nearest(_ rate: Int?) -> Int? {
        guard let rate, rate > 0 else { return nil }
        return pcmRates.min { a, b in
            let da = abs(a - rate), db = abs(b - rate)
            return da != db ? da < db : a > b
        }
    }

    /// Seconds of audio in `bytes` of this format, when the bytes say it
    /// plainly (raw pcm, G.711, or a WAV file's samples).
    func seconds(_ bytes: Int) -> Double? {
        guard let rate = format.sampleRate, rate > 0 else { return nil }
        switch format.encoding {
        case .pcmS16LE: return Double(bytes / 2) / Double(rate)
        case .mulaw, .alaw: return Double(bytes) / Double(rate)
        case .wav: return bytes > 44 ? Double((bytes - 44) / 2) / Double(rate) : nil
        default: return nil
        }
    }
}

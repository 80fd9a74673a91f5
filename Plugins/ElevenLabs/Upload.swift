import ProviderSupport
import VoxPluginKit

/// An audio file as a multipart part: speech-to-text's `file` and voice
/// cloning's `files` (elevenlabs.md "Speech-to-text", "Instant voice
/// cloning"). ElevenLabs takes "all major audio and video formats"; the part
/// gets the file name and content type of what the bytes are.
enum Upload {
    /// The kit's encodings among those; raw pcm_s16le is wrapped in a WAV
    /// header (or, for transcription at 16 kHz mono, sent as
    /// `file_format=pcm_s16le_16`, see TranscriptionOperation).
    static let declared: [AudioEncoding] = [.wav, .mp3, .opus, .flac, .webm, .aac, .pcmS16LE]
    /// Speech-to-text: "binary < 3 GB"; voxd's own upload limit is far lower.
    static let maxBytes = 3_000_000_000

    static let names: [AudioEncoding: (ext: String, type: String)] = [
        .wav: ("wav", "audio/wav"), .mp3: ("mp3", "audio/mpeg"), .opus: ("ogg", "audio/ogg"), .flac: ("flac", "audio/flac"),
        .webm: ("webm", "audio/webm"), .aac: ("m4a", "audio/mp4"),
    ]

    /// The part for `audio` (checked to be what its format says), named
    /// `stem.ext`. `what` names the input in messages.
    static func file(_ audio: AudioData, stem: String, what: String) throws -> (filename: String, contentType: String, bytes: [UInt8]) {
        let encoding = try AudioSniff.check(audio, what: what)
        var bytes = audio.bytes
        var enc = encoding
        if encoding == .pcmS16LE {
            guard let rate = audio.format?.sampleRate, rate > 0 else {
                throw VoxPluginError.invalidRequest("\(what): pcm_s16le needs a sample rate")
            }
            bytes = WAVFile.wrap(pcm: audio.bytes, sampleRate: rate, channels: audio.format?.channels ?? 1)
            enc = .wav
        }
        guard let n = names[enc] else {
            throw VoxPluginError.invalidRequest("\(what): elevenlabs does not take \(encoding.rawValue); use one of \(declared.map(\.rawValue).joined(separator: ", "))")
        }
        guard bytes.count < maxBytes else { throw VoxPluginError.invalidRequest("\(what): \(bytes.count) bytes; elevenlabs takes files under 3 GB") }
        return ("\(stem).\(n.ext)", n.type, bytes)
    }
}

import ProviderSupport
import VoxPluginKit

/// The audio body of a pre-recorded `POST /v1/listen`: the raw file bytes
/// with their Content-Type (deepgram.md "Pre-recorded STT": `audio/wav`,
/// `audio/*` or `application/octet-stream`). Deepgram detects containers
/// itself, so only headerless audio needs `encoding`.
///
/// Raw pcm_s16le is wrapped in a WAV header rather than sent with
/// `encoding=linear16&sample_rate=…&channels=…`: the pre-recorded spec
/// lists `encoding` but not `sample_rate`/`channels` (deepgram.md marks them
/// "uncertain for REST"), while a WAV container is detected for sure and
/// carries the rate and channels in its header. (The live socket, where
/// they are documented, sends raw linear16 with those params:
/// ListenQuery.Mode.live.)
enum ListenUpload {
    /// What capabilities declare: the kit's encodings Deepgram reads as files.
    static let declared: [AudioEncoding] = [.wav, .mp3, .opus, .flac, .webm, .aac, .pcmS16LE]

    static func body(for audio: AudioData) throws -> (bytes: [UInt8], contentType: String) {
        guard !audio.bytes.isEmpty else { throw VoxPluginError.invalidRequest("input audio: empty") }
        // Unknown format: Deepgram sniffs it (the SDK sends octet-stream too).
        guard let format = audio.format else { return (audio.bytes, "application/octet-stream") }
        switch format.encoding {
        case .pcmS16LE:
            guard let rate = format.sampleRate, rate > 0 else {
                throw VoxPluginError.invalidRequest("input audio: pcm_s16le needs a sample rate")
            }
            return (WAVFile.wrap(pcm: audio.bytes, sampleRate: rate, channels: format.channels ?? 1), "audio/wav")
        case .wav: return (audio.bytes, "audio/wav")
        case .mp3: return (audio.bytes, "audio/mpeg")
        case .opus: return (audio.bytes, "audio/ogg")
        case .flac: return (audio.bytes, "audio/flac")
        case .webm: return (audio.bytes, "audio/webm")
        case .aac:
            // voxd's aac is an mp4/m4a container ("ftyp" at 4) or ADTS.
            let mp4 = audio.bytes.count >= 8 && audio.bytes[4..<8].elementsEqual("ftyp".utf8)
            return (audio.bytes, mp4 ? "audio/mp4" : "audio/aac")
        default:
            throw VoxPluginError.invalidRequest("input audio: deepgram's file transcription does not take raw \(format.encoding.rawValue); use one of \(declared.map(\.rawValue).joined(separator: ", "))")
        }
    }
}

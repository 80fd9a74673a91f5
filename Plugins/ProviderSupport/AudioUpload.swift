import Foundation
import VoxPluginKit

/// The audio file part of a transcription upload. The OpenAI-compatible
/// APIs (openai.md and groq.md "POST /audio/transcriptions", `file`: flac
/// mp3 mp4 mpeg mpga m4a ogg wav webm) tell containers apart by the file
/// name, so the name and content type follow the encoding; Sarvam's
/// `/speech-to-text` takes the same containers (sarvam.md).
public struct AudioUpload: Sendable {
    /// The kit's encodings among those: Ogg Opus is "ogg", aac is what voxd
    /// calls an mp4/m4a upload; raw pcm_s16le is wrapped in a WAV header here.
    public static let declared: [AudioEncoding] = [.wav, .mp3, .opus, .flac, .webm, .aac, .pcmS16LE]

    /// File extensions per encoding (the first is the default).
    public static let extensions: [AudioEncoding: [String]] = [
        .wav: ["wav"], .mp3: ["mp3", "mpeg", "mpga"], .opus: ["ogg"], .flac: ["flac"], .webm: ["webm"], .aac: ["m4a", "mp4"],
    ]
    public static let contentTypes = ["wav": "audio/wav", "mp3": "audio/mpeg", "mpeg": "audio/mpeg", "mpga": "audio/mpeg",
                                      "ogg": "audio/ogg", "flac": "audio/flac", "webm": "audio/webm", "m4a": "audio/mp4", "mp4": "audio/mp4"]

    /// The provider's name, for messages.
    public let provider: String
    /// The largest file the provider takes (nil: none documented).
    public let maxBytes: Int?

    public init(provider: String, maxBytes: Int?) {
        self.provider = provider
        self.maxBytes = maxBytes
    }

    /// The file part for `audio`. `clientName` (the client's file name, when
    /// voxd passes it as `file_name`) picks among the extensions that fit the
    /// encoding, e.g. mp4 rather than m4a; it is never sent itself.
    public func file(for audio: AudioData, clientName: String? = nil) throws -> (filename: String, contentType: String, bytes: [UInt8]) {
        let accepted = Self.declared.map(\.rawValue).joined(separator: ", ")
        guard !audio.bytes.isEmpty else { throw VoxPluginError.invalidRequest("input audio: empty") }
        guard let format = audio.format else {
            throw VoxPluginError.invalidRequest("input audio: its format is unknown; \(provider) takes \(accepted)")
        }
        var bytes = audio.bytes
        let ext: String
        if format.encoding == .pcmS16LE {
            guard let rate = format.sampleRate else { throw VoxPluginError.invalidRequest("input audio: pcm_s16le needs a sample rate") }
            bytes = WAVFile.wrap(pcm: audio.bytes, sampleRate: rate, channels: format.channels ?? 1)
            ext = "wav"
        } else if let allowed = Self.extensions[format.encoding] {
            let asked = clientName.flatMap { $0.split(separator: ".").count > 1 ? $0.split(separator: ".").last.map { $0.lowercased() } : nil }
            ext = asked.flatMap { allowed.contains($0) ? $0 : nil } ?? allowed[0]
        } else {
            throw VoxPluginError.invalidRequest("input audio: \(provider) does not take \(format.encoding.rawValue); use one of \(accepted)")
        }
        if let maxBytes, bytes.count > maxBytes {
            throw VoxPluginError.invalidRequest("input audio: \(bytes.count) bytes; \(provider) takes files up to \(maxBytes / (1024 * 1024)) MB")
        }
        return ("audio.\(ext)", Self.contentTypes[ext] ?? "application/octet-stream", bytes)
    }
}

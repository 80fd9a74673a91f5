import Foundation
import ProviderSupport
import VoxPluginKit

/// The audio file sent for transcription: openai.md "POST
/// /audio/transcriptions", `file`: flac mp3 mp4 mpeg mpga m4a ogg wav webm,
/// told apart by the file name, so the name and type follow the encoding.
enum UploadFormat {
    /// The kit's encodings among those: Ogg Opus is "ogg", aac is what voxd
    /// calls an mp4/m4a upload; raw pcm_s16le is wrapped in a WAV header here.
    static let declared: [AudioEncoding] = [.wav, .mp3, .opus, .flac, .webm, .aac, .pcmS16LE]
    /// "25 MB limit (guide)".
    static let maxBytes = 25 * 1024 * 1024

    /// File extensions OpenAI takes, per encoding (the first is the default),
    /// with their content types.
    static let extensions: [AudioEncoding: [String]] = [
        .wav: ["wav"], .mp3: ["mp3", "mpeg", "mpga"], .opus: ["ogg"], .flac: ["flac"], .webm: ["webm"], .aac: ["m4a", "mp4"],
    ]
    static let contentTypes = ["wav": "audio/wav", "mp3": "audio/mpeg", "mpeg": "audio/mpeg", "mpga": "audio/mpeg",
                               "ogg": "audio/ogg", "flac": "audio/flac", "webm": "audio/webm", "m4a": "audio/mp4", "mp4": "audio/mp4"]

    /// The file part for `audio`. `clientName` (the client's file name, when
    /// voxd passes it as options.file_name) picks among the extensions that
    /// fit the encoding, e.g. mp4 rather than m4a; it is never sent itself.
    static func file(for audio: AudioData, clientName: String? = nil) throws -> (filename: String, contentType: String, bytes: [UInt8]) {
        guard !audio.bytes.isEmpty else { throw VoxPluginError.invalidRequest("input audio: empty") }
        guard let format = audio.format else {
            throw VoxPluginError.invalidRequest("input audio: its format is unknown; openai takes \(declared.map(\.rawValue).joined(separator: ", "))")
        }
        var bytes = audio.bytes
        let ext: String
        if format.encoding == .pcmS16LE {
            guard let rate = format.sampleRate else { throw VoxPluginError.invalidRequest("input audio: pcm_s16le needs a sample rate") }
            bytes = WAVFile.wrap(pcm: audio.bytes, sampleRate: rate, channels: format.channels ?? 1)
            ext = "wav"
        } else if let allowed = extensions[format.encoding] {
            let asked = clientName.flatMap { $0.split(separator: ".").count > 1 ? $0.split(separator: ".").last.map { $0.lowercased() } : nil }
            ext = asked.flatMap { allowed.contains($0) ? $0 : nil } ?? allowed[0]
        } else {
            throw VoxPluginError.invalidRequest("input audio: openai does not take \(format.encoding.rawValue); use one of \(declared.map(\.rawValue).joined(separator: ", "))")
        }
        guard bytes.count <= maxBytes else {
            throw VoxPluginError.invalidRequest("input audio: \(bytes.count) bytes; openai takes files up to 25 MB")
        }
        return ("audio.\(ext)", contentTypes[ext] ?? "application/octet-stream", bytes)
    }
}

import Foundation
import VoxPluginKit

/// A `multipart/form-data` body (RFC 7578): text fields and one file part,
/// CRLF line ends, a random boundary that the content cannot contain.
struct MultipartForm {
    let boundary: String
    private(set) var body: [UInt8] = []

    init() {
        boundary = "voxd-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    mutating func field(_ name: String, _ value: String) {
        head("Content-Disposition: form-data; name=\"\(Self.quoted(name))\"")
        body += Array(value.utf8)
        body += Array("\r\n".utf8)
    }

    mutating func file(_ name: String, filename: String, contentType: String, _ bytes: [UInt8]) {
        head("Content-Disposition: form-data; name=\"\(Self.quoted(name))\"; filename=\"\(Self.quoted(filename))\"\r\nContent-Type: \(contentType)")
        body += bytes
        body += Array("\r\n".utf8)
    }

    /// The body with its closing delimiter.
    func finished() -> [UInt8] { body + Array("--\(boundary)--\r\n".utf8) }

    private mutating func head(_ headers: String) {
        body += Array("--\(boundary)\r\n\(headers)\r\n\r\n".utf8)
    }

    /// Quotes and line breaks cannot appear inside a quoted parameter.
    private static func quoted(_ s: String) -> String {
        s.replacingOccurrences(of: "\"", with: "%22").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
    }
}

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
            bytes = wav(pcm: audio.bytes, sampleRate: rate, channels: format.channels ?? 1)
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

    /// A canonical 44-byte WAV header in front of 16-bit PCM.
    static func wav(pcm: [UInt8], sampleRate: Int, channels: Int) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let data = pcm.count % 2 == 0 ? pcm : Array(pcm.dropLast())
        var h = Array("RIFF".utf8) + le32(36 + data.count) + Array("WAVEfmt ".utf8)
        h += le32(16) + le16(1) + le16(channels) + le32(sampleRate) + le32(sampleRate * channels * 2) + le16(channels * 2) + le16(16)
        h += Array("data".utf8) + le32(data.count)
        return h + data
    }

    /// Seconds of audio when the bytes say so (raw pcm, or a plain WAV).
    static func duration(of audio: AudioData) -> Double? {
        guard let f = audio.format else { return nil }
        switch f.encoding {
        case .pcmS16LE:
            guard let rate = f.sampleRate, rate > 0 else { return nil }
            return Double(audio.bytes.count / 2 / max(1, f.channels ?? 1)) / Double(rate)
        case .wav:
            let b = audio.bytes
            guard b.count >= 44, b[0..<4].elementsEqual("RIFF".utf8) else { return nil }
            func u32(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24 }
            var i = 12
            var byteRate = 0
            while i + 8 <= b.count {
                let size = u32(i + 4)
                if b[i..<(i + 4)].elementsEqual("fmt ".utf8), i + 20 <= b.count { byteRate = u32(i + 16) }
                if b[i..<(i + 4)].elementsEqual("data".utf8) {
                    guard byteRate > 0 else { return nil }
                    return Double(min(size, b.count - i - 8)) / Double(byteRate)
                }
                i += 8 + size + (size & 1)
            }
            return nil
        default:
            return nil
        }
    }
}

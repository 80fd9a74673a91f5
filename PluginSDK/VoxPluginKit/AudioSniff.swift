/// What audio bytes are, by their first bytes: the host refuses an upload
/// that is not audio before any provider is called, and a plugin checks
/// what it is about to send (a voice-cloning sample, raw audio that must be
/// whole samples). One table of magic numbers for both.
public enum AudioSniff {
    /// The container or stream a file starts as; nil when no audio format
    /// is recognised (raw pcm, mu-law and a-law have no magic).
    public static func encoding(of b: [UInt8]) -> AudioEncoding? {
        func at(_ o: Int, _ s: String) -> Bool {
            let m = Array(s.utf8)
            return b.count >= o + m.count && b[o..<(o + m.count)].elementsEqual(m)
        }
        if at(0, "RIFF") && at(8, "WAVE") { return .wav }
        if at(0, "OggS") { return .opus }
        if at(0, "fLaC") { return .flac }
        if b.count >= 4, b[0] == 0x1A, b[1] == 0x45, b[2] == 0xDF, b[3] == 0xA3 { return .webm }
        if at(4, "ftyp") { return .aac } // mp4 / m4a
        if at(0, "ID3") { return .mp3 }
        if b.count >= 2, b[0] == 0xFF, b[1] & 0xE0 == 0xE0 {
            return b[1] & 0x06 == 0 ? .aac : .mp3 // layer bits 00: ADTS AAC, else MPEG audio
        }
        return nil
    }

    static let raw: Set<AudioEncoding> = [.pcmS16LE, .pcmF32LE, .mulaw, .alaw]

    /// The encoding of `audio` after checking that the bytes are what its
    /// format says (or, with no format, that they are a known container).
    /// `what` names the input in messages ("reference audio"). Raw encodings
    /// cannot be checked beyond being non-empty whole samples.
    public static func check(_ audio: AudioData, what: String) throws -> AudioEncoding {
        guard !audio.bytes.isEmpty else { throw VoxPluginError.invalidRequest("\(what): empty (no audio bytes)") }
        let found = encoding(of: Array(audio.bytes.prefix(64)))
        guard let declared = audio.format?.encoding else {
            guard let found else {
                throw VoxPluginError.invalidRequest("\(what): does not look like audio (expected wav, mp3, ogg/opus, flac, webm or m4a; it starts with \(hexPrefix(audio.bytes)))")
            }
            return found
        }
        if raw.contains(declared) {
            if let found {
                throw VoxPluginError.invalidRequest("\(what): declared \(declared.rawValue), but the bytes are a \(found.rawValue) file")
            }
            if declared == .pcmS16LE, audio.bytes.count % 2 != 0 {
                throw VoxPluginError.invalidRequest("\(what): pcm_s16le with an odd number of bytes (\(audio.bytes.count))")
            }
            return declared
        }
        // MPEG audio and ADTS AAC share a frame sync; either name is accepted for either.
        let mpeg: Set<AudioEncoding> = [.mp3, .aac]
        guard let found, found == declared || (mpeg.contains(found) && mpeg.contains(declared)) else {
            throw VoxPluginError.invalidRequest("\(what): declared \(declared.rawValue), but the bytes are \(found.map { "a \($0.rawValue) file" } ?? "not audio (they start with \(hexPrefix(audio.bytes)))")")
        }
        return declared
    }

    static func hexPrefix(_ b: [UInt8]) -> String {
        let hex = b.prefix(8).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        return hex.joined(separator: " ") + (b.count > 8 ? " …" : "")
    }
}

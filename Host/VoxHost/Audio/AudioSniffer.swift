import VoxPluginKit

/// Recognises an audio file by its first bytes, so "audio that is not audio"
/// is refused before any provider is called.
enum AudioSniffer {
    static func encoding(of b: [UInt8]) -> AudioEncoding? {
        func at(_ o: Int, _ s: String) -> Bool {
            let m = Array(s.utf8)
            return b.count >= o + m.count && Array(b[o..<(o + m.count)]) == m
        }
        if at(0, "RIFF") && at(8, "WAVE") { return .wav }
        if at(0, "OggS") { return .opus }
        if at(0, "fLaC") { return .flac }
        if b.count >= 4, b[0] == 0x1A, b[1] == 0x45, b[2] == 0xDF, b[3] == 0xA3 { return .webm }
        if at(4, "ftyp") { return .aac } // mp4 / m4a container
        if at(0, "ID3") { return .mp3 }
        if b.count >= 2, b[0] == 0xFF, b[1] & 0xE0 == 0xE0 {
            return b[1] & 0x06 == 0 ? .aac : .mp3 // layer bits 00: ADTS AAC, else MPEG audio
        }
        return nil
    }
}

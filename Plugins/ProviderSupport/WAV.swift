import VoxPluginKit

/// WAV containers: wrapping raw PCM, and reading the duration of a plain
/// RIFF/WAVE file.
public enum WAVFile {
    /// A canonical 44-byte WAV header in front of 16-bit PCM.
    public static func wrap(pcm: [UInt8], sampleRate: Int, channels: Int) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let data = pcm.count % 2 == 0 ? pcm : Array(pcm.dropLast())
        var h = Array("RIFF".utf8) + le32(36 + data.count) + Array("WAVEfmt ".utf8)
        h += le32(16) + le16(1) + le16(channels) + le32(sampleRate) + le32(sampleRate * channels * 2) + le16(channels * 2) + le16(16)
        h += Array("data".utf8) + le32(data.count)
        return h + data
    }

    /// Seconds of audio when the bytes say so (raw pcm, or a plain WAV).
    public static func duration(of audio: AudioData) -> Double? {
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

extension WAVFile {
    /// What a RIFF/WAVE header says: PCM layout and where the samples are.
    public struct Header: Sendable, Equatable {
        public var format: Int // 1 = PCM, 3 = float, 6/7 = A-law/mu-law
        public var channels: Int
        public var sampleRate: Int
        public var bitsPerSample: Int
        /// Offset of the first sample byte.
        public var dataOffset: Int
        /// Bytes of samples declared (0xFFFFFFFF/0 when streamed: "to the end").
        public var dataSize: Int
    }

    /// Reads the header of a WAV file (`fmt ` then `data` chunk); nil when
    /// the bytes are not one or the `data` chunk has not arrived yet.
    public static func header(_ b: [UInt8]) -> Header? {
        guard b.count >= 12, b[0..<4].elementsEqual("RIFF".utf8), b[8..<12].elementsEqual("WAVE".utf8) else { return nil }
        func u16(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
        var i = 12
        var fmt: (Int, Int, Int, Int)?
        while i + 8 <= b.count {
            let size = u32(i + 4)
            if b[i..<(i + 4)].elementsEqual("fmt ".utf8) {
                guard i + 24 <= b.count else { return nil }
                fmt = (u16(i + 8), u16(i + 10), u32(i + 12), u16(i + 22))
            } else if b[i..<(i + 4)].elementsEqual("data".utf8) {
                guard let (format, channels, rate, bits) = fmt else { return nil }
                return Header(format: format, channels: channels, sampleRate: rate, bitsPerSample: bits, dataOffset: i + 8, dataSize: size)
            }
            i += 8 + size + (size & 1)
        }
        return nil
    }
}

extension WAVFile {
    /// The samples of a 16-bit PCM WAV file that arrives in pieces (a
    /// provider's chunked answer) or whole (a decoded base64 string): holds
    /// bytes back until the header is complete (it may be cut anywhere, and
    /// may carry chunks such as `LIST` before `data`), then hands out whole
    /// frames, stopping at the end of the `data` chunk when its size is
    /// declared (0 or 0xFFFFFFFF: streamed, to the end).
    public struct PCMReader: Sendable {
        /// The header, once it has arrived.
        public private(set) var header: Header?
        /// Sample bytes handed out so far.
        public private(set) var pcmBytes = 0
        private var pending: [UInt8] = []
        private var remaining: Int?
        private let maxHeaderBytes: Int

        /// `maxHeaderBytes`: how much may arrive without a complete header
        /// before the bytes are declared not to be a WAV file.
        public init(maxHeaderBytes: Int = 1 << 16) { self.maxHeaderBytes = maxHeaderBytes }

        /// The format of what `feed` returns (known once the header is in).
        public var format: AudioFormat? {
            header.map { AudioFormat(encoding: .pcmS16LE, sampleRate: $0.sampleRate, channels: $0.channels) }
        }

        /// Seconds of samples handed out.
        public var seconds: Double {
            guard let h = header, h.sampleRate > 0 else { return 0 }
            return Double(pcmBytes) / Double(h.sampleRate * max(1, h.channels) * 2)
        }

        /// Consumes bytes; returns the whole frames they completed (possibly
        /// none). Throws when the bytes are not 16-bit PCM WAV.
        public mutating func feed(_ bytes: [UInt8]) throws -> [UInt8] {
            pending += bytes
            if header == nil {
                guard let h = WAVFile.header(pending) else {
                    let looksLikeRIFF = pending.prefix(4).elementsEqual(Array("RIFF".utf8).prefix(pending.count))
                    if !looksLikeRIFF || pending.count > maxHeaderBytes {
                        throw VoxPluginError(.unavailable, "the audio is not a WAV file (starts with \(Self.hex(pending.prefix(12))))", retriable: true)
                    }
                    return []
                }
                guard h.format == 1, h.bitsPerSample == 16, h.channels > 0, h.sampleRate > 0 else {
                    throw VoxPluginError(.unavailable, "the WAV audio is not 16-bit PCM (format \(h.format), \(h.bitsPerSample) bits, \(h.channels) channels, \(h.sampleRate) Hz)", retriable: true)
                }
                header = h
                remaining = h.dataSize == 0 || h.dataSize == 0xFFFF_FFFF ? nil : h.dataSize
                pending.removeFirst(min(h.dataOffset, pending.count))
            }
            if let r = remaining, pending.count > r { pending.removeLast(pending.count - r) }
            let frame = 2 * (header?.channels ?? 1)
            let whole = pending.count - pending.count % frame
            guard whole > 0 else { return [] }
            let out = Array(pending[..<whole])
            pending.removeFirst(whole)
            if let r = remaining { remaining = r - whole }
            pcmBytes += whole
            return out
        }

        private static func hex(_ b: ArraySlice<UInt8>) -> String { b.map { String(format: "%02x", $0) }.joined(separator: " ") }
    }
}

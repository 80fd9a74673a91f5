/// RIFF/WAVE headers for 16-bit PCM.
public enum WAV {
    /// A 44-byte header. With `dataBytes` nil the sizes are 0xFFFFFFFF, the
    /// usual marker for a stream whose length is not known yet; a writer to a
    /// seekable file can patch them with `patchSizes` at the end.
    public static func header(sampleRate: Int, channels: Int, dataBytes: Int? = nil) -> [UInt8] {
        let riffSize = dataBytes.map { UInt32(clamping: $0 + 36) } ?? 0xFFFF_FFFF
        let dataSize = dataBytes.map { UInt32(clamping: $0) } ?? 0xFFFF_FFFF
        let byteRate = UInt32(sampleRate * channels * 2)
        var h: [UInt8] = []
        h.reserveCapacity(44)
        h += Array("RIFF".utf8); h += le32(riffSize); h += Array("WAVE".utf8)
        h += Array("fmt ".utf8); h += le32(16); h += le16(1); h += le16(UInt16(channels))
        h += le32(UInt32(sampleRate)); h += le32(byteRate); h += le16(UInt16(channels * 2)); h += le16(16)
        h += Array("data".utf8); h += le32(dataSize)
        return h
    }

    /// The fmt fields of a canonical 44-byte PCM header, or nil.
    public static func parse(_ b: [UInt8]) -> (sampleRate: Int, channels: Int, bitsPerSample: Int, dataBytes: Int)? {
        guard b.count >= 44, Array(b[0..<4]) == Array("RIFF".utf8), Array(b[8..<12]) == Array("WAVE".utf8),
              Array(b[12..<16]) == Array("fmt ".utf8), Array(b[36..<40]) == Array("data".utf8) else { return nil }
        func u32(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 }
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        return (u32(24), u16(22), u16(34), u32(40))
    }

    private static func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
    private static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
}

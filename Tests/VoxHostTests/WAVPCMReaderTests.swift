import ProviderSupport
import VoxPluginKit
import XCTest

/// ProviderSupport's WAVFile.PCMReader, the part of Groq's and Sarvam's
/// speech that opens WAV files: fed whole or cut anywhere, the samples come
/// out exactly, and nothing else does.
final class WAVPCMReaderTests: XCTestCase {
    func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    /// fmt (PCM, `bits`), an optional LIST chunk before data, data, an optional chunk after it.
    func wav(_ pcm: [UInt8], rate: Int = 24000, channels: Int = 1, bits: Int = 16, list: Bool = false, trailer: Bool = false, dataSize: Int? = nil) -> [UInt8] {
        var b = Array("RIFF".utf8) + le32(0) + Array("WAVEfmt ".utf8) + le32(16) + le16(1) + le16(channels) + le32(rate)
        b += le32(rate * channels * bits / 8) + le16(channels * bits / 8) + le16(bits)
        if list { b += Array("LIST".utf8) + le32(5) + Array("INFOx".utf8) + [0] } // odd size: one pad byte
        b += Array("data".utf8) + le32(dataSize ?? pcm.count) + pcm
        if trailer { b += Array("id3 ".utf8) + le32(4) + [9, 9, 9, 9] }
        return b
    }

    let pcm: [UInt8] = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }

    func testWholeOrCutAnywhereGivesTheSamplesExactly() throws {
        let file = wav(pcm, list: true, trailer: true)
        var whole = WAVFile.PCMReader()
        XCTAssertEqual(try whole.feed(file), pcm, "LIST skipped, the chunk after data left out")
        XCTAssertEqual(whole.format, AudioFormat(encoding: .pcmS16LE, sampleRate: 24000, channels: 1))
        XCTAssertEqual(whole.seconds, 500.0 / 24000, accuracy: 1e-9)
        for cut in [1, 3, 20, 44, 45, 51, 57, 999] {
            var r = WAVFile.PCMReader()
            var out: [UInt8] = []
            for start in stride(from: 0, to: file.count, by: cut) {
                let piece = try r.feed(Array(file[start..<min(start + cut, file.count)]))
                XCTAssertEqual(piece.count % 2, 0, "whole frames only")
                out += piece
            }
            XCTAssertEqual(out, pcm, "pieces of \(cut) bytes")
        }
    }

    func testStreamedSizeReadsToTheEndAndStereoKeepsFrames() throws {
        var r = WAVFile.PCMReader()
        XCTAssertEqual(try r.feed(wav([], dataSize: 0xFFFF_FFFF)), [])
        XCTAssertEqual(try r.feed([1, 2, 3]), [1, 2])
        XCTAssertEqual(try r.feed([4, 5]), [3, 4])
        var stereo = WAVFile.PCMReader()
        XCTAssertEqual(try stereo.feed(wav([], channels: 2, dataSize: 0) + [1, 2, 3, 4, 5, 6]), [1, 2, 3, 4])
        XCTAssertEqual(stereo.format?.channels, 2)
    }

    func testWhatIsNotPCMWAVIsRefused() {
        var html = WAVFile.PCMReader()
        XCTAssertThrowsError(try html.feed(Array("<html>bad gateway</html>".utf8))) { e in
            XCTAssertEqual((e as? VoxPluginError)?.code, .unavailable)
            XCTAssertTrue((e as? VoxPluginError)?.retriable == true)
        }
        var eight = WAVFile.PCMReader()
        XCTAssertThrowsError(try eight.feed(wav(pcm, bits: 8))) { e in
            XCTAssertTrue("\(e)".contains("not 16-bit PCM"), "\(e)")
        }
        var partial = WAVFile.PCMReader(maxHeaderBytes: 64)
        XCTAssertEqual(try partial.feed(Array("RIF".utf8)), [], "a header still arriving is not refused")
        XCTAssertNil(partial.header)
        XCTAssertThrowsError(try partial.feed(Array("FxxxxWAVEjunk".utf8) + [UInt8](repeating: 0, count: 100)), "no fmt/data within the limit")
    }
}

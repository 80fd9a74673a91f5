import XCTest
@testable import VoxHost

final class WAVTests: XCTestCase {
    func testHeaderRoundTrip() {
        let h = WAV.header(sampleRate: 22050, channels: 1, dataBytes: 1000)
        XCTAssertEqual(h.count, 44)
        let p = WAV.parse(h)!
        XCTAssertEqual(p.sampleRate, 22050)
        XCTAssertEqual(p.channels, 1)
        XCTAssertEqual(p.bitsPerSample, 16)
        XCTAssertEqual(p.dataBytes, 1000)
    }

    func testStreamingHeaderMarksUnknownLength() {
        let p = WAV.parse(WAV.header(sampleRate: 16000, channels: 2))!
        XCTAssertEqual(p.dataBytes, 0xFFFF_FFFF)
        XCTAssertEqual(p.channels, 2)
    }
}

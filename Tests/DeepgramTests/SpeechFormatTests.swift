@testable import Deepgram
import ProviderSupport
import VoxPluginKit
import XCTest

/// Aura's encoding/container/sample_rate per voxd format, the linear16
/// stream cleaner, Deepgram's error bodies and the query builder.
final class SpeechFormatTests: XCTestCase {
    func wire(_ e: AudioEncoding?, _ rate: Int? = nil) -> (String, AudioFormat) {
        let w = SpeechFormat.wire(for: e.map { AudioFormat(encoding: $0, sampleRate: rate) })
        return (w.query.encoded, w.format)
    }

    func testEachFormatAsksForWhatAuraMakes() {
        XCTAssertEqual(wire(nil).0, "encoding=linear16&container=none&sample_rate=24000")
        XCTAssertEqual(wire(.pcmS16LE, 16000).0, "encoding=linear16&container=none&sample_rate=16000")
        XCTAssertEqual(wire(.pcmS16LE, 22050).0, "encoding=linear16&container=none&sample_rate=24000", "a rate Aura lacks: 24 kHz, the host converts")
        XCTAssertEqual(wire(.pcmF32LE).1, AudioFormat(encoding: .pcmS16LE, sampleRate: 24000, channels: 1))
        XCTAssertEqual(wire(.wav, 48000).0, "encoding=linear16&container=wav&sample_rate=48000")
        XCTAssertEqual(wire(.wav).1.encoding, .wav)
        XCTAssertEqual(wire(.mp3).0, "encoding=mp3")
        XCTAssertEqual(wire(.mp3).1.sampleRate, 22050)
        XCTAssertEqual(wire(.opus).0, "encoding=opus&container=ogg")
        XCTAssertEqual(wire(.opus).1.sampleRate, 48000)
        XCTAssertEqual(wire(.mulaw).0, "encoding=mulaw&container=none&sample_rate=8000")
        XCTAssertEqual(wire(.alaw, 16000).0, "encoding=alaw&container=none&sample_rate=16000")
        XCTAssertEqual(wire(.flac).0, "encoding=flac")
        XCTAssertEqual(wire(.aac).0, "encoding=aac")
    }

    func testPCMStreamKeepsWholeSamplesAndDropsAStrayHeader() {
        let plain = PCMStream(format: AudioFormat(encoding: .pcmS16LE, sampleRate: 24000, channels: 1))
        XCTAssertEqual(Array(plain.feed([1, 2, 3])), [1, 2])
        XCTAssertEqual(Array(plain.feed([4])), [3, 4])
        XCTAssertEqual(plain.bytesOut, 4)
        XCTAssertFalse(plain.headerOnly)

        let pcm: [UInt8] = (0..<100).map { UInt8($0) }
        var header = WAVFile.wrap(pcm: pcm, sampleRate: 16000, channels: 1)
        let s = PCMStream(format: AudioFormat(encoding: .pcmS16LE, sampleRate: 24000, channels: 1))
        var out: [UInt8] = []
        while !header.isEmpty { out += s.feed(Array(header.prefix(7))); header.removeFirst(min(7, header.count)) }
        XCTAssertEqual(out, pcm, "the header is gone, cut anywhere")
        XCTAssertEqual(s.format.sampleRate, 16000, "the header's rate wins")

        let only = PCMStream(format: AudioFormat(encoding: .pcmS16LE, sampleRate: 24000, channels: 1))
        XCTAssertEqual(Array(only.feed(Array(WAVFile.wrap(pcm: [], sampleRate: 24000, channels: 1).prefix(30)))), [])
        XCTAssertTrue(only.headerOnly)
    }

    func testErrorBodiesInAllThreeShapes() {
        let legacy = ProviderErrorBody.deepgram(try? VoxJSON.decode(JSONValue.self, from: Data(#"{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials.","request_id":"r1"}"#.utf8)), [])
        XCTAssertEqual(legacy.kind, "INVALID_AUTH")
        XCTAssertEqual(legacy.message, "Invalid credentials.")
        XCTAssertTrue(legacy.badKey)
        let modern = ProviderErrorBody.deepgram(try? VoxJSON.decode(JSONValue.self, from: Data(#"{"category":"INVALID_QUERY_PARAMETER","message":"Bad Request","details":"corrupt audio","request_id":"r2"}"#.utf8)), [])
        XCTAssertEqual(modern.kind, "INVALID_QUERY_PARAMETER")
        XCTAssertEqual(modern.message, "Bad Request: corrupt audio")
        XCTAssertFalse(modern.badKey)
        let text = ProviderErrorBody.deepgram(nil, Array("Service Unavailable\n".utf8))
        XCTAssertEqual(text.message, "Service Unavailable")
        XCTAssertNil(text.kind)
    }

    func testURLQueryEscapesAndRepeats() {
        var q = URLQuery()
        q.add("keyterm", "voxd & co")
        q.add("keyterm", "naïve=1")
        q.add("smart_format", true)
        q.add("speed", 1.5)
        q.add("rate", 2.0)
        XCTAssertEqual(q.encoded, "keyterm=voxd%20%26%20co&keyterm=na%C3%AFve%3D1&smart_format=true&speed=1.5&rate=2")
        XCTAssertEqual(q.values("keyterm"), ["voxd & co", "naïve=1"])
        XCTAssertEqual(URLQuery().suffix, "")
    }
}

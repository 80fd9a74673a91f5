import CVoxPlugin
import Foundation
import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// Sarvam streaming speech-to-text (`stt.stream`): the real libvox_sarvam.so
/// through the registry and the host's WebSocket service, against
/// SarvamStreamFake.
final class SarvamStreamTests: XCTestCase {
    static let keyVar = "VOXD_TEST_SARVAM_KEY"
    var stream: SarvamStreamFake!
    let h = PluginHarness(name: "sarvam")

    override func setUp() async throws {
        stream = try await SarvamStreamFake.start(apiKey: SarvamFake.defaultAPIKey)
        setenv(Self.keyVar, SarvamFake.defaultAPIKey, 1)
    }

    override func tearDown() async throws { await h.finish(stream, "streaming traffic that departs from Sarvam's documented frames") }

    func load(_ settings: String = "stream_final_wait_ms = 800", key: String = keyVar) async throws -> PluginInstance {
        try await h.load(settings: "ws_base_url = \"\(stream.baseURL)\"\n\(settings)", keyVar: key)
    }

    static let request = #"{"model":"saaras:v3","language":"hi-IN","format":{"encoding":"pcm_s16le","sample_rate":16000,"channels":1},"options":{"mode":"transcribe"}}"#

    func run(_ i: PluginInstance, seconds: Double, request: String = request) async throws -> PluginHarness.Outcome {
        try await h.stream(i, request, seconds: seconds)
    }

    func testFinalsVADEventsFlushAndUsage() async throws {
        let i = try await load()
        XCTAssertTrue(i.capabilities.supports(.sttStream))
        // 1.5 s = 6 words: one segment of 4 while streaming, the last 2 after the flush.
        let out = try await run(i, seconds: 1.5)
        XCTAssertEqual(out.texts("final"), ["namaste duniya yeh sarvam", "ka nakli"])
        XCTAssertEqual(out.events("final").first?["language"]?.stringValue, "hi-IN")
        XCTAssertEqual(out.events("speech_started").count, 2)
        XCTAssertEqual(out.events("utterance_end").count, 2)
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 1.5, accuracy: 0.001)
        XCTAssertEqual(stream.flushes, 1)
        let q = stream.queries.last!
        XCTAssertEqual(q["language-code"], "hi-IN")
        XCTAssertEqual(q["model"], "saaras:v3")
        XCTAssertEqual(q["mode"], "transcribe")
        XCTAssertEqual(q["input_audio_codec"], "pcm_s16le")
        XCTAssertEqual(q["sample_rate"], "16000")
    }

    func testBadKeyIsUnauthenticatedNamingTheSecret() async throws {
        setenv("VOXD_TEST_SARVAM_WRONG", "sk_wrong_key_ffffffff", 1)
        let i = try await load(key: "VOXD_TEST_SARVAM_WRONG")
        let e = await h.failure { try await self.run(i, seconds: 0.2) }
        XCTAssertEqual(e.code, .unauthenticated, e.message)
        XCTAssertTrue(e.message.contains("plugins.d/sarvam.toml"), e.message)
        XCTAssertFalse(e.message.contains("sk_wrong_key_ffffffff"), e.message)
    }

    func testErrorFrameDropAndEmptyTranscriptAreErrors() async throws {
        let i = try await load()
        for (fault, code) in [(SarvamStreamFake.Fault.errorFrame, VoxErrorCode.invalidRequest), (.drop, .unavailable), (.emptyTranscript, .unavailable),
                              (.refuse(429), .rateLimited)] {
            stream.inject(fault)
            let e = await h.failure { try await self.run(i, seconds: 1.2) }
            XCTAssertEqual(e.code, code, "\(fault): \(e.message)")
        }
    }

    func testRefusedRequestsNeverConnect() async throws {
        let i = try await load()
        for (req, fragment) in [(#"{"model":"saarika:v2.5","format":{"encoding":"pcm_s16le","sample_rate":16000}}"#, "streams speech-to-text with"),
                                (#"{"format":{"encoding":"mp3"}}"#, "takes raw pcm_s16le"),
                                (#"{"language":"fr-FR","format":{"encoding":"pcm_s16le","sample_rate":16000}}"#, "does not transcribe \"fr-FR\"")] {
            let e = await h.failure { try await self.run(i, seconds: 0.1, request: req) }
            XCTAssertTrue(e.message.contains(fragment), "\(req): \(e.message)")
        }
        XCTAssertEqual(stream.sessions, 0)
    }
}

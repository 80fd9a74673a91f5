import CVoxPlugin
import Foundation
import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// Deepgram live listen (`stt.stream`): the real libvox_deepgram.so through
/// the registry and the host's WebSocket service, against DeepgramLiveFake.
final class DeepgramLiveTests: XCTestCase {
    static let keyVar = "VOXD_TEST_DEEPGRAM_KEY"
    var live: DeepgramLiveFake!
    let h = PluginHarness(name: "deepgram")

    override func setUp() async throws {
        live = try await DeepgramLiveFake.start(apiKey: DeepgramFake.defaultAPIKey)
        setenv(Self.keyVar, DeepgramFake.defaultAPIKey, 1)
    }

    override func tearDown() async throws { await h.finish(live, "live-listen traffic that departs from the Deepgram API") }

    func load(_ settings: String = "", key: String = keyVar) async throws -> PluginInstance {
        try await h.load(settings: "ws_base_url = \"\(live.baseURL)\"\n\(settings)", keyVar: key)
    }

    static let request = #"{"model":"nova-3","language":"en","interim_results":true,"format":{"encoding":"pcm_s16le","sample_rate":16000,"channels":1},"options":{"utterance_end_ms":1000,"vad_events":true}}"#

    func stream(_ i: PluginInstance, seconds: Double, request: String = request, silenceBeforeFinish: Double = 0) async throws -> PluginHarness.Outcome {
        try await h.stream(i, request, seconds: seconds, silenceBeforeFinish: silenceBeforeFinish)
    }

    func testInterimAndFinalResultsUtteranceEndAndUsage() async throws {
        let i = try await load()
        XCTAssertTrue(i.capabilities.supports(.sttStream))
        // 1.5 s = 6 words at 0.25 s each: two utterances of three.
        let out = try await stream(i, seconds: 1.5)
        XCTAssertEqual(out.texts("final"), ["hello there this", "is the live"])
        XCTAssertEqual(out.texts("partial").first, "hello")
        XCTAssertEqual(out.events("utterance_end").count, 2)
        XCTAssertEqual(out.events("speech_started").count, 2)
        let final = try XCTUnwrap(out.events("final").first)
        XCTAssertEqual(final["speech_final"]?.boolValue, true)
        XCTAssertEqual(final["words"]?.arrayValue?.count, 3)
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 1.5, accuracy: 0.001, "the billed duration from Metadata")
        XCTAssertEqual(live.closeStreams, 1, "the end of input is a CloseStream")
        let q = live.queries.last!
        XCTAssertEqual(q["encoding"], "linear16")
        XCTAssertEqual(q["sample_rate"], "16000")
        XCTAssertEqual(q["interim_results"], "true")
        XCTAssertEqual(q["model"], "nova-3")
        XCTAssertEqual(live.audioBytes, 15 * 3200)
    }

    func testKeepAliveWhileTheClientIsQuiet() async throws {
        live.silenceTimeout = 1.0
        let i = try await load("keepalive_ms = 500")
        // 1.6 s with no audio between two pushes: without KeepAlive the fake closes (NET-0001).
        let out = try await stream(i, seconds: 0.3, silenceBeforeFinish: 1.6)
        XCTAssertGreaterThanOrEqual(live.keepAlives, 2, "KeepAlive every ~0.5 s of silence")
        XCTAssertEqual(out.texts("final"), ["hello"])
    }

    func testSilenceWithoutKeepAliveClosesAsUnavailable() async throws {
        live.silenceTimeout = 0.5
        let i = try await load("keepalive_ms = 9000")
        let e = await h.failure { try await self.stream(i, seconds: 0.1, silenceBeforeFinish: 1.5) }
        XCTAssertEqual(e.code, .unavailable, e.message)
        XCTAssertTrue(e.retriable)
        XCTAssertTrue(e.message.contains("NET-0001"), e.message)
    }

    func testRefusedHandshakeNamesTheSecretNotTheKey() async throws {
        setenv("VOXD_TEST_DEEPGRAM_WRONG", "fedcba9876543210fedcba9876543210fedcba98", 1)
        let i = try await load(key: "VOXD_TEST_DEEPGRAM_WRONG")
        let e = await h.failure { try await self.stream(i, seconds: 0.1) }
        XCTAssertEqual(e.code, .unauthenticated, e.message)
        XCTAssertTrue(e.message.contains("[secrets] api_key in plugins.d/deepgram.toml"), e.message)
        XCTAssertTrue(e.message.contains("Invalid credentials"), e.message)
        XCTAssertFalse(e.message.contains("fedcba9876543210fedcba9876543210fedcba98"), e.message)
        live.inject(.refuse(429))
        let ok = try await load()
        let limited = await h.failure { try await self.stream(ok, seconds: 0.1) }
        XCTAssertEqual(limited.code, .rateLimited, limited.message)
        XCTAssertEqual(limited.httpStatus, 429)
    }

    func testDroppedStreamMalformedJSONAndEmptyFinalAreUnavailable() async throws {
        let i = try await load()
        for fault in [DeepgramLiveFake.Fault.dropAfter(results: 2), .malformedJSON, .emptyFinal] {
            live.inject(fault)
            let e = await h.failure { try await self.stream(i, seconds: 1.0) }
            XCTAssertEqual(e.code, .unavailable, "\(fault): \(e.message)")
            XCTAssertTrue(e.retriable, "\(fault)")
        }
    }

    func testCancellingClosesTheUpstreamSocket() async throws {
        let i = try await load()
        let op = try i.start(VOX_OP_STT_STREAM, request: #"{"format":{"encoding":"pcm_s16le","sample_rate":16000,"channels":1},"interim_results":true}"#,
                             bufferBytes: 1 << 20, timeout: 30)
        try op.push(AudioData(format: PluginHarness.pcm16k, bytes: [UInt8](repeating: 1, count: 6400)))
        for _ in 0..<100 where live.sessions == 0 { try await Task.sleep(nanoseconds: 20_000_000) }
        _ = try await op.next() // the metadata event
        op.cancel()
        for _ in 0..<150 where live.disconnects == 0 { try await Task.sleep(nanoseconds: 20_000_000) }
        XCTAssertEqual(live.disconnects, 1, "the fake saw the socket close")
        XCTAssertEqual(live.closeStreams, 0)
    }

    func testBadFormatsAreRefusedBeforeConnecting() async throws {
        let i = try await load()
        let e = await h.failure { try await self.stream(i, seconds: 0.1, request: #"{"format":{"encoding":"mp3"}}"#) }
        XCTAssertEqual(e.code, .invalidRequest)
        XCTAssertTrue(e.message.contains("deepgram live takes raw"), e.message)
        XCTAssertEqual(live.sessions, 0)
    }
}

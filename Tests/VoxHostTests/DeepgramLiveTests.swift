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
    var registry: PluginRegistry?

    override func setUp() async throws {
        live = try await DeepgramLiveFake.start(apiKey: DeepgramFake.defaultAPIKey)
        setenv(Self.keyVar, DeepgramFake.defaultAPIKey, 1)
    }

    override func tearDown() async throws {
        await registry?.shutdown()
        XCTAssertEqual(live.violations, [], "live-listen traffic that departs from the Deepgram API")
        await live.stop()
    }

    func load(_ settings: String = "", key: String = keyVar) async throws -> PluginInstance {
        await registry?.shutdown()
        let text = "library = \"libvox_deepgram.so\"\n[settings]\nws_base_url = \"\(live.baseURL)\"\n\(settings)\n[secrets]\napi_key = \"env:\(key)\"\n"
        let dir = TestSupport.pluginsDir(["deepgram": text])
        let r = PluginRegistry(daemon: TestSupport.daemonConfig(pluginsDir: dir), logger: TestSupport.logger, binaryDir: TestSupport.products)
        registry = r
        let report = try await r.reload()
        if let f = report.failed.first { throw VoxPluginError.internalError(f.error) }
        return await r.entry("deepgram")!.instance!
    }

    static let format = AudioFormat(encoding: .pcmS16LE, sampleRate: 16000, channels: 1)

    /// Streams `seconds` of audio in 100 ms pushes (`pause` seconds between
    /// them), finishes, and collects the events (bounded: 10 000 outputs).
    func stream(_ i: PluginInstance, seconds: Double, pause: Double = 0, request: String? = nil,
                silenceBeforeFinish: Double = 0) async throws -> (events: [JSONValue], result: OperationResult?) {
        let req = request ?? #"{"model":"nova-3","language":"en","interim_results":true,"format":{"encoding":"pcm_s16le","sample_rate":16000,"channels":1},"options":{"utterance_end_ms":1000,"vad_events":true}}"#
        let op = try i.start(VOX_OP_STT_STREAM, request: req, bufferBytes: 1 << 20, timeout: 30)
        let pushes = Int(seconds * 10)
        let feeder = Task {
            for _ in 0..<pushes {
                try op.push(AudioData(format: Self.format, bytes: [UInt8](repeating: 1, count: 3200)))
                if pause > 0 { try await Task.sleep(nanoseconds: UInt64(pause * 1e9)) }
            }
            if silenceBeforeFinish > 0 { try await Task.sleep(nanoseconds: UInt64(silenceBeforeFinish * 1e9)) }
            try op.finishInput()
        }
        var events: [JSONValue] = []
        for _ in 0..<10_000 {
            guard let out = try await op.next() else { _ = try? await feeder.value; return (events, op.result) }
            if case .event(let json) = out { events.append(try VoxJSON.decode(JSONValue.self, from: Data(json.utf8))) }
        }
        XCTFail("the stream never ended")
        return (events, nil)
    }

    func texts(_ events: [JSONValue], _ type: String) -> [String] {
        events.filter { $0["type"]?.stringValue == type }.compactMap { $0["text"]?.stringValue }
    }

    func testInterimAndFinalResultsUtteranceEndAndUsage() async throws {
        let i = try await load()
        XCTAssertTrue(i.capabilities.supports(.sttStream))
        // 1.5 s = 6 words at 0.25 s each: two utterances of three.
        let (events, result) = try await stream(i, seconds: 1.5)
        XCTAssertEqual(texts(events, "final"), ["hello there this", "is the live"])
        XCTAssertEqual(texts(events, "partial").first, "hello")
        XCTAssertEqual(events.filter { $0["type"]?.stringValue == "utterance_end" }.count, 2)
        XCTAssertEqual(events.filter { $0["type"]?.stringValue == "speech_started" }.count, 2)
        let final = events.first { $0["type"]?.stringValue == "final" }!
        XCTAssertEqual(final["speech_final"]?.boolValue, true)
        XCTAssertEqual(final["words"]?.arrayValue?.count, 3)
        XCTAssertEqual(result?.usage?.audioSeconds ?? 0, 1.5, accuracy: 0.001, "the billed duration from Metadata")
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
        let (events, _) = try await stream(i, seconds: 0.3, silenceBeforeFinish: 1.6)
        XCTAssertGreaterThanOrEqual(live.keepAlives, 2, "KeepAlive every ~0.5 s of silence")
        XCTAssertEqual(texts(events, "final"), ["hello"])
    }

    func testSilenceWithoutKeepAliveClosesAsUnavailable() async throws {
        live.silenceTimeout = 0.5
        let i = try await load("keepalive_ms = 9000")
        do {
            _ = try await stream(i, seconds: 0.1, silenceBeforeFinish: 1.5)
            XCTFail("expected the server's idle close")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .unavailable, e.message)
            XCTAssertTrue(e.retriable)
            XCTAssertTrue(e.message.contains("NET-0001"), e.message)
        }
    }

    func testRefusedHandshakeNamesTheSecretNotTheKey() async throws {
        setenv("VOXD_TEST_DEEPGRAM_WRONG", "fedcba9876543210fedcba9876543210fedcba98", 1)
        let i = try await load(key: "VOXD_TEST_DEEPGRAM_WRONG")
        do {
            _ = try await stream(i, seconds: 0.1)
            XCTFail("expected a refusal")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .unauthenticated, e.message)
            XCTAssertTrue(e.message.contains("[secrets] api_key in plugins.d/deepgram.toml"), e.message)
            XCTAssertTrue(e.message.contains("Invalid credentials"), e.message)
            XCTAssertFalse(e.message.contains("fedcba9876543210fedcba9876543210fedcba98"), e.message)
        }
        live.inject(.refuse(429))
        let ok = try await load()
        do {
            _ = try await stream(ok, seconds: 0.1)
            XCTFail("expected rate limiting")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .rateLimited, e.message)
            XCTAssertEqual(e.httpStatus, 429)
        }
    }

    func testDroppedStreamMalformedJSONAndEmptyFinalAreUnavailable() async throws {
        let i = try await load()
        for fault in [DeepgramLiveFake.Fault.dropAfter(results: 2), .malformedJSON, .emptyFinal] {
            live.inject(fault)
            do {
                _ = try await stream(i, seconds: 1.0)
                XCTFail("expected a failure for \(fault)")
            } catch let e as VoxPluginError {
                XCTAssertEqual(e.code, .unavailable, "\(fault): \(e.message)")
                XCTAssertTrue(e.retriable, "\(fault)")
            }
        }
    }

    func testCancellingClosesTheUpstreamSocket() async throws {
        let i = try await load()
        let op = try i.start(VOX_OP_STT_STREAM, request: #"{"format":{"encoding":"pcm_s16le","sample_rate":16000,"channels":1},"interim_results":true}"#,
                             bufferBytes: 1 << 20, timeout: 30)
        try op.push(AudioData(format: Self.format, bytes: [UInt8](repeating: 1, count: 6400)))
        for _ in 0..<100 where live.sessions == 0 { try await Task.sleep(nanoseconds: 20_000_000) }
        _ = try await op.next() // the metadata event
        op.cancel()
        for _ in 0..<150 where live.disconnects == 0 { try await Task.sleep(nanoseconds: 20_000_000) }
        XCTAssertEqual(live.disconnects, 1, "the fake saw the socket close")
        XCTAssertEqual(live.closeStreams, 0)
    }

    func testBadFormatsAreRefusedBeforeConnecting() async throws {
        let i = try await load()
        do {
            _ = try await stream(i, seconds: 0.1, request: #"{"format":{"encoding":"mp3"}}"#)
            XCTFail("expected a refusal")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .invalidRequest)
            XCTAssertTrue(e.message.contains("deepgram live takes raw"), e.message)
        }
        XCTAssertEqual(live.sessions, 0)
    }
}

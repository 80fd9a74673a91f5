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
    var registry: PluginRegistry?

    override func setUp() async throws {
        stream = try await SarvamStreamFake.start(apiKey: SarvamFake.defaultAPIKey)
        setenv(Self.keyVar, SarvamFake.defaultAPIKey, 1)
    }

    override func tearDown() async throws {
        await registry?.shutdown()
        XCTAssertEqual(stream.violations, [], "streaming traffic that departs from Sarvam's documented frames")
        await stream.stop()
    }

    func load(_ settings: String = "stream_final_wait_ms = 800", key: String = keyVar) async throws -> PluginInstance {
        await registry?.shutdown()
        let text = "library = \"libvox_sarvam.so\"\n[settings]\nws_base_url = \"\(stream.baseURL)\"\n\(settings)\n[secrets]\napi_key = \"env:\(key)\"\n"
        let dir = TestSupport.pluginsDir(["sarvam": text])
        let r = PluginRegistry(daemon: TestSupport.daemonConfig(pluginsDir: dir), logger: TestSupport.logger, binaryDir: TestSupport.products)
        registry = r
        let report = try await r.reload()
        if let f = report.failed.first { throw VoxPluginError.internalError(f.error) }
        return await r.entry("sarvam")!.instance!
    }

    static let format = AudioFormat(encoding: .pcmS16LE, sampleRate: 16000, channels: 1)

    func run(_ i: PluginInstance, seconds: Double, request: String? = nil) async throws -> (events: [JSONValue], result: OperationResult?) {
        let req = request ?? #"{"model":"saaras:v3","language":"hi-IN","format":{"encoding":"pcm_s16le","sample_rate":16000,"channels":1},"options":{"mode":"transcribe"}}"#
        let op = try i.start(VOX_OP_STT_STREAM, request: req, bufferBytes: 1 << 20, timeout: 30)
        let feeder = Task {
            for _ in 0..<Int(seconds * 10) { try op.push(AudioData(format: Self.format, bytes: [UInt8](repeating: 1, count: 3200))) }
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

    func testFinalsVADEventsFlushAndUsage() async throws {
        let i = try await load()
        XCTAssertTrue(i.capabilities.supports(.sttStream))
        // 1.5 s = 6 words: one segment of 4 while streaming, the last 2 after the flush.
        let (events, result) = try await run(i, seconds: 1.5)
        let finals = events.filter { $0["type"]?.stringValue == "final" }
        XCTAssertEqual(finals.compactMap { $0["text"]?.stringValue }, ["namaste duniya yeh sarvam", "ka nakli"])
        XCTAssertEqual(finals.first?["language"]?.stringValue, "hi-IN")
        XCTAssertEqual(events.filter { $0["type"]?.stringValue == "speech_started" }.count, 2)
        XCTAssertEqual(events.filter { $0["type"]?.stringValue == "utterance_end" }.count, 2)
        XCTAssertEqual(result?.usage?.audioSeconds ?? 0, 1.5, accuracy: 0.001)
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
        do {
            _ = try await run(i, seconds: 0.2)
            XCTFail("expected a refusal")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .unauthenticated, e.message)
            XCTAssertTrue(e.message.contains("plugins.d/sarvam.toml"), e.message)
            XCTAssertFalse(e.message.contains("sk_wrong_key_ffffffff"), e.message)
        }
    }

    func testErrorFrameDropAndEmptyTranscriptAreErrors() async throws {
        let i = try await load()
        for (fault, code) in [(SarvamStreamFake.Fault.errorFrame, VoxErrorCode.invalidRequest), (.drop, .unavailable), (.emptyTranscript, .unavailable),
                              (.refuse(429), .rateLimited)] {
            stream.inject(fault)
            do {
                _ = try await run(i, seconds: 1.2)
                XCTFail("expected a failure for \(fault)")
            } catch let e as VoxPluginError {
                XCTAssertEqual(e.code, code, "\(fault): \(e.message)")
            }
        }
    }

    func testRefusedRequestsNeverConnect() async throws {
        let i = try await load()
        for (req, fragment) in [(#"{"model":"saarika:v2.5","format":{"encoding":"pcm_s16le","sample_rate":16000}}"#, "streams speech-to-text with"),
                                (#"{"format":{"encoding":"mp3"}}"#, "takes raw pcm_s16le"),
                                (#"{"language":"fr-FR","format":{"encoding":"pcm_s16le","sample_rate":16000}}"#, "does not transcribe \"fr-FR\"")] {
            do {
                _ = try await run(i, seconds: 0.1, request: req)
                XCTFail("expected a refusal: \(req)")
            } catch let e as VoxPluginError {
                XCTAssertTrue(e.message.contains(fragment), e.message)
            }
        }
        XCTAssertEqual(stream.sessions, 0)
    }
}

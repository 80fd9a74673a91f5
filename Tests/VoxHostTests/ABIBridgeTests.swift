import CVoxPlugin
import VoxTestSupport
import XCTest
@testable import VoxHost
import VoxPluginKit

/// Operations through the real C ABI against plugins built with plain cc:
/// streaming, cancel, flow control, and misbehaviour containment.
final class ABIBridgeTests: XCTestCase {
    var registry: PluginRegistry!

    override func setUp() async throws {
        let dir = TestSupport.pluginsDir([
            "examplec": "library = \"\(try TestSupport.exampleC())\"\n[settings]\nwpm = 20\nsample_rate = 8000",
            "slow_plugin": "library = \"\(try TestSupport.fixture("slow_plugin"))\"",
            "callback_twice": "library = \"\(try TestSupport.fixture("callback_twice"))\"",
        ])
        registry = PluginRegistry(daemon: TestSupport.daemonConfig(pluginsDir: dir), logger: TestSupport.logger, binaryDir: "/nonexistent")
        let report = try await registry.reload()
        XCTAssertEqual(report.failed.map(\.error), [])
    }

    override func tearDown() async throws {
        await registry.shutdown()
    }

    func instance(_ name: String) async -> PluginInstance { await registry.entry(name)!.instance! }

    func synthesize(_ name: String, _ request: SynthesisRequest, buffer: Int = 1 << 20) async throws -> (AudioFormat?, [Int16], OperationResult?) {
        let op = try await instance(name).start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(request), bufferBytes: buffer, timeout: 30)
        var samples: [Int16] = []
        var format: AudioFormat?
        while let out = try await op.next() {
            if case .audio(let f, let bytes) = out {
                format = f
                bytes.withUnsafeBytes { samples += $0.bindMemory(to: Int16.self) }
            }
        }
        return (format, samples, op.result)
    }

    func testMorseRoundTripAndTiming() async throws {
        let (format, samples, result) = try await synthesize("examplec", SynthesisRequest(input: "SOS PARIS 73"))
        XCTAssertEqual(format, AudioFormat(encoding: .pcmS16LE, sampleRate: 8000, channels: 1))
        XCTAssertEqual(MorseDecoder.decode(samples: samples, sampleRate: 8000), "SOS PARIS 73")
        let expected = MorseDecoder.expectedDurationSeconds(text: "SOS PARIS 73", wpm: 20)
        XCTAssertEqual(Double(samples.count) / 8000, expected, accuracy: 0.01)
        XCTAssertEqual(result?.usage?.characters, 12)
        XCTAssertEqual(result?.usage?.audioSeconds ?? 0, expected, accuracy: 0.01)
    }

    func testSpeedScalesTiming() async throws {
        let (_, slow, _) = try await synthesize("examplec", SynthesisRequest(input: "TEST", speed: 0.5))
        let (_, fast, _) = try await synthesize("examplec", SynthesisRequest(input: "TEST", speed: 2))
        XCTAssertEqual(Double(slow.count) / Double(fast.count), 4, accuracy: 0.05)
        XCTAssertEqual(MorseDecoder.decode(samples: slow, sampleRate: 8000), "TEST")
    }

    func testErrorsBeforeTheFirstByteAreSynchronous() async throws {
        let i = await instance("examplec")
        for (request, code, fragment) in [
            (SynthesisRequest(input: "hi", voice: "banjo"), VoxErrorCode.notFound, "banjo"),
            (SynthesisRequest(input: "~~~"), .invalidRequest, "nothing"),
            (SynthesisRequest(model: "semaphore", input: "hi"), .notFound, "semaphore"),
        ] {
            XCTAssertThrowsError(try i.start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(request), bufferBytes: 1 << 16, timeout: 5)) { error in
                let e = error as! VoxPluginError
                XCTAssertEqual(e.code, code, e.message)
                XCTAssertTrue(e.message.lowercased().contains(fragment), e.message)
            }
        }
        XCTAssertEqual(i.inFlightCount, 0)
    }

    func testVoicesDiscovery() async throws {
        let catalog = Catalog(ttl: 60, bufferBytes: 1 << 16)
        let (voices, errors) = await catalog.voices(of: [await instance("examplec")], language: "en", gender: nil, refresh: false)
        XCTAssertEqual(errors, [:])
        XCTAssertEqual(voices.map(\.voice.id).sorted(), ["sine", "square"])
    }

    func testCancelEndsPromptlyWithOneFinalCallback() async throws {
        let i = await instance("slow_plugin")
        let op = try i.start(VOX_OP_TTS_SYNTHESIZE, request: #"{"input":"x","options":{"seconds":30}}"#, bufferBytes: 1 << 20, timeout: 60)
        _ = try await op.next()
        let started = Date()
        op.cancel()
        do {
            while try await op.next() != nil {}
            XCTFail("a cancelled operation must not end successfully")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .cancelled)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
        try await waitUntil { i.inFlightCount == 0 }
        XCTAssertEqual(i.misbehaviourReport.count, 0)
    }

    func testSlowConsumerPausesThePlugin() async throws {
        // A 4 KiB buffer holds ~6 chunks of 40 ms at 8 kHz: the plugin must be
        // paused and resumed many times, and the audio must still be whole.
        let (_, samples, _) = try await synthesize("examplec", SynthesisRequest(input: "PARIS PARIS"), buffer: 4096)
        XCTAssertEqual(MorseDecoder.decode(samples: samples, sampleRate: 8000), "PARIS PARIS")
        let i = await instance("examplec")
        XCTAssertEqual(i.misbehaviourReport.count, 0)
    }

    /// `rest()` (the non-streamed chat's consumer) gathers every output in
    /// one wake-up, yet with a 4 KiB buffer it must hand batches back as the
    /// buffer fills — a plugin paused before or during it still finishes.
    func testRestGathersEverythingEvenWithATinyBuffer() async throws {
        for readFirst in [false, true] {
            let op = try await instance("examplec").start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(SynthesisRequest(input: "PARIS PARIS")),
                                                          bufferBytes: 4096, timeout: 30)
            var samples: [Int16] = []
            func take(_ out: OperationOutput) {
                if case .audio(_, let bytes) = out { bytes.withUnsafeBytes { samples += $0.bindMemory(to: Int16.self) } }
            }
            if readFirst { // the plugin pauses on the full buffer before rest() is asked
                try await Task.sleep(nanoseconds: 100_000_000)
                if let first = try await op.next() { take(first) }
            }
            var batches = 0
            while let batch = try await op.rest() { batches += 1; batch.forEach(take) }
            XCTAssertEqual(MorseDecoder.decode(samples: samples, sampleRate: 8000), "PARIS PARIS")
            XCTAssertGreaterThan(batches, 1, "the buffer filled more than once")
            XCTAssertNotNil(op.result)
            let after = try await op.rest()
            XCTAssertNil(after, "nothing after the end")
        }
        let slow = try await instance("slow_plugin").start(VOX_OP_TTS_SYNTHESIZE, request: #"{"input":"x","options":{"seconds":30}}"#,
                                                             bufferBytes: 1 << 22, timeout: 0.3)
        do {
            while try await slow.rest() != nil {}
            XCTFail("expected a timeout")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .timeout)
        }
        let cancelled = try await instance("slow_plugin").start(VOX_OP_TTS_SYNTHESIZE, request: #"{"input":"x","options":{"seconds":30}}"#,
                                                                  bufferBytes: 1 << 22, timeout: 30)
        let waiting = Task { try await cancelled.rest() }
        try await Task.sleep(nanoseconds: 50_000_000)
        waiting.cancel()
        do {
            _ = try await waiting.value
            XCTFail("expected cancelled")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .cancelled)
        }
    }

    /// `nextBatch`'s gathering wait (a streamed answer's Nagle) is for
    /// outputs still to come: once the operation has ended it returns at
    /// once with what is buffered; while it runs, the wait is kept.
    func testNextBatchGathersOnlyWhileTheOperationRuns() async throws {
        let done = try await instance("examplec").start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(SynthesisRequest(input: "PARIS")),
                                                        bufferBytes: 1 << 22, timeout: 30)
        try await waitUntil { done.result != nil }
        var started = DispatchTime.now().uptimeNanoseconds
        let batch = try await done.nextBatch(limit: 100_000, gather: { 5_000_000_000 })
        XCTAssertLessThan(DispatchTime.now().uptimeNanoseconds - started, 1_000_000_000, "an ended operation has nothing more to gather")
        XCTAssertGreaterThan(batch?.count ?? 0, 1, "everything buffered comes in the one batch")
        let after = try await done.nextBatch(limit: 100_000, gather: { 5_000_000_000 })
        XCTAssertNil(after)

        let running = try await instance("slow_plugin").start(VOX_OP_TTS_SYNTHESIZE, request: #"{"input":"x","options":{"seconds":30}}"#,
                                                              bufferBytes: 1 << 22, timeout: 30)
        _ = try await running.next()
        started = DispatchTime.now().uptimeNanoseconds
        _ = try await running.nextBatch(gather: { 100_000_000 })
        XCTAssertGreaterThanOrEqual(DispatchTime.now().uptimeNanoseconds - started, 100_000_000, "a running operation's wait is kept")
        running.cancel()
    }

    func testOperationTimeoutBecomesTimeoutError() async throws {
        let i = await instance("slow_plugin")
        let op = try i.start(VOX_OP_TTS_SYNTHESIZE, request: #"{"input":"x","options":{"seconds":30}}"#, bufferBytes: 1 << 22, timeout: 0.3)
        do {
            while try await op.next() != nil {}
            XCTFail("expected a timeout")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .timeout)
        }
    }

    /// op_release comes once the final callback returned: from the consumer
    /// that read to the end (no thread woken just for it), and within about
    /// a second for an operation nobody reads to the end.
    func testOperationsAreReleasedReadOrNot() async throws {
        let i = await instance("examplec")
        for _ in 0..<20 {
            _ = try await synthesize("examplec", SynthesisRequest(input: "E"))
            try await waitUntil({ i.inFlightCount == 0 }, seconds: 0.5)
        }
        let unread = try i.start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(SynthesisRequest(input: "E")), bufferBytes: 1 << 20, timeout: 30)
        try await waitUntil({ i.inFlightCount == 0 }, seconds: 3)
        var outputs = 0
        while try await unread.next() != nil { outputs += 1 }
        XCTAssertGreaterThan(outputs, 0, "its outputs are still there to read")
        XCTAssertEqual(unread.result?.usage?.characters, 1)
        XCTAssertEqual(i.misbehaviourReport.count, 0)
    }

    func testSecondFinalCallbackAndLateDataAreContained() async throws {
        let (_, samples, result) = try await synthesize("callback_twice", SynthesisRequest(input: "x"))
        XCTAssertEqual(samples.count, 1600)
        XCTAssertEqual(result?.usage?.characters, 1)
        let i = await instance("callback_twice")
        try await waitUntil { i.misbehaviourReport.count >= 2 }
        XCTAssertNotNil(i.misbehaviourReport.last)
    }

    func testDisableDrainsInFlightWork() async throws {
        let i = await instance("slow_plugin")
        let op = try i.start(VOX_OP_TTS_SYNTHESIZE, request: #"{"input":"x","options":{"seconds":0.5}}"#, bufferBytes: 1 << 20, timeout: 60)
        let reader = Task { () -> Int in
            var n = 0
            while let out = try await op.next() { if case .audio(_, let b) = out { n += b.count } }
            return n
        }
        let entry = try await registry.setEnabled("slow_plugin", false)
        guard case .disabled = entry.state else { return XCTFail("\(entry.state)") }
        // The operation in flight finished normally before the instance went away.
        let bytes = try await reader.value
        XCTAssertGreaterThan(bytes, 10_000)
        XCTAssertThrowsError(try i.start(VOX_OP_TTS_SYNTHESIZE, request: #"{"input":"x"}"#, bufferBytes: 1 << 16, timeout: 5))
        _ = try await registry.setEnabled("slow_plugin", true)
    }

    func waitUntil(_ condition: () -> Bool, seconds: Double = 5) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return XCTFail("condition not met in \(seconds) s") }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }
}

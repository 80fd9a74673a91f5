import CVoxPlugin
import XCTest
@testable import VoxHost
import VoxPluginKit

/// The real libvox_localtts.so (SwiftPM's build of Plugins/LocalTTS) through
/// the loader and the ABI.
final class LocalTTSTests: XCTestCase {
    var registry: PluginRegistry!

    func load(_ settings: String = "") async throws -> PluginInstance {
        let dir = TestSupport.pluginsDir(["localtts": "library = \"libvox_localtts.so\"\n[settings]\n\(settings)"])
        registry = PluginRegistry(daemon: TestSupport.daemonConfig(pluginsDir: dir), logger: TestSupport.logger, binaryDir: TestSupport.products)
        let report = try await registry.reload()
        if let f = report.failed.first { throw VoxPluginError.internalError(f.error) }
        return await registry.entry("localtts")!.instance!
    }

    override func tearDown() async throws { await registry?.shutdown() }

    func speak(_ i: PluginInstance, _ r: SynthesisRequest) async throws -> (samples: [Int16], rate: Int?, result: OperationResult?, chunks: Int) {
        let op = try i.start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(r), bufferBytes: 1 << 20, timeout: 30)
        var samples: [Int16] = []
        var rate: Int?
        var chunks = 0
        while let out = try await op.next() {
            if case .audio(let f, let b) = out {
                rate = f.sampleRate
                chunks += 1
                b.withUnsafeBytes { samples += $0.bindMemory(to: Int16.self) }
            }
        }
        return (samples, rate, op.result, chunks)
    }

    func testSpeaksAndStreamsInChunks() async throws {
        let locale = String(cString: setlocale(LC_CTYPE, nil))
        let i = try await load()
        XCTAssertEqual(String(cString: setlocale(LC_CTYPE, nil)), locale, "the plugin leaves the process locale alone")
        let (samples, rate, result, chunks) = try await speak(i, SynthesisRequest(input: "Hello from voxd, the voice daemon."))
        XCTAssertEqual(rate, 22050)
        let seconds = Double(samples.count) / 22050
        XCTAssertTrue((1.2...4).contains(seconds), "\(seconds) s")
        XCTAssertGreaterThan(chunks, 10, "streamed as the engine produces it, not in one piece")
        let rms = (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)).squareRoot()
        XCTAssertGreaterThan(rms, 500, "speech has energy")
        XCTAssertEqual(result?.usage?.characters, 34)
        XCTAssertEqual(result?.usage?.audioSeconds ?? 0, seconds, accuracy: 0.01)
    }

    func testVoicesComeFromTheEngine() async throws {
        let i = try await load()
        let (voices, _) = await Catalog(ttl: 60, bufferBytes: 1 << 20).voices(of: [i], language: "en", gender: nil, refresh: false)
        let ids = voices.map(\.voice.id)
        XCTAssertTrue(ids.contains("en-us"), "\(ids)")
        XCTAssertTrue(ids.contains("en-gb"), "\(ids)")
        let (all, _) = await Catalog(ttl: 60, bufferBytes: 1 << 20).voices(of: [i], language: nil, gender: nil, refresh: false)
        XCTAssertGreaterThan(all.count, 100)
    }

    func testDescriptionVoicesAndSpeed() async throws {
        let i = try await load()
        let slow = try await speak(i, SynthesisRequest(input: "The quick brown fox.", voice: "a slow elderly man"))
        let fast = try await speak(i, SynthesisRequest(input: "The quick brown fox.", voice: "a fast young woman"))
        XCTAssertGreaterThan(Double(slow.samples.count) / Double(fast.samples.count), 1.3)
        let doubled = try await speak(i, SynthesisRequest(input: "The quick brown fox.", speed: 2))
        let normal = try await speak(i, SynthesisRequest(input: "The quick brown fox."))
        XCTAssertLessThan(Double(doubled.samples.count), Double(normal.samples.count) * 0.75)
        let variant = try await speak(i, SynthesisRequest(input: "Hi there.", voice: "en-us+f3"))
        XCTAssertGreaterThan(variant.samples.count, 0)
    }

    func testBadVoicesModelsAndSettings() async throws {
        let i = try await load()
        for (r, code) in [(SynthesisRequest(input: "x", voice: "vulcan"), VoxErrorCode.notFound),
                          (SynthesisRequest(input: "x", voice: "purple banana"), .invalidRequest),
                          (SynthesisRequest(model: "tacotron", input: "x"), .notFound)] {
            do { _ = try await speak(i, r); XCTFail("\(r) should fail") } catch let e as VoxPluginError {
                XCTAssertEqual(e.code, code, e.message)
            }
        }
        await registry.shutdown()
        do { _ = try await load("max_concurrent = 99"); XCTFail() } catch {
            XCTAssertTrue("\(error)".contains("settings.max_concurrent: must be an integer in 1…16"), "\(error)")
        }
        await registry.shutdown()
        do { _ = try await load("colour = 1"); XCTFail() } catch {
            XCTAssertTrue("\(error)".contains("settings.colour: unknown setting"), "\(error)")
        }
    }

    /// A request beyond max_concurrent waits in the queue and is handed the
    /// slot when the running one ends; one more beyond the queue is refused.
    func testQueuedRequestGetsTheSlotWhenItFrees() async throws {
        let i = try await load("max_concurrent = 1\nmax_queued = 1")
        let long = String(repeating: "This sentence keeps the engine busy for a while. ", count: 20)
        let held = try i.start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(SynthesisRequest(input: long)), bufferBytes: 4096, timeout: 30)
        _ = try await held.next()
        let queued = Task { try await self.speak(i, SynthesisRequest(input: "waiting my turn")) }
        // Queuing is a few microseconds once the request reaches the plugin.
        try await Task.sleep(nanoseconds: 300_000_000)
        do { _ = try await speak(i, SynthesisRequest(input: "one too many")); XCTFail("expected rate_limited") } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .rateLimited, e.message)
            XCTAssertTrue(e.message.contains("1 running and 1 queued"), e.message)
        }
        held.cancel()
        do { while try await held.next() != nil {} } catch {}
        let waited = try await queued.value
        XCTAssertGreaterThan(waited.samples.count, 0, "the queued request ran once the slot freed")
        // Nothing leaked: one runs while one waits, both end.
        async let a = speak(i, SynthesisRequest(input: "first"))
        async let b = speak(i, SynthesisRequest(input: "second"))
        let (x, y) = try await (a, b)
        XCTAssertGreaterThan(x.samples.count, 0)
        XCTAssertGreaterThan(y.samples.count, 0)
    }

    func testConcurrencyLimitRefusesBeyondTheQueue() async throws {
        let i = try await load("max_concurrent = 1\nmax_queued = 0")
        // A long synthesis whose consumer does not read holds the only slot (it is paused).
        let long = String(repeating: "This sentence keeps the engine busy for a while. ", count: 20)
        let held = try i.start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(SynthesisRequest(input: long)), bufferBytes: 4096, timeout: 30)
        _ = try await held.next()
        do { _ = try await speak(i, SynthesisRequest(input: "me too")); XCTFail("expected rate_limited") } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .rateLimited, e.message)
            XCTAssertTrue(e.retriable)
        }
        held.cancel()
        do { while try await held.next() != nil {} } catch {}
        // The slot is free again.
        let again = try await speak(i, SynthesisRequest(input: "me too"))
        XCTAssertGreaterThan(again.samples.count, 0)
    }
}

import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// The router's parts that need no plugin: its configuration, the circuit
/// breaker, the concurrency gate, prices and language matching. (Planning,
/// failover and the routes run against real plugins and fakes in
/// IntegrationTests/RouterThroughVoxdTests.)
final class RouterCoreTests: XCTestCase {
    func testReadsRouterKeys() throws {
        let c = try DaemonConfig.parse("""
        [router]
        policy = "latency"
        priority = ["openai", "groq"]
        max_attempts = 4
        retry_budget_ms = 2500
        backoff_base_ms = 10
        backoff_max_ms = 200
        max_retry_after_wait_ms = 0
        [router.breaker]
        consecutive_failures = 2
        error_rate = 0.25
        min_calls = 8
        window_seconds = 5
        cooldown_seconds = 0.5
        [aliases]
        fast = ["groq/llama-3.3-70b-versatile", "openai/gpt-4o-mini"]
        [aliases.cheap]
        targets = ["openai/tts-1"]
        policy = "price"
        [voice_map]
        narrator = { openai = "onyx", groq = "troy" }
        [providers.groq]
        max_concurrency = 2
        queue_size = 3
        queue_timeout_ms = 750
        first_output_timeout_ms = 1500
        total_timeout_seconds = 20
        weight = 5
        """, file: "voxd.toml", base: "/srv")
        let r = c.router
        XCTAssertEqual(r.policy, .latency)
        XCTAssertEqual(r.priority, ["openai", "groq"])
        XCTAssertEqual(r.maxAttempts, 4)
        XCTAssertEqual(r.retryBudgetSeconds, 2.5)
        XCTAssertEqual(r.backoffBaseSeconds, 0.01)
        XCTAssertEqual(r.backoffMaxSeconds, 0.2)
        XCTAssertEqual(r.maxRetryAfterWaitSeconds, 0)
        XCTAssertEqual(r.breaker, BreakerSettings(consecutiveFailures: 2, errorRate: 0.25, minCalls: 8, windowSeconds: 5, cooldownSeconds: 0.5))
        XCTAssertEqual(r.aliases["fast"], RouteAlias(targets: ["groq/llama-3.3-70b-versatile", "openai/gpt-4o-mini"], policy: nil))
        XCTAssertEqual(r.aliases["cheap"], RouteAlias(targets: ["openai/tts-1"], policy: .price))
        XCTAssertEqual(r.voiceMap, ["narrator": ["openai": "onyx", "groq": "troy"]])
        let g = r.limits("groq")
        XCTAssertEqual(g.maxConcurrency, 2)
        XCTAssertEqual(g.queueSize, 3)
        XCTAssertEqual(g.queueTimeoutSeconds, 0.75)
        XCTAssertEqual(g.firstOutputTimeoutSeconds, 1.5)
        XCTAssertEqual(g.totalTimeoutSeconds, 20)
        XCTAssertEqual(g.weight, 5)
        XCTAssertEqual(r.limits("openai"), ProviderLimits(), "unlisted providers get the defaults")
    }

    func testShippedConfigReads() throws {
        let c = try DaemonConfig.read(file: TestPaths.root + "/etc/voxd.toml", base: TestPaths.root)
        XCTAssertEqual(c.router.maxAttempts, 3)
        XCTAssertEqual(c.router.breaker, BreakerSettings())
    }

    func testRouterKeyProblemsNameTheKey() {
        XCTAssertThrowsError(try DaemonConfig.parse("""
        [router]
        policy = "cheapest"
        max_attempts = 0
        [router.breaker]
        cooldown = 3
        [aliases]
        bad = ["gpt-4o-mini"]
        "a/b" = ["openai/x"]
        [aliases.t]
        policy = "latency"
        [providers.openai]
        max_concurrency = -1
        speed = 2
        """, file: "voxd.toml", base: "/")) { error in
            let text = "\(error)"
            for fragment in ["voxd.toml: router.policy: must be one of priority, price, latency, round_robin, not \"cheapest\"",
                             "router.max_attempts: must be in 1…20, not 0",
                             "router.breaker.cooldown: unknown key",
                             "aliases.bad[0]: must be \"provider/model\", not \"gpt-4o-mini\"",
                             "aliases.a/b: an alias name cannot contain \"/\"",
                             "aliases.t: missing targets",
                             "providers.openai.max_concurrency: must be in 0…100000, not -1",
                             "providers.openai.speed: unknown key"] {
                XCTAssertTrue(text.contains(fragment), "missing \(fragment) in:\n\(text)")
            }
        }
    }

    func health(_ b: BreakerSettings = BreakerSettings(consecutiveFailures: 3, errorRate: 0.5, minCalls: 100, windowSeconds: 60, cooldownSeconds: 10),
                _ l: ProviderLimits = ProviderLimits()) -> ProviderHealth {
        ProviderHealth(name: "p", settings: b, limits: l)
    }

    func testBreakerOpensAfterConsecutiveFailuresThenProbesOnceAndCloses() {
        let h = health()
        let t0 = Date()
        for n in 1...2 { h.recordFailure("unavailable: boom \(n)", now: t0) }
        XCTAssertNil(h.admit(now: t0), "two failures in a row keep it closed")
        h.recordFailure("unavailable: boom 3", now: t0)
        XCTAssertEqual(h.circuitState, .open)
        let refused = h.admit(now: t0.addingTimeInterval(5))
        XCTAssertTrue(refused?.contains("circuit open") == true && refused?.contains("boom 3") == true, refused ?? "admitted")
        // Past the cool-down: exactly one probe goes through.
        XCTAssertNil(h.admit(now: t0.addingTimeInterval(11)))
        XCTAssertTrue(h.admit(now: t0.addingTimeInterval(11))?.contains("probe call is in flight") == true)
        h.recordSuccess(model: "m", firstOutput: 0.2, now: t0.addingTimeInterval(11))
        XCTAssertEqual(h.circuitState, .closed)
        XCTAssertNil(h.admit(now: t0.addingTimeInterval(11)))
        XCTAssertEqual(h.latency(model: "m"), 0.2)
    }

    func testFailedProbeReopens() {
        let h = health()
        let t0 = Date()
        for _ in 1...3 { h.recordFailure("timeout: slow", now: t0) }
        XCTAssertNil(h.admit(now: t0.addingTimeInterval(10)))
        h.recordFailure("timeout: still slow", now: t0.addingTimeInterval(10))
        XCTAssertNotNil(h.admit(now: t0.addingTimeInterval(15)), "a failed probe opens it for another cool-down")
        XCTAssertNil(h.admit(now: t0.addingTimeInterval(20.1)))
    }

    func testBreakerOpensOnErrorRateInWindow() {
        let h = health(BreakerSettings(consecutiveFailures: 100, errorRate: 0.5, minCalls: 10, windowSeconds: 60, cooldownSeconds: 10))
        let t0 = Date()
        for i in 0..<9 {
            if i % 2 == 0 { h.recordSuccess(model: nil, firstOutput: nil, now: t0) } else { h.recordFailure("x", now: t0) }
        }
        XCTAssertEqual(h.circuitState, .closed, "4 of 9: below the minimum number of calls")
        h.recordFailure("x", now: t0)
        XCTAssertEqual(h.circuitState, .open, "5 of 10 failed")
    }

    func testOldCallsLeaveTheWindow() {
        let h = health(BreakerSettings(consecutiveFailures: 100, errorRate: 0.5, minCalls: 4, windowSeconds: 1, cooldownSeconds: 10))
        let t0 = Date()
        for _ in 0..<3 { h.recordFailure("x", now: t0) }
        h.recordSuccess(model: nil, firstOutput: nil, now: t0.addingTimeInterval(5))
        h.recordFailure("x", now: t0.addingTimeInterval(5))
        XCTAssertEqual(h.circuitState, .closed, "the three old failures fell out of the 1 s window")
    }

    func testTheErrorRateCountsOnlyTheWindowsCalls() {
        // Failures that age out stop counting against the rate.
        let aged = health(BreakerSettings(consecutiveFailures: 100, errorRate: 0.5, minCalls: 100, windowSeconds: 1, cooldownSeconds: 10))
        let t0 = Date()
        for _ in 0..<40 { aged.recordSuccess(model: nil, firstOutput: nil, now: t0) }
        for _ in 0..<59 { aged.recordFailure("x", now: t0) }
        XCTAssertEqual(aged.circuitState, .closed, "99 calls: below the minimum")
        for _ in 0..<99 { aged.recordSuccess(model: nil, firstOutput: nil, now: t0.addingTimeInterval(5)) }
        aged.recordFailure("x", now: t0.addingTimeInterval(5))
        XCTAssertEqual(aged.circuitState, .closed, "1 of the window's 100 calls failed; the 59 before it aged out")

        // A busy provider's window holds its latest 10,000 calls.
        let busy = health(BreakerSettings(consecutiveFailures: 100, errorRate: 0.5, minCalls: 10, windowSeconds: 60, cooldownSeconds: 10))
        for _ in 0..<20_000 { busy.recordSuccess(model: nil, firstOutput: nil, now: t0) }
        for _ in 0..<4_999 {
            busy.recordSuccess(model: nil, firstOutput: nil, now: t0)
            busy.recordFailure("x", now: t0)
        }
        XCTAssertEqual(busy.circuitState, .closed, "4,999 of the latest 10,000 failed")
        busy.recordSuccess(model: nil, firstOutput: nil, now: t0)
        busy.recordFailure("x", now: t0)
        XCTAssertEqual(busy.circuitState, .open, "5,000 of the latest 10,000 failed")
    }

    func testRetryAfterTakesTheProviderOutOfRotation() {
        let h = health()
        let t0 = Date()
        h.recordFailure("rate_limited: slow down", retryAfter: 2, now: t0)
        XCTAssertTrue(h.admit(now: t0.addingTimeInterval(1))?.contains("retry-after") == true)
        XCTAssertNil(h.admit(now: t0.addingTimeInterval(2.5)))
    }

    func testEWMA() {
        let h = health()
        h.recordSuccess(model: "m", firstOutput: 1.0)
        h.recordSuccess(model: "m", firstOutput: 0.0)
        XCTAssertEqual(h.latency(model: "m")!, 0.7, accuracy: 1e-9)
        XCTAssertNil(h.latency(model: "other"))
    }

    func testGateQueuesHandsOverAndTurnsAway() async throws {
        var l = ProviderLimits()
        l.maxConcurrency = 1
        l.queueSize = 1
        l.queueTimeoutSeconds = 5
        let h = health(BreakerSettings(), l)
        let first = try await h.acquire()
        let waiting = Task { try await h.acquire() }
        let deadline = Date().addingTimeInterval(2)
        while h.queueDepth == 0, Date() < deadline { try await Task.sleep(nanoseconds: 5_000_000) }
        XCTAssertEqual(h.queueDepth, 1)
        do {
            _ = try await h.acquire()
            XCTFail("a full queue turns the request away")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .rateLimited)
            XCTAssertTrue(e.message.contains("queue of 1 is full"), e.message)
        }
        first.release()
        first.release() // idempotent
        let second = try await waiting.value
        XCTAssertEqual(h.inFlightCount, 1, "the slot passed to the waiter")
        second.release()
        XCTAssertEqual(h.inFlightCount, 0)
    }

    func testGateWaitTimesOut() async throws {
        var l = ProviderLimits()
        l.maxConcurrency = 1
        l.queueTimeoutSeconds = 0.1
        let h = health(BreakerSettings(), l)
        let held = try await h.acquire()
        let t0 = Date()
        do {
            _ = try await h.acquire()
            XCTFail("no slot came free")
        } catch let e as VoxPluginError {
            XCTAssertTrue(e.message.contains("no free slot within 0.1 s"), e.message)
            XCTAssertLessThan(Date().timeIntervalSince(t0), 2)
        }
        XCTAssertEqual(h.queueDepth, 0)
        held.release()
        XCTAssertEqual(h.inFlightCount, 0)
    }

    func testReferenceCostAndLanguages() {
        let caps = Capabilities(operations: [.llmChat: OperationCapability()], prices: [
            Price(operation: .llmChat, model: "a", unit: "input_token", usdPerUnit: 1e-6),
            Price(operation: .llmChat, model: "a", unit: "output_token", usdPerUnit: 2e-6),
            Price(operation: .llmChat, unit: "input_token", usdPerUnit: 1e-5),
        ])
        XCTAssertEqual(VoxRouter.referenceCost(PriceBook().rates(provider: "p", capabilities: caps, operations: [.llmChat], model: "a"), .llmChat)!, 0.003, accuracy: 1e-12)
        XCTAssertEqual(VoxRouter.referenceCost(PriceBook().rates(provider: "p", capabilities: caps, operations: [.llmChat], model: "b"), .llmChat)!, 0.01, accuracy: 1e-12, "model-less prices cover other models")
        XCTAssertNil(VoxRouter.referenceCost(PriceBook().rates(provider: "p", capabilities: caps, operations: [.ttsSynthesize], model: "a"), .ttsSynthesize))
        XCTAssertTrue(VoxRouter.languageMatches("en", "en-gb"))
        XCTAssertTrue(VoxRouter.languageMatches("en-us", "en"))
        XCTAssertTrue(VoxRouter.languageMatches("multi", "hi"))
        XCTAssertFalse(VoxRouter.languageMatches("en", "es"))
        XCTAssertFalse(VoxRouter.languageMatches("en-us", "en-gb"))
    }

    /// A 1 kHz tone at 24 kHz, resampled to 16 kHz in uneven chunks: two
    /// thirds of the samples, still 1 kHz (zero crossings per second).
    func testResamplerKeepsThePitchAcrossChunks() {
        let from = 24000, to = 16000, seconds = 0.5
        var input: [UInt8] = []
        for n in 0..<Int(Double(from) * seconds) {
            let v = Int16(8000 * sin(2 * Double.pi * 1000 * Double(n) / Double(from)))
            input += [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)]
        }
        let r = PCMResampler(from: from, to: to)
        var out: [UInt8] = []
        var i = 0, size = 1
        while i < input.count {
            let end = min(input.count, i + size)
            out += r.process(Array(input[i..<end]))
            i = end
            size = size % 997 + 7 // odd sizes split samples between chunks
        }
        let samples = stride(from: 0, to: out.count - 1, by: 2).map { Int16(bitPattern: UInt16(out[$0]) | UInt16(out[$0 + 1]) << 8) }
        XCTAssertEqual(Double(samples.count), Double(to) * seconds, accuracy: 2)
        var crossings = 0
        for k in 1..<samples.count where (samples[k - 1] < 0) != (samples[k] < 0) { crossings += 1 }
        XCTAssertEqual(Double(crossings), 2 * 1000 * seconds, accuracy: 4)
        XCTAssertEqual(VoxRouter.nativeRate([8000, 16000, 22050], 11025), 16000)
        XCTAssertEqual(VoxRouter.nativeRate([24000], 48000), 24000)
        XCTAssertEqual(VoxRouter.nativeRate([], 11025), 11025)
    }
}

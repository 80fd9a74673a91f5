import Foundation
import Logging
import VoxPluginKit
import VoxTestSupport
import XCTest
@testable import VoxHost

/// The pieces under the ledger and the keys: prices, secrets, reservations.
final class LedgerTests: XCTestCase {
    func testPriceBookPrefersTheModelsOwnPriceAndTheConfigsOverThePlugins() {
        let caps = Capabilities(operations: [.ttsSynthesize: OperationCapability()], prices: [
            Price(operation: .ttsSynthesize, unit: "character", usdPerUnit: 1e-5, source: "plugin wildcard"),
            Price(operation: .ttsSynthesize, model: "hd", unit: "character", usdPerUnit: 3e-5, source: "plugin hd"),
            Price(operation: .llmChat, unit: "input_token", usdPerUnit: 9, source: "another operation"),
        ])
        let plain = PriceBook()
        XCTAssertEqual(plain.rates(provider: "p", capabilities: caps, operations: [.ttsSynthesize], model: "hd")["character"]?.usdPerUnit, 3e-5)
        XCTAssertEqual(plain.rates(provider: "p", capabilities: caps, operations: [.ttsSynthesize], model: "std")["character"]?.usdPerUnit, 1e-5)
        XCTAssertNil(plain.rates(provider: "p", capabilities: caps, operations: [.ttsSynthesize], model: "std")["input_token"])
        let book = PriceBook(overrides: ["p": ["*": ["character": 2e-5], "hd": ["character": 5e-5, "audio_second": 0.001]]])
        let hd = book.rates(provider: "p", capabilities: caps, operations: [.ttsSynthesize], model: "hd")
        XCTAssertEqual(hd["character"]?.usdPerUnit, 5e-5)
        XCTAssertEqual(hd["character"]?.source, "etc/voxd.toml providers.p.prices.\"hd\"")
        XCTAssertEqual(book.rates(provider: "p", capabilities: caps, operations: [.ttsSynthesize], model: "std")["character"]?.usdPerUnit, 2e-5)
        XCTAssertEqual(PriceBook.cost(Usage(characters: 100, audioSeconds: 2), hd), 100 * 5e-5 + 2 * 0.001, accuracy: 1e-12)
        XCTAssertEqual(PriceBook.cost(Usage(), hd), 0, "units the usage does not report cost nothing")
    }

    func testPricesInTheConfigAreCheckedStrictly() throws {
        let c = try DaemonConfig.parse("""
            [providers.openai.prices]
            "gpt-4o-mini" = { input_token = 0.00000015, output_token = 6e-7 }
            """, file: "voxd.toml", base: "/")
        XCTAssertEqual(c.router.prices["openai"]?["gpt-4o-mini"]?["output_token"], 6e-7)
        XCTAssertThrowsError(try DaemonConfig.parse("""
            [providers.openai.prices]
            "*" = { tokens = 1, character = -1 }
            [ledger]
            flush_ms = 0
            """, file: "voxd.toml", base: "/")) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("providers.openai.prices.*.tokens"), text)
            XCTAssertTrue(text.contains("providers.openai.prices.*.character"), text)
            XCTAssertTrue(text.contains("ledger.flush_ms"), text)
        }
    }

    func testSecretsAreCheckedAgainstASaltedHash() {
        let m = APIKey.mint()
        XCTAssertTrue(m.secret.hasPrefix("vx_\(m.id.dropFirst(4))_"))
        XCTAssertEqual(APIKey.keyID(ofSecret: m.secret), m.id)
        XCTAssertNil(APIKey.keyID(ofSecret: "sk-abc"))
        XCTAssertNil(APIKey.keyID(ofSecret: "vx_zz_short"))
        let k = APIKey(id: m.id, name: "k", scopes: [.chat], salt: m.salt, hash: m.hash, version: 1)
        XCTAssertTrue(k.matches(secret: m.secret))
        // One character changed (never to itself: a secret ending in "A"
        // made this check fail once in ~60 runs).
        XCTAssertFalse(k.matches(secret: m.secret.dropLast() + (m.secret.last == "A" ? "B" : "A")))
        XCTAssertNotEqual(APIKey.mint().salt, m.salt, "each key its own salt")
        XCTAssertFalse(k.storedBody.serialized.contains(m.secret))
        XCTAssertFalse(k.json.serialized.contains(m.hash), "the API never shows the hash")
    }

    func testReservationsHoldBudgetsUntilSettled() async throws {
        let store = try VoxStore(stateDir: TestPaths.tempDir("ledger"))
        var settings = UsageLedger.Settings()
        settings.budgetDayUSD = 10
        let ledger = UsageLedger(store: store, settings: settings, logger: Logger(label: "test"))
        try await ledger.start()
        let key = APIKey(id: "key_0000000000000001", name: "k", scopes: [.tts], budgetDayUSD: 1, salt: "", hash: "", version: 1)
        let a = try ledger.reserve(key: key, estimate: 0.6)
        XCTAssertThrowsError(try ledger.reserve(key: key, estimate: 0.6)) { e in
            let v = e as? VoxError
            XCTAssertEqual(v?.status.code, 402)
            XCTAssertTrue(v?.message.contains("$0.60 held by calls in flight") ?? false, v?.message ?? "")
            XCTAssertNotNil(v?.retryAfterSeconds)
        }
        // Settled for less than reserved: the rest is free again.
        ledger.record(entry(key: key.id, cost: 0.5), settling: a)
        XCTAssertEqual(ledger.spending(key.id).day, 0.5, accuracy: 1e-12)
        XCTAssertEqual(ledger.spending(key.id).reserved, 0)
        let b = try ledger.reserve(key: key, estimate: 0.5)
        ledger.release(b)
        XCTAssertThrowsError(try ledger.reserve(key: key, estimate: 0.51))
        // The global budget counts every key (and admin peers, key nil).
        XCTAssertThrowsError(try ledger.reserve(key: nil as APIKey?, estimate: 9.6))
        _ = try ledger.reserve(key: nil as APIKey?, estimate: 9.4)

        // What reached the store is reloaded by a new ledger (a restart).
        await ledger.stop()
        let again = UsageLedger(store: store, settings: settings, logger: Logger(label: "test"))
        try await again.start()
        XCTAssertEqual(again.spending(key.id).day, 0.5, accuracy: 1e-12)
        XCTAssertEqual(again.spending("*").month, 0.5, accuracy: 1e-12)
        XCTAssertEqual(again.state.pending, 0)
        await again.stop()
    }

    /// Shutdown stops the ledger from a cancelled task (the service group
    /// cancels the daemon's); the pending rows must still reach the store.
    func testStopInACancelledTaskWritesWhatIsPending() async throws {
        let store = try VoxStore(stateDir: TestPaths.tempDir("ledger-stop"))
        var settings = UsageLedger.Settings()
        settings.flushSeconds = 3600 // only stop() writes
        let ledger = UsageLedger(store: store, settings: settings, logger: Logger(label: "test"))
        try await ledger.start()
        for _ in 0..<3 { ledger.record(entry(key: "key_0000000000000002", cost: 0.25)) }
        let stopping = Task {
            try? await Task.sleep(nanoseconds: 60_000_000_000) // ends at once: cancelled below
            XCTAssertTrue(Task.isCancelled)
            await ledger.stop()
        }
        stopping.cancel()
        await stopping.value
        XCTAssertEqual(ledger.state.pending, 0)
        let rows = try await store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM usage") }
        XCTAssertEqual(rows, 3)
    }

    /// The batch writer: one thread of its own, a write every period
    /// and on each flush (returning only after a write that began after
    /// the call), one last write at stop, none after, a write on a thread
    /// of its own when it is not running, and an end once its owner is gone.
    func testTheBatchWriterWritesOnItsOwnThreadPeriodicallyAndWhenAsked() async throws {
        final class Log: @unchecked Sendable {
            let lock = NSLock()
            var writes = 0
            var threads = Set<UInt>()
            var count: Int { lock.withLock { writes } }
        }
        func waitFor(_ what: String, _ ok: () -> Bool) async throws {
            for _ in 0..<500 where !ok() { try await Task.sleep(nanoseconds: 10_000_000) } // up to 5 s
            XCTAssertTrue(ok(), what)
        }
        let log = Log()
        // While `hold` is up, a write waits for `release` (a write in progress).
        let hold = NSCondition()
        nonisolated(unsafe) var holding = false
        let write: @Sendable () -> Bool = {
            log.lock.withLock { log.writes += 1; log.threads.insert(UInt(bitPattern: Int(pthread_self()))) }
            hold.withLock { while holding { hold.wait() } }
            return true
        }
        let writer = LedgerWriter()
        writer.start(period: 0.05, write: write)
        try await waitFor("a write every 50 ms") { log.count >= 2 }

        // A flush asked for during a write is answered by the next one, not that one.
        hold.withLock { holding = true }
        let atHold = log.count
        try await waitFor("the periodic write started") { log.count > atHold }
        let inProgress = log.count
        let flushed = Task { await writer.flush() }
        try await Task.sleep(nanoseconds: 50_000_000)
        hold.withLock { holding = false; hold.broadcast() }
        await flushed.value
        XCTAssertGreaterThanOrEqual(log.count, inProgress + 1, "the flush waited for a write of its own")

        await writer.stop()
        let stopped = log.count
        try await Task.sleep(nanoseconds: 150_000_000)
        XCTAssertEqual(log.count, stopped, "no write after stop")
        log.lock.withLock { XCTAssertEqual(log.threads.count, 1, "periodic and asked-for writes: all on one thread") }
        // Stopped: a flush runs the given write elsewhere, and still waits for it.
        await writer.flush(orRun: { _ = write() })
        XCTAssertEqual(log.count, stopped + 1)

        // A writer whose owner is gone ends its thread; a later flush still returns.
        let orphan = LedgerWriter()
        let calls = Log()
        orphan.start(period: 0.02) { calls.lock.withLock { calls.writes += 1 }; return false }
        try await waitFor("the orphan's one write") { calls.count == 1 }
        try await Task.sleep(nanoseconds: 100_000_000)
        XCTAssertEqual(calls.count, 1, "one write, then the thread ended")
        await orphan.flush()
        await orphan.stop()
    }

    func testUTCDaysAndMonths() {
        // The integer conversion agrees with Calendar over four centuries of days, leap years included.
        var t = -2_208_988_800.0 // 1900-01-01
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withFullDate]
        while t < 10_413_792_000 { // 2300
            let d = Date(timeIntervalSince1970: t + 43_200)
            XCTAssertEqual(UsageLedger.day(d), f.string(from: d))
            t += 86_400 * 37
        }
        XCTAssertEqual(UsageLedger.day(Date(timeIntervalSince1970: 951_782_400)), "2000-02-29")
        XCTAssertEqual(UsageLedger.day(Date(timeIntervalSince1970: 951_868_799)), "2000-02-29")
        let d = Date(timeIntervalSince1970: 1_795_305_599)
        let next = UsageLedger.nextDay(d)
        XCTAssertEqual(UsageLedger.day(next), UsageLedger.day(d.addingTimeInterval(86_400)))
        XCTAssertEqual(Int(next.timeIntervalSince1970) % 86_400, 0)
        let nm = UsageLedger.nextMonth(Date(timeIntervalSince1970: 1_798_675_200 - 1)) // 2026-12-30T23:59:59Z
        XCTAssertEqual(UsageLedger.day(nm), "2027-01-01")
    }

    private func entry(key: String, cost: Double) -> UsageEntry {
        UsageEntry(at: Date(), requestID: "r", client: "key:\(key)", keyID: key, kind: "tts", provider: "p", model: nil, voice: nil,
                   usage: Usage(characters: 5), prices: ["character": cost / 5], costUSD: cost, ttfbMs: 1, totalMs: 2, outcome: "ok",
                   retries: 0, failovers: 0)
    }
}

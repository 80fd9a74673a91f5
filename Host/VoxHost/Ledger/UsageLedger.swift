import Foundation
import GRDB
import Logging
import VoxPluginKit

/// One call, as the ledger keeps it: who, what, which provider, the units
/// in the provider's own billing units, the prices applied and the cost,
/// latency, outcome (`ok` or the error code the client got), retries and
/// failovers.
public struct UsageEntry: Sendable, Equatable {
    public var at: Date
    public var requestID: String
    /// `uid:N` (an admin socket peer) or `key:ID`.
    public var client: String
    public var keyID: String?
    /// chat | tts | stt | stt_stream
    public var kind: String
    public var provider: String?
    public var model: String?
    public var voice: String?
    public var usage: Usage
    /// unit → USD per unit, as applied.
    public var prices: [String: Double]
    public var costUSD: Double
    public var ttfbMs: Double?
    public var totalMs: Double?
    public var outcome: String
    /// Attempts beyond the first.
    public var retries: Int
    /// Attempts that moved to another provider.
    public var failovers: Int
}

extension UsageEntry {
    /// A call by the request in `call` (nil: not from a request, "internal"),
    /// priced at `rates`: the one way the router and the live-transcription
    /// route book what they served.
    init(_ call: CallScope.Info?, kind: String, provider: String?, model: String?, voice: String?, usage: Usage?,
         rates: [String: PriceBook.Rate], outcome: String, ttfbSeconds: Double?, totalSeconds: Double?, retries: Int, failovers: Int) {
        let u = usage ?? Usage()
        self.init(at: Date(), requestID: call?.requestID ?? "internal", client: call?.principal?.client ?? "internal",
                  keyID: call?.principal?.keyID, kind: kind, provider: provider, model: model, voice: voice, usage: u,
                  prices: rates.mapValues(\.usdPerUnit), costUSD: PriceBook.cost(u, rates),
                  ttfbMs: ttfbSeconds.map { $0 * 1000 }, totalMs: totalSeconds.map { $0 * 1000 }, outcome: outcome,
                  retries: retries, failovers: failovers)
    }
}

/// The usage and cost ledger: every call is appended in memory and written
/// to the store's `usage` table in batches, one transaction per batch
/// window (`[ledger] flush_ms`, default 1000), so a write never waits on
/// the request path and a crash loses at most the last window.
///
/// Budgets: before a call the router reserves its estimated cost against
/// each budget that applies (the caller's key's day and month budgets, and
/// the global ones in `[ledger]`); the reservation is replaced by the real
/// cost when the call ends. Spent amounts are kept in memory (loaded from
/// the table at start, then advanced as entries are appended, before they
/// reach the disk), so concurrent calls cannot overspend and checking a
/// budget costs no query.
public final class UsageLedger: @unchecked Sendable {
    public struct Settings: Sendable, Equatable {
        public var flushSeconds = 1.0
        public var budgetDayUSD: Double?
        public var budgetMonthUSD: Double?
        /// Entries kept in memory while the store refuses writes; beyond it
        /// the oldest are dropped (and counted).
        public var maxPending = 100_000
        public init() {}
    }

    let store: VoxStore
    let settings: Settings
    let logger: Logger
    private let lock = NSLock()
    private var pending: [UsageEntry] = []
    /// The last written batch's buffer, emptied by the writer: the next
    /// window appends into it. A fresh array each window grew by doubling
    /// on the request threads (a megabyte a second at 4,000 calls/s, copied
    /// and page-faulted in, then handed back to the allocator by the
    /// writer), and the requests served around each flush were the slow 1%.
    private var spare: [UsageEntry] = []
    /// The most entries a kept buffer may have room for (a few MB).
    static let spareLimit = 32_768
    /// The batch being written (rows and the oldest one's time): still not
    /// on disk, so counted as pending and in the lag (a write can wait out
    /// the store's busy timeout).
    private var writing: (rows: Int, oldest: Date?) = (0, nil)
    /// scope ("*" or a key id) → period ("d:2026-11-21", "m:2026-11") → USD spent.
    private var spent: [String: [String: Double]] = [:]
    /// scope → USD reserved by calls in flight.
    private var reserved: [String: Double] = [:]
    private let writer = LedgerWriter()
    private var written = 0
    private var dropped = 0
    private var writeErrors = 0
    private var lastFlushAt: Date?

    public init(store: VoxStore, settings: Settings, logger: Logger) {
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    // MARK: - Life cycle

    /// Loads this month's spending and starts the batch writer.
    public func start() async throws {
        let month = Self.monthStart(Date())
        let rows = try await store.read { db in
            try Row.fetchAll(db, sql: "SELECT key_id, day, SUM(cost_usd) AS usd FROM usage WHERE day >= ? GROUP BY key_id, day", arguments: [month])
                .map { (key: $0["key_id"] as String?, day: $0["day"] as String, usd: $0["usd"] as Double) }
        }
        lock.withLock {
            for r in rows {
                let day = r.day, usd = r.usd
                for scope in ["*", r.key].compactMap({ $0 }) {
                    spent[scope, default: [:]]["d:\(day)", default: 0] += usd
                    spent[scope, default: [:]]["m:\(day.prefix(7))", default: 0] += usd
                }
            }
        }
        writer.start(period: settings.flushSeconds) { [weak self] in
            guard let self else { return false }
            self.writeBatch()
            return true
        }
    }

    /// Writes what is pending and stops the writer (shutdown). A batch the
    /// writer is in the middle of is finished first.
    public func stop() async {
        await writer.stop()
    }

    // MARK: - Recording

    /// Appends an entry (and settles its reservation, if any).
    public func record(_ e: UsageEntry, settling reservation: Reservation? = nil) {
        lock.withLock {
            if let reservation { unreserve(reservation) }
            if e.costUSD > 0 {
                let d = "d:\(Self.day(e.at))", m = "m:\(Self.day(e.at).prefix(7))"
                for scope in ["*", e.keyID].compactMap({ $0 }) {
                    spent[scope, default: [:]][d, default: 0] += e.costUSD
                    spent[scope, default: [:]][m, default: 0] += e.costUSD
                }
            }
            pending.append(e)
            if pending.count > settings.maxPending {
                let over = pending.count - settings.maxPending
                pending.removeFirst(over)
                dropped += over
            }
        }
    }

    /// Writes every pending entry in one transaction (on the writer's
    /// thread) and returns once it is done. On failure they stay pending
    /// (and are retried at the next window).
    public func flush() async {
        await writer.flush(orRun: { [weak self] in self?.writeBatch() })
    }

    /// One batch write, on the writer's thread.
    private func writeBatch() {
        var batch: [UsageEntry] = lock.withLock {
            let b = pending
            pending = spare
            spare = []
            writing = (b.count, b.first?.at)
            return b
        }
        guard !batch.isEmpty else { return }
        defer { lock.withLock { writing = (0, nil) } }
        do {
            try store.writeNow { db in try Self.insert(batch, into: db) }
            let count = batch.count
            // Emptied here (the entries' memory freed off the request path),
            // its capacity kept for a later window.
            batch.removeAll(keepingCapacity: true)
            lock.withLock {
                written += count
                lastFlushAt = Date()
                pruneOldPeriods()
                // Not a backlog's buffer (a store outage's worth of rows): kept for good otherwise.
                if spare.capacity < batch.capacity, batch.capacity <= Self.spareLimit { spare = batch }
            }
        } catch {
            lock.withLock {
                pending.insert(contentsOf: batch, at: 0)
                writeErrors += 1
            }
            logger.error("usage ledger: batch not written; kept for the next window", metadata: ["rows": .stringConvertible(batch.count), "error": .string("\(error)")])
        }
    }

    private static func insert(_ batch: [UsageEntry], into db: Database) throws {
        let sql = """
            INSERT INTO usage (at, day, request_id, client, key_id, kind, provider, model, voice, input_tokens, output_tokens,
                               characters, audio_seconds, prices, cost_usd, ttfb_ms, total_ms, outcome, retries, failovers)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        let statement = try db.cachedStatement(sql: sql)
        for e in batch {
            let prices = e.prices.isEmpty ? nil : JSONValue.object(e.prices.mapValues(JSONValue.number)).serialized
            try statement.execute(arguments: [
                e.at.timeIntervalSince1970, Self.day(e.at), e.requestID, e.client, e.keyID, e.kind, e.provider, e.model, e.voice,
                e.usage.inputTokens, e.usage.outputTokens, e.usage.characters, e.usage.audioSeconds, prices, e.costUSD,
                e.ttfbMs, e.totalMs, e.outcome, e.retries, e.failovers,
            ])
        }
    }

    // MARK: - Budgets

    /// A cost held against budgets while its call is in flight.
    public struct Reservation: Sendable {
        let scopes: [String]
        let usd: Double
    }

    /// Reserves `estimate` USD for a call by `key` (nil: an admin peer, only
    /// the global budgets apply). Throws a 402 naming the budget that would
    /// be exceeded, how much is spent and reserved, and when it resets.
    public func reserve(key: APIKey?, estimate: Double, now: Date = Date()) throws -> Reservation {
        var scopes: [(id: String, day: Double?, month: Double?)] = []
        if settings.budgetDayUSD != nil || settings.budgetMonthUSD != nil { scopes.append(("*", settings.budgetDayUSD, settings.budgetMonthUSD)) }
        if let key, key.budgetDayUSD != nil || key.budgetMonthUSD != nil { scopes.append((key.id, key.budgetDayUSD, key.budgetMonthUSD)) }
        if scopes.isEmpty { return Reservation(scopes: [], usd: 0) } // no budget applies: nothing to hold
        let today = Self.day(now)
        let d = "d:\(today)", m = "m:\(today.prefix(7))"
        return try lock.withLock {
            for c in scopes {
                for (period, budget, daily) in [(d, c.day, true), (m, c.month, false)] {
                    guard let budget else { continue }
                    let used = spent[c.id]?[period] ?? 0
                    let held = reserved[c.id] ?? 0
                    if used >= budget || used + held + estimate > budget {
                        let label = c.id == "*" ? "voxd's" : "API key \(c.id) (\(key?.name ?? ""))'s"
                        let reset = daily ? Self.nextDay(now) : Self.nextMonth(now)
                        var e = VoxError(.rateLimited, "\(label) \(daily ? "daily" : "monthly") budget of $\(Self.money(budget)) would be exceeded: $\(Self.money(used)) spent"
                                         + (held > 0 ? ", $\(Self.money(held)) held by calls in flight" : "")
                                         + ", and this request may cost up to $\(Self.money(estimate)); it resets at \(APIKey.iso(reset))",
                                         retriable: false, status: .init(code: 402, reasonPhrase: "Payment Required"))
                        e.retryAfterSeconds = max(1, Int(reset.timeIntervalSince(now).rounded(.up)))
                        throw e
                    }
                }
            }
            for c in scopes { reserved[c.id, default: 0] += estimate }
            return Reservation(scopes: scopes.map(\.id), usd: estimate)
        }
    }

    /// Gives back a reservation whose call ended without an entry.
    public func release(_ r: Reservation) { lock.withLock { unreserve(r) } }

    private func unreserve(_ r: Reservation) {
        for s in r.scopes {
            let left = (reserved[s] ?? 0) - r.usd
            reserved[s] = left > 1e-12 ? left : nil
        }
    }

    /// USD spent today and this month by a key (or "*": everyone).
    public func spending(_ scope: String, now: Date = Date()) -> (day: Double, month: Double, reserved: Double) {
        lock.withLock {
            (spent[scope]?["d:\(Self.day(now))"] ?? 0, spent[scope]?["m:\(Self.day(now).prefix(7))"] ?? 0, reserved[scope] ?? 0)
        }
    }

    private func pruneOldPeriods() {
        let now = Date()
        let keep: Set<String> = ["d:\(Self.day(now))", "m:\(Self.day(now).prefix(7))"]
        for (scope, periods) in spent where periods.keys.contains(where: { !keep.contains($0) }) {
            spent[scope] = periods.filter { keep.contains($0.key) }
        }
    }

    // MARK: - State for /metrics and /v1/status

    public struct State: Sendable {
        public var pending: Int
        /// Age of the oldest entry not yet on disk (0 when none).
        public var lagSeconds: Double
        public var written: Int
        public var dropped: Int
        public var writeErrors: Int
    }

    public var state: State {
        lock.withLock {
            State(pending: pending.count + writing.rows,
                  lagSeconds: (writing.oldest ?? pending.first?.at).map { max(0, Date().timeIntervalSince($0)) } ?? 0,
                  written: written, dropped: dropped, writeErrors: writeErrors)
        }
    }

    // MARK: - Calendar (UTC)

    static let utc: Calendar = { var c = Calendar(identifier: .gregorian); c.timeZone = TimeZone(identifier: "UTC")!; return c }()

    /// `yyyy-mm-dd` (UTC) by integer arithmetic (the proleptic Gregorian
    /// civil-from-days conversion): Calendar's version showed in the profile,
    /// and this runs on every call's reservation and booking.
    static func day(_ d: Date) -> String {
        let z = Int((d.timeIntervalSince1970 / 86_400).rounded(.down)) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int, _ n: Int) -> String { let t = String(v); return String(repeating: "0", count: max(0, n - t.count)) + t }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    static func monthStart(_ d: Date) -> String { String(day(d).prefix(7)) + "-01" }
    static func nextDay(_ d: Date) -> Date { utc.date(byAdding: .day, value: 1, to: utc.startOfDay(for: d))! }
    static func nextMonth(_ d: Date) -> Date {
        let c = utc.dateComponents([.year, .month], from: d)
        return utc.date(byAdding: .month, value: 1, to: utc.date(from: c)!)!
    }

    static func money(_ v: Double) -> String {
        v >= 0.01 || v == 0 ? String(format: "%.2f", v) : String(format: "%.6f", v)
    }
}

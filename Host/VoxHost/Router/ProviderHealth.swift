import Foundation
import VoxPluginKit

/// What the router knows about one provider's health: its circuit breaker,
/// latency EWMA per model, last error, retry-after, and its concurrency
/// gate. Thread-safe; kept by provider name, so it survives reloads.
public final class ProviderHealth: @unchecked Sendable {
    public enum Circuit: String, Sendable { case closed, open, halfOpen = "half_open" }

    public let name: String
    private let lock = NSLock()
    private var settings: BreakerSettings
    private var limits: ProviderLimits
    private var circuit = Circuit.closed
    private var openedAt: Date?
    private var probeInFlight = false
    private var consecutive = 0
    /// (time, failed) of recent calls, oldest first from `windowStart`:
    /// the calls of the last `windowSeconds`, at most `windowCap`. Trimmed
    /// from the front as calls arrive, so a call costs O(1), not a pass
    /// over the window (up to 10,000 entries under load).
    private var window: [(at: Date, failed: Bool)] = []
    private var windowStart = 0
    private var failedInWindow = 0
    static let windowCap = 10_000
    private var successes = 0
    private var failures = 0
    private var opens = 0
    private var lastError: String?
    private var lastErrorAt: Date?
    private var notBefore: Date?
    /// Time to first output, per model: EWMA in seconds and sample count.
    private var ewma: [String: (value: Double, samples: Int)] = [:]
    private var inFlight = 0
    private var waiters: [(id: UInt64, c: CheckedContinuation<Void, Error>, deadline: Deadlines.Entry)] = []
    private var nextWaiter: UInt64 = 0
    static let alpha = 0.3

    init(name: String, settings: BreakerSettings, limits: ProviderLimits) {
        self.name = name
        self.settings = settings
        self.limits = limits
    }

    func update(settings: BreakerSettings, limits: ProviderLimits) {
        lock.withLock { self.settings = settings; self.limits = limits }
    }

    // MARK: circuit breaker

    /// Whether a call may go to this provider now, and why not. An open
    /// circuit past its cool-down lets exactly one probe through. A
    /// retry-after only keeps it out of rotation: a request with no other
    /// candidate (`rotation` false) still goes, and the provider answers.
    func admit(now: Date = Date(), rotation: Bool = true) -> String? {
        lock.withLock {
            if rotation, let nb = notBefore, nb > now {
                return "asked to retry after \(Self.iso(nb)) (retry-after)" + (lastError.map { "; last error: \($0)" } ?? "")
            }
            switch circuit {
            case .closed: return nil
            case .open:
                if let o = openedAt, now.timeIntervalSince(o) >= settings.cooldownSeconds {
                    circuit = .halfOpen
                    probeInFlight = true
                    return nil
                }
                return "circuit open since \(Self.iso(openedAt ?? now))" + (lastError.map { "; last error: \($0)" } ?? "")
            case .halfOpen:
                if probeInFlight { return "circuit half-open, its probe call is in flight" + (lastError.map { "; last error: \($0)" } ?? "") }
                probeInFlight = true
                return nil
            }
        }
    }

    /// The circuit as a reader would see it (open past its cool-down reads half-open).
    public var circuitState: Circuit {
        lock.withLock {
            if circuit == .open, let o = openedAt, Date().timeIntervalSince(o) >= settings.cooldownSeconds { return .halfOpen }
            return circuit
        }
    }

    func recordSuccess(model: String?, firstOutput: Double?, now: Date = Date()) {
        lock.withLock {
            successes += 1
            consecutive = 0
            push(now, failed: false)
            if circuit != .closed { circuit = .closed; openedAt = nil }
            probeInFlight = false
            notBefore = nil
            if let firstOutput {
                let key = model ?? ""
                if let e = ewma[key] {
                    ewma[key] = (Self.alpha * firstOutput + (1 - Self.alpha) * e.value, e.samples + 1)
                } else {
                    ewma[key] = (firstOutput, 1)
                }
            }
        }
    }

    /// A failed call. `retryAfter` keeps the provider out of rotation that long.
    func recordFailure(_ error: String, retryAfter: Double? = nil, now: Date = Date()) {
        lock.withLock {
            failures += 1
            consecutive += 1
            lastError = error
            lastErrorAt = now
            push(now, failed: true)
            if let retryAfter, retryAfter > 0 { notBefore = now.addingTimeInterval(retryAfter) }
            let calls = window.count - windowStart
            let tripped = consecutive >= settings.consecutiveFailures
                || (calls >= settings.minCalls && Double(failedInWindow) / Double(calls) >= settings.errorRate)
            if circuit == .halfOpen || (circuit == .closed && tripped) {
                circuit = .open
                openedAt = now
                opens += 1
            }
            probeInFlight = false
        }
    }

    /// A call the router gave up on for a reason that says nothing about
    /// the provider (client went away, bad request): frees a half-open probe.
    func recordNeutral() { lock.withLock { probeInFlight = false } }

    private func push(_ now: Date, failed: Bool) {
        window.append((now, failed))
        if failed { failedInWindow += 1 }
        let cutoff = now.addingTimeInterval(-settings.windowSeconds)
        while windowStart < window.count, window[windowStart].at < cutoff || window.count - windowStart > Self.windowCap {
            if window[windowStart].failed { failedInWindow -= 1 }
            windowStart += 1
        }
        // Drop the trimmed front once it is most of the storage: amortized O(1).
        if windowStart >= 1024, windowStart * 2 >= window.count {
            window.removeFirst(windowStart)
            windowStart = 0
        }
    }

    /// EWMA of time to first output for `model`, in seconds (nil: no samples).
    public func latency(model: String?) -> Double? { lock.withLock { ewma[model ?? ""]?.value } }

    public var lastErrorText: String? { lock.withLock { lastError } }

    /// The circuit as a reader sees it and the last error, read together (explain).
    var explainState: (circuit: Circuit, lastError: String?) {
        lock.withLock {
            if circuit == .open, let o = openedAt, Date().timeIntervalSince(o) >= settings.cooldownSeconds { return (.halfOpen, lastError) }
            return (circuit, lastError)
        }
    }

    // MARK: concurrency gate

    /// A slot to run one operation; released exactly once, when it ends.
    public final class Permit: @unchecked Sendable {
        private let health: ProviderHealth?
        private let lock = NSLock()
        private var released = false
        init(_ h: ProviderHealth?) { health = h }
        public func release() {
            let first = lock.withLock { defer { released = true }; return !released }
            if first { health?.releaseSlot() }
        }
    }

    /// Waits (bounded by the queue's size and timeout) for a slot. A slot
    /// freed while others wait passes straight to the first of them.
    func acquire() async throws -> Permit {
        enum Step { case go, full(Int, Int), wait(Double) }
        let fast: Step = lock.withLock {
            if limits.maxConcurrency == 0 || (inFlight < limits.maxConcurrency && waiters.isEmpty) { inFlight += 1; return .go }
            if waiters.count >= limits.queueSize { return .full(limits.maxConcurrency, limits.queueSize) }
            return .wait(limits.queueTimeoutSeconds)
        }
        switch fast {
        case .go: return Permit(self)
        case .full(let m, let q):
            throw VoxPluginError(.rateLimited, "\(name) is at its limit of \(m) concurrent operations and its queue of \(q) is full", retriable: true)
        case .wait(let timeout):
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
                let queued: Bool = lock.withLock {
                    // A slot may have come free meanwhile.
                    if inFlight < limits.maxConcurrency && waiters.isEmpty { inFlight += 1; return false }
                    nextWaiter += 1
                    let id = nextWaiter
                    let deadline = Deadlines.shared.schedule(after: timeout) { [weak self] in self?.expireWaiter(id, timeout: timeout) }
                    waiters.append((id, c, deadline))
                    return true
                }
                if !queued { c.resume() }
            }
            return Permit(self)
        }
    }

    private func expireWaiter(_ id: UInt64, timeout: Double) {
        let w: CheckedContinuation<Void, Error>? = lock.withLock {
            guard let i = waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return waiters.remove(at: i).c
        }
        w?.resume(throwing: VoxPluginError(.rateLimited, "\(name) had no free slot within \(timeout) s (providers.\(name).queue_timeout_ms)", retriable: true))
    }

    fileprivate func releaseSlot() {
        let next: CheckedContinuation<Void, Error>? = lock.withLock {
            if !waiters.isEmpty {
                let w = waiters.removeFirst()
                Deadlines.shared.cancel(w.deadline)
                return w.c
            }
            inFlight -= 1
            return nil
        }
        next?.resume()
    }

    public var queueDepth: Int { lock.withLock { waiters.count } }
    public var inFlightCount: Int { lock.withLock { inFlight } }

    // MARK: views

    public var json: JSONValue {
        let state = circuitState
        return lock.withLock {
            var lat: [String: JSONValue] = [:]
            for (m, e) in ewma { lat[m.isEmpty ? "(default)" : m] = .object(["ewma_ms": .number((e.value * 100_000).rounded() / 100), "samples": .number(Double(e.samples))]) }
            return .object([
                "circuit": .string(state.rawValue),
                "consecutive_failures": .number(Double(consecutive)),
                "successes": .number(Double(successes)),
                "failures": .number(Double(failures)),
                "opened": .number(Double(opens)),
                "last_error": lastError.map(JSONValue.string) ?? .null,
                "last_error_at": lastErrorAt.map { .string(Self.iso($0)) } ?? .null,
                "retry_after_until": notBefore.map { .string(Self.iso($0)) } ?? .null,
                "in_flight": .number(Double(inFlight)),
                "queued": .number(Double(waiters.count)),
                "max_concurrency": .number(Double(limits.maxConcurrency)),
                "first_output_latency": .object(lat),
            ])
        }
    }

    static func iso(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: d)
    }
}

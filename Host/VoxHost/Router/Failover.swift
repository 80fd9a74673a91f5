import CVoxPlugin
import Foundation
import Logging
import VoxPluginKit

/// One try of one candidate: what the service needs to start the
/// operation, and the bookkeeping that ends with it.
final class RouteAttempt: @unchecked Sendable {
    let candidate: RouteCandidate
    /// 0 for the first candidate tried.
    let index: Int
    /// The plan's first candidate (the provider the request addressed):
    /// it gets the voice as asked; the others get it mapped.
    let primary: Bool
    let health: ProviderHealth
    let limits: ProviderLimits
    let permit: ProviderHealth.Permit
    let metrics: RouterMetrics
    let kind: String
    private let lock = NSLock()
    private var committed = false
    private let startedAt = DispatchTime.now().uptimeNanoseconds
    private var _operation: HostOperation?
    private var _voice: String?
    private var _fallbackUsage: Usage?

    /// The operation started for this attempt (set by `bind`).
    var operation: HostOperation? { lock.withLock { _operation } }
    /// The voice that served (speech), for the ledger and the response.
    var voice: String? {
        get { lock.withLock { _voice } }
        set { lock.withLock { _voice = newValue } }
    }
    /// Units the host knows without the plugin (the input's characters, an
    /// upload's duration): the ledger uses them where the plugin reports none.
    var fallbackUsage: Usage? {
        get { lock.withLock { _fallbackUsage } }
        set { lock.withLock { _fallbackUsage = newValue } }
    }

    init(candidate: RouteCandidate, index: Int, primary: Bool, health: ProviderHealth, limits: ProviderLimits, permit: ProviderHealth.Permit,
         metrics: RouterMetrics, kind: String) {
        self.candidate = candidate
        self.index = index
        self.primary = primary
        self.health = health
        self.limits = limits
        self.permit = permit
        self.metrics = metrics
        self.kind = kind
    }

    var instance: PluginInstance { candidate.instance }
    var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - startedAt) / 1e9 }

    /// Ties the operation's end to this attempt: the concurrency slot is
    /// freed, the duration observed, and a failure after the first output
    /// (which cannot fail over any more) still counts against the provider.
    func bind(_ op: HostOperation) {
        lock.withLock { _operation = op }
        op.whenEnded { [self] outcome in
            permit.release()
            let model = candidate.model ?? ""
            metrics.observeDuration(provider: candidate.name, model: model, kind: kind, seconds: seconds)
            let wasCommitted = lock.withLock { committed }
            if wasCommitted, case .failure(let e) = outcome, e.code != .cancelled {
                health.recordFailure("\(e.code.name): \(e.message) (after the first output)")
                metrics.countError(provider: candidate.name, kind: kind, code: e.code.name)
            }
        }
    }

    func commit() { lock.withLock { committed = true } }

    private var firstOutputAt: Double?
    /// Notes the time to the first output when the attempt goes on past it
    /// (a whole chat answer is gathered before it is committed).
    func markFirstOutput() { let s = seconds; lock.withLock { if firstOutputAt == nil { firstOutputAt = s } } }
    /// The same for an output that arrived at `uptimeNs` (read later).
    func markFirstOutput(atUptime uptimeNs: UInt64) {
        let s = Double(uptimeNs &- min(uptimeNs, startedAt)) / 1e9
        lock.withLock { if firstOutputAt == nil { firstOutputAt = s } }
    }
    var firstOutputSeconds: Double { lock.withLock { firstOutputAt } ?? seconds }

    /// Cancels `op` if its first output takes longer than the provider's
    /// `first_output_timeout_ms`; `fired` tells the error apart from a
    /// client going away.
    func watchFirstOutput(_ op: HostOperation) -> FirstOutputWatch {
        let w = FirstOutputWatch()
        if let t = limits.firstOutputTimeoutSeconds {
            // An output that came but is not read yet (a whole answer
            // gathered at the end) counts: only silence is cut off.
            w.arm(Deadlines.shared.schedule(after: t) { if op.firstOutputUptimeNs == nil, w.fire() { op.cancel() } })
        }
        return w
    }

    /// The error to report when waiting for the first output failed.
    func firstOutputError(_ error: Error, _ watch: FirstOutputWatch) -> Error {
        if watch.fired {
            return VoxError(.timeout, "\(instance.name) sent no first output within \(limits.firstOutputTimeoutSeconds ?? 0) s (providers.\(instance.name).first_output_timeout_ms)",
                            provider: instance.name, retriable: true)
        }
        if let e = error as? VoxPluginError { return VoxError(e, provider: instance.name) }
        return error
    }
}

final class FirstOutputWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var _fired = false
    var fired: Bool { lock.withLock { _fired } }
    /// True when the timer won (the operation is to be cancelled).
    func fire() -> Bool { lock.withLock { if done { return false }; done = true; _fired = true; return true } }
    private var entry: Deadlines.Entry?
    /// The timer's deadline, taken out on disarm (at once if disarmed already).
    func arm(_ e: Deadlines.Entry) {
        if lock.withLock({ entry = e; return done }) { Deadlines.shared.cancel(e) }
    }
    func disarm() {
        let e: Deadlines.Entry? = lock.withLock { done = true; return entry }
        if let e { Deadlines.shared.cancel(e) }
    }
}

extension VoxDaemon {
    /// Tries the plan's candidates in order until one reaches its first
    /// output: a retriable error (or a timeout, a zero-audio "success", an
    /// empty final) before that moves on to the next candidate after a
    /// jittered exponential backoff, within `router.max_attempts` and
    /// `router.retry_budget_ms`; retry-after keeps a provider out of
    /// rotation that long. Providers whose circuit is open are skipped.
    /// When all fail: the one error if there was one attempt, else a 503
    /// naming each provider's error.
    func route<T>(_ plan: RoutePlan, _ body: (RouteAttempt) async throws -> T) async throws -> (T, RouteAttempt) {
        let s = router.settings
        let kind = RouterMetrics.kind(plan.request.operation)
        let began = Date()
        let maxAttempts = plan.pinned ? 1 : s.maxAttempts
        var attempts = 0
        var outcomes: [(provider: String, why: String)] = []
        var lastError: Error?
        var lastRetryAfter: Int?
        var pendingDelay = 0.0
        let call = CallScope.current
        var tried: [String] = []
        var lastTried: RouteCandidate?
        /// The logger with the request's id, made only when something is logged.
        var log: Logger {
            var l = logger
            l[metadataKey: "request.id"] = .string(call?.requestID ?? "internal")
            l[metadataKey: "kind"] = .string(kind)
            return l
        }
        /// A request that ends without a served attempt is booked too (cost 0).
        func book(_ outcome: String) {
            if outcome != "cancelled" {
                log.notice("request failed", metadata: ["code": .string(outcome), "tried": .string(tried.joined(separator: ",")),
                                                        "provider": .string(lastTried?.name ?? "-")])
            }
            ledger.record(usageEntry(call, kind: kind, candidate: lastTried, usage: nil, outcome: outcome, attempt: nil, tried: tried))
        }
        for (k, c) in plan.candidates.enumerated() {
            if attempts >= maxAttempts { break }
            if attempts > 0 && Date().timeIntervalSince(began) + pendingDelay > s.retryBudgetSeconds {
                outcomes.append((c.name, "not tried: the request's retry budget of \(s.retryBudgetSeconds) s (router.retry_budget_ms) was spent"))
                break
            }
            let h = c.health
            if pendingDelay > 0 {
                try await Task.sleep(nanoseconds: UInt64(pendingDelay * 1e9))
                pendingDelay = 0
            }
            if let why = h.admit(rotation: plan.candidates.count > 1) {
                outcomes.append((c.name, why))
                router.metrics.countAttempt(provider: c.name, kind: kind, outcome: "skipped")
                continue
            }
            // The budget: this request's estimated cost at this provider's prices, held until it ends.
            let reservation: UsageLedger.Reservation
            do { reservation = try ledger.reserve(key: call?.principal?.key, estimate: c.estimatedCost ?? 0) } catch {
                router.metrics.countRequest(kind: kind, code: "budget_exceeded", failovers: attempts)
                lastTried = c
                book("budget_exceeded")
                throw error
            }
            let permit: ProviderHealth.Permit
            do { permit = try await h.acquire() } catch let e as VoxPluginError {
                ledger.release(reservation)
                h.recordNeutral()
                outcomes.append((c.name, e.message))
                router.metrics.countAttempt(provider: c.name, kind: kind, outcome: "queue_full")
                lastError = VoxError(e, provider: c.name)
                continue
            }
            let attempt = RouteAttempt(candidate: c, index: attempts, primary: k == 0, health: h, limits: s.limits(c.name), permit: permit,
                                       metrics: router.metrics, kind: kind)
            attempts += 1
            tried.append(c.name)
            lastTried = c
            do {
                let value = try await body(attempt)
                attempt.commit()
                settle(attempt, reservation: reservation, call: call, kind: kind, tried: tried)
                if logger.logLevel <= .debug {
                    log.debug("request served", metadata: ["provider": .string(c.name), "model": .string(c.model ?? "-"),
                                                           "attempts": .stringConvertible(attempts),
                                                           "first_output_ms": .stringConvertible(Int(attempt.firstOutputSeconds * 1000))])
                }
                h.recordSuccess(model: c.model, firstOutput: attempt.firstOutputSeconds)
                router.metrics.observeFirstOutput(provider: c.name, model: c.model ?? "", kind: kind, seconds: attempt.firstOutputSeconds)
                router.metrics.countAttempt(provider: c.name, kind: kind, outcome: "ok")
                router.metrics.countRequest(kind: kind, code: "ok", failovers: attempts - 1)
                return (value, attempt)
            } catch {
                permit.release()  // idempotent: a bound operation releases it too
                ledger.release(reservation)
                let ve = error as? VoxError ?? (error as? VoxPluginError).map { VoxError($0, provider: c.name) }
                if Task.isCancelled || ve?.code == .cancelled || ve == nil {
                    h.recordNeutral()
                    router.metrics.countRequest(kind: kind, code: "cancelled", failovers: attempts - 1)
                    book(ve == nil && !Task.isCancelled ? "internal" : "cancelled")
                    throw error
                }
                let e = ve!
                router.metrics.countError(provider: c.name, kind: kind, code: e.code.name)
                guard e.retriable || e.code == .timeout else {
                    // The request's own fault (or the provider's account's): no other provider does better.
                    h.recordNeutral()
                    router.metrics.countAttempt(provider: c.name, kind: kind, outcome: "error")
                    router.metrics.countRequest(kind: kind, code: e.code.name, failovers: attempts - 1)
                    book(e.code.name)
                    throw e
                }
                let retryAfter = e.retryAfterSeconds.map(Double.init)
                h.recordFailure("\(e.code.name): \(e.message)", retryAfter: retryAfter)
                router.metrics.countAttempt(provider: c.name, kind: kind, outcome: "failed")
                log.warning("attempt failed; trying the next candidate", metadata: [
                    "provider": .string(c.name), "model": .string(c.model ?? "-"), "code": .string(e.code.name), "error": .string(e.message),
                ])
                outcomes.append((c.name, "\(e.code.name): \(e.message)"))
                lastError = e
                if let r = e.retryAfterSeconds { lastRetryAfter = min(lastRetryAfter ?? r, r) }
                // The next one waits: retry-after when it is the same provider (and short), else the backoff.
                let next = plan.candidates.dropFirst(k + 1).first
                if let retryAfter, next?.name == c.name, retryAfter <= s.maxRetryAfterWaitSeconds {
                    pendingDelay = retryAfter
                } else {
                    let ceiling = min(s.backoffMaxSeconds, s.backoffBaseSeconds * pow(2, Double(attempts - 1)))
                    pendingDelay = ceiling * Double.random(in: 0.5...1)
                }
            }
        }
        let noun = ProviderResolver.noun(plan.request.operation)
        if attempts == 1, outcomes.count == 1, let lastError {
            let code = (lastError as? VoxError)?.code.name ?? "internal"
            router.metrics.countRequest(kind: kind, code: code, failovers: 0)
            book(code)
            throw lastError
        }
        var e = VoxError(.unavailable, (outcomes.count == 1 ? "the \(noun) provider is unavailable: " : "all \(outcomes.count) \(noun) providers failed: ")
                         + outcomes.map { "\($0.provider): \($0.why)" }.joined(separator: "; "),
                         provider: outcomes.count == 1 ? outcomes[0].provider : nil, retriable: true)
        e.retryAfterSeconds = lastRetryAfter
        router.metrics.countRequest(kind: kind, code: "unavailable", failovers: max(0, attempts - 1))
        book("unavailable")
        throw e
    }

    /// Books a served attempt when its operation ends (a stream ends long
    /// after `route` returned): the units the plugin reported (or, on
    /// success, what the host knows), priced at the candidate's rates, in
    /// place of the reservation.
    private func settle(_ a: RouteAttempt, reservation: UsageLedger.Reservation, call: CallScope.Info?, kind: String, tried: [String]) {
        guard let op = a.operation else {
            ledger.record(usageEntry(call, kind: kind, candidate: a.candidate, usage: a.fallbackUsage, outcome: "ok", attempt: a, tried: tried),
                          settling: reservation)
            return
        }
        op.whenEnded { [self] outcome in
            var usage = op.result?.usage
            let code: String
            switch outcome {
            case .success:
                code = "ok"
                if let f = a.fallbackUsage {
                    var u = usage ?? Usage()
                    u.characters = u.characters ?? f.characters
                    u.audioSeconds = u.audioSeconds ?? f.audioSeconds
                    u.inputTokens = u.inputTokens ?? f.inputTokens
                    u.outputTokens = u.outputTokens ?? f.outputTokens
                    usage = u
                }
            case .failure(let e): code = e.code.name
            }
            ledger.record(usageEntry(call, kind: kind, candidate: a.candidate, usage: usage, outcome: code, attempt: a, tried: tried),
                          settling: reservation)
        }
    }

    func usageEntry(_ call: CallScope.Info?, kind: String, candidate c: RouteCandidate?, usage: Usage?, outcome: String,
                    attempt a: RouteAttempt?, tried: [String]) -> UsageEntry {
        UsageEntry(call, kind: kind, provider: c?.name, model: c?.model, voice: a?.voice, usage: usage, rates: c?.rates ?? [:],
                   outcome: outcome, ttfbSeconds: a?.firstOutputSeconds, totalSeconds: a?.seconds, retries: max(0, tried.count - 1),
                   failovers: zip(tried, tried.dropFirst()).filter { $0 != $1 }.count)
    }
}

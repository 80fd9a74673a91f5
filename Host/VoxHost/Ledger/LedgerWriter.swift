import Foundation

/// The usage ledger's batch writer: a thread of its own that writes a
/// batch every `period` seconds and whenever asked (`flush`), through
/// GRDB's synchronous write (which runs on the calling thread).
///
/// A batch is a few thousand rows a second under load: tens of
/// milliseconds of SQLite work at once. Written from a Swift task through
/// GRDB's async write, the requests served around each write were the slow
/// 1% (at eight clients they fell in the 100 ms after each write, once a
/// second, every 2 s with `flush_ms = 2000`); written synchronously here
/// they are spread over the second. The thread keeps the default priority:
/// nice −4, 0 and +10 measured the same at eight clients, and at one client
/// (four paired runs: p99 0.99–1.32 ms at 0, 0.98–1.34 ms at +10), while
/// +10 let the ledger fall 2.1 s behind at 32 clients on two cores against
/// 1.2 s at 0 — rows a kill -9 would lose.
final class LedgerWriter: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var running = false
    private var stopping = false

    /// Starts the thread (once; later calls do nothing while it runs);
    /// `write` runs on it every `period` seconds and for each `flush`, one
    /// call at a time. `write` answers false once its owner is gone: the
    /// thread then ends.
    func start(period: Double, write: @escaping @Sendable () -> Bool) {
        let fresh: Bool = condition.withLock {
            guard !running else { return false }
            running = true
            stopping = false
            return true
        }
        guard fresh else { return }
        let thread = Thread { [self] in loop(period: period, write: write) }
        thread.name = "voxd-ledger"
        thread.start()
    }

    /// Returns once a write that began after this call has finished.
    /// Without a running thread (not started, or stopped) `write` runs on a
    /// thread of its own and is waited for.
    func flush(orRun write: (@Sendable () -> Void)? = nil) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let queued: Bool = condition.withLock {
                guard running else { return false }
                waiters.append(c)
                condition.signal()
                return true
            }
            if !queued {
                guard let write else { c.resume(); return }
                Thread { write(); c.resume() }.start()
            }
        }
    }

    /// Writes what is pending one last time and ends the thread (after
    /// answering any flush asked for meanwhile with a write of its own).
    func stop() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let queued: Bool = condition.withLock {
                guard running else { return false }
                stopping = true
                waiters.append(c)
                condition.signal()
                return true
            }
            if !queued { c.resume() }
        }
    }

    private func loop(period: Double, write: @Sendable () -> Bool) {
        // Due times on the monotonic clock: setting the wall clock back must
        // not hold the writes back.
        let periodNs = UInt64(max(0, period) * 1e9)
        var due = DispatchTime.now().uptimeNanoseconds &+ periodNs
        while true {
            condition.lock()
            while waiters.isEmpty, !stopping {
                let now = DispatchTime.now().uptimeNanoseconds
                guard now < due else { break }
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(due - now) / 1e9))
            }
            let answering = waiters
            waiters = []
            let last = stopping
            condition.unlock()
            var alive = write()
            if DispatchTime.now().uptimeNanoseconds >= due { due = DispatchTime.now().uptimeNanoseconds &+ periodNs }
            for w in answering { w.resume() }
            guard last || !alive else { continue }
            // Ending (stopped, or the owner is gone): whoever asked for a
            // flush during that write gets one too; `running` goes false
            // only when no one is waiting, so no flush runs beside ours.
            while true {
                let late: [CheckedContinuation<Void, Never>] = condition.withLock {
                    if waiters.isEmpty { running = false }
                    defer { waiters = [] }
                    return waiters
                }
                if late.isEmpty { return }
                if alive { alive = write() }
                for w in late { w.resume() }
            }
        }
    }
}

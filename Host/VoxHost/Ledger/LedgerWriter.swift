import Foundation

/// The usage ledger's batch writer: a thread of its own, at a lower CPU
/// priority than the request threads (nice +10), that writes a batch every
/// `period` seconds and whenever asked (`flush`).
///
/// A batch is a few thousand rows a second under load: tens of
/// milliseconds of SQLite work at once. On a Swift task or a dispatch
/// thread it ran at the request threads' priority and took a core from
/// them for that long, and the requests served around each write were the
/// slow 1% (at eight clients, half of them fell in the 100 ms after a
/// write). At nice +10 the scheduler lets it have a core only when the
/// request threads leave one idle, or about a tenth of one when they do
/// not, so it still finishes its batch within the window under any load.
final class LedgerWriter: @unchecked Sendable {
    /// The CPU priority the writer gives up (nice values are per thread on Linux).
    static let niceness: Int32 = 10

    private let condition = NSCondition()
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var running = false
    private var stopping = false

    /// Starts the thread; `write` runs on it every `period` seconds and
    /// for each `flush`, one call at a time. `write` answers false once
    /// its owner is gone: the thread then ends.
    func start(period: Double, write: @escaping @Sendable () -> Bool) {
        condition.withLock {
            guard !running else { return }
            running = true
            stopping = false
        }
        let thread = Thread { [self] in loop(period: period, write: write) }
        thread.name = "voxd-ledger"
        thread.start()
    }

    /// Returns once a write that began after this call has finished (at
    /// once-ish when the thread is idle). Without a running thread (not
    /// started, or stopped) the write runs on a thread of its own.
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

    /// Writes what is pending one last time and ends the thread.
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
        // who 0: the calling thread (Linux keeps a nice value per thread).
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
        var due = Date(timeIntervalSinceNow: period)
        while true {
            condition.lock()
            while waiters.isEmpty, !stopping, Date() < due { _ = condition.wait(until: due) }
            let answering = waiters
            waiters = []
            let last = stopping
            if last { running = false }
            condition.unlock()
            let alive = write()
            if Date() >= due { due = Date(timeIntervalSinceNow: period) }
            for w in answering { w.resume() }
            if last { return }
            if !alive {
                // The owner is gone: answer whoever asked meanwhile, and end.
                let late: [CheckedContinuation<Void, Never>] = condition.withLock {
                    running = false
                    defer { waiters = [] }
                    return waiters
                }
                for w in late { w.resume() }
                return
            }
        }
    }
}

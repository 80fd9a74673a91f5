import Foundation

/// The host's side of VOX_FLOW_PAUSE for one exchange (HTTP body, WebSocket
/// messages): the reader waits here after the plugin answered PAUSE, until
/// the plugin resumes (http_resume, ws_resume) or the exchange ends. A
/// resume that arrives before the wait is kept, so none is lost.
final class ResumeGate: @unchecked Sendable {
    private let lock = NSLock()
    private var waiter: CheckedContinuation<Void, Never>?
    private var resumedEarly = false
    private var ended = false

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now: Bool = lock.withLock {
                if ended { return true }
                if resumedEarly { resumedEarly = false; return true }
                waiter = c
                return false
            }
            if now { c.resume() }
        }
    }

    func resume() {
        let c: CheckedContinuation<Void, Never>? = lock.withLock {
            if let w = waiter { waiter = nil; return w }
            resumedEarly = true
            return nil
        }
        c?.resume()
    }

    /// The exchange is over (cancelled, timed out, closed): no more waiting.
    func end() {
        let c: CheckedContinuation<Void, Never>? = lock.withLock {
            ended = true
            defer { waiter = nil }
            return waiter
        }
        c?.resume()
    }
}

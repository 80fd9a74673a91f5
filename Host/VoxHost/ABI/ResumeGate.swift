import Foundation
import NIOCore

/// The host's side of VOX_FLOW_PAUSE for one exchange (HTTP body, WebSocket
/// messages): the reader waits here after the plugin answered PAUSE, until
/// the plugin resumes (http_resume, ws_resume) or the exchange ends. A
/// resume that arrives before the wait is kept, so none is lost.
final class ResumeGate: @unchecked Sendable {
    private let lock = NSLock()
    private var waiter: CheckedContinuation<Void, Never>?
    private var promise: EventLoopPromise<Void>?
    private var resumedEarly = false
    private var ended = false

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now: Bool = lock.withLock {
                if takeResumeLocked() { return true }
                waiter = c
                return false
            }
            if now { c.resume() }
        }
    }

    /// The same wait for a reader on an event loop (the HTTP service's body
    /// delegate): the future succeeds on resume or end.
    func waitFuture(on loop: EventLoop) -> EventLoopFuture<Void> {
        let p = loop.makePromise(of: Void.self)
        let now: Bool = lock.withLock {
            if takeResumeLocked() { return true }
            promise = p
            return false
        }
        if now { p.succeed() }
        return p.futureResult
    }

    private func takeResumeLocked() -> Bool {
        if ended { return true }
        if resumedEarly { resumedEarly = false; return true }
        return false
    }

    func resume() {
        let (c, p): (CheckedContinuation<Void, Never>?, EventLoopPromise<Void>?) = lock.withLock {
            defer { waiter = nil; promise = nil }
            if waiter == nil && promise == nil { resumedEarly = true }
            return (waiter, promise)
        }
        c?.resume()
        p?.succeed()
    }

    /// The exchange is over (cancelled, timed out, closed): no more waiting.
    func end() {
        let (c, p): (CheckedContinuation<Void, Never>?, EventLoopPromise<Void>?) = lock.withLock {
            ended = true
            defer { waiter = nil; promise = nil }
            return (waiter, promise)
        }
        c?.resume()
        p?.succeed()
    }
}

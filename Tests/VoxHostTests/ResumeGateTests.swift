import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest
@testable import VoxHost

/// The pause/resume gate of the HTTP and WebSocket services.
final class ResumeGateTests: XCTestCase {
    func testAResumeBeforeTheWaitIsKeptOnce() async throws {
        let gate = ResumeGate()
        gate.resume()
        await gate.wait() // returns at once: the early resume was kept
        let waited = Task { await gate.wait(); return true }
        try await Task.sleep(nanoseconds: 50_000_000)
        gate.resume()
        let done = await waited.value
        XCTAssertTrue(done)
    }

    func testEndReleasesAWaiterAndEveryLaterWait() async throws {
        let gate = ResumeGate()
        let waited = Task { await gate.wait(); return true }
        try await Task.sleep(nanoseconds: 50_000_000)
        gate.end()
        let done = await waited.value
        XCTAssertTrue(done)
        await gate.wait() // ended: never blocks again
        await gate.wait()
    }

    /// The event-loop form the HTTP service's body delegate uses.
    func testTheFutureFormKeepsAnEarlyResumeAndEnds() throws {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let gate = ResumeGate()
        gate.resume()
        try gate.waitFuture(on: loop).wait() // the early resume was kept
        let pending = gate.waitFuture(on: loop)
        let done = NIOLockedValueBox(false)
        pending.whenSuccess { done.withLockedValue { $0 = true } }
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertFalse(done.withLockedValue { $0 }, "no resume yet: still waiting")
        gate.resume()
        try pending.wait()
        gate.end()
        try gate.waitFuture(on: loop).wait() // ended: never waits again
    }
}

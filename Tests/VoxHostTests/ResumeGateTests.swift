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
}

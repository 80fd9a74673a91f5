import CVoxPlugin
import Foundation
import NIOCore
import NIOPosix
import XCTest
@testable import VoxHost

/// ABI 1.2's run_soon and the executor a connection is served on.
final class HostLoopsTests: XCTestCase {
    /// What one run_soon call saw: where fn ran and whether it had already
    /// run when run_soon returned.
    final class Probe: @unchecked Sendable {
        let lock = NSLock()
        var runs = 0
        var loop: (any EventLoop)?
        let done = DispatchSemaphore(value: 0)
        static let fn: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
            let p = Unmanaged<Probe>.fromOpaque(raw!).takeRetainedValue()
            p.lock.withLock { p.runs += 1; p.loop = MultiThreadedEventLoopGroup.currentEventLoop }
            p.done.signal()
        }
        func schedule() { HostServices.table.pointee.run_soon!(Probe.fn, Unmanaged.passRetained(self).toOpaque()) }
        var ran: Int { lock.withLock { runs } }
    }

    func testRunSoonOnALoopStaysOnItAndNeverRunsInline() throws {
        XCTAssertEqual(HostServices.table.pointee.abi_minor, 2)
        let loop = HostLoops.group.next()
        let probe = Probe()
        let ranInline = try loop.submit { () -> Bool in
            probe.schedule()
            return probe.ran > 0
        }.wait()
        XCTAssertFalse(ranInline, "fn ran inside run_soon")
        XCTAssertEqual(probe.done.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(probe.ran, 1)
        XCTAssertTrue(probe.loop === loop, "fn ran on another thread than the loop that asked")
    }

    func testRunSoonFromOtherThreadsRunsEachOnceOnAHostLoop() {
        let probes = (0..<1000).map { _ in Probe() }
        DispatchQueue.concurrentPerform(iterations: 4) { part in
            for p in probes[(part * 250)..<((part + 1) * 250)] { p.schedule() }
        }
        for p in probes { XCTAssertEqual(p.done.wait(timeout: .now() + 5), .success) }
        XCTAssertEqual(probes.map(\.ran).reduce(0, +), 1000)
        XCTAssertTrue(probes.allSatisfy { $0.loop != nil }, "every fn ran on one of the host's loops")
    }

    func testATaskPreferringALoopRunsOnItAcrossSuspensions() async {
        let loop = HostLoops.group.next()
        let seen = await Task(executorPreference: EventLoopTaskExecutor(loop)) { () -> [Bool] in
            var seen = [loop.inEventLoop]
            for _ in 0..<3 {
                await Task.yield()
                try? await Task.sleep(nanoseconds: 1_000_000)
                seen.append(loop.inEventLoop)
            }
            return seen
        }.value
        XCTAssertEqual(seen, [true, true, true, true])
    }

    /// The gathering pause of a streamed answer: on the loop's own timer
    /// (no other thread), at least as long as asked, and cut short by
    /// cancelling the task (which then throws).
    func testPauseWaitsOnTheLoopAndEndsWhenCancelled() async throws {
        let loop = HostLoops.group.next()
        let (onLoop, waited) = try await Task(executorPreference: EventLoopTaskExecutor(loop)) { () -> (Bool, UInt64) in
            let t = DispatchTime.now().uptimeNanoseconds
            try await HostOperation.pause(nanoseconds: 2_000_000)
            return (loop.inEventLoop, DispatchTime.now().uptimeNanoseconds - t)
        }.value
        XCTAssertTrue(onLoop)
        XCTAssertGreaterThanOrEqual(waited, 2_000_000)
        let long = Task(executorPreference: EventLoopTaskExecutor(loop)) { () -> Bool in
            do { try await HostOperation.pause(nanoseconds: 60_000_000_000); return false } catch { return error is CancellationError }
        }
        try await Task.sleep(nanoseconds: 50_000_000)
        let started = DispatchTime.now().uptimeNanoseconds
        long.cancel()
        let threw = await long.value
        XCTAssertTrue(threw, "a cancelled pause must throw CancellationError")
        XCTAssertLessThan(DispatchTime.now().uptimeNanoseconds - started, 5_000_000_000)
    }
}

import Foundation
import XCTest
@testable import VoxHost

/// The host's one timer for its many deadlines.
final class DeadlinesTests: XCTestCase {
    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var fired: [(Int, UInt64)] = []
        func add(_ i: Int) { lock.withLock { fired.append((i, DispatchTime.now().uptimeNanoseconds)) } }
        var all: [(Int, UInt64)] { lock.withLock { fired } }
    }

    func testDeadlinesFireInOrderAndNotEarly() async throws {
        let d = Deadlines()
        let log = Log()
        let start = DispatchTime.now().uptimeNanoseconds
        // Scheduled latest first: each earlier one must move the timer.
        let dues: [(Int, Double)] = [(3, 0.30), (2, 0.20), (1, 0.10), (4, 0.40)]
        for (i, s) in dues { d.schedule(after: s) { log.add(i) } }
        try await waitFor { log.all.count == 4 }
        XCTAssertEqual(log.all.map(\.0), [1, 2, 3, 4])
        for ((i, at), (_, s)) in zip(log.all, dues.sorted { $0.0 < $1.0 }) {
            XCTAssertGreaterThanOrEqual(Double(at - start) / 1e9, s - 0.001, "deadline \(i) fired early")
        }
        XCTAssertEqual(d.pending, 0)
    }

    func testCancelledDeadlinesNeverFire() async throws {
        let d = Deadlines()
        let log = Log()
        let cancelled = (0..<10_000).map { i in d.schedule(after: 0.05 + Double(i % 7) * 0.01) { log.add(i) } }
        let kept = d.schedule(after: 0.15) { log.add(-1) }
        XCTAssertEqual(d.pending, 10_001)
        for e in cancelled { XCTAssertTrue(d.cancel(e)) }
        XCTAssertEqual(d.pending, 1, "cancelled entries leave the heap at once")
        try await waitFor { log.all.count == 1 }
        try await Task.sleep(nanoseconds: 100_000_000)
        XCTAssertEqual(log.all.map(\.0), [-1])
        XCTAssertFalse(d.cancel(kept), "a fired deadline cannot be cancelled")
        XCTAssertEqual(d.pending, 0)
    }

    func testAnEntryCancelledOutOfTheMiddleKeepsTheOthersInOrder() async throws {
        let d = Deadlines()
        let log = Log()
        let entries = (0..<200).map { i in d.schedule(after: 0.01 + Double((i * 37) % 200) * 0.001) { log.add(i) } }
        for (i, e) in entries.enumerated() where i % 3 == 0 { d.cancel(e) }
        try await waitFor { log.all.count == entries.count - 67 }
        let order = log.all.map { (($0.0 * 37) % 200) }
        XCTAssertEqual(order, order.sorted(), "fired by due time")
        XCTAssertFalse(log.all.contains { $0.0 % 3 == 0 })
    }

    func waitFor(seconds: Double = 5, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return XCTFail("condition not met in \(seconds) s") }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
    }
}

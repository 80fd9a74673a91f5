import CVoxPlugin
import Foundation
import XCTest
@testable import VoxHost

/// The timer service (`timer_start` / `timer_release`) as a C plugin uses it.
final class HostTimerTests: XCTestCase {
    final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var fired = 0
        var timer: OpaquePointer?
        func bump() { lock.withLock { fired += 1 } }
        var count: Int { lock.withLock { fired } }
    }

    let api = HostServices.table.pointee
    let handle = HostPluginHandle(name: "timers", logger: TestSupport.logger, secrets: [:], metrics: MetricsStore())

    func start(_ c: Counter, afterMs ms: UInt64, fire: @convention(c) (UnsafeMutableRawPointer?) -> Void) -> OpaquePointer {
        api.timer_start!(handle.pointer, ms * 1_000_000, fire, Unmanaged.passUnretained(c).toOpaque())!
    }

    func testFiresOnceAfterTheDelay() async throws {
        let c = Counter()
        let began = Date()
        let t = start(c, afterMs: 50) { Unmanaged<Counter>.fromOpaque($0!).takeUnretainedValue().bump() }
        while c.count == 0, Date().timeIntervalSince(began) < 5 { try await Task.sleep(nanoseconds: 5_000_000) }
        XCTAssertEqual(c.count, 1)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(began), 0.045)
        api.timer_release!(t)
        try await Task.sleep(nanoseconds: 100_000_000)
        XCTAssertEqual(c.count, 1, "a timer fires once")
    }

    func testReleaseBeforeFiringCancels() async throws {
        let c = Counter()
        let t = start(c, afterMs: 100) { Unmanaged<Counter>.fromOpaque($0!).takeUnretainedValue().bump() }
        api.timer_release!(t)
        try await Task.sleep(nanoseconds: 250_000_000)
        XCTAssertEqual(c.count, 0)
    }

    func testReleaseFromInsideFire() async throws {
        let c = Counter()
        c.timer = start(c, afterMs: 50) { user in // set long before it fires
            let counter = Unmanaged<Counter>.fromOpaque(user!).takeUnretainedValue()
            HostServices.table.pointee.timer_release!(counter.timer!) // allowed: does not wait for itself
            counter.bump()
        }
        let began = Date()
        while c.count == 0, Date().timeIntervalSince(began) < 5 { try await Task.sleep(nanoseconds: 5_000_000) }
        XCTAssertEqual(c.count, 1)
    }
}

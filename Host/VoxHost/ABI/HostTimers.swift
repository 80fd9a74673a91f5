import CVoxPlugin
import Foundation

/// Timers for plugins (`timer_start` / `timer_release`). A timer fires at most
/// once; release cancels it and, if it is firing on another thread, waits
/// for the callback to return (callbacks are short by contract).
enum HostTimers {
    static func install(into api: inout vox_host_api) {
        api.timer_start = { hp, delay, fire, user in
            guard fire != nil else { return nil }
            let t = HostTimer(fire: fire!, user: user)
            t.schedule(afterNanoseconds: delay)
            return OpaquePointer(Unmanaged.passRetained(t).toOpaque())
        }
        api.timer_release = { t in
            guard let t else { return }
            let timer = Unmanaged<HostTimer>.fromOpaque(UnsafeRawPointer(t)).takeRetainedValue()
            timer.cancelAndWait()
        }
    }
}

final class HostTimer: @unchecked Sendable {
    private enum State { case pending, firing(pthread_t), done }
    private let fire: @convention(c) (UnsafeMutableRawPointer?) -> Void
    private let user: UnsafeMutableRawPointer?
    private let cond = NSCondition()
    private var state = State.pending

    init(fire: @escaping @convention(c) (UnsafeMutableRawPointer?) -> Void, user: UnsafeMutableRawPointer?) {
        self.fire = fire
        self.user = user
    }

    func schedule(afterNanoseconds ns: UInt64) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(min(ns, UInt64(Int.max))))) { [self] in
            cond.lock()
            guard case .pending = state else { cond.unlock(); return }
            state = .firing(pthread_self())
            cond.unlock()
            fire(user)
            cond.lock()
            state = .done
            cond.broadcast()
            cond.unlock()
        }
    }

    func cancelAndWait() {
        cond.lock()
        defer { cond.unlock() }
        while true {
            switch state {
            case .pending: state = .done; return
            case .done: return
            case .firing(let thread):
                if pthread_equal(thread, pthread_self()) != 0 { return } // released from inside fire
                cond.wait()
            }
        }
    }
}

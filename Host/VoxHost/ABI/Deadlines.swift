import Foundation

/// One timer for the host's many deadlines: operation time limits, HTTP
/// first-byte and idle limits, first-output limits, queue waits.
///
/// Nearly every deadline is cancelled long before it is due (a request
/// ends in milliseconds; its limits are seconds or minutes away). With a
/// dispatch timer each, every request woke libdispatch's timer thread to
/// register its timers, and again when each cancelled one came due. Here a
/// deadline is an entry in a min-heap, cancelling removes it, and the one
/// dispatch timer is moved only when a new deadline is earlier than the one
/// it is set for — rare, since later requests have later deadlines. So a
/// request's deadlines cost no thread wake-up; the timer wakes about once
/// per shortest limit, and whenever something is really due.
///
/// Actions run on the timer's own serial queue, after the heap's lock is
/// let go: keep them short (cancel an operation, fail a waiter).
final class Deadlines: @unchecked Sendable {
    static let shared = Deadlines()

    /// A scheduled action; `cancel` it when it is no longer needed.
    final class Entry: @unchecked Sendable {
        fileprivate let due: UInt64
        fileprivate var index = -1 // in the heap; -1 once fired or cancelled
        fileprivate let action: @Sendable () -> Void

        fileprivate init(due: UInt64, action: @escaping @Sendable () -> Void) {
            self.due = due
            self.action = action
        }
    }

    private let lock = NSLock()
    private var heap: [Entry] = []
    private var armedFor: UInt64? // the due time the dispatch timer is set for
    private let timer: DispatchSourceTimer
    /// Timeouts are coarse: letting the timer fire up to 5 ms late lets
    /// the system coalesce wake-ups.
    private static let leeway = DispatchTimeInterval.milliseconds(5)

    init() {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "voxd.deadlines"))
        timer.setEventHandler { [unowned self] in fire() }
        timer.schedule(deadline: .distantFuture)
        timer.activate()
    }

    /// Runs `action` once, `seconds` from now, unless cancelled first.
    @discardableResult
    func schedule(after seconds: Double, _ action: @escaping @Sendable () -> Void) -> Entry {
        let ns = seconds <= 0 ? 0 : UInt64(min(seconds, 1e9) * 1e9)
        return schedule(at: DispatchTime.now().uptimeNanoseconds &+ ns, action)
    }

    /// Runs `action` once at `due` (uptime nanoseconds), unless cancelled first.
    @discardableResult
    func schedule(at due: UInt64, _ action: @escaping @Sendable () -> Void) -> Entry {
        let e = Entry(due: due, action: action)
        lock.withLock {
            push(e)
            if armedFor.map({ due < $0 }) ?? true { arm(due) }
        }
        return e
    }

    /// Takes the entry out: true when it had not fired (and now never will).
    @discardableResult
    func cancel(_ e: Entry) -> Bool {
        lock.withLock {
            guard e.index >= 0 else { return false }
            remove(at: e.index)
            return true
        }
    }

    /// Deadlines waiting (for tests and metrics).
    var pending: Int { lock.withLock { heap.count } }

    private func arm(_ due: UInt64) {
        armedFor = due
        timer.schedule(deadline: DispatchTime(uptimeNanoseconds: due), leeway: Self.leeway)
    }

    private func fire() {
        let now = DispatchTime.now().uptimeNanoseconds
        var ready: [Entry] = []
        lock.withLock {
            while let top = heap.first, top.due <= now {
                ready.append(top)
                remove(at: 0)
            }
            armedFor = nil
            if let next = heap.first?.due { arm(next) }
        }
        for e in ready { e.action() }
    }

    // MARK: the heap (lock held)

    private func push(_ e: Entry) {
        e.index = heap.count
        heap.append(e)
        up(heap.count - 1)
    }

    private func remove(at i: Int) {
        let gone = heap[i]
        let last = heap.removeLast()
        gone.index = -1
        guard i < heap.count else { return }
        heap[i] = last
        last.index = i
        up(i)
        down(last.index)
    }

    private func up(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].due < heap[parent].due else { break }
            swapAt(i, parent)
            i = parent
        }
    }

    private func down(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var least = i
            if l < heap.count, heap[l].due < heap[least].due { least = l }
            if r < heap.count, heap[r].due < heap[least].due { least = r }
            if least == i { return }
            swapAt(i, least)
            i = least
        }
    }

    private func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].index = a
        heap[b].index = b
    }
}

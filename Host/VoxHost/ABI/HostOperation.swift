import CVoxPlugin
import Foundation
import NIOCore
import NIOPosix
import VoxPluginKit

/// What an operation produces, in order.
public enum OperationOutput: Sendable {
    case audio(AudioFormat, [UInt8])
    /// One JSON event object, as the plugin wrote it.
    case event(String)
}

/// The host's side of one plugin operation (`vox_host_op`). Plugin threads
/// push into it through the services table; one consumer reads with `next()`.
///
/// It enforces the ABI for the host: the first final callback wins and any
/// later call is ignored and reported as misbehaviour; a plugin that ignores
/// VOX_FLOW_PAUSE is failed once it overruns 8× the buffer; op_release is
/// called exactly once, after the final callback returned and op_start did.
public final class HostOperation: @unchecked Sendable {
    public let kind: vox_type_op_kind
    let instance: PluginInstance
    private let highWater: Int
    private let lock = NSLock()
    private var items: [OperationOutput] = []
    private var head = 0
    private var bufferedBytes = 0
    private var waiter: CheckedContinuation<OperationOutput?, Error>?
    /// A `rest()` consumer: woken once, at the end or when the buffer fills.
    private var restWaiter: CheckedContinuation<[OperationOutput]?, Error>?
    private var outcome: Result<OperationResult, VoxPluginError>?
    private var pluginPaused = false
    private var cancelRequested = false
    private var timedOut = false
    private var pluginOp: OpaquePointer?
    private var started = false
    private var releaseDone = false
    /// The final callback has returned (op_release may follow).
    private var finalReturned = false
    /// The consumer is done with the operation: it saw the end or cancelled.
    private var consumerDone = false
    /// Releases the plugin's op if the consumer has not by then.
    private var releaseFallback: Deadlines.Entry?
    private var timeout: Deadlines.Entry?
    private let createdNs = DispatchTime.now().uptimeNanoseconds
    private var firstOutputNs: UInt64?
    private var endHandlers: [@Sendable (Result<OperationResult, VoxPluginError>) -> Void] = []

    /// Live operations by the handle their plugin holds.
    static let handles = HandleTable<HostOperation>()
    /// The handle handed to the plugin (`vox_host_op *`): valid until op_release.
    private(set) var hostOpPointer: OpaquePointer!

    init(kind: vox_type_op_kind, instance: PluginInstance, bufferBytes: Int) {
        self.kind = kind
        self.instance = instance
        self.highWater = bufferBytes
        hostOpPointer = Self.handles.insert(self, owner: instance)
    }

    /// The operation behind a plugin's handle; nil for a stale one, which
    /// only a plugin that breaks the ABI presents.
    static func from(_ p: OpaquePointer) -> HostOperation? {
        handles.lookup(p)
    }

    // MARK: plugin side (any thread)

    func pushAudio(_ format: AudioFormat, _ bytes: [UInt8]) -> Int32 { push(.audio(format, bytes), size: bytes.count) }

    func pushEvent(_ json: String) -> Int32 { push(.event(json), size: json.utf8.count) }

    private func push(_ item: OperationOutput, size: Int) -> Int32 {
        enum Action {
            case deliver(CheckedContinuation<OperationOutput?, Error>), deliverRest(CheckedContinuation<[OperationOutput]?, Error>, [OperationOutput])
            case flow(vox_type_flow), misbehaved, overrun
        }
        let action: Action = lock.withLock {
            if outcome != nil { return .misbehaved }
            if cancelRequested { return .flow(VOX_FLOW_STOP) }
            if firstOutputNs == nil { firstOutputNs = DispatchTime.now().uptimeNanoseconds }
            if let w = waiter { waiter = nil; return .deliver(w) }
            items.append(item)
            bufferedBytes += size
            if let w = restWaiter, bufferedBytes > highWater { restWaiter = nil; return .deliverRest(w, takeAllLocked()) }
            if bufferedBytes > highWater * 8 { return .overrun }
            if bufferedBytes > highWater { pluginPaused = true; return .flow(VOX_FLOW_PAUSE) }
            return .flow(VOX_FLOW_CONTINUE)
        }
        switch action {
        case .deliver(let w): w.resume(returning: item); return Int32(VOX_FLOW_CONTINUE.rawValue)
        case .deliverRest(let w, let all): w.resume(returning: all); return Int32(VOX_FLOW_CONTINUE.rawValue)
        case .flow(let f): return Int32(f.rawValue)
        case .misbehaved:
            instance.reportMisbehaviour("sent data after its final callback")
            return Int32(VOX_FLOW_STOP.rawValue)
        case .overrun:
            instance.reportMisbehaviour("ignored VOX_FLOW_PAUSE and overran the \(highWater * 8)-byte stream buffer")
            cancel()
            return Int32(VOX_FLOW_STOP.rawValue)
        }
    }

    func finish(_ result: Result<OperationResult, VoxPluginError>) {
        enum Action { case twice, wake(CheckedContinuation<OperationOutput?, Error>?, CheckedContinuation<[OperationOutput]?, Error>?) }
        let action: Action = lock.withLock {
            if outcome != nil { return .twice }
            var r = result
            if timedOut, case .failure(let e) = r, e.code == .cancelled {
                r = .failure(VoxPluginError(.timeout, "the operation took longer than its time limit"))
            }
            outcome = r
            if let t = timeout { Deadlines.shared.cancel(t) }
            let w = head == items.count ? waiter : nil
            if w != nil { waiter = nil }
            let rest = restWaiter
            restWaiter = nil
            return .wake(w, rest)
        }
        switch action {
        case .twice:
            instance.reportMisbehaviour("made a second final callback for one operation")
        case .wake(let w, let rest):
            recordMetrics()
            let (handlers, outcome) = lock.withLock { () -> ([@Sendable (Result<OperationResult, VoxPluginError>) -> Void], Result<OperationResult, VoxPluginError>?) in
                defer { endHandlers = [] }
                return (endHandlers, self.outcome)
            }
            if let outcome { for h in handlers { h(outcome) } }
            if let w { resumeAtEnd(w) }
            if let rest { resumeRest(rest) }
            finalCallbackReturns()
        }
    }

    /// op_release must not run inside the plugin's own final call. The
    /// consumer releases it when it reads the end (no thread is woken just
    /// for that); one that already let go has it released on another
    /// thread now; one that never reads on, within a second.
    private func finalCallbackReturns() {
        enum Release { case none, now, consumer }
        let step: Release = lock.withLock {
            finalReturned = true
            guard started, !releaseDone else { return .none }
            if consumerDone { releaseDone = true; return .now }
            return .consumer
        }
        switch step {
        case .none: break
        case .now: DispatchQueue.global().async { self.releasePluginOp() }
        case .consumer:
            let entry = Deadlines.shared.schedule(after: 1) { [weak self] in self?.releaseUnlessDone() }
            lock.withLock { if !releaseDone { releaseFallback = entry } else { Deadlines.shared.cancel(entry) } }
        }
    }

    /// The consumer saw the end (or an error, or cancelled): releases the
    /// plugin's op if its final callback has returned.
    private func consumerLetGo() {
        let release: Bool = lock.withLock {
            consumerDone = true
            guard outcome != nil, finalReturned, started, !releaseDone else { return false }
            releaseDone = true
            if let f = releaseFallback { Deadlines.shared.cancel(f) }
            return true
        }
        if release { releasePluginOp() }
    }

    private func releaseUnlessDone() {
        let release: Bool = lock.withLock {
            if releaseDone { return false }
            releaseDone = true
            return true
        }
        if release { releasePluginOp() }
    }

    /// Runs `f` once with the final outcome (at once if it has one): the
    /// router frees the provider's concurrency slot and records the end.
    public func whenEnded(_ f: @escaping @Sendable (Result<OperationResult, VoxPluginError>) -> Void) {
        let now: Result<OperationResult, VoxPluginError>? = lock.withLock {
            if let outcome { return outcome }
            endHandlers.append(f)
            return nil
        }
        if let now { f(now) }
    }

    /// Per provider and operation kind: operations, errors by code, time to
    /// the first output, and total time (GET /v1/plugins/{name}).
    private func recordMetrics() {
        let (outcome, first) = lock.withLock { (self.outcome, firstOutputNs) }
        let m = instance.handle.metrics.scope(plugin: instance.name)
        let kind = Self.kindName(self.kind)
        m.count("op_\(kind)_total")
        if case .failure(let e) = outcome { m.count("op_\(kind)_errors_\(e.code.name)") }
        let now = DispatchTime.now().uptimeNanoseconds
        if let first { m.observe("op_\(kind)_first_output_seconds", Double(first - createdNs) / 1e9) }
        m.observe("op_\(kind)_duration_seconds", Double(now - createdNs) / 1e9)
    }

    static func kindName(_ k: vox_type_op_kind) -> String {
        switch k {
        case VOX_OP_TTS_SYNTHESIZE: return "tts"
        case VOX_OP_STT_TRANSCRIBE: return "stt"
        case VOX_OP_STT_STREAM: return "stt_stream"
        case VOX_OP_LLM_CHAT: return "chat"
        case VOX_OP_LIST_MODELS: return "list_models"
        case VOX_OP_LIST_VOICES: return "list_voices"
        case VOX_OP_CLONE_VOICE: return "clone_voice"
        default: return "op\(k.rawValue)"
        }
    }

    // MARK: host side

    /// Called by PluginInstance once op_start returned VOX_OK.
    func didStart(_ op: OpaquePointer, timeout: Double) {
        let (cancelNow, releaseNow): (Bool, Bool) = lock.withLock {
            pluginOp = op
            started = true
            let rel = outcome != nil && !releaseDone
            if rel { releaseDone = true }
            return (cancelRequested && outcome == nil, rel)
        }
        if timeout > 0, !releaseNow {
            let entry = Deadlines.shared.schedule(after: timeout) { [weak self] in self?.expire() }
            lock.withLock { if outcome == nil { self.timeout = entry } else { Deadlines.shared.cancel(entry) } }
        }
        if cancelNow { instance.cancel(op) }
        if releaseNow { releasePluginOp() }
    }

    private func expire() {
        let op: OpaquePointer? = lock.withLock {
            guard outcome == nil else { return nil }
            timedOut = true
            cancelRequested = true
            return pluginOp
        }
        if let op { instance.cancel(op) }
    }

    private func releasePluginOp() {
        let op = lock.withLock { pluginOp }
        if let op { instance.release(op) }
        instance.operationEnded(self)
        Self.handles.remove(hostOpPointer)
    }

    /// The next output; nil after a successful end (see `result`). Throws the
    /// operation's error. Cancelling the calling task cancels the operation.
    public func next() async throws -> OperationOutput? {
        try await lettingGoAtTheEnd(nextOutput)
    }

    /// A read that sees the end (nil, or the operation's error) lets go.
    private func lettingGoAtTheEnd<T>(_ read: () async throws -> T?) async throws -> T? {
        do {
            guard let value = try await read() else { consumerLetGo(); return nil }
            return value
        } catch {
            consumerLetGo()
            throw error
        }
    }

    private func nextOutput() async throws -> OperationOutput? {
        if let fast = try takeBuffered() { return fast }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<OperationOutput?, Error>) in
                enum Step { case item(OperationOutput, resume: OpaquePointer?), end, wait }
                let step: Step = lock.withLock {
                    if head < items.count { let (i, r) = popLocked(); return .item(i, resume: r) }
                    if outcome != nil { return .end }
                    waiter = c
                    return .wait
                }
                switch step {
                case .item(let i, let r): if let r { instance.resume(r) }; c.resume(returning: i)
                case .end: resumeAtEnd(c)
                case .wait: break
                }
            }
        } onCancel: {
            self.cancel()
        }
    }

    /// The next output and whatever else is already buffered (up to
    /// `limit`), so a consumer that fell behind can write them at once; nil
    /// after a successful end. Once the first output is in, `gather` says
    /// how many nanoseconds to wait for more to arrive (a consumer
    /// coalescing a fast stream) — unless the operation has already ended,
    /// when nothing more can come; cancelling the task during it throws.
    public func nextBatch(limit: Int = 64, gather: () -> UInt64 = { 0 }) async throws -> [OperationOutput]? {
        guard let first = try await next() else { return nil }
        let wait = gather()
        if wait > 0, !lock.withLock({ outcome != nil }) { try await Self.pause(nanoseconds: wait) }
        var batch = [first]
        while batch.count < limit, let more = try takeBuffered() { batch.append(more) }
        return batch
    }

    /// A short wait on the calling event loop's own timer when the task runs
    /// on one (a connection's handler does): `Task.sleep` goes through the
    /// global executor's timer thread and back, two thread wake-ups for a
    /// quarter of a millisecond. Cancelling the task still ends it early.
    static func pause(nanoseconds: UInt64) async throws {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else {
            return try await Task.sleep(nanoseconds: nanoseconds)
        }
        let timer = loop.scheduleTask(in: .nanoseconds(Int64(min(nanoseconds, UInt64(Int64.max))))) {}
        await withTaskCancellationHandler {
            _ = try? await timer.futureResult.get() // fails only when cancelled
        } onCancel: {
            timer.cancel()
        }
        try Task.checkCancellation()
    }

    /// Every output left, gathered until the operation ends — one wake-up
    /// instead of one per output, for a consumer that sends nothing before
    /// the end (a chat answer that is not streamed). Comes back early with
    /// what is buffered when the buffer fills, so the plugin is never
    /// paused waiting for it. nil after a successful end with nothing left;
    /// throws the operation's error once its outputs were taken.
    public func rest() async throws -> [OperationOutput]? {
        try await lettingGoAtTheEnd(remainingOutputs)
    }

    private func remainingOutputs() async throws -> [OperationOutput]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<[OperationOutput]?, Error>) in
                enum Step { case items([OperationOutput], resume: OpaquePointer?), end, wait }
                let step: Step = lock.withLock {
                    if head < items.count, outcome != nil || pluginPaused || bufferedBytes > highWater {
                        let resume = pluginPaused && outcome == nil ? pluginOp : nil
                        if resume != nil { pluginPaused = false }
                        return .items(takeAllLocked(), resume: resume)
                    }
                    if outcome != nil { return .end }
                    restWaiter = c
                    return .wait
                }
                switch step {
                case .items(let all, let r): if let r { instance.resume(r) }; c.resume(returning: all)
                case .end: resumeRest(c)
                case .wait: break
                }
            }
        } onCancel: {
            self.cancel()
        }
    }

    /// Takes every buffered output (the lock held).
    private func takeAllLocked() -> [OperationOutput] {
        let all = Array(items[head...])
        items.removeAll(keepingCapacity: true)
        head = 0
        bufferedBytes = 0
        return all
    }

    private func resumeRest(_ c: CheckedContinuation<[OperationOutput]?, Error>) {
        enum Step { case items([OperationOutput]), failed(VoxPluginError), end }
        let step: Step = lock.withLock {
            if head < items.count { return .items(takeAllLocked()) }
            if case .failure(let e) = outcome { return .failed(e) }
            return .end
        }
        switch step {
        case .items(let all): c.resume(returning: all)
        case .failed(let e): c.resume(throwing: e)
        case .end: c.resume(returning: nil)
        }
    }

    private func takeBuffered() throws -> OperationOutput? {
        let (item, resume): (OperationOutput?, OpaquePointer?) = lock.withLock {
            guard head < items.count else { return (nil, nil) }
            return popLocked()
        }
        if let resume { instance.resume(resume) }
        return item
    }

    private func popLocked() -> (OperationOutput, OpaquePointer?) {
        let item = items[head]
        head += 1
        switch item {
        case .audio(_, let b): bufferedBytes -= b.count
        case .event(let s): bufferedBytes -= s.utf8.count
        }
        if head == items.count { items.removeAll(keepingCapacity: true); head = 0 } else if head > 1024 { items.removeFirst(head); head = 0 }
        var resume: OpaquePointer?
        if pluginPaused, bufferedBytes <= highWater / 2, outcome == nil { pluginPaused = false; resume = pluginOp }
        return (item, resume)
    }

    private func resumeAtEnd(_ c: CheckedContinuation<OperationOutput?, Error>) {
        switch lock.withLock({ outcome }) {
        case .failure(let e): c.resume(throwing: e)
        default: c.resume(returning: nil)
        }
    }

    /// When the plugin's first output arrived (uptime ns); nil before.
    public var firstOutputUptimeNs: UInt64? { lock.withLock { firstOutputNs } }

    /// The final result, once `next()` returned nil.
    public var result: OperationResult? {
        if case .success(let r) = lock.withLock({ outcome }) { return r }
        return nil
    }

    // MARK: streaming input (stt.stream)

    /// Appends input audio to a streaming operation (VOX_OP_STT_STREAM).
    public func push(_ audio: AudioData) throws {
        let op = try liveOp("push audio")
        guard let format = audio.format else { throw VoxPluginError.invalidRequest("pushed audio needs its format") }
        try instance.push(op, format: format, bytes: audio.bytes)
    }

    /// No more input: the plugin produces its final results.
    public func finishInput() throws {
        try instance.finishInput(try liveOp("finish the input"))
    }

    private func liveOp(_ what: String) throws -> OpaquePointer {
        try lock.withLock {
            guard outcome == nil, !cancelRequested, let op = pluginOp else {
                throw VoxPluginError.invalidRequest("cannot \(what): the operation has ended")
            }
            return op
        }
    }

    /// Stops the operation (the client went away). Safe at any time.
    public func cancel() {
        let (op, w, rest): (OpaquePointer?, CheckedContinuation<OperationOutput?, Error>?, CheckedContinuation<[OperationOutput]?, Error>?) = lock.withLock {
            if outcome != nil || cancelRequested { return (nil, nil, nil) }
            cancelRequested = true
            let w = waiter, rest = restWaiter
            waiter = nil
            restWaiter = nil
            return (started ? pluginOp : nil, w, rest)
        }
        w?.resume(throwing: VoxPluginError.cancelled)
        rest?.resume(throwing: VoxPluginError.cancelled)
        if let op { instance.cancel(op) }
        consumerLetGo()
    }
}

import CVoxPlugin
import Foundation

/// One running operation on the plugin side: the bridge between a Swift task
/// and the host's op_* functions. Its state machine guarantees the ABI's
/// promises: exactly one final callback, nothing after it, pause/resume
/// without lost wake-ups, and cancel at any point.
final class OperationBox: @unchecked Sendable {
    private let host: UnsafePointer<vox_host_api>
    private let hostOp: OpaquePointer
    private let lock = NSCondition() // also wakes blocking producers (writeBlocking)
    private var finished = false
    private var cancelled = false
    private var resumePending = false
    private var pausedWaiter: CheckedContinuation<Void, Error>?
    private var task: Task<Void, Never>?
    private var inputContinuation: AsyncStream<AudioData>.Continuation?
    let input: AsyncStream<AudioData>?

    init(host: UnsafePointer<vox_host_api>, hostOp: OpaquePointer, streamingInput: Bool) {
        self.host = host
        self.hostOp = hostOp
        if streamingInput {
            var cont: AsyncStream<AudioData>.Continuation!
            input = AsyncStream(bufferingPolicy: .unbounded) { cont = $0 }
            inputContinuation = cont
        } else {
            input = nil
        }
    }

    /// Starts the work; its outcome becomes the single final callback.
    /// With a 1.2 host the work is queued on the host's calling loop
    /// (`HostExecutor`): it starts there as soon as op_start returns to
    /// the loop, and resumes there when the host's answers arrive. (Not
    /// `Task.immediateDetached`: a task started that way from a pool
    /// thread lost its executor preference in about half the runs with
    /// Swift 6.3 and went on on the pool.) With an older host it begins
    /// at once on the calling thread and goes on on Swift's pool.
    func start(_ work: @escaping @Sendable (OperationBox) async throws -> OperationResult) {
        let body: @Sendable () async -> Void = { [self] in
            let outcome: Result<OperationResult, VoxPluginError>
            do { outcome = .success(try await work(self)) } catch { outcome = .failure(VoxPluginError.from(error)) }
            self.finish(outcome)
        }
        let t = KitImage.executor.map { Task.detached(executorPreference: $0, operation: body) } ?? Task.immediateDetached(operation: body)
        lock.withLock { task = t }
    }

    var isCancelled: Bool { lock.withLock { cancelled } }

    func cancel() {
        let (waiter, t, input): (CheckedContinuation<Void, Error>?, Task<Void, Never>?, AsyncStream<AudioData>.Continuation?) = lock.withLock {
            cancelled = true
            lock.broadcast()
            defer { pausedWaiter = nil }
            return (pausedWaiter, task, inputContinuation)
        }
        waiter?.resume(throwing: CancellationError())
        // The task is cancelled before its input ends, so a plugin that
        // sees the end of input can tell a cancel (Task.isCancelled) from
        // a finished input and not send its end-of-stream message upstream.
        t?.cancel()
        input?.finish()
    }

    func resume() {
        let waiter: CheckedContinuation<Void, Error>? = lock.withLock {
            lock.broadcast()
            if let w = pausedWaiter { pausedWaiter = nil; return w }
            resumePending = true
            return nil
        }
        waiter?.resume()
    }

    /// The blocking twin of `honour`, for producers on their own threads:
    /// returns false when the operation is over (cancelled or stopped).
    func honourBlocking(_ flow: Int32) -> Bool {
        switch UInt32(bitPattern: flow) {
        case VOX_FLOW_CONTINUE.rawValue: return true
        case VOX_FLOW_PAUSE.rawValue:
            lock.lock()
            defer { lock.unlock() }
            while !resumePending && !cancelled { lock.wait() }
            resumePending = false
            return !cancelled
        default: return false
        }
    }

    func push(_ chunk: AudioData) -> Bool {
        guard let c = lock.withLock({ finished ? nil : inputContinuation }) else { return false }
        if case .terminated = c.yield(chunk) { return false }
        return true
    }

    func finishInput() -> Bool {
        guard let c = lock.withLock({ finished ? nil : inputContinuation }) else { return false }
        c.finish()
        return true
    }

    /// Applies a flow answer from the host: returns when producing may go on.
    func honour(_ flow: Int32) async throws {
        switch UInt32(bitPattern: flow) {
        case VOX_FLOW_CONTINUE.rawValue: return
        case VOX_FLOW_PAUSE.rawValue:
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
                let action: (resumeNow: Bool, fail: Bool) = lock.withLock {
                    if cancelled { return (false, true) }
                    if resumePending { resumePending = false; return (true, false) }
                    pausedWaiter = c
                    return (false, false)
                }
                if action.fail { c.resume(throwing: CancellationError()) } else if action.resumeNow { c.resume() }
            }
        default:
            throw CancellationError()
        }
    }

    /// Hands one chunk to the host; returns its flow answer for `honour`.
    func sendAudio(_ bytes: UnsafeRawBufferPointer, format: AudioFormat) -> Int32 {
        if isCancelled { return Int32(VOX_FLOW_STOP.rawValue) }
        var f = format.abi
        return host.pointee.op_audio?(hostOp, &f, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
            ?? Int32(VOX_FLOW_CONTINUE.rawValue)
    }

    func emitEvent(_ json: String) async throws {
        if isCancelled { throw CancellationError() }
        try await honour(emitNow(json))
    }

    /// Hands one event to the host; returns its flow answer (STOP once
    /// cancelled) for the caller to honour.
    func emitNow(_ json: String) -> Int32 {
        if isCancelled { return Int32(VOX_FLOW_STOP.rawValue) }
        return withVoxStr(json) { host.pointee.op_event?(hostOp, $0) } ?? Int32(VOX_FLOW_CONTINUE.rawValue)
    }

    private func finish(_ outcome: Result<OperationResult, VoxPluginError>) {
        let first: Bool = lock.withLock {
            if finished { return false }
            finished = true
            task = nil
            return true
        }
        guard first else { return }
        inputContinuation?.finish()
        switch outcome {
        case .success(let result):
            withVoxStr(result.wireJSON) { host.pointee.op_done?(hostOp, $0) }
        case .failure(var error):
            if isCancelled, error.code == .internal { error = .cancelled } // e.g. a URL error from a cut request
            var e = vox_type_error()
            error.fill(&e)
            host.pointee.op_error?(hostOp, &e)
        }
    }
}

/// Where a synthesis writes its audio. Each write is one chunk for the host
/// (20–100 ms is a good size); it waits while the consumer is behind and
/// throws CancellationError once the operation is cancelled.
public struct AudioOutput: Sendable {
    let box: OperationBox

    public func write(_ bytes: UnsafeRawBufferPointer, format: AudioFormat) async throws {
        try await box.honour(box.sendAudio(bytes, format: format))
    }

    public func write(_ bytes: [UInt8], format: AudioFormat) async throws {
        try await box.honour(bytes.withUnsafeBytes { box.sendAudio($0, format: format) })
    }

    /// Mono or interleaved signed 16-bit samples.
    public func write(samples: [Int16], sampleRate: Int, channels: Int = 1) async throws {
        let format = AudioFormat(encoding: .pcmS16LE, sampleRate: sampleRate, channels: channels)
        try await box.honour(samples.withUnsafeBytes { box.sendAudio($0, format: format) })
    }

    /// For producers that run on their own thread (a C engine's callback):
    /// hands one chunk to the host and blocks while the consumer is behind.
    /// Returns false once the operation is cancelled: stop producing then.
    /// Never call it from a Swift concurrency task.
    public func writeBlocking(samples: UnsafeBufferPointer<Int16>, sampleRate: Int, channels: Int = 1) -> Bool {
        let format = AudioFormat(encoding: .pcmS16LE, sampleRate: sampleRate, channels: channels)
        return box.honourBlocking(box.sendAudio(UnsafeRawBufferPointer(samples), format: format))
    }

    /// Tells the host which model and voice actually served the request.
    public func metadata(model: String?, voice: String?) async throws {
        var o: [String: JSONValue] = ["type": .string("metadata")]
        if let model { o["model"] = .string(model) }
        if let voice { o["voice"] = .string(voice) }
        try await box.emitEvent(VoxJSON.string(JSONValue.object(o)))
    }

    public var isCancelled: Bool { box.isCancelled }
}

/// Where an operation writes its JSON events (deltas, transcripts…).
public struct EventOutput: Sendable {
    let box: OperationBox

    public func emit(_ event: JSONValue) async throws {
        try await box.emitEvent(VoxJSON.string(event))
    }

    public func emit<T: Encodable>(_ event: T) async throws {
        try await box.emitEvent(VoxJSON.string(event))
    }
}

/// Audio pushed by the host into a streaming operation; ends at finish_input
/// or cancel.
public typealias AudioInputStream = AsyncStream<AudioData>

import CVoxPlugin

/// Runs a plugin's Swift tasks on the host's threads, through the host's
/// `run_soon` (ABI 1.2).
///
/// An operation's task waits mostly for the host: an HTTP answer, a
/// WebSocket message, a flow resume. Those callbacks arrive on the host's
/// event loop that serves the request; with this executor the task goes on
/// right there, after the callback returns, instead of waking a thread of
/// Swift's pool and handing the result back to the loop afterwards. Work
/// on this executor must not block (the same rule as for any Swift
/// concurrency executor): use `PluginContext.runBlocking` for that.
final class HostExecutor: TaskExecutor, @unchecked Sendable {
    private let runSoon: @convention(c) ((@convention(c) (UnsafeMutableRawPointer?) -> Void)?, UnsafeMutableRawPointer?) -> Void

    /// nil when the host predates `run_soon`: tasks then use Swift's pool.
    init?(host: UnsafePointer<vox_host_api>) {
        guard host.pointee.struct_size >= MemoryLayout<vox_host_api>.offset(of: \.run_soon)! + MemoryLayout<UnsafeRawPointer>.size,
              let run = host.pointee.run_soon else { return nil }
        runSoon = run
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let pending = Unmanaged.passRetained(Pending(UnownedJob(job), on: self)).toOpaque()
        runSoon({ raw in
            let pending = Unmanaged<Pending>.fromOpaque(raw!).takeRetainedValue()
            pending.job.runSynchronously(on: pending.executor.asUnownedTaskExecutor())
        }, pending)
    }

    /// One queued job and the executor it runs on, across the C callback.
    private final class Pending {
        let job: UnownedJob
        let executor: HostExecutor
        init(_ job: UnownedJob, on executor: HostExecutor) { self.job = job; self.executor = executor }
    }
}

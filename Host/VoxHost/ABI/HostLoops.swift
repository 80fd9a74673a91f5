import CVoxPlugin
import NIOCore
import NIOPosix

/// The host's event loops as places to run work (ABI 1.2 `run_soon`).
///
/// A request is served on one loop from the socket read to the response
/// write (`OnTheConnectionsLoop`); the plugin's task for it runs there too
/// when its executor is built on `run_soon` (VoxPluginKit's is), and its
/// outbound HTTP goes through the calling loop's own connection pool
/// (`HostHTTPService`), so the upstream answer lands on the same thread.
/// On a loop, `execute` only queues: no thread is woken between the steps.
enum HostLoops {
    static let group = MultiThreadedEventLoopGroup.singleton

    static func install(into api: inout vox_host_api) {
        api.run_soon = { fn, user in
            guard let fn else { return }
            nonisolated(unsafe) let user = user
            // any(): the calling thread's loop when it is one of the group's.
            HostLoops.group.any().execute { fn(user) }
        }
    }
}

/// A Swift `TaskExecutor` that runs jobs on one NIO event loop.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop
    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

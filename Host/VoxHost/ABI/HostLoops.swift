import CVoxPlugin
import NIOCore
import NIOPosix

/// The host's event loops as places to run work (ABI 1.2 `run_soon`).
///
/// A request is served on one loop from the socket read to the response
/// write (`OnTheConnectionsLoop`); the plugin's task for it runs there too
/// when its executor is built on `run_soon` (VoxPluginKit's is). The HTTP
/// client prefers an idle connection on the calling loop (AsyncHTTPClient's
/// `.indifferent` picks the current loop first), so the upstream answer
/// usually lands on the same thread. On a loop, `execute` only queues: no
/// thread is woken between the steps. (Forcing the connection onto the loop,
/// `.delegateAndChannel(on:)`, was tried and made the pool close and reopen
/// connections under concurrency: 25–35% less throughput at 8 clients.)
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

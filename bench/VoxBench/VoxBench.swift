import Foundation
import Logging
import VoxTestSupport

/// `make bench`: each benchmark measures voxd against a baseline in the same
/// run and prints the ratio (these machines are noisy; absolute times drift).
@main
struct VoxBench {
    static func main() async throws {
        let only = CommandLine.arguments.dropFirst().first
        // Measure off the main actor: a consumer on it costs 10–20 µs a chunk.
        try await Task.detached {
            if only == nil || only == "abi" { try await ABIBench.run() }
            if only == nil || only == "socket" { try await SocketBench.run() }
            if only == nil || only == "startup" { try await StartupBench.run() }
            if only == nil || only == "provider" { try await ProviderBench.run() }
            if only == "chat" { try await ProviderBench.run(speech: false) }
            if only == "speech" { try await ProviderBench.run(chat: false) }
            if only == nil || only == "router" { try await RouterBench.run() }
            if only == nil || only == "gateway" { try await GatewayBench.run() }
            if only == nil || only == "floor" { try await FloorBench.run() }
            if only == nil || only == "json" { JSONBench.run() }
            if only == "floor-relay" {
                let args = CommandLine.arguments
                try await FloorBench.serve(socket: args[2], upstream: args[3])
            }
            if only == "stream-profile" { try await GatewayBench.streamProfile() }
            if only == "load" { try await LoadClient.command(Array(CommandLine.arguments.dropFirst(2))) }
            if only == "gateway-profile" { try await GatewayBench.profile(concurrency: CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 8) }
        }.value
    }
}

enum Bench {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let binDir: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent
    }()

    static let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })

    static func tempDir(_ name: String) -> String {
        let p = NSTemporaryDirectory() + "voxbench-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: p)
        try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        ScratchDirs.removeAtExit(p)
        return p
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// The voxd process a benchmark started (0: none), whose CPU time
    /// `cpuSeconds` adds to this process's.
    nonisolated(unsafe) static var daemonPid: pid_t = 0

    /// User + system CPU time of this process (client and fake) and of the
    /// voxd it started, in seconds.
    static func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 + (daemonPid > 0 ? cpuSeconds(of: daemonPid) : 0)
    }

    /// CPU time of another process: the sum of its threads' run time in
    /// nanoseconds (/proc/PID/task/TID/schedstat), finer than stat's ticks.
    static func cpuSeconds(of pid: pid_t) -> Double {
        let dir = "/proc/\(pid)/task"
        let tids = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        var ns: UInt64 = 0
        for tid in tids {
            guard let s = try? String(contentsOfFile: "\(dir)/\(tid)/schedstat", encoding: .utf8),
                  let first = s.split(separator: " ").first, let v = UInt64(first) else { continue }
            ns += v
        }
        return Double(ns) / 1e9
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    static func line(_ s: String) { print(s); fflush(stdout) }
}

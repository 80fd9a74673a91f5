import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle
import VoxHost

/// GET /v1/health over the unix socket: voxd's API against a bare Hummingbird
/// server answering the same route on another socket, same process, same
/// client, alternating runs (target: voxd >= 80% of the bare server).
enum SocketBench {
    static func run() async throws {
        Bench.line("== socket API: GET /v1/health, voxd vs bare Hummingbird (target >= 80%)")
        let dir = Bench.tempDir("socket")
        var config = DaemonConfig()
        config.stateDir = dir
        config.socketPath = "\(dir)/voxd.sock"
        config.pluginsDir = "\(dir)/plugins.d"
        config.pluginsDirExplicit = true
        try FileManager.default.createDirectory(atPath: config.pluginsDir, withIntermediateDirectories: true)
        let daemon = try VoxDaemon(config: config, configFile: nil, logger: Bench.quiet, binaryDir: Bench.binDir)
        let voxd = try APIServer.application(daemon: daemon, services: [])

        let bareSocket = "\(dir)/bare.sock"
        let router = Router()
        router.get("/v1/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        let bare = Application(router: router, configuration: .init(address: .unixDomainSocket(path: bareSocket)), logger: Bench.quiet)

        let group = ServiceGroup(configuration: .init(services: [voxd, bare], gracefulShutdownSignals: [], logger: Bench.quiet))
        let running = Task { try await group.run() }
        defer { running.cancel() }
        for path in [config.socketPath, bareSocket] {
            for _ in 0..<200 where !FileManager.default.fileExists(atPath: path) { try await Task.sleep(nanoseconds: 10_000_000) }
        }

        var clientConfig = HTTPClient.Configuration()
        clientConfig.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfig)

        for concurrency in [1, 32] {
            var results: [String: [Stats]] = ["bare": [], "voxd": []]
            for round in 0..<4 {
                // Alternate which goes first, so drift hits both.
                let order = round % 2 == 0 ? [("bare", bareSocket), ("voxd", config.socketPath)] : [("voxd", config.socketPath), ("bare", bareSocket)]
                for (name, socket) in order {
                    results[name]!.append(try await load(client, socket: socket, concurrency: concurrency, seconds: 1.5))
                }
            }
            let b = Stats.merge(results["bare"]!), v = Stats.merge(results["voxd"]!)
            Bench.line(String(format: "concurrency %2d: voxd %7.0f req/s (p50 %5.0f us, p99 %5.0f us)   bare %7.0f req/s (p50 %5.0f us, p99 %5.0f us)   voxd/bare %.0f%%",
                              concurrency, v.rps, v.p50, v.p99, b.rps, b.p50, b.p99, 100 * v.rps / b.rps))
        }
        try await client.shutdown()
    }

    struct Stats {
        var requests: Int
        var seconds: Double
        var latencies: [Double]
        var rps: Double { Double(requests) / seconds }
        var p50: Double { Bench.percentile(latencies, 0.5) }
        var p99: Double { Bench.percentile(latencies, 0.99) }
        static func merge(_ s: [Stats]) -> Stats {
            Stats(requests: s.map(\.requests).reduce(0, +), seconds: s.map(\.seconds).reduce(0, +),
                  latencies: s.flatMap(\.latencies).sorted())
        }
    }

    /// `concurrency` clients loop for `seconds` (bounded), each request read whole.
    static func load(_ client: HTTPClient, socket: String, concurrency: Int, seconds: Double) async throws -> Stats {
        guard let url = URL(httpURLWithSocketPath: socket, uri: "/v1/health")?.absoluteString else { fatalError("bad socket path") }
        // Warm the connections.
        for _ in 0..<concurrency * 2 { _ = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5)).body.collect(upTo: 1 << 16) }
        let start = Bench.now()
        let deadline = start + UInt64(seconds * 1e9)
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var l: [Double] = []
                    while Bench.now() < deadline {
                        let t = Bench.now()
                        let r = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
                        _ = try await r.body.collect(upTo: 1 << 16)
                        precondition(r.status == .ok)
                        l.append(Double(Bench.now() - t) / 1000)
                    }
                    return l
                }
            }
            var all: [Double] = []
            for try await l in group { all += l }
            return all
        }
        return Stats(requests: latencies.count, seconds: Double(Bench.now() - start) / 1e9, latencies: latencies.sorted())
    }
}

import AsyncHTTPClient
import Foundation

/// Time from exec to a 200 from /v1/health, and the idle memory, of voxd with
/// the repo's plugins (LocalTTS, ExampleC) against voxd with none.
enum StartupBench {
    static func run() async throws {
        Bench.line("== start-up: exec to ready, and idle RSS")
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let empty = Bench.tempDir("noplugins")
        var rows: [String: [(ms: Double, rssKiB: Int)]] = ["none": [], "all": []]
        for _ in 0..<5 {
            rows["none"]!.append(try await start(client, pluginsDir: empty))
            rows["all"]!.append(try await start(client, pluginsDir: "\(Bench.root)/plugins.d"))
        }
        func median(_ a: [Double]) -> Double { a.sorted()[a.count / 2] }
        let none = (ms: median(rows["none"]!.map(\.ms)), rss: median(rows["none"]!.map { Double($0.rssKiB) }))
        let all = (ms: median(rows["all"]!.map(\.ms)), rss: median(rows["all"]!.map { Double($0.rssKiB) }))
        try await client.shutdown()
        Bench.line(String(format: "ready: all in-tree plugins %.0f ms, no plugins %.0f ms (ratio %.2fx); idle RSS %.1f MiB vs %.1f MiB (median of 5)",
                          all.ms, none.ms, all.ms / none.ms, all.rss / 1024, none.rss / 1024))
    }

    static func start(_ client: HTTPClient, pluginsDir: String) async throws -> (ms: Double, rssKiB: Int) {
        let state = Bench.tempDir("state")
        let socket = "\(state)/voxd.sock"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "\(Bench.binDir)/voxd")
        p.arguments = ["--plugins-dir", pluginsDir, "--state-dir", state, "--socket", socket, "--log-level", "error"]
        p.currentDirectoryURL = URL(fileURLWithPath: state)
        let t = Bench.now()
        try p.run()
        let url = URL(httpURLWithSocketPath: socket, uri: "/v1/health")!.absoluteString
        var ready = false
        while !ready, Bench.now() - t < 20_000_000_000 {
            if let r = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(1)), r.status == .ok { ready = true } else {
                try await Task.sleep(nanoseconds: 2_000_000)
            }
        }
        let ms = Double(Bench.now() - t) / 1e6
        try await Task.sleep(nanoseconds: 500_000_000)
        let status = (try? String(contentsOfFile: "/proc/\(p.processIdentifier)/status", encoding: .utf8)) ?? ""
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) } ?? 0
        p.terminate()
        p.waitUntilExit()
        precondition(ready, "voxd did not start")
        return (ms, rss)
    }
}

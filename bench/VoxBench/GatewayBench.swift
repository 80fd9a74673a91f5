import AsyncHTTPClient
import Foundation
import NIOCore
import VoxTestSupport

/// voxd against the LiteLLM proxy (PyPI `litellm[proxy]`), both in front of
/// the same loopback OpenAI fake, with the fake called directly as the
/// baseline; same client, targets in rotating order (voxd and LiteLLM each
/// in its own process, the fake and the client in this one):
/// - non-streaming chat at concurrency 1, 8, 32: throughput and the latency
///   each gateway adds at p50/p99 (targets: voxd's added p99 ≤ 1/20 of
///   LiteLLM's, its throughput ≥ 10× LiteLLM's);
/// - streamed chat time to the first content frame;
/// - /v1/audio/speech bytes/s.
/// LiteLLM runs as configured for production use: one uvicorn worker,
/// logging and telemetry off. Skipped (with a line saying so) when the
/// `litellm` command is not installed.
enum GatewayBench {
    struct Target {
        var name: String
        var chatURL: String
        var speechURL: String
        var model: String
        var ttsModel: String
    }

    static func run() async throws {
        Bench.line("== gateway: direct vs voxd vs LiteLLM proxy, same loopback OpenAI fake (targets: voxd added p99 <= 1/20 of LiteLLM's, throughput >= 10x)")
        guard let litellm = which("litellm") else {
            Bench.line("litellm is not installed (make bench-deps, or python3 -m pip install -r bench/requirements.txt): skipped")
            return
        }
        let fake = try await OpenAIFake.start()
        let voxd = try await ProviderBench.startDaemon(fake: fake)
        let port = try freePort()
        let dir = Bench.tempDir("litellm")
        let cfg = "\(dir)/config.yaml"
        try """
        model_list:
          - model_name: gpt-4o-mini
            litellm_params: {model: openai/gpt-4o-mini, api_base: "\(fake.baseURL)", api_key: "\(OpenAIFake.defaultAPIKey)"}
          - model_name: gpt-4o-mini-tts
            litellm_params: {model: openai/gpt-4o-mini-tts, api_base: "\(fake.baseURL)", api_key: "\(OpenAIFake.defaultAPIKey)"}
        litellm_settings: {turn_off_message_logging: true, telemetry: false, drop_params: true}
        general_settings: {disable_spend_logs: true}
        """.write(toFile: cfg, atomically: true, encoding: .utf8)
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: litellm)
        proc.arguments = ["--config", cfg, "--host", "127.0.0.1", "--port", String(port), "--num_workers", "1"]
        var env = ProcessInfo.processInfo.environment
        env["LITELLM_LOG"] = "ERROR"
        env["LITELLM_TELEMETRY"] = "False"
        // Offline: the bundled cost map, not a download at start-up.
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        // LiteLLM refuses to start without one; clients send it as their bearer key
        // (the same header every target gets from ProviderBench.request).
        env["LITELLM_MASTER_KEY"] = OpenAIFake.defaultAPIKey
        proc.environment = env
        _ = FileManager.default.createFile(atPath: "\(dir)/litellm.log", contents: nil)
        let log = FileHandle(forWritingAtPath: "\(dir)/litellm.log")
        proc.standardOutput = log
        proc.standardError = log
        try proc.run()
        defer { stop(proc) }

        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
        let lite = "http://127.0.0.1:\(port)"
        var up = false
        for _ in 0..<600 { // LiteLLM imports a lot: up to 60 s
            if let r = try? await client.execute(HTTPClientRequest(url: "\(lite)/health/liveliness"), timeout: .seconds(2)), r.status == .ok { up = true; break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        guard up else {
            Bench.line("LiteLLM did not come up in 60 s; its log: \(dir)/litellm.log")
            try await client.shutdown()
            await voxd.stop(); await fake.stop()
            return
        }

        let targets = [
            Target(name: "direct", chatURL: "\(fake.baseURL)/chat/completions", speechURL: "\(fake.baseURL)/audio/speech", model: "gpt-4o-mini", ttsModel: "gpt-4o-mini-tts"),
            Target(name: "voxd", chatURL: voxd.url("/v1/chat/completions"), speechURL: voxd.url("/v1/audio/speech"), model: "openai/gpt-4o-mini", ttsModel: "openai/gpt-4o-mini-tts"),
            Target(name: "litellm", chatURL: "\(lite)/v1/chat/completions", speechURL: "\(lite)/v1/audio/speech", model: "gpt-4o-mini", ttsModel: "gpt-4o-mini-tts"),
        ]
        // Warm up every path (connections, LiteLLM's first-call imports).
        for t in targets { for _ in 0..<5 { _ = try await chatOnce(client, t) } }

        // Each concurrency runs in five rounds, the targets in a rotating
        // order within each, and the latencies of a target are pooled: a
        // burst of load from elsewhere on the machine then lands on every
        // target's samples instead of on one target's whole block.
        // At one client 3,000 requests a target (LiteLLM stops at the
        // time cap first): a p99 rests on its 30 slowest, not 10.
        let rounds = 5
        for concurrency in [1, 8, 32] {
            var samples: [String: (latencies: [Double], wall: Double)] = [:]
            for round in 0..<rounds {
                for t in rotate(targets, concurrency + round) {
                    let r = try await load(t, concurrency: concurrency, requests: (concurrency == 1 ? 3000 : 80 * concurrency) / rounds,
                                           seconds: 20 / Double(rounds))
                    samples[t.name, default: ([], 0)].latencies += r.latencies
                    samples[t.name, default: ([], 0)].wall += r.wall
                }
            }
            var stats: [String: (rps: Double, p50: Double, p99: Double)] = [:]
            for (name, s) in samples {
                let sorted = s.latencies.sorted()
                stats[name] = (Double(sorted.count) / s.wall, Bench.percentile(sorted, 0.5), Bench.percentile(sorted, 0.99))
            }
            let d = stats["direct"]!, v = stats["voxd"]!, l = stats["litellm"]!
            Bench.line(String(format: "chat c=%d: req/s direct %.0f, voxd %.0f, litellm %.0f (voxd %.1fx litellm); p50 ms %.2f / %.2f / %.2f; p99 ms %.2f / %.2f / %.2f",
                              concurrency, d.rps, v.rps, l.rps, v.rps / l.rps, d.p50 * 1e3, v.p50 * 1e3, l.p50 * 1e3, d.p99 * 1e3, v.p99 * 1e3, l.p99 * 1e3))
            let vAdd99 = max(0, v.p99 - d.p99), lAdd99 = max(0, l.p99 - d.p99)
            // When the direct run's own tail is the longer one the ratio means nothing: say so.
            let ratio = vAdd99 < 1e-5 ? "voxd's p99 is under direct's in this run (no ratio)" : String(format: "voxd's added p99 = 1/%.0f of litellm's", lAdd99 / vAdd99)
            Bench.line(String(format: "  added by the gateway: voxd p50 %.2f ms p99 %.2f ms; litellm p50 %.2f ms p99 %.2f ms; ",
                              (v.p50 - d.p50) * 1e3, vAdd99 * 1e3, (l.p50 - d.p50) * 1e3, lAdd99 * 1e3) + ratio)
        }

        fake.chatReply = "word0 word1 word2 word3 word4" // ProviderBench.chat times the first "word"
        var ttfb: [String: [Double]] = [:]
        for round in 0..<30 {
            for t in rotate(targets, round) {
                let (first, _, _) = try await ProviderBench.chat(client, url: t.chatURL, body: #"{"model":"\#(t.model)","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
                if round > 2 { ttfb[t.name, default: []].append(first) }
            }
        }
        Bench.line(String(format: "streamed chat TTFB median: direct %.2f ms, voxd %.2f ms, litellm %.2f ms",
                          ProviderBench.median(ttfb["direct"]!) * 1e3, ProviderBench.median(ttfb["voxd"]!) * 1e3, ProviderBench.median(ttfb["litellm"]!) * 1e3))

        let input = String(repeating: "a", count: 4000)
        var rates: [String: [Double]] = [:]
        for round in 0..<5 {
            for t in rotate(targets, round) {
                let body = #"{"model":"\#(t.ttsModel)","voice":"alloy","response_format":"pcm","input":"\#(input)"}"#
                let (bytes, seconds) = try await ProviderBench.download(client, url: t.speechURL, body: body)
                if round > 0, bytes > 1_000_000 { rates[t.name, default: []].append(Double(bytes) / seconds) }
            }
        }
        func mbps(_ n: String) -> Double { rates[n].map { ProviderBench.median($0) / 1e6 } ?? 0 }
        Bench.line(String(format: "speech bytes/s: direct %.1f MB/s, voxd %.1f MB/s, litellm %.1f MB/s", mbps("direct"), mbps("voxd"), mbps("litellm")))

        try await client.shutdown()
        await voxd.stop()
        await fake.stop()
    }

    /// `VoxBench gateway-profile [concurrency]`: only voxd's non-streaming
    /// chat (default concurrency 8) for 20 s, after 5 s of direct — a steady
    /// load to attach `perf record -p` or `perf stat -p` to (no LiteLLM).
    static func profile(concurrency: Int) async throws {
        let fake = try await OpenAIFake.start()
        let voxd = try await ProviderBench.startDaemon(fake: fake)
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
        let direct = Target(name: "direct", chatURL: "\(fake.baseURL)/chat/completions", speechURL: "", model: "gpt-4o-mini", ttsModel: "")
        let viaVoxd = Target(name: "voxd", chatURL: voxd.url("/v1/chat/completions"), speechURL: "", model: "openai/gpt-4o-mini", ttsModel: "")
        for t in [direct, viaVoxd] { for _ in 0..<20 { _ = try await chatOnce(client, t) } }
        Bench.line("pid \(getpid()): direct c=\(concurrency) for 5 s now")
        let d = try await load(direct, concurrency: concurrency, requests: 400_000, seconds: 5)
        let dRate = Double(d.latencies.count) / d.wall
        let dSorted = d.latencies.sorted()
        Bench.line(String(format: "direct c=%d: %.0f req/s, p50 %.2f ms; voxd for 20 s now", concurrency, dRate, Bench.percentile(dSorted, 0.5) * 1e3))
        let v = try await load(viaVoxd, concurrency: concurrency, requests: 2_000_000, seconds: 20)
        let vRate = Double(v.latencies.count) / v.wall
        let vSorted = v.latencies.sorted()
        Bench.line(String(format: "voxd c=%d: %.0f req/s (%.2f of direct), p50 %.2f ms, p99 %.2f ms (direct p99 %.2f ms)", concurrency, vRate, vRate / dRate,
                          Bench.percentile(vSorted, 0.5) * 1e3, Bench.percentile(vSorted, 0.99) * 1e3,
                          Bench.percentile(dSorted, 0.99) * 1e3))
        try await client.shutdown()
        await voxd.stop()
        await fake.stop()
    }

    /// `VoxBench stream-profile`: streamed chats with a short reply, one at
    /// a time, direct for 5 s and then through voxd for 20 s — the provider
    /// bench's time-to-first-frame case held steady for `perf`/`strace -p`.
    static func streamProfile() async throws {
        let fake = try await OpenAIFake.start()
        fake.chatReply = "word0 word1 word2 word3 word4"
        let voxd = try await ProviderBench.startDaemon(fake: fake)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let body = #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
        let targets = [("direct", "\(fake.baseURL)/chat/completions", body),
                       ("voxd", voxd.url("/v1/chat/completions"), body.replacingOccurrences(of: "gpt-4o-mini", with: "openai/gpt-4o-mini"))]
        for (name, url, body) in targets {
            for _ in 0..<20 { _ = try await ProviderBench.chat(client, url: url, body: body) }
            Bench.line("pid \(getpid()): \(name) streamed chats for \(name == "direct" ? 5 : 20) s now")
            let end = Bench.now() + (name == "direct" ? 5 : 20) * 1_000_000_000
            var firsts: [Double] = []
            while Bench.now() < end, firsts.count < 1_000_000 { firsts.append(try await ProviderBench.chat(client, url: url, body: body).0) }
            firsts.sort()
            Bench.line(String(format: "%@: %d streams, first frame p50 %.2f ms p99 %.2f ms", name, firsts.count,
                              Bench.percentile(firsts, 0.5) * 1e3, Bench.percentile(firsts, 0.99) * 1e3))
        }
        try await client.shutdown()
        await voxd.stop()
        await fake.stop()
    }

    /// Ends LiteLLM: SIGTERM to it and its process group, up to 5 s to
    /// exit, then SIGKILL. Process.terminate() alone left uvicorn running
    /// after the run (three were found orphaned, loading the next runs).
    static func stop(_ proc: Process) {
        let pid = proc.processIdentifier
        guard pid > 0 else { return }
        func alive() -> Bool {
            guard kill(pid, 0) == 0 else { return false }
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return !(stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? false)
        }
        kill(-pid, SIGTERM)
        kill(pid, SIGTERM)
        for _ in 0..<50 where alive() { usleep(100_000) }
        if alive() {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
    }

    static func rotate(_ ts: [Target], _ k: Int) -> [Target] {
        let s = k % ts.count
        return Array(ts[s...] + ts[..<s])
    }

    static func chatOnce(_ client: HTTPClient, _ t: Target) async throws -> Double {
        let started = Bench.now()
        let r = try await client.execute(ProviderBench.request(t.chatURL, #"{"model":"\#(t.model)","messages":[{"role":"user","content":"hi"}]}"#), timeout: .seconds(30))
        guard r.status == .ok else { throw BenchError("\(t.name): HTTP \(r.status.code)") }
        _ = try await r.body.collect(upTo: 1 << 20)
        return Double(Bench.now() - started) / 1e9
    }

    /// `requests` non-streaming chats over `concurrency` connections,
    /// stopping early after `seconds`, sent by `LoadClient` (see there for
    /// why not AsyncHTTPClient): each request's latency and the wall time.
    static func load(_ t: Target, concurrency: Int, requests: Int, seconds: Double) async throws -> (latencies: [Double], wall: Double) {
        let request = try LoadClient.Request(post: t.chatURL, json: #"{"model":"\#(t.model)","messages":[{"role":"user","content":"hi"}]}"#,
                                             bearer: OpenAIFake.defaultAPIKey)
        return try await LoadClient.run(request, concurrency: concurrency, requests: requests, seconds: seconds)
    }

    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw BenchError("no free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ s: String) { description = s }
}

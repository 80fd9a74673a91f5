import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VoxTestSupport

/// A remote provider through voxd against the same loopback fake called
/// directly (the fake in this process, voxd in its own), same client,
/// alternating runs:
/// - streamed chat: added time to the first content frame (target < 1 ms
///   median) and throughput on a 1,000-chunk stream (target ≤ 5% loss);
/// - /v1/audio/speech PCM passthrough bytes/s (target ≥ 90% of direct).
enum ProviderBench {
    static func run(chat runChat: Bool = true, speech runSpeech: Bool = true) async throws {
        Bench.line("== remote provider (OpenAI plugin + loopback fake): through voxd vs direct")
        let fake = try await OpenAIFake.start()
        fake.script("/v1/chat/completions", .slowStream(chunks: 1000, intervalMs: 0))
        let voxd = try await startDaemon(fake: fake)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let viaVoxd = voxd.url("/v1/chat/completions")
        let direct = "\(fake.baseURL)/chat/completions"
        let chatBody = #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"count"}]}"#
        let voxdChatBody = chatBody.replacingOccurrences(of: "gpt-4o-mini", with: "openai/gpt-4o-mini")

        if runChat {
        /// One streamed chat to `name` ("direct" or "voxd").
        func chatWith(_ name: String) async throws -> (Double, Double, Int) {
            try await chat(client, url: name == "direct" ? direct : viaVoxd, body: name == "direct" ? chatBody : voxdChatBody)
        }
        var ttfb: [String: [Double]] = ["direct": [], "voxd": []]
        var total: [String: [Double]] = ["direct": [], "voxd": []]
        var cpu: [String: [Double]] = ["direct": [], "voxd": []]
        for round in 0..<20 {
            let order = round % 2 == 0 ? ["direct", "voxd"] : ["voxd", "direct"]
            for name in order {
                let cpuBefore = Bench.cpuSeconds()
                let (first, all, frames) = try await chatWith(name)
                precondition(frames >= 1000, "\(name): \(frames) frames")
                if round > 1 { // two warm-up rounds
                    ttfb[name]!.append(first); total[name]!.append(all); cpu[name]!.append(Bench.cpuSeconds() - cpuBefore)
                }
            }
        }
        // TTFB on a short reply (the fake's 5 fragments), where nothing else
        // competes for the two cores while the first frame travels.
        fake.script("/v1/chat/completions", .normal)
        fake.chatReply = "word0 word1 word2 word3 word4"
        ttfb = ["direct": [], "voxd": []]
        for round in 0..<42 {
            for name in round % 2 == 0 ? ["direct", "voxd"] : ["voxd", "direct"] {
                let (first, _, _) = try await chatWith(name)
                if round > 1 { ttfb[name]!.append(first) }
            }
        }
        // The same, back to back: runs of 30 per target, alternating, the
        // first 5 of each run dropped. Above, every request finds the
        // target's threads idle since its last turn (a cold wake-up per hop,
        // and voxd adds two hops); here both are measured as a busy client
        // sees them. Both are printed.
        var warm: [String: [Double]] = ["direct": [], "voxd": []]
        for run in 0..<12 {
            let name = run % 2 == 0 ? "direct" : "voxd"
            for k in 0..<30 {
                let (first, _, _) = try await chatWith(name)
                if k >= 5 { warm[name]!.append(first) }
            }
        }
        let addedTTFB = median(ttfb["voxd"]!) - median(ttfb["direct"]!)
        let throughput = median(total["direct"]!) / median(total["voxd"]!)
        Bench.line(String(format: "chat TTFB (short reply), alternating each request: voxd %.2f ms, direct %.2f ms, added %.2f ms (median of 40)", median(ttfb["voxd"]!) * 1000,
                          median(ttfb["direct"]!) * 1000, addedTTFB * 1000))
        Bench.line(String(format: "chat TTFB (short reply), back to back: voxd %.2f ms, direct %.2f ms, added %.2f ms (median of 150 each, runs of 30)",
                          median(warm["voxd"]!) * 1000, median(warm["direct"]!) * 1000, (median(warm["voxd"]!) - median(warm["direct"]!)) * 1000))
        Bench.line(String(format: "chat 1,000-chunk stream, unpaced (CPU-bound: fake, voxd and client share 2 cores): voxd %.1f ms, direct %.1f ms: %.0f%% of direct (%.1f us added per chunk)",
                          median(total["voxd"]!) * 1000, median(total["direct"]!) * 1000, throughput * 100,
                          (median(total["voxd"]!) - median(total["direct"]!)) / 1000 * 1e6))
        // CPU time of the whole process (fake, client and voxd) per stream:
        // steadier than wall time on a shared machine, and the cost voxd adds.
        Bench.line(String(format: "chat 1,000-chunk stream, CPU per stream: voxd %.1f ms, direct %.1f ms (%.1f us CPU added per chunk)",
                          median(cpu["voxd"]!) * 1000, median(cpu["direct"]!) * 1000,
                          (median(cpu["voxd"]!) - median(cpu["direct"]!)) / 1000 * 1e6))
        // The same 1,000 chunks paced like a provider streaming fast (one
        // chunk per millisecond, ~10x a fast LLM's token rate): the
        // throughput a client sees through voxd versus direct.
        fake.script("/v1/chat/completions", .slowStream(chunks: 1000, intervalMs: 1))
        total = ["direct": [], "voxd": []]
        for round in 0..<8 {
            for name in round % 2 == 0 ? ["direct", "voxd"] : ["voxd", "direct"] {
                let (_, all, frames) = try await chat(client, url: name == "direct" ? direct : viaVoxd,
                                                      body: name == "direct" ? chatBody : voxdChatBody)
                precondition(frames >= 1000, "\(name): \(frames) frames")
                if round > 1 { total[name]!.append(all) }
            }
        }
        let paced = median(total["direct"]!) / median(total["voxd"]!)
        Bench.line(String(format: "chat 1,000-chunk stream paced at 1 ms/chunk: voxd %.1f ms, direct %.1f ms: %.1f%% of direct throughput (median of 6)",
                          median(total["voxd"]!) * 1000, median(total["direct"]!) * 1000, paced * 100))
        }

        // Speech: 4,000 characters → 9.6 MB of 24 kHz PCM from the fake.
        if runSpeech {
        let input = String(repeating: "a", count: 4000)
        let speechDirect = "\(fake.baseURL)/audio/speech"
        let speechVoxd = voxd.url("/v1/audio/speech")
        var rates: [String: [Double]] = ["direct": [], "voxd": []]
        var cpu: [String: [Double]] = ["direct": [], "voxd": []]
        for round in 0..<8 {
            for name in round % 2 == 0 ? ["direct", "voxd"] : ["voxd", "direct"] {
                let body = name == "direct"
                    ? #"{"model":"gpt-4o-mini-tts","voice":"alloy","response_format":"pcm","input":"\#(input)"}"#
                    : #"{"model":"openai/gpt-4o-mini-tts","voice":"alloy","response_format":"pcm","input":"\#(input)"}"#
                let cpuBefore = Bench.cpuSeconds()
                let (bytes, seconds) = try await download(client, url: name == "direct" ? speechDirect : speechVoxd, body: body)
                precondition(bytes > 9_000_000)
                if round > 0 { rates[name]!.append(Double(bytes) / seconds); cpu[name]!.append(Bench.cpuSeconds() - cpuBefore) }
            }
        }
        let v = median(rates["voxd"]!), dr = median(rates["direct"]!)
        Bench.line(String(format: "speech passthrough: voxd %.0f MB/s, direct %.0f MB/s: %.0f%% of direct (median of 7)", v / 1e6, dr / 1e6, 100 * v / dr))
        Bench.line(String(format: "speech passthrough, CPU per 9.6 MB: voxd %.1f ms, direct %.1f ms", median(cpu["voxd"]!) * 1000, median(cpu["direct"]!) * 1000))
        }

        try await client.shutdown()
        await voxd.stop()
        await fake.stop()
    }

    /// The real voxd binary, started like an admin would start it, on a temp
    /// socket with the OpenAI plugin pointed at `fake` — its own process, as
    /// LiteLLM is, so the comparison measures the daemon users run and voxd
    /// does not share this process's event loops with the client and fake.
    struct RunningDaemon {
        let socketPath: String
        let process: Process
        func url(_ path: String) -> String { URL(httpURLWithSocketPath: socketPath, uri: path)!.absoluteString }
        func stop() async {
            Bench.daemonPid = 0
            process.terminate()
            process.waitUntilExit()
        }
    }

    static func startDaemon(fake: OpenAIFake) async throws -> RunningDaemon {
        setenv("VOXD_BENCH_OPENAI_KEY", OpenAIFake.defaultAPIKey, 1)
        let dir = Bench.tempDir("provider")
        let pluginsDir = "\(dir)/plugins.d"
        try FileManager.default.createDirectory(atPath: pluginsDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        _ = FileManager.default.createFile(atPath: "\(pluginsDir)/openai.toml", contents: Data("""
            library = "libvox_openai.so"
            [settings]
            base_url = "\(fake.baseURL)"
            [secrets]
            api_key = "env:VOXD_BENCH_OPENAI_KEY"
            """.utf8))
        // An empty config file: the embedded defaults, whatever etc/ holds
        // (VOXBENCH_VOXD_TOML, when set, is its text: to compare settings).
        _ = FileManager.default.createFile(atPath: "\(dir)/voxd.toml", contents: Data((ProcessInfo.processInfo.environment["VOXBENCH_VOXD_TOML"] ?? "").utf8))
        let socket = "\(dir)/voxd.sock"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "\(Bench.binDir)/voxd")
        p.arguments = ["--config", "\(dir)/voxd.toml", "--socket", socket, "--state-dir", dir,
                       "--plugins-dir", pluginsDir, "--log-level", "error"]
        try p.run()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        // Ready when the socket answers and the plugin is loaded.
        var ready = false
        for _ in 0..<500 where !ready && p.isRunning {
            if FileManager.default.fileExists(atPath: socket),
               let r = try? await client.execute(HTTPClientRequest(url: URL(httpURLWithSocketPath: socket, uri: "/v1/models")!.absoluteString), timeout: .seconds(5)),
               r.status == .ok, let body = try? await r.body.collect(upTo: 1 << 20), String(buffer: body).contains("openai/") {
                ready = true
            } else {
                try await Task.sleep(nanoseconds: 20_000_000)
            }
        }
        try await client.shutdown()
        if ready {
            Bench.daemonPid = p.processIdentifier
            return RunningDaemon(socketPath: socket, process: p)
        }
        guard p.isRunning else { throw BenchError("voxd exited with status \(p.terminationStatus)") }
        p.terminate()
        throw BenchError("voxd did not come up on \(socket) with the openai plugin within 10 s")
    }

    static func median(_ a: [Double]) -> Double { a.sorted()[a.count / 2] }

    static func request(_ url: String, _ body: String) -> HTTPClientRequest {
        var r = HTTPClientRequest(url: url)
        r.method = .POST
        r.headers.add(name: "Content-Type", value: "application/json")
        r.headers.add(name: "Authorization", value: "Bearer \(OpenAIFake.defaultAPIKey)")
        r.body = .bytes(ByteBuffer(string: body))
        return r
    }

    /// Seconds to the first content frame, seconds to the end, content frames
    /// seen (each carries one "word…" from the fake). A byte scan, so the
    /// client costs the same however the frames are split into reads.
    static func chat(_ client: HTTPClient, url: String, body: String) async throws -> (Double, Double, Int) {
        let t = Bench.now()
        let response = try await client.execute(request(url, body), timeout: .seconds(30))
        precondition(response.status == .ok, "\(url): \(response.status)")
        let needle = Array("word".utf8)
        var first: Double?
        var frames = 0
        var matched = 0 // bytes of `needle` matched so far, across reads
        for try await chunk in response.body {
            chunk.withUnsafeReadableBytes { bytes in
                for byte in bytes {
                    if byte == needle[matched] {
                        matched += 1
                        if matched == needle.count {
                            frames += 1
                            matched = 0
                            if first == nil { first = Double(Bench.now() - t) / 1e9 }
                        }
                    } else {
                        matched = byte == needle[0] ? 1 : 0
                    }
                }
            }
        }
        return (first ?? 0, Double(Bench.now() - t) / 1e9, frames)
    }

    static func download(_ client: HTTPClient, url: String, body: String) async throws -> (Int, Double) {
        let t = Bench.now()
        let response = try await client.execute(request(url, body), timeout: .seconds(60))
        precondition(response.status == .ok, "\(url): \(response.status)")
        var n = 0
        for try await chunk in response.body { n += chunk.readableBytes }
        return (n, Double(Bench.now() - t) / 1e9)
    }
}

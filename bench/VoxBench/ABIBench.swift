import CVoxPlugin
import Foundation
import VoxHost
import VoxPluginKit

/// The cost of the C ABI: a trivial call through the vtable against a direct
/// Swift call, and one streamed chunk through the bridge (C plugin thread →
/// op_audio → HostOperation → async consumer) against the same producer and
/// consumer joined by an AsyncThrowingStream in pure Swift.
enum ABIBench {
    /// The same work as a Swift-native provider called directly: a dynamic
    /// call (the host holds providers as existentials) reading a stored string.
    /// (`salt` keeps the optimiser from hoisting the call out of the loop.)
    protocol CapabilitiesSource: AnyObject { func capabilitiesLength(_ salt: Int) -> Int }
    final class DirectProvider: CapabilitiesSource {
        var caps = Array("{\"operations\":{}}".utf8)
        @inline(never) func capabilitiesLength(_ salt: Int) -> Int { caps.count ^ (salt & 1) }
    }

    static func run() async throws {
        Bench.line("== C-ABI call cost (target: within 2x of direct, < 1 us per chunk)")
        let dir = Bench.tempDir("abi")
        let lib = "\(dir)/libbench_plugin.so"
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        cc.arguments = ["-std=c11", "-O2", "-shared", "-fPIC", "-I", "\(Bench.root)/PluginSDK/CVoxPlugin/include",
                        "\(Bench.root)/bench/bench_plugin.c", "-o", lib, "-lpthread"]
        try cc.run()
        cc.waitUntilExit()
        _ = FileManager.default.createFile(atPath: "\(dir)/bench_plugin.toml", contents: Data("library = \"\(lib)\"\n".utf8))
        var config = DaemonConfig()
        config.stateDir = "\(dir)/state"
        config.pluginsDir = dir
        config.pluginsDirExplicit = true
        let registry = PluginRegistry(daemon: config, logger: Bench.quiet, binaryDir: Bench.binDir)
        let report = try await registry.reload()
        guard let instance = await registry.entry("bench_plugin")?.instance else { fatalError("bench plugin failed: \(report.failed)") }

        // 1. A no-op call.
        let calls = 20_000_000
        // Chosen at run time so the optimiser cannot see through the call.
        let direct: any CapabilitiesSource = [DirectProvider(), DirectProvider()][Int(Bench.now() & 1)]
        var sink = 0
        var best = (abi: Double.infinity, direct: Double.infinity)
        for _ in 0..<3 {
            var t = Bench.now()
            for i in 0..<calls { sink &+= direct.capabilitiesLength(i) }
            best.direct = min(best.direct, Double(Bench.now() - t) / Double(calls))
            t = Bench.now()
            for _ in 0..<calls { sink &+= instance.ping() }
            best.abi = min(best.abi, Double(Bench.now() - t) / Double(calls))
        }
        Bench.line(String(format: "no-op call:      ABI %.2f ns   direct Swift %.2f ns   ratio %.2fx   (%d calls, best of 3)%@",
                          best.abi, best.direct, best.abi / best.direct, calls, sink == 42 ? " " : ""))

        // 2. Streamed chunks.
        let chunks = 200_000, bytes = 640
        var bridge = Double.infinity, baseline = Double.infinity
        for _ in 0..<3 {
            baseline = min(baseline, try await swiftStream(chunks: chunks, bytes: bytes))
            bridge = min(bridge, try await abiStream(instance, chunks: chunks, bytes: bytes))
        }
        Bench.line(String(format: "streamed chunk:  ABI %.0f ns   Swift AsyncThrowingStream %.0f ns   ratio %.2fx   (%d chunks of %d B, best of 3)",
                          bridge, baseline, bridge / baseline, chunks, bytes))
        await registry.shutdown()
    }

    /// ns per chunk through the plugin ABI.
    static func abiStream(_ instance: PluginInstance, chunks: Int, bytes: Int) async throws -> Double {
        let t = Bench.now()
        let op = try instance.start(VOX_OP_TTS_SYNTHESIZE, request: "{\"chunks\":\(chunks),\"bytes\":\(bytes)}", bufferBytes: 256 << 10, timeout: 600)
        var n = 0
        while let out = try await op.next() { if case .audio(_, let b) = out { n += b.count } }
        precondition(n == chunks * bytes)
        return Double(Bench.now() - t) / Double(chunks)
    }

    /// ns per chunk: a producer thread copying the same chunk into an
    /// AsyncThrowingStream, the same async consumer.
    static func swiftStream(chunks: Int, bytes: Int) async throws -> Double {
        let t = Bench.now()
        let (stream, continuation) = AsyncThrowingStream<[UInt8], Error>.makeStream()
        let source = [UInt8](repeating: 0, count: bytes)
        let producer = Thread {
            for _ in 0..<chunks {
                _ = source.withUnsafeBufferPointer { continuation.yield(Array($0)) }
            }
            continuation.finish()
        }
        producer.start()
        var n = 0
        for try await b in stream { n += b.count }
        precondition(n == chunks * bytes)
        return Double(Bench.now() - t) / Double(chunks)
    }
}

import Foundation
import VoxHost
import VoxPluginKit

/// The router's decision on the explain path — `router.plan` then
/// `router.explain`, the code behind GET /v1/route/explain without the HTTP —
/// with 20 chat providers registered, against the same decision with 1
/// provider registered, in the same run (target: median < 20 µs).
///
/// A request's shape (kind, model, language, format, rate, stream) is
/// resolved to targets once per change of the plugins or the discovered
/// models (VoxRouter's compiled routes); every decision still reads each
/// candidate's health, applies the per-call limits, orders by policy and
/// renders the explanation. The first decision of a shape is printed too.
///
/// The providers go through the real loader: bench/route_plugin.c compiled
/// once per name. One .so cannot be registered under several names: the
/// loader requires a library's descriptor name to match its plugins.d file
/// (PluginImage.validate), and the in-tree plugins carry fixed names.
/// The request: chat, model "bench-chat" (which every provider offers), a
/// language, streaming: every provider is matched, checked against each
/// constraint, priced, ordered by policy and explained.
enum RouterBench {
    static func run() async throws {
        Bench.line("== router decision, explain path (plan + explain, no HTTP): 20 providers vs 1 (target: median < 20 us)")
        let dir = Bench.tempDir("router")
        let many = try await daemon(providers: 20, dir: "\(dir)/many")
        let one = try await daemon(providers: 1, dir: "\(dir)/one")
        let request = RouteRequest(operation: .llmChat, model: "bench-chat", language: "en", stream: true)
        for policy in ["priority", "price"] {
            let many = policy == "priority" ? many : try await daemon(providers: 20, dir: "\(dir)/many-\(policy)", policy: policy)
            let one = policy == "priority" ? one : try await daemon(providers: 1, dir: "\(dir)/one-\(policy)", policy: policy)
            // Sanity: the decision is the one meant.
            let plan = try await many.router.plan(request, daemon: many, offline: true)
            precondition(plan.candidates.count == 20, "20 candidates, not \(plan.candidates.count)")
            let single = try await one.router.plan(request, daemon: one, offline: true)
            precondition(single.candidates.count == 1)
            // Whole (plan + explain) and the plan alone (the decision without
            // its JSON rendering), in alternating rounds.
            var times: [String: [Double]] = ["20": [], "1": [], "20 plan": [], "1 plan": []]
            times.keys.forEach { times[$0]!.reserveCapacity(20_000) }
            for round in 0..<40 {
                for name in round % 2 == 0 ? ["20", "1"] : ["1", "20"] {
                    let d = name == "20" ? many : one
                    for i in 0..<500 {
                        let t = Bench.now()
                        let plan = try await d.router.plan(request, daemon: d, offline: true)
                        let planned = Bench.now()
                        let explained = await d.router.explain(plan, daemon: d)
                        let end = Bench.now()
                        if explained.count < 100 { fatalError("no explanation") }
                        if round > 1 { // the first rounds warm up
                            times[name]!.append(Double(end - t) / 1000)
                            times[name + " plan"]!.append(Double(planned - t) / 1000)
                        }
                        _ = i
                    }
                }
            }
            // The first request of a shape (or the first after a reload or
            // a discovery): the model resolved and every provider checked
            // against the constraints, not taken from the compiled routes.
            var cold: [Double] = []
            for _ in 0..<2_000 {
                many.router.forgetCompiledRoutes()
                let t = Bench.now()
                let plan = try await many.router.plan(request, daemon: many, offline: true)
                let explained = await many.router.explain(plan, daemon: many)
                cold.append(Double(Bench.now() - t) / 1000)
                if explained.count < 100 { fatalError("no explanation") }
            }
            cold.sort()
            func stats(_ k: String) -> (Double, Double) { let s = times[k]!.sorted(); return (Bench.percentile(s, 0.5), Bench.percentile(s, 0.99)) }
            let (m20, p20) = stats("20"), (m1, p1) = stats("1"), (pm20, pp20) = stats("20 plan"), (pm1, _) = stats("1 plan")
            Bench.line(String(format: "%@ policy: 20 providers median %.2f us p99 %.2f us; 1 provider median %.2f us p99 %.2f us; ratio %.2fx (%d decisions each)%@",
                              policy, m20, p20, m1, p1, m20 / m1, times["20"]!.count, m20 < 20 ? "" : "  ABOVE TARGET"))
            Bench.line(String(format: "  of which plan alone (no explain JSON): 20 providers median %.2f us p99 %.2f us; 1 provider median %.2f us; ratio %.2fx",
                              pm20, pp20, pm1, pm20 / pm1))
            Bench.line(String(format: "  first decision of a shape (compiled routes forgotten each time): 20 providers median %.2f us p99 %.2f us",
                              Bench.percentile(cold, 0.5), Bench.percentile(cold, 0.99)))
            if policy != "priority" { await many.registry.shutdown(); await one.registry.shutdown() }
        }
        await many.registry.shutdown()
        await one.registry.shutdown()
    }

    /// A daemon (no socket) with `providers` route plugins loaded, route01…
    static func daemon(providers: Int, dir: String, policy: String = "priority") async throws -> VoxDaemon {
        let plugins = "\(dir)/plugins.d"
        for d in [plugins, "\(dir)/state"] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        for k in 1...providers {
            let name = String(format: "route%02d", k)
            let lib = try compile(name: name, rank: k, into: libs)
            _ = FileManager.default.createFile(atPath: "\(plugins)/\(name).toml", contents: Data("library = \"\(lib)\"\n".utf8))
        }
        var config = DaemonConfig()
        config.stateDir = "\(dir)/state"
        config.pluginsDir = plugins
        config.pluginsDirExplicit = true
        config.router.policy = RoutePolicy(rawValue: policy)!
        let daemon = try VoxDaemon(config: config, configFile: nil, logger: Bench.quiet, binaryDir: Bench.binDir)
        let report = try await daemon.registry.reload()
        guard report.failed.isEmpty else { fatalError("route plugins failed: \(report.failed)") }
        return daemon
    }

    static let libs = Bench.tempDir("router-libs")

    /// libNAME.so, compiled once per run.
    static func compile(name: String, rank: Int, into dir: String) throws -> String {
        let lib = "\(dir)/lib\(name).so"
        if FileManager.default.fileExists(atPath: lib) { return lib }
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        cc.arguments = ["-std=c11", "-O2", "-shared", "-fPIC", "-I", "\(Bench.root)/PluginSDK/CVoxPlugin/include",
                        "-DROUTE_NAME=\"\(name)\"", "-DROUTE_RANK=\(rank)", "\(Bench.root)/bench/route_plugin.c", "-o", lib]
        try cc.run()
        cc.waitUntilExit()
        guard cc.terminationStatus == 0 else { throw BenchError("cc failed for \(name)") }
        return lib
    }
}

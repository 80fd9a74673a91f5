import Foundation
import Hummingbird
import VoxPluginKit

/// Health, status and reload.
struct SystemRoutes {
    let daemon: VoxDaemon

    func register(on router: Router<VoxRequestContext>) {
        router.get("/v1/health") { _, _ in try await self.health() }
        router.get("/v1/status") { _, _ in try await self.status() }
        router.post("/v1/reload") { _, context in
            let actor = try await daemon.admin.require(context, action: "reloading the configuration")
            do {
                return try jsonResponse(try await daemon.reload(by: actor))
            } catch let e as ConfigErrors {
                throw VoxError(.invalidRequest, "configuration not applied, nothing changed: \(e.problems.map(\.description).joined(separator: "; "))")
            }
        }
    }

    /// The hot path of every liveness probe: no actor hop (counts come from
    /// the registry's published snapshot), and JSONValue's fast writer.
    func health() async throws -> Response {
        let c = daemon.registry.stateCounts.get()
        return try jsonResponse(JSONValue.object([
            "status": .string("ok"),
            "version": .string(VoxDaemon.version),
            "uptime_seconds": .number((daemon.uptime * 1000).rounded() / 1000),
            "plugins": .object(c.mapValues { .number(Double($0)) }),
        ]))
    }

    func status() async throws -> Response {
        let entries = await daemon.registry.all
        let c = daemon.config
        return try jsonResponse(JSONValue.object([
            "version": .string(VoxDaemon.version),
            "abi": .string(PluginView.hostABI),
            "uptime_seconds": .number((daemon.uptime * 1000).rounded() / 1000),
            "started_at": .string(ISO8601DateFormatter().string(from: daemon.startedAt)),
            "pid": .number(Double(getpid())),
            "socket": .string(c.resolvedSocketPath),
            "state_dir": .string(c.stateDir),
            "config_file": daemon.configFile.map(JSONValue.string) ?? .string("(embedded defaults)"),
            "plugins_dir": .string(c.pluginsDir),
            "plugins": .array(entries.map { PluginView.json($0, detail: false) }),
            "store": .object([
                "path": .string(daemon.store.path),
                "journal_mode": .string(daemon.store.journalMode),
                "migrations": .array(((try? daemon.store.appliedMigrations()) ?? []).map(JSONValue.string)),
            ]),
            "router": routerStatus(),
        ]))
    }

    /// The router's settings and each provider's health.
    func routerStatus() -> JSONValue {
        let r = daemon.config.router
        var aliases: [String: JSONValue] = [:]
        for (name, a) in r.aliases { aliases[name] = .array(a.targets.map(JSONValue.string)) }
        var providers: [String: JSONValue] = [:]
        for h in daemon.router.allHealth { providers[h.name] = h.json }
        return .object([
            "policy": .string(r.policy.rawValue),
            "priority": .array(r.priority.map(JSONValue.string)),
            "max_attempts": .number(Double(r.maxAttempts)),
            "aliases": .object(aliases),
            "providers": .object(providers),
        ])
    }
}

import CVoxPlugin
import Foundation
import Hummingbird
import VoxPluginKit

/// Plugins: list, detail, enable, disable.
struct PluginRoutes {
    let daemon: VoxDaemon

    func register(on router: Router<VoxRequestContext>) {
        router.get("/v1/plugins") { _, _ in
            try jsonResponse(JSONValue.object(["plugins": .array(await daemon.registry.all.map { PluginView.json($0, detail: false) })]))
        }
        router.get("/v1/plugins/:name") { _, context in
            let name = try context.parameters.require("name")
            guard let e = await daemon.registry.entry(name) else { throw Self.unknown(name) }
            guard case .object(var o) = PluginView.json(e, detail: true) else { throw Self.unknown(name) }
            // What the plugin reported through the metric service (counters, gauges, histograms).
            var metrics: [String: JSONValue] = [:]
            for (key, sample) in daemon.metrics.snapshot() where key.plugin == name {
                metrics[key.name] = sample.kind == 2
                    ? .object(["count": .number(Double(sample.count)), "sum": .number(sample.value)])
                    : .number(sample.value)
            }
            o["metrics"] = .object(metrics)
            return try jsonResponse(JSONValue.object(o))
        }
        router.post("/v1/plugins/:name/enable") { _, context in try await setEnabled(context, true) }
        router.post("/v1/plugins/:name/disable") { _, context in try await setEnabled(context, false) }
        router.post("/v1/plugins/:name/reload") { _, context in
            let name = try context.parameters.require("name")
            let actor = try await daemon.admin.require(context, action: "reloading a plugin")
            do {
                let report = try await daemon.registry.restart(name)
                await daemon.audit(actor, "plugin.reload", "plugin", name, before: nil, after: report)
                return try jsonResponse(report)
            } catch let e as ConfigErrors {
                throw VoxError(.invalidRequest, "plugin not reloaded, nothing changed: \(e.problems.map(\.description).joined(separator: "; "))")
            }
        }
    }

    private func setEnabled(_ context: VoxRequestContext, _ enabled: Bool) async throws -> Response {
        let name = try context.parameters.require("name")
        let actor = try await daemon.admin.require(context, action: "\(enabled ? "enabling" : "disabling") a plugin")
        guard let before = await daemon.registry.entry(name) else { throw Self.unknown(name) }
        let e = try await daemon.registry.setEnabled(name, enabled)
        await daemon.audit(actor, enabled ? "plugin.enable" : "plugin.disable", "plugin", name,
                           before: Self.auditView(before), after: Self.auditView(e))
        return try jsonResponse(PluginView.json(e, detail: false))
    }

    /// What the audit log keeps of a plugin's state.
    static func auditView(_ e: PluginRegistry.Entry) -> JSONValue {
        var o: [String: JSONValue] = ["state": .string(PluginView.stateName(e.state))]
        if case .failed(let why) = e.state { o["error"] = .string(why) }
        return .object(o)
    }

    static func unknown(_ name: String) -> VoxError {
        VoxError(.notFound, "no plugin named \"\(name)\" (see GET /v1/plugins)")
    }
}

/// How a registry entry looks on the API.
enum PluginView {
    static let hostABI = "\(VOX_ABI_MAJOR).\(VOX_ABI_MINOR)"

    static func stateName(_ s: PluginRegistry.State) -> String {
        switch s {
        case .loaded: return "loaded"
        case .failed: return "failed"
        case .disabled: return "disabled"
        }
    }

    static func json(_ e: PluginRegistry.Entry, detail: Bool) -> JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(e.config.name),
            "state": .string(stateName(e.state)),
            "config_file": .string(e.config.file),
            "enabled": .bool(e.config.enabled),
        ]
        if case .failed(let why) = e.state { o["error"] = .string(why) }
        if let r = e.lastReloadError { o["reload_error"] = .string(r) }
        if let i = e.instance {
            o["version"] = .string(i.image.version)
            o["vendor"] = .string(i.image.vendor)
            if let d = i.image.description { o["description"] = .string(d) }
            o["library"] = .string(i.image.originalPath)
            o["loaded_from"] = .string(i.image.loadedPath)
            o["sha256"] = .string(i.image.sha256)
            o["abi"] = .string("\(VOX_ABI_MAJOR).\(i.image.abiMinor)")
            o["in_flight"] = .number(Double(i.inFlightCount))
            o["operations"] = .array(i.capabilities.operations.keys.sorted().map(JSONValue.string))
            let m = i.misbehaviourReport
            o["misbehaviours"] = .number(Double(m.count))
            if let last = m.last { o["last_misbehaviour"] = .string(last) }
            if detail { o["capabilities"] = i.capabilitiesJSON }
        } else {
            o["library"] = .string(e.config.library)
        }
        return .object(o)
    }
}

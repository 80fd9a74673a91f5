import Foundation
import Logging
import VoxPluginKit

/// Every configured plugin and its state. Loads at start, applies reloads
/// as a diff (new → load, disabled or removed → drain and destroy, changed
/// → load the new one beside the old, then drain the old, unchanged →
/// untouched), and keeps per-plugin failures to itself.
public actor PluginRegistry {
    public enum State: Sendable {
        case loaded(PluginInstance)
        case failed(String)
        case disabled
    }

    public struct Entry: Sendable {
        public var config: PluginConfig
        public var state: State
        /// The failure of the last attempt to replace a still-running instance.
        public var lastReloadError: String?
        public var instance: PluginInstance? { if case .loaded(let i) = state { return i }; return nil }
    }

    public struct ReloadReport: Sendable, Codable {
        public var loaded: [String] = []
        public var unloaded: [String] = []
        public var reloaded: [String] = []
        public var unchanged: [String] = []
        public var failed: [Failure] = []
        public var notes: [String]?
        public struct Failure: Sendable, Codable { public var name: String; public var error: String }
    }

    private let daemon: DaemonConfig
    private let logger: Logger
    private let metrics: MetricsStore
    private let searchPath: [String]
    private let overridesFile: String
    private var entries: [String: Entry] = [:] { didSet { publishCounts(); ordered.removeAll(keepingCapacity: true); routeEpoch.bump() } }
    /// `loaded(for:priority:)`'s answers until the next change of entries.
    private var ordered: [VoxOperation?: [PluginInstance]] = [:]
    /// Plugins per state, readable without awaiting the actor (health checks).
    public nonisolated let stateCounts = LockedValue<[String: Int]>(["loaded": 0, "failed": 0, "disabled": 0])
    private var overrides: [String: Bool]

    /// Bumped with every change of entries (the router's compiled routes).
    private let routeEpoch: RouteEpoch

    public init(daemon: DaemonConfig, logger: Logger, metrics: MetricsStore = MetricsStore(), binaryDir: String,
                routeEpoch: RouteEpoch = RouteEpoch()) {
        self.daemon = daemon
        self.routeEpoch = routeEpoch
        self.logger = logger
        self.metrics = metrics
        self.searchPath = [daemon.pluginsDir] + daemon.pluginSearchPath + [binaryDir]
        self.overridesFile = (daemon.stateDir as NSString).appendingPathComponent("plugin-overrides.json")
        self.overrides = (FileManager.default.contents(atPath: overridesFile))
            .flatMap { try? JSONDecoder().decode([String: Bool].self, from: $0) } ?? [:]
    }

    private func publishCounts() {
        var counts = ["loaded": 0, "failed": 0, "disabled": 0]
        for e in entries.values {
            switch e.state {
            case .loaded: counts["loaded"]! += 1
            case .failed: counts["failed"]! += 1
            case .disabled: counts["disabled"]! += 1
            }
        }
        stateCounts.set(counts)
    }

    public var all: [Entry] { entries.values.sorted { $0.config.name < $1.config.name } }

    public func entry(_ name: String) -> Entry? { entries[name] }

    /// Sorted by name; the instances alone, so no entry is copied (every request asks).
    public var loaded: [PluginInstance] { entries.values.compactMap(\.instance).sorted { $0.name < $1.name } }

    /// The loaded instances offering `op` (all, for nil), those named in
    /// `priority` first in that order, then the rest by name. Every routed
    /// request asks, so the answer is kept until the plugins change.
    public func loaded(for op: VoxOperation?, priority: [String]) -> [PluginInstance] {
        if let hit = ordered[op] { return hit }
        let ranked = entries.values.compactMap(\.instance).compactMap { i in
            op == nil || i.capabilities.supports(op!) ? (priority.firstIndex(of: i.name) ?? Int.max, i) : nil
        }
        let list = ranked.sorted { ($0.0, $0.1.name) < ($1.0, $1.1.name) }.map(\.1)
        ordered[op] = list
        return list
    }

    /// Reads plugins.d and applies it. A config error changes nothing and
    /// throws `ConfigErrors`; a plugin that fails to load is reported in the
    /// result and in its entry, and the others carry on.
    @discardableResult
    public func reload() async throws -> ReloadReport {
        return await apply(try configurations())
    }

    /// plugins.d's files, or the embedded set when the default folder is absent.
    public func configurations() throws -> [PluginConfig] {
        if !daemon.pluginsDirExplicit, !FileManager.default.fileExists(atPath: daemon.pluginsDir) {
            return DaemonConfig.embeddedPlugins
        }
        return try PluginConfig.readAll(dir: daemon.pluginsDir)
    }

    /// Re-creates one plugin from its current file even if nothing changed
    /// (e.g. after rotating a secret): the new instance loads beside the old,
    /// which then drains. A bad file changes nothing.
    public func restart(_ name: String) async throws -> ReloadReport {
        guard entries[name] != nil else { throw VoxError(.notFound, "no plugin named \"\(name)\" (see GET /v1/plugins)") }
        guard let config = try configurations().first(where: { $0.name == name }) else {
            throw VoxError(.notFound, "plugin \(name) has no config file any more; POST /v1/reload removes it")
        }
        return await apply(all.map(\.config).map { $0.name == name ? config : $0 }, force: [name])
    }

    public func apply(_ configs: [PluginConfig], force: Set<String> = []) async -> ReloadReport {
        var report = ReloadReport()
        let names = Set(configs.map(\.name))
        for (name, old) in entries where !names.contains(name) {
            if let i = old.instance { await retire(i); report.unloaded.append(name) }
            entries[name] = nil
        }
        for config in configs {
            let enabled = overrides[config.name] ?? config.enabled
            let old = entries[config.name]
            guard enabled else {
                if let i = old?.instance { await retire(i); report.unloaded.append(config.name) }
                entries[config.name] = Entry(config: config, state: .disabled)
                continue
            }
            if let i = old?.instance, !force.contains(config.name), !needsReload(i, config) {
                entries[config.name]?.config = config
                report.unchanged.append(config.name)
                continue
            }
            switch load(config) {
            case .success(let instance):
                entries[config.name] = Entry(config: config, state: .loaded(instance))
                if let previous = old?.instance {
                    report.reloaded.append(config.name)
                    await retire(previous)
                } else {
                    report.loaded.append(config.name)
                }
                logger.info("plugin loaded", metadata: ["plugin.name": .string(config.name), "plugin.version": .string(instance.image.version), "plugin.sha256": .string(instance.image.sha256)])
            case .failure(let failure):
                let reason = failure.reason
                report.failed.append(.init(name: config.name, error: reason))
                if let previous = old?.instance {
                    // Keep the running instance; say why the new one did not start.
                    entries[config.name] = Entry(config: previous.config, state: .loaded(previous), lastReloadError: reason)
                } else {
                    entries[config.name] = Entry(config: config, state: .failed(reason))
                }
                logger.error("plugin failed to load", metadata: ["plugin.name": .string(config.name), "error": .string(reason)])
            }
        }
        return report
    }

    /// Enables or disables a plugin, remembered across restarts in the state
    /// dir, and applies it at once.
    public func setEnabled(_ name: String, _ enabled: Bool) async throws -> Entry {
        guard entries[name] != nil else { throw VoxError(.notFound, "no plugin named \"\(name)\" (see GET /v1/plugins)") }
        overrides[name] = enabled
        saveOverrides()
        _ = await apply(all.map(\.config))
        return entries[name]!
    }

    /// Drains and destroys everything (shutdown).
    public func shutdown() async {
        for e in entries.values { if let i = e.instance { await i.drainAndDestroy(timeout: daemon.drainTimeoutSeconds) } }
        entries = [:]
    }

    private func retire(_ instance: PluginInstance) async {
        await instance.drainAndDestroy(timeout: daemon.drainTimeoutSeconds)
        logger.info("plugin unloaded", metadata: ["plugin.name": .string(instance.name)])
    }

    private func needsReload(_ running: PluginInstance, _ config: PluginConfig) -> Bool {
        guard running.config == config, let path = try? locate(config.library) else { return true }
        // A rotated secret (same reference, new value) needs a new instance too.
        let secrets = config.secrets.compactMapValues { try? $0.resolve().get() }
        if secrets != running.handle.secrets { return true }
        if path != running.image.originalPath { return true }
        if let seen = running.image.fingerprint, seen == TrustCheck.Fingerprint(path: path) { return false }
        return (try? TrustCheck.sha256(of: path)) != running.image.sha256
    }

    private func saveOverrides() {
        guard let data = try? JSONEncoder().encode(overrides) else { return }
        let tmp = overridesFile + ".tmp"
        if FileManager.default.createFile(atPath: tmp, contents: data) { rename(tmp, overridesFile) }
    }

    /// A plugin's library: an absolute path, or a file name searched in the
    /// plugins folder, the configured search path and voxd's own folder.
    func locate(_ library: String) throws -> String {
        if library.hasPrefix("/") {
            guard FileManager.default.fileExists(atPath: library) else { throw PluginImage.LoadError(stage: .locate, message: "library \(library) does not exist") }
            return library
        }
        for dir in searchPath {
            let p = ((dir as NSString).appendingPathComponent(library) as NSString).standardizingPath
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        throw PluginImage.LoadError(stage: .locate, message: "library \(library) not found in \(searchPath.joined(separator: ", "))")
    }

    /// Loads and creates one plugin, or says why not.
    private func load(_ config: PluginConfig) -> Result<PluginInstance, LoadFailure> {
        do {
            var secrets: [String: String] = [:]
            for (key, ref) in config.secrets {
                switch ref.resolve() {
                case .success(let v): secrets[key] = v
                case .failure(let e): throw PluginImage.LoadError(stage: .locate, message: "secrets.\(key) (\(ref)): \(e.reason)")
                }
            }
            let path = try locate(config.library)
            let image = try PluginImage.load(path: path, expectedName: config.name, pin: config.sha256,
                                             imageDir: (daemon.stateDir as NSString).appendingPathComponent("plugin-images"),
                                             host: HostServices.table)
            let handle = HostPluginHandle(name: config.name, logger: logger, secrets: secrets, metrics: metrics)
            return .success(try PluginInstance(config: config, image: image, handle: handle, logger: logger))
        } catch {
            return .failure(LoadFailure(reason: "\(error)"))
        }
    }
}

struct LoadFailure: Error { let reason: String }

/// A value behind a lock, for state that actors publish to synchronous readers.
public final class LockedValue<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    public init(_ value: T) { self.value = value }
    public func get() -> T { lock.withLock { value } }
    func set(_ v: T) { lock.withLock { value = v } }
}

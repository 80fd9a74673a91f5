import CVoxPlugin
import Foundation
import Logging
import VoxPluginKit

/// The daemon as the API sees it: the one way handlers reach the registry,
/// the catalog and the configuration.
public final class VoxDaemon: Sendable {
    public static let version = "0.1.0"
    public let config: DaemonConfig
    public let configFile: String?
    /// The daemon config as read from `configFile` at start (before flags).
    let fileConfig: DaemonConfig?
    public let registry: PluginRegistry
    public let catalog: Catalog
    public let metrics: MetricsStore
    /// The SQLite store in the state dir (configuration objects, audit log).
    public let store: VoxStore
    /// Candidate lists, policies, failover state, circuit breakers, limits.
    public let router: VoxRouter
    public let logger: Logger
    public let startedAt = Date()
    let admin: AdminPolicy
    /// API keys, checked in memory; their rate and stream limits.
    public let keys = KeyRing()
    /// Bumped by the registry and the catalog when what routing depends on
    /// changes: the router's compiled routes are good until then.
    public let routeEpoch = RouteEpoch()
    /// The usage and cost ledger (batched into the store).
    public let ledger: UsageLedger
    /// Prices per billing unit: the plugins' facts under `[providers.NAME.prices]`.
    public var priceBook: PriceBook { router.prices }

    /// Opens the store in `config.stateDir` (creating and migrating it):
    /// a store that cannot be opened, or is damaged, is a start-up error.
    public init(config: DaemonConfig, configFile: String?, logger: Logger, binaryDir: String) throws {
        store = try VoxStore(stateDir: config.stateDir)
        self.config = config
        self.configFile = configFile
        self.fileConfig = configFile.flatMap { try? DaemonConfig.read(file: $0, base: FileManager.default.currentDirectoryPath) }
        self.logger = logger
        metrics = MetricsStore()
        router = VoxRouter(settings: config.router)
        HostHTTPService.connectionsPerHost = config.upstreamConnectionsPerHost
        registry = PluginRegistry(daemon: config, logger: logger, metrics: metrics, binaryDir: binaryDir, routeEpoch: routeEpoch)
        catalog = Catalog(ttl: config.discoveryTTLSeconds, bufferBytes: config.streamBufferBytes, routeEpoch: routeEpoch)
        admin = AdminPolicy(adminGroup: config.adminGroup)
        ledger = UsageLedger(store: store, settings: config.ledger, logger: logger)
    }

    /// Loads the API keys and starts the ledger's batch writer: once, before serving.
    public func open() async throws {
        keys.load(try await store.apiKeys())
        try await ledger.start()
    }

    /// Writes the ledger's last batch (shutdown, after the plugins).
    public func close() async {
        await ledger.stop()
    }

    public var uptime: Double { Date().timeIntervalSince(startedAt) }

    /// Loaded instances in router order: `router.priority` first, then by name.
    public func providers(for op: VoxOperation? = nil) async -> [PluginInstance] {
        await registry.loaded(for: op, priority: config.routerPriority)
    }

    /// Starts an operation with the daemon's buffer and time limits; a
    /// refusal from the plugin becomes an API error naming the provider.
    /// `timeout` (a provider's `total_timeout_seconds`) overrides
    /// `limits.operation_timeout_seconds`.
    func start(_ instance: PluginInstance, _ kind: vox_type_op_kind, request: String, input: AudioData? = nil,
               timeout: Double? = nil) throws -> HostOperation {
        do {
            return try instance.start(kind, request: request, input: input,
                                      bufferBytes: config.streamBufferBytes, timeout: timeout ?? config.operationTimeoutSeconds)
        } catch let e as VoxPluginError {
            throw VoxError(e, provider: instance.name)
        }
    }

    /// Reload from plugins.d (SIGHUP and POST /v1/reload).
    /// The daemon's own file is checked too: a broken voxd.toml refuses the
    /// reload; a changed one is reported, since it applies on restart.
    /// `actor` is who asked, for the audit log (a request's peer, or `signal:SIGHUP`).
    public func reload(by actor: AuditActor = AuditActor(other: "signal:SIGHUP")) async throws -> PluginRegistry.ReloadReport {
        var restartNote: String?
        if let configFile {
            let now = try DaemonConfig.read(file: configFile, base: FileManager.default.currentDirectoryPath)
            if now != fileConfig { restartNote = "\(configFile) changed: restart voxd to apply it (plugins.d changes apply now)" }
        }
        var report = try await registry.reload()
        report.notes = restartNote.map { [$0] }
        await audit(actor, "plugins.reload", "plugins", "plugins.d", before: nil, after: report)
        logger.info("reload done", metadata: [
            "loaded": .string(report.loaded.joined(separator: ",")), "unloaded": .string(report.unloaded.joined(separator: ",")),
            "reloaded": .string(report.reloaded.joined(separator: ",")), "failed": .string(report.failed.map(\.name).joined(separator: ",")),
        ])
        return report
    }

    /// Records an admin change that is not a store write. A store that
    /// cannot take the row is logged, not fatal: the change has happened.
    func audit<T: Encodable>(_ actor: AuditActor, _ action: String, _ type: String, _ id: String, before: JSONValue?, after: T?) async {
        let afterJSON = after.flatMap { try? JSONValue.parse(VoxJSON.encode($0)) }
        do {
            try await store.record(actor: actor, action: action, objectType: type, objectID: id, before: before, after: afterJSON)
        } catch {
            logger.error("audit row not written", metadata: ["action": .string(action), "error": .string("\(error)")])
        }
    }
}

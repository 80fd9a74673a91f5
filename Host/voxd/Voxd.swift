import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import VoxHost

/// voxd: hosts voice-AI provider plugins and serves them on a unix socket.
@main
struct Voxd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voxd",
        abstract: "The voice-AI plugin daemon.",
        discussion: """
        Loads the plugins configured in plugins.d/*.toml and serves the socket API \
        (see README.md). SIGHUP or POST /v1/reload re-reads plugins.d; SIGTERM and \
        SIGINT drain and stop. Exit status: 0 clean stop or valid config, 1 a \
        configuration problem, 64 bad usage.
        """,
        version: VoxDaemon.version
    )

    @Option(help: "The daemon's config file (default: etc/voxd.toml if present, else embedded defaults).")
    var config: String?

    @Option(name: .customLong("plugins-dir"), help: "Folder of plugin config files (default: plugins.d).")
    var pluginsDir: String?

    @Option(help: "Unix socket path (default: $VOXD_SOCKET, else voxd.sock in the state dir).")
    var socket: String?

    @Option(name: .customLong("state-dir"), help: "State folder: socket, plugin image copies, overrides (default: state).")
    var stateDir: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Flag(name: .customLong("check-config"), help: "Validate the config and load every enabled plugin, then exit; one line per problem.")
    var checkConfig = false

    func validate() throws {
        if let l = logLevel, Logger.Level(rawValue: l) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        let cwd = FileManager.default.currentDirectoryPath
        var daemonConfig: DaemonConfig
        var configFile: String?
        do {
            (daemonConfig, configFile) = try loadConfig(cwd: cwd)
        } catch let e as ConfigErrors {
            e.problems.forEach { printError($0.description) }
            throw ExitCode(1)
        }
        let level = Logger.Level(rawValue: logLevel ?? daemonConfig.logLevel) ?? .info
        LoggingSystem.bootstrap { label in VoxLogHandler(label: label, level: level) }
        let logger = Logger(label: "voxd")
        let binaryDir = (Self.executablePath() as NSString).deletingLastPathComponent

        if checkConfig {
            throw ExitCode(await Self.checkConfig(daemonConfig, configFile: configFile, binaryDir: binaryDir))
        }

        try FileManager.default.createDirectory(atPath: daemonConfig.stateDir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o750])
        let daemon: VoxDaemon
        do {
            daemon = try VoxDaemon(config: daemonConfig, configFile: configFile, logger: logger, binaryDir: binaryDir)
        } catch let e as VoxStore.OpenError {
            printError(e.description)
            throw ExitCode(1)
        }
        do {
            try await daemon.open()
        } catch {
            printError("cannot open the store's keys and usage ledger: \(error)")
            throw ExitCode(1)
        }
        do {
            try await daemon.registry.reload()
        } catch let e as ConfigErrors {
            e.problems.forEach { printError($0.description) }
            throw ExitCode(1)
        }
        let app: any Service
        do {
            app = try APIServer.application(daemon: daemon, services: [])
        } catch let e as APIServer.SocketInUse {
            printError(e.description)
            throw ExitCode(1)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: PluginShutdown(daemon: daemon)),
                    .init(service: ReloadOnHangup(daemon: daemon)),
                    .init(service: app),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        unlink(daemonConfig.resolvedSocketPath)
    }

    /// etc/voxd.toml (or --config) under the embedded defaults, then the flags.
    func loadConfig(cwd: String) throws -> (DaemonConfig, String?) {
        var c = DaemonConfig()
        var file: String?
        let defaultFile = (cwd as NSString).appendingPathComponent("etc/voxd.toml")
        if let explicit = config {
            file = explicit
        } else if FileManager.default.fileExists(atPath: defaultFile) {
            file = defaultFile
        }
        if let file { c = try DaemonConfig.read(file: file, base: cwd) }
        if let d = stateDir { c.stateDir = d }
        if let p = pluginsDir { c.pluginsDir = p; c.pluginsDirExplicit = true }
        if let s = socket ?? ProcessInfo.processInfo.environment["VOXD_SOCKET"].flatMap({ $0.isEmpty ? nil : $0 }) {
            c.socketPath = s
        }
        c.stateDir = Self.absolute(c.stateDir, cwd)
        c.pluginsDir = Self.absolute(c.pluginsDir, cwd)
        if !c.socketPath.hasPrefix("/"), socket != nil || ProcessInfo.processInfo.environment["VOXD_SOCKET"] != nil {
            c.socketPath = Self.absolute(c.socketPath, cwd) // a flag is relative to the caller, not the state dir
        }
        return (c, file)
    }

    /// Loads everything the daemon would, without serving; prints one line per problem.
    static func checkConfig(_ config: DaemonConfig, configFile: String?, binaryDir: String) async -> Int32 {
        var scratch = config
        // Image copies go to a scratch folder: checking must not touch the state dir.
        scratch.stateDir = NSTemporaryDirectory() + "voxd-check-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch.stateDir) }
        let registry = PluginRegistry(daemon: scratch, logger: Logger(label: "voxd.check", factory: { _ in SwiftLogNoOpLogHandler() }), binaryDir: binaryDir)
        var problems: [String] = []
        if let p = VoxStore.problem(path: (config.stateDir as NSString).appendingPathComponent("voxd.sqlite")) { problems.append(p) }
        do {
            let report = try await registry.reload()
            for f in report.failed {
                let file = await registry.entry(f.name)?.config.file ?? f.name
                problems.append("\(file): library: \(f.error)")
            }
            let loaded = await registry.loaded.map(\.name)
            await registry.shutdown()
            if problems.isEmpty {
                print("configuration OK (\(configFile ?? "embedded defaults")): \(loaded.count) plugin(s) load: \(loaded.joined(separator: ", "))")
                return 0
            }
        } catch let e as ConfigErrors {
            problems += e.problems.map(\.description)
        } catch {
            problems.append("\(error)")
        }
        problems.forEach { printError($0) }
        return 1
    }

    static func absolute(_ p: String, _ cwd: String) -> String {
        p.hasPrefix("/") ? p : ((cwd as NSString).appendingPathComponent(p) as NSString).standardizingPath
    }

    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Drains and destroys the plugins when the group shuts down (after the server).
struct PluginShutdown: Service {
    let daemon: VoxDaemon
    func run() async throws {
        try? await gracefulShutdown()
        await daemon.registry.shutdown()
        await daemon.close()
    }
}

/// SIGHUP re-reads plugins.d.
struct ReloadOnHangup: Service {
    let daemon: VoxDaemon
    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do { _ = try await daemon.reload() } catch {
                daemon.logger.error("reload refused, nothing changed", metadata: ["error": .string("\(error)")])
            }
        }
    }
}



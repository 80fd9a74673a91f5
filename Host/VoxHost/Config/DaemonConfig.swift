import Foundation

/// The daemon's settings: etc/voxd.toml over these defaults, then command-line
/// flags over both. The defaults are what `voxd` runs with when no file exists
/// (the embedded defaults: state under ./state, LocalTTS enabled).
public struct DaemonConfig: Sendable, Equatable {
    /// Where the socket, the store and the plugin image copies live.
    public var stateDir: String = "state"
    /// The unix socket; relative paths are under `stateDir`.
    public var socketPath: String = "voxd.sock"
    /// Permission bits of the socket file.
    public var socketMode: Int = 0o660
    /// Members of this group (and root, and voxd's own uid) may use admin routes.
    public var adminGroup: String?
    public var logLevel: String = "info"
    /// Folder of plugins.d/NAME.toml files.
    public var pluginsDir: String = "plugins.d"
    /// Whether `pluginsDir` was chosen by the admin. When it was not and the
    /// folder does not exist, the embedded plugin set is used.
    public var pluginsDirExplicit = false
    /// Folders searched for a plugin's `library` when it is a bare file name;
    /// the folder of the voxd binary is always searched last.
    public var pluginSearchPath: [String] = []

    // [limits]
    /// Largest request body accepted on the socket.
    public var maxBodyBytes: Int = 1 << 20
    /// Largest audio upload (transcriptions), like OpenAI's 25 MB.
    public var maxUploadBytes: Int = 25 << 20
    /// Longest `input` text for speech.
    public var maxInputChars: Int = 4096
    /// Audio an operation may buffer for a slow client before the plugin is
    /// paused; a plugin that ignores the pause is failed at 8× this.
    public var streamBufferBytes: Int = 256 << 10
    /// How long a disabled or reloaded plugin may take to finish its in-flight
    /// operations before they are cancelled.
    public var drainTimeoutSeconds: Double = 30
    /// Longest an operation may take before it is cancelled with `timeout`.
    public var operationTimeoutSeconds: Double = 300
    /// How long discovered voices and models are kept.
    public var discoveryTTLSeconds: Double = 3600
    /// Connections the plugins' outbound HTTP may hold open to one upstream
    /// host at once; more concurrent requests wait for one. (AsyncHTTPClient's
    /// own default, 8, queued the ninth concurrent stream to a provider.)
    public var upstreamConnectionsPerHost: Int = 1024

    // [prompts]
    /// Longest prompt text (stored or rendered), and the length past which a
    /// render comes back with a warning.
    public var promptLimits = PromptLimits()

    // [templates]
    /// The template a resolution falls back to after the caller's own
    /// default (GET /v1/templates/{id}/resolve).
    public var systemTemplate: String = "preset-budget"

    /// [ledger]: batch window and global budgets (see UsageLedger).
    public var ledger = UsageLedger.Settings()

    /// [router], [router.breaker], [aliases], [voice_map], [providers.NAME]:
    /// see RouterSettings.
    public var router = RouterSettings()
    /// `router.priority`: providers named here come first, in that order,
    /// then the rest by name.
    public var routerPriority: [String] {
        get { router.priority }
        set { router.priority = newValue }
    }

    public init() {}

    /// The plugins voxd runs when no plugins.d folder exists: LocalTTS, the
    /// offline engine, so a fresh install speaks without any set-up.
    public static let embeddedPlugins: [PluginConfig] = [
        PluginConfig(name: "localtts", file: "(embedded)", enabled: true, library: "libvox_localtts.so",
                     sha256: nil, settings: .object([:]), secrets: [:]),
    ]

    /// The socket path with `stateDir` applied.
    public var resolvedSocketPath: String {
        socketPath.hasPrefix("/") ? socketPath : (stateDir as NSString).appendingPathComponent(socketPath)
    }
}

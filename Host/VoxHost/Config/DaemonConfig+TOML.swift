import Foundation
import TOMLKit

extension DaemonConfig {
    /// Reads etc/voxd.toml. Keys (all optional):
    ///
    /// ```toml
    /// [daemon]
    /// state_dir = "state"          # socket, store, plugin image copies
    /// log_level = "info"           # trace | debug | info | notice | warning | error | critical
    /// [server]
    /// socket = "voxd.sock"         # relative to state_dir, or absolute
    /// socket_mode = "0660"         # octal string
    /// admin_group = "voxadmin"     # members may use admin routes
    /// [plugins]
    /// dir = "plugins.d"            # relative to the config file's parent folder's parent, or absolute
    /// search_path = ["/usr/lib/voxd/plugins"]
    /// [limits]
    /// max_body_bytes = 1048576
    /// max_upload_bytes = 26214400  # audio uploads (transcriptions)
    /// max_input_chars = 4096
    /// stream_buffer_bytes = 262144
    /// drain_timeout_seconds = 30
    /// operation_timeout_seconds = 300
    /// discovery_ttl_seconds = 3600
    /// upstream_connections_per_host = 1024  # plugins' outbound HTTP, per host
    /// [prompts]
    /// max_chars = 8000             # longest prompt text, stored or rendered
    /// warn_chars = 2000            # a longer rendering comes with a warning
    /// [templates]
    /// system_default = "preset-budget"   # the fallback after the caller's default
    /// [ledger]
    /// flush_ms = 1000              # usage rows reach the store in batches this often (a crash loses at most one window)
    /// budget_day_usd = 50          # spending limits for all calls together (keys have their own)
    /// budget_month_usd = 1000
    /// [router]                     # see DaemonConfig+Router.swift for the rest
    /// policy = "priority"          # priority | price | latency | round_robin
    /// priority = ["localtts", "examplec"]
    /// ```
    ///
    /// Relative paths in the file are resolved against `base` (the folder the
    /// daemon runs from). Throws `ConfigErrors` listing every problem.
    public static func read(file: String, base: String) throws -> DaemonConfig {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw ConfigErrors(problems: [ConfigProblem(file: file, reason: "cannot read: \(error.localizedDescription)")])
        }
        return try parse(text, file: file, base: base)
    }

    public static func parse(_ text: String, file: String, base: String) throws -> DaemonConfig {
        var c = DaemonConfig()
        var r = TOMLReader(file: file)
        let root: TOMLTable
        do { root = try TOMLReader.parse(text, file: file) } catch let p as ConfigProblem { throw ConfigErrors(problems: [p]) }
        r.rejectUnknown(root, prefix: "", known: ["daemon", "server", "plugins", "limits", "prompts", "templates", "ledger", "router", "aliases", "voice_map", "providers"])
        func path(_ p: String) -> String { p.hasPrefix("/") ? p : (base as NSString).appendingPathComponent(p) }

        if let t = r.table(root, "daemon", prefix: "") {
            r.rejectUnknown(t, prefix: "daemon", known: ["state_dir", "log_level"])
            if let v = r.string(t, "state_dir", prefix: "daemon") { c.stateDir = path(v) }
            if let v = r.string(t, "log_level", prefix: "daemon") {
                let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
                if levels.contains(v) { c.logLevel = v } else { r.problem("daemon.log_level", "must be one of \(levels.joined(separator: ", ")), not \"\(v)\"") }
            }
        }
        if let t = r.table(root, "server", prefix: "") {
            r.rejectUnknown(t, prefix: "server", known: ["socket", "socket_mode", "admin_group"])
            if let v = r.string(t, "socket", prefix: "server") { c.socketPath = v }
            if let v = r.string(t, "socket_mode", prefix: "server") {
                if let m = Int(v, radix: 8), (0...0o777).contains(m) { c.socketMode = m } else { r.problem("server.socket_mode", "must be an octal mode like \"0660\", not \"\(v)\"") }
            }
            if let v = r.string(t, "admin_group", prefix: "server") {
                if getgrnam(v) == nil { r.problem("server.admin_group", "no such group \"\(v)\"") } else { c.adminGroup = v }
            }
        }
        if let t = r.table(root, "plugins", prefix: "") {
            r.rejectUnknown(t, prefix: "plugins", known: ["dir", "search_path"])
            if let v = r.string(t, "dir", prefix: "plugins") { c.pluginsDir = path(v); c.pluginsDirExplicit = true }
            if let v = r.strings(t, "search_path", prefix: "plugins") { c.pluginSearchPath = v.map(path) }
        }
        if let t = r.table(root, "limits", prefix: "") {
            r.rejectUnknown(t, prefix: "limits", known: ["max_body_bytes", "max_upload_bytes", "max_input_chars", "stream_buffer_bytes",
                                                       "drain_timeout_seconds", "operation_timeout_seconds", "discovery_ttl_seconds",
                                                       "upstream_connections_per_host"])
            if let v = r.int(t, "max_body_bytes", prefix: "limits", range: 1024...(1 << 30)) { c.maxBodyBytes = v }
            if let v = r.int(t, "max_upload_bytes", prefix: "limits", range: 1024...(1 << 31)) { c.maxUploadBytes = v }
            if let v = r.int(t, "max_input_chars", prefix: "limits", range: 1...1_000_000) { c.maxInputChars = v }
            if let v = r.int(t, "stream_buffer_bytes", prefix: "limits", range: 4096...(1 << 30)) { c.streamBufferBytes = v }
            if let v = r.double(t, "drain_timeout_seconds", prefix: "limits", range: 0...3600) { c.drainTimeoutSeconds = v }
            if let v = r.double(t, "operation_timeout_seconds", prefix: "limits", range: 1...86400) { c.operationTimeoutSeconds = v }
            if let v = r.double(t, "discovery_ttl_seconds", prefix: "limits", range: 0...604800) { c.discoveryTTLSeconds = v }
            if let v = r.int(t, "upstream_connections_per_host", prefix: "limits", range: 1...100_000) { c.upstreamConnectionsPerHost = v }
        }
        if let t = r.table(root, "prompts", prefix: "") {
            r.rejectUnknown(t, prefix: "prompts", known: ["max_chars", "warn_chars"])
            if let v = r.int(t, "max_chars", prefix: "prompts", range: 100...1_000_000) { c.promptLimits.maxChars = v }
            if let v = r.int(t, "warn_chars", prefix: "prompts", range: 1...1_000_000) { c.promptLimits.warnChars = v }
            if c.promptLimits.warnChars > c.promptLimits.maxChars {
                r.problem("prompts.warn_chars", "\(c.promptLimits.warnChars) is above prompts.max_chars (\(c.promptLimits.maxChars))")
            }
        }
        if let t = r.table(root, "templates", prefix: "") {
            r.rejectUnknown(t, prefix: "templates", known: ["system_default"])
            if let v = r.string(t, "system_default", prefix: "templates") { c.systemTemplate = v }
        }
        if let t = r.table(root, "ledger", prefix: "") {
            r.rejectUnknown(t, prefix: "ledger", known: ["flush_ms", "budget_day_usd", "budget_month_usd"])
            if let v = r.int(t, "flush_ms", prefix: "ledger", range: 10...60_000) { c.ledger.flushSeconds = Double(v) / 1000 }
            if let v = r.double(t, "budget_day_usd", prefix: "ledger", range: 0...1e9) { c.ledger.budgetDayUSD = v }
            if let v = r.double(t, "budget_month_usd", prefix: "ledger", range: 0...1e9) { c.ledger.budgetMonthUSD = v }
        }
        c.router = r.routerSettings(root, defaults: c.router)
        if !r.problems.isEmpty { throw ConfigErrors(problems: r.problems) }
        return c
    }
}

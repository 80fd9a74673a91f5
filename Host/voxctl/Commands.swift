import ArgumentParser
import Foundation

// The query and admin subcommands: status, plugins (list/enable/disable), caps, voices, models,
// reload. Each prints voxd's JSON with --json, a table or field list otherwise.

// MARK: status

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show voxd's version, uptime, pid, paths and plugins.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/status")
            if global.json { return printJSON(data) }
            let status = try decodeAnswer(DaemonStatus.self, from: data, endpoint: "GET /v1/status")
            let plugins = status.plugins ?? []
            printFields([
                ("version", status.version.map { v in status.abi.map { "\(v) (plugin ABI \($0))" } ?? v }),
                ("uptime", status.uptimeSeconds.map { u in
                    humanDuration(u) + (status.startedAt.map { ", since \($0)" } ?? "")
                }),
                ("pid", status.pid.map(String.init)),
                ("socket", status.socket ?? client.socketPath),
                ("state dir", status.stateDir),
                ("config file", status.configFile),
                ("plugins dir", status.pluginsDir),
                ("plugins", pluginCounts(plugins)),
            ])
            if !plugins.isEmpty {
                print("")
                printPluginTable(plugins)
            }
        }
    }
}

/// "2 loaded, 1 failed" (states in a fixed order, unknown ones last).
private func pluginCounts(_ plugins: [PluginInfo]) -> String {
    if plugins.isEmpty { return "none" }
    var counts: [String: Int] = [:]
    for plugin in plugins { counts[plugin.state ?? "unknown", default: 0] += 1 }
    let order = ["loaded", "failed", "disabled"]
    let known = order.compactMap { state in counts[state].map { "\($0) \(state)" } }
    let others = counts.keys.filter { !order.contains($0) }.sorted().map { "\(counts[$0]!) \($0)" }
    return (known + others).joined(separator: ", ")
}

private func printPluginTable(_ plugins: [PluginInfo]) {
    var table = Table(["NAME", "STATE", "VERSION", "OPERATIONS", "ERROR"], truncating: [3, 4])
    for plugin in plugins.sorted(by: { $0.name < $1.name }) {
        table.add([
            Cell(plugin.name),
            Cell(plugin.state ?? "?", colour: stateColour(plugin.state)),
            Cell(plugin.version ?? "-"),
            Cell((plugin.operations ?? []).joined(separator: ",")),
            Cell(plugin.error ?? plugin.reloadError.map { "reload: \($0)" } ?? "", colour: .red),
        ])
    }
    table.print()
    if Terminal.stdoutIsTTY, plugins.contains(where: { $0.error != nil || $0.reloadError != nil }) {
        print(Colour.dim.wrap("(the full error: voxctl plugins NAME)"))
    }
}

// MARK: plugins

struct Plugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List plugins, show one, or enable/disable one.",
        discussion: """
            voxctl plugins                all plugins, as a table ('plugins list')
            voxctl plugins NAME           one plugin in full (whole error, capabilities)
            voxctl plugins enable NAME    load a disabled plugin (admin)
            voxctl plugins disable NAME   unload a plugin and keep it unloaded (admin)

            enable and disable need an admin peer; others get 'permission denied' (exit 77).
            """,
        subcommands: [PluginsList.self, PluginsEnable.self, PluginsDisable.self, PluginsReload.self],
        defaultSubcommand: PluginsList.self
    )
}

struct PluginsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Table of plugins (NAME STATE VERSION OPERATIONS ERROR), or one plugin in full.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Show this plugin in full (with its capabilities and untruncated error).")
    var name: String?

    func validate() throws {
        if let name, name.isEmpty { throw ValidationError("NAME must not be empty") }
    }

    func run() async throws {
        try await global.withClient { client in
            guard let name else {
                let data = try await client.get("/v1/plugins")
                if global.json { return printJSON(data) }
                let list = try decodeAnswer(PluginList.self, from: data, endpoint: "GET /v1/plugins")
                if list.plugins.isEmpty {
                    print("no plugins (add plugin libraries to voxd's plugins directory, then 'voxctl reload')")
                } else {
                    printPluginTable(list.plugins)
                }
                return
            }
            let data = try await client.get("/v1/plugins/\(DaemonClient.encodeSegment(name))")
            if global.json { return printJSON(data) }
            let plugin = try decodeAnswer(PluginInfo.self, from: data, endpoint: "GET /v1/plugins/\(name)")
            printPluginDetail(plugin, raw: data)
        }
    }
}

private func printPluginDetail(_ plugin: PluginInfo, raw: Data) {
    let state = plugin.state.map { stateColour($0)?.wrap($0) ?? $0 }
    printFields([
        ("name", plugin.name),
        ("state", state),
        ("enabled", plugin.enabled.map { $0 ? "yes" : "no" }),
        ("error", plugin.error.map { Colour.red.wrap($0) }),
        ("reload error", plugin.reloadError.map { Colour.red.wrap($0) }),
        ("version", plugin.version),
        ("vendor", plugin.vendor),
        ("description", plugin.description),
        ("library", plugin.library),
        ("loaded from", plugin.loadedFrom),
        ("sha256", plugin.sha256),
        ("config file", plugin.configFile),
        ("abi", plugin.abi),
        ("in flight", plugin.inFlight.map(String.init)),
        ("misbehaviours", plugin.misbehaviours.map { count in
            String(count) + (plugin.lastMisbehaviour.map { " (last: \($0))" } ?? "")
        }),
    ] + capabilityFields(plugin: plugin, raw: raw))
}

/// The detail view's capability lines: each operation with its settings, default model and
/// voice, models, languages, and any other declared field as key=value text.
private func capabilityFields(plugin: PluginInfo, raw: Data) -> [(String, String?)] {
    let operationList = plugin.operations.map { $0.isEmpty ? "none" : $0.joined(separator: ", ") }
    guard let object = (try? JSONSerialization.jsonObject(with: raw)) as? [String: Any],
          var caps = object["capabilities"] as? [String: Any]
    else { return [("operations", operationList)] }

    var fields: [(String, String?)] = []
    if let operations = caps.removeValue(forKey: "operations") as? [String: Any] {
        let width = operations.keys.map(\.count).max() ?? 0
        let lines = operations.keys.sorted().map { name in
            let settings = compactJSON(operations[name]!)
            return settings.isEmpty ? name : name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + settings
        }
        fields.append(("operations", lines.isEmpty ? "none" : lines.joined(separator: "\n")))
    } else {
        fields.append(("operations", operationList))
    }
    fields.append(("default model", caps.removeValue(forKey: "default_model").map(compactJSON)))
    fields.append(("default voice", caps.removeValue(forKey: "default_voice").map(compactJSON)))
    if let models = caps.removeValue(forKey: "models") as? [Any] {
        let lines = models.map { model -> String in
            guard let model = model as? [String: Any], let id = model["id"] as? String else { return compactJSON(model) }
            return id + ((model["description"] as? String).map { " — \($0)" } ?? "")
        }
        fields.append(("models", lines.joined(separator: "\n")))
    }
    if let languages = caps.removeValue(forKey: "languages") as? [String] {
        fields.append(("languages", "\(languages.count): " + wrapList(languages, width: Terminal.width - 20)))
    }
    for key in caps.keys.sorted() {
        let value = caps[key]!
        let text = (value as? [Any]).map { $0.map(compactJSON).joined(separator: "\n") } ?? compactJSON(value)
        fields.append((key.replacingOccurrences(of: "_", with: " "), text))
    }
    return fields
}

/// One line of text for a JSON value: strings bare, arrays comma-separated, objects as
/// space-separated key=value pairs (sorted).
private func compactJSON(_ value: Any) -> String {
    switch value {
    case let string as String: return string
    case let array as [Any]: return array.map(compactJSON).joined(separator: ",")
    case let object as [String: Any]:
        return object.keys.sorted().map { key in
            let text = compactJSON(object[key]!)
            return "\(key)=" + (text.contains(" ") ? "\"\(text)\"" : text)
        }.joined(separator: " ")
    case is NSNull: return "null"
    default: return prettyJSON(value)
    }
}

/// "a, b, c" broken into lines of at most `width` characters.
private func wrapList(_ items: [String], width: Int) -> String {
    var lines: [String] = []
    var line = ""
    for item in items {
        let piece = line.isEmpty ? item : ", " + item
        if !line.isEmpty, line.count + piece.count > max(width, 20) {
            lines.append(line + ",")
            line = item
        } else {
            line += piece
        }
    }
    if !line.isEmpty { lines.append(line) }
    return lines.joined(separator: "\n")
}

struct PluginsEnable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable", abstract: "Enable (load) a plugin. Admin only.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The plugin's name.") var name: String

    func run() async throws { try await setPlugin(name, action: "enable", global: global) }
}

struct PluginsDisable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable", abstract: "Disable (unload) a plugin. Admin only.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The plugin's name.") var name: String

    func run() async throws { try await setPlugin(name, action: "disable", global: global) }
}

struct PluginsReload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Re-create one plugin from its config file (e.g. after rotating a secret). Admin only.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The plugin's name.") var name: String

    func run() async throws {
        try await global.withClient { client in
            try Reload.report(try await client.post("/v1/plugins/\(DaemonClient.encodeSegment(name))/reload"),
                              endpoint: "POST /v1/plugins/\(name)/reload", global: global)
        }
    }
}

/// POST /v1/plugins/{name}/{enable|disable}, then report the plugin's new state. An enable that
/// leaves the plugin failed exits 1.
private func setPlugin(_ name: String, action: String, global: GlobalOptions) async throws {
    try await global.withClient { client in
        let data = try await client.post("/v1/plugins/\(DaemonClient.encodeSegment(name))/\(action)")
        let plugin = try? JSONDecoder().decode(PluginInfo.self, from: data)
        if global.json {
            printJSON(data)
        } else if let plugin {
            let state = plugin.state ?? "?"
            let version = plugin.version.map { " \($0)" } ?? ""
            print("\(plugin.name)\(version): \(action)d, now \(stateColour(state)?.wrap(state) ?? state)")
        } else {
            print("\(name): \(action)d")
        }
        if action == "enable", let plugin, plugin.state == "failed" {
            throw VoxCtlError("\(plugin.name) is enabled but failed to load: \(plugin.error ?? "no error given")")
        }
    }
}

// MARK: caps

struct Caps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The capability matrix: which provider offers which operation.",
        discussion: """
            One row per provider, in voxd's routing order (a bare model name goes to the first \
            provider that has it); ✓ where it offers the operation: TTS (tts.*), STT (stt.* but \
            streaming), STT-STREAM (stt.stream*), CHAT (llm.*, chat.*), REALTIME (realtime*), \
            VOICES (voices.*), MODELS (models.*). Other operations are listed under OTHER. Then \
            the default model and how many languages the provider declares.
            """,
        aliases: ["capabilities"]
    )

    @OptionGroup var global: GlobalOptions

    /// Column name → does an operation name belong to it.
    static let families: [(String, (String) -> Bool)] = [
        ("TTS", { inFamily($0, "tts") }),
        ("STT", { inFamily($0, "stt") && !isSTTStream($0) }),
        ("STT-STREAM", isSTTStream),
        ("CHAT", { inFamily($0, "llm") || inFamily($0, "chat") }),
        ("REALTIME", { inFamily($0, "realtime") }),
        ("VOICES", { inFamily($0, "voices") }),
        ("MODELS", { inFamily($0, "models") }),
    ]

    private static func inFamily(_ operation: String, _ family: String) -> Bool {
        operation == family || operation.hasPrefix(family + ".") || operation.hasPrefix(family + "-")
    }

    private static func isSTTStream(_ operation: String) -> Bool {
        operation.hasPrefix("stt.stream") || operation.hasPrefix("stt-stream")
    }

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/capabilities")
            if global.json { return printJSON(data) }
            let matrix = try decodeAnswer(CapabilityMatrix.self, from: data, endpoint: "GET /v1/capabilities")
            if matrix.providers.isEmpty {
                print("no providers (no plugin is loaded; see 'voxctl plugins')")
                return
            }
            let other = { (operations: [String]) in
                operations.filter { op in !Self.families.contains { $0.1(op) } }.sorted()
            }
            let anyOther = matrix.providers.contains { !other(Array(($0.operations ?? [:]).keys)).isEmpty }
            var headers = ["PROVIDER"] + Self.families.map(\.0)
            if anyOther { headers.append("OTHER") }
            headers += ["DEFAULT MODEL", "LANGS"]
            var table = Table(headers, truncating: anyOther ? [headers.count - 3] : [])
            for provider in matrix.providers {
                let operations = Array((provider.operations ?? [:]).keys)
                var row = [Cell(provider.provider)]
                for (_, member) in Self.families {
                    row.append(operations.contains(where: member) ? Cell("✓", colour: .green) : Cell("·", colour: .dim))
                }
                if anyOther { row.append(Cell(other(operations).joined(separator: ","))) }
                row.append(Cell(provider.defaultModel ?? "-"))
                row.append(Cell(provider.languages.map { String($0.count) } ?? "-"))
                table.add(row)
            }
            table.print()
        }
    }
}

// MARK: voices

struct Voices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List voices (ID PROVIDER NAME LANGUAGES GENDER), optionally filtered.")

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Only this provider's voices.", valueName: "name"))
    var provider: String?

    @Option(help: ArgumentHelp("Only voices speaking this language (e.g. en, en-us).", valueName: "code"))
    var language: String?

    @Option(help: ArgumentHelp("Only voices of this gender (e.g. female, male, neutral).", valueName: "gender"))
    var gender: String?

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get(
                "/v1/voices", query: [("provider", provider), ("language", language), ("gender", gender)])
            if global.json { return printJSON(data) }
            let list = try decodeAnswer(VoiceList.self, from: data, endpoint: "GET /v1/voices")
            for (provider, reason) in (list.errors ?? [:]).sorted(by: { $0.key < $1.key }) {
                printError("warning: could not list \(provider)'s voices: \(reason)")
            }
            if list.voices.isEmpty {
                let filtered = provider != nil || language != nil || gender != nil
                print(filtered ? "no voices match" : "no voices (no loaded plugin lists voices)")
                return
            }
            var table = Table(["ID", "PROVIDER", "NAME", "LANGUAGES", "GENDER"], truncating: [2, 3])
            for voice in list.voices {
                table.add([
                    Cell(voice.id + (voice.stale == true ? " (cached)" : "")),
                    Cell(voice.provider ?? "-"),
                    Cell(voice.name ?? "-"),
                    Cell((voice.languages ?? []).joined(separator: ",")),
                    Cell(voice.gender ?? "-"),
                ])
            }
            table.print()
        }
    }
}

// MARK: models

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List models (ID PROVIDER), as ids for speak --model.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/models")
            if global.json { return printJSON(data) }
            let list = try decodeAnswer(ModelList.self, from: data, endpoint: "GET /v1/models")
            if list.data.isEmpty {
                print("no models (no plugin is loaded; see 'voxctl plugins')")
                return
            }
            var table = Table(["ID", "PROVIDER"])
            for model in list.data {
                table.add([Cell(model.id), Cell(model.ownedBy ?? "-")])
            }
            table.print()
        }
    }
}

// MARK: reload

struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make voxd re-read its config and plugins directory; print what changed.",
        discussion: """
            Exits 1 when a plugin failed to load, 65 when voxd rejects the config file \
            (its problems are printed), 77 for a non-admin peer.
            """)

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.withClient { client in
            try Self.report(try await client.post("/v1/reload"), endpoint: "POST /v1/reload", global: global)
        }
    }

    /// Prints a reload answer; throws (exit 1) when a plugin failed to load.
    static func report(_ data: Data, endpoint: String, global: GlobalOptions) throws {
        let failed: [ReloadResult.Failure]
        if global.json {
            printJSON(data)
            failed = (try? JSONDecoder().decode(ReloadResult.self, from: data))?.failed ?? []
        } else {
            let result = try decodeAnswer(ReloadResult.self, from: data, endpoint: endpoint)
            printReload(result)
            failed = result.failed ?? []
        }
        if !failed.isEmpty {
            let names = failed.map(\.name).joined(separator: ", ")
            throw VoxCtlError("\(failed.count) plugin\(failed.count == 1 ? "" : "s") failed to load: \(names)")
        }
    }

    private static func printReload(_ result: ReloadResult) {
        let changes: [(String, [String])] = [
            ("loaded", result.loaded ?? []),
            ("reloaded", result.reloaded ?? []),
            ("unloaded", result.unloaded ?? []),
        ]
        let unchanged = result.unchanged ?? []
        let failed = result.failed ?? []
        for note in result.notes ?? [] { FileHandle.standardError.write(Data("voxctl: note: \(note)\n".utf8)) }
        if changes.allSatisfy({ $0.1.isEmpty }) && failed.isEmpty {
            print("no changes (\(unchanged.count) plugin\(unchanged.count == 1 ? "" : "s") unchanged)")
            return
        }
        var fields = changes.map { ($0.0, $0.1.isEmpty ? nil : $0.1.joined(separator: ", ")) as (String, String?) }
        fields.append(("unchanged", unchanged.isEmpty ? nil : unchanged.joined(separator: ", ")))
        printFields(fields)
        if !failed.isEmpty {
            print(Colour.dim.wrap("failed:"))
            for failure in failed {
                print("  " + Colour.red.wrap(failure.name) + ": " + (failure.error ?? "no error given"))
            }
        }
    }
}

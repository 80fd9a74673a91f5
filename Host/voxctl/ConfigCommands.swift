import ArgumentParser
import Foundation

// Configuration subcommands: prompts, templates, configs (session configurations) and audit.
// Reads print tables or fields (voxd's JSON with --json); writes take the JSON body the socket
// API documents, from a file or stdin (-), and are admin actions on voxd's side.

/// A JSON document from a file, or from stdin for "-".
func readDocument(_ path: String) throws -> Data {
    let data: Data
    if path == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        guard let d = FileManager.default.contents(atPath: path) else { throw VoxCtlError("cannot read \(path)", status: .usage) }
        data = d
    }
    guard (try? JSONSerialization.jsonObject(with: data)) != nil else {
        throw VoxCtlError("\(path == "-" ? "stdin" : path) is not valid JSON", status: .usage)
    }
    return data
}

func object(_ data: Data) -> [String: Any] { (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:] }

func segment(_ s: String) -> String { DaemonClient.encodeSegment(s) }

/// DELETE `collection/id`, then "`verb` id" (voxd's JSON with --json).
func deleteObject(_ global: GlobalOptions, _ collection: String, _ id: String, verb: String = "deleted") async throws {
    try await global.withClient { client in
        let data = try await client.delete("\(collection)/\(segment(id))")
        if global.json { return printJSON(data) }
        print("\(verb) \(id)")
    }
}

/// Prints the problems of a validation answer, one per line.
private func printProblems(_ title: String, _ list: Any?, colour: Colour) {
    guard let list = list as? [[String: Any]], !list.isEmpty else { return }
    print(colour.wrap(title))
    for p in list {
        let path = p["path"] as? String ?? ""
        print("  " + (path.isEmpty ? "" : "\(path): ") + (p["reason"] as? String ?? ""))
    }
}

private func printCost(_ cost: Any?) {
    guard let c = cost as? [String: Any], let usd = c["usd_per_minute"] as? Double else { return }
    let complete = c["complete"] as? Bool ?? false
    print("cost: $\(String(format: "%.4f", usd)) per minute\(complete ? "" : " (incomplete: some prices are unknown)")")
}

// MARK: prompts

struct Prompts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "System prompts: list, show, render, create, delete.",
        subcommands: [PromptsList.self, PromptsShow.self, PromptsRender.self, PromptsCreate.self, PromptsDelete.self],
        defaultSubcommand: PromptsList.self)
}

struct PromptsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Table of prompts, the built-ins included.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this category.") var category: String?

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/prompts", query: [("category", category)])
            if global.json { return printJSON(data) }
            var table = Table(["ID", "NAME", "CATEGORY", "VERSION", "BUILTIN", "DEFAULT"], truncating: [1])
            for p in object(data)["prompts"] as? [[String: Any]] ?? [] {
                table.add([Cell(p["id"] as? String ?? ""), Cell(p["name"] as? String ?? ""), Cell(p["category"] as? String ?? ""),
                           Cell(String(p["version"] as? Int ?? 0)), Cell((p["builtin"] as? Bool ?? false) ? "yes" : ""),
                           Cell((p["is_default"] as? Bool ?? false) ? "yes" : "")])
            }
            table.print()
        }
    }
}

struct PromptsShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One prompt: its fields, variables and text.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The prompt's id.") var id: String

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/prompts/\(segment(id))")
            if global.json { return printJSON(data) }
            let p = object(data)
            let vars = (p["variables"] as? [[String: Any]] ?? []).map { v in
                let name = v["name"] as? String ?? ""
                let def = (v["default"] as? String).map { " = \"\($0)\"" } ?? ""
                return name + ((v["required"] as? Bool ?? false) ? " (required)" : "") + def + ((v["description"] as? String).map { " — \($0)" } ?? "")
            }
            printFields([("id", p["id"] as? String), ("name", p["name"] as? String), ("category", p["category"] as? String),
                         ("version", (p["version"] as? Int).map(String.init)), ("builtin", (p["builtin"] as? Bool).map { $0 ? "yes" : "no" }),
                         ("variables", vars.isEmpty ? "none" : vars.joined(separator: "\n"))])
            print("")
            print(p["text"] as? String ?? "")
        }
    }
}

struct PromptsRender: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Render a prompt with values for its variables (the text to stdout, a warning to stderr).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The prompt's id.") var id: String
    @Option(name: .customLong("set"), help: ArgumentHelp("A variable's value (repeatable).", valueName: "name=value")) var values: [String] = []
    @Flag(help: "Assemble the sectioned instructions for realtime models.") var realtime = false

    func validate() throws {
        for v in values where !v.contains("=") { throw ValidationError("--set takes name=value, not \"\(v)\"") }
    }

    func run() async throws {
        var dict: [String: String] = [:]
        for v in values {
            let parts = v.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            dict[String(parts[0])] = String(parts[1])
        }
        let body = try JSONSerialization.data(withJSONObject: ["values": dict, "mode": realtime ? "realtime" : "text"] as [String: Any])
        try await global.withClient { client in
            let data = try await client.post("/v1/prompts/\(segment(id))/render", json: body)
            if global.json { return printJSON(data) }
            let r = object(data)
            if let w = r["warning"] as? String { printError("warning: \(w)") }
            print(r["text"] as? String ?? "")
        }
    }
}

struct PromptsCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a prompt from a JSON body {name, category, text, variables, sections, is_default} (admin).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The JSON file, or - for stdin.") var file: String

    func run() async throws {
        let body = try readDocument(file)
        try await global.withClient { client in
            let data = try await client.post("/v1/prompts", json: body)
            if global.json { return printJSON(data) }
            print("created \(object(data)["id"] as? String ?? "?")")
        }
    }
}

struct PromptsDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a prompt (admin).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The prompt's id.") var id: String

    func run() async throws { try await deleteObject(global, "/v1/prompts", id) }
}

// MARK: templates

struct Templates: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "AI templates: list, show, validate, create, clone, resolve, delete.",
        subcommands: [TemplatesList.self, TemplatesShow.self, TemplatesValidate.self, TemplatesCreate.self,
                      TemplatesClone.self, TemplatesResolve.self, TemplatesDelete.self],
        defaultSubcommand: TemplatesList.self)
}

private func component(_ t: [String: Any], _ key: String) -> String {
    guard let c = t[key] as? [String: Any], let p = c["provider"] as? String else { return "-" }
    return p + ((c["model"] as? String).map { "/\($0)" } ?? "")
}

struct TemplatesList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Table of templates, the presets included.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/templates")
            if global.json { return printJSON(data) }
            var table = Table(["ID", "NAME", "STT", "LLM", "TTS", "VERSION", "PRESET"], truncating: [1])
            for t in object(data)["templates"] as? [[String: Any]] ?? [] {
                table.add([Cell(t["id"] as? String ?? ""), Cell(t["name"] as? String ?? ""), Cell(component(t, "stt")),
                           Cell(component(t, "llm")), Cell(component(t, "tts")), Cell(String(t["version"] as? Int ?? 0)),
                           Cell((t["preset"] as? Bool ?? false) ? "yes" : "")])
            }
            table.print()
        }
    }
}

struct TemplatesShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One template with its validation and cost per minute.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The template's id.") var id: String

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/templates/\(segment(id))")
            if global.json { return printJSON(data) }
            let t = object(data)
            printFields([("id", t["id"] as? String), ("name", t["name"] as? String), ("description", t["description"] as? String),
                         ("version", (t["version"] as? Int).map(String.init)), ("stt", component(t, "stt")),
                         ("llm", component(t, "llm")), ("tts", component(t, "tts"))])
            let v = t["validation"] as? [String: Any]
            printProblems("errors:", v?["errors"], colour: .red)
            printProblems("warnings:", v?["warnings"], colour: .dim)
            printCost(t["cost"])
        }
    }
}

struct TemplatesValidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check a template body without saving it (exit 65 when it has errors).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The JSON file, or - for stdin.") var file: String

    func run() async throws {
        let body = try readDocument(file)
        var valid = true
        try await global.withClient { client in
            let data = try await client.post("/v1/templates/validate", json: body)
            let r = object(data)
            valid = r["valid"] as? Bool ?? false
            if global.json { return printJSON(data) }
            print(valid ? "valid" : Colour.red.wrap("not valid"))
            printProblems("errors:", r["errors"], colour: .red)
            printProblems("warnings:", r["warnings"], colour: .dim)
            printCost(r["cost"])
        }
        if !valid { throw ExitCode(ExitStatus.rejected.rawValue) }
    }
}

struct TemplatesCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a template from a JSON body (admin).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The JSON file, or - for stdin.") var file: String

    func run() async throws {
        let body = try readDocument(file)
        try await global.withClient { client in
            let data = try await client.post("/v1/templates", json: body)
            if global.json { return printJSON(data) }
            print("created \(object(data)["id"] as? String ?? "?")")
        }
    }
}

struct TemplatesClone: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clone", abstract: "Copy a template or preset into a new stored template (admin).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The template's id.") var id: String
    @Option(help: "The copy's name (default: \"NAME (copy)\").") var name: String?

    func run() async throws {
        let body = try JSONSerialization.data(withJSONObject: name.map { ["name": $0] } ?? [String: String]())
        try await global.withClient { client in
            let data = try await client.post("/v1/templates/\(segment(id))/clone", json: body)
            if global.json { return printJSON(data) }
            print("created \(object(data)["id"] as? String ?? "?")")
        }
    }
}

struct TemplatesResolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve", abstract: "Which template would serve now: the named one, your default, the system default or the emergency preset.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The template's id.") var id: String

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/templates/\(segment(id))/resolve")
            if global.json { return printJSON(data) }
            let r = object(data)
            let t = r["template"] as? [String: Any] ?? [:]
            printFields([("used", r["used"] as? String), ("template", t["id"] as? String), ("reason", r["reason"] as? String)])
        }
    }
}

struct TemplatesDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a template (admin; refused while something refers to it).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The template's id.") var id: String

    func run() async throws { try await deleteObject(global, "/v1/templates", id) }
}

// MARK: session configurations

struct Configs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Session configurations: list, export, import.",
        subcommands: [ConfigsList.self, ConfigsExport.self, ConfigsImport.self],
        defaultSubcommand: ConfigsList.self)
}

struct ConfigsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Table of session configurations.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/session-configs")
            if global.json { return printJSON(data) }
            var table = Table(["ID", "NAME", "TEMPLATE", "OPTIMIZATION", "LANGUAGE", "VERSION"], truncating: [1])
            for c in object(data)["session_configs"] as? [[String: Any]] ?? [] {
                table.add([Cell(c["id"] as? String ?? ""), Cell(c["name"] as? String ?? ""), Cell(c["template"] as? String ?? ""),
                           Cell(c["optimization"] as? String ?? ""), Cell(c["target_language"] as? String ?? "-"),
                           Cell(String(c["version"] as? Int ?? 0))])
            }
            table.print()
        }
    }
}

struct ConfigsExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write a session configuration's export document to stdout.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The configuration's id.") var id: String

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/session-configs/\(segment(id))/export")
            // The document as voxd wrote it, byte for byte (import reads it back exactly).
            FileHandle.standardOutput.write(data)
            if !global.json { print("") }
        }
    }
}

struct ConfigsImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import an export document (admin); nothing is written if anything is wrong.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The JSON file, or - for stdin.") var file: String

    func run() async throws {
        let body = try readDocument(file)
        try await global.withClient { client in
            let data = try await client.post("/v1/session-configs/import", json: body)
            if global.json { return printJSON(data) }
            print("imported \(object(data)["id"] as? String ?? "?")")
        }
    }
}

// MARK: audit

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The audit log of admin changes, newest first (admin).")
    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("object"), help: "Only changes of this object id.") var objectID: String?
    @Option(help: "At most this many entries (1–1000).") var limit: Int = 50

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/audit", query: [("object_id", objectID), ("limit", String(limit))])
            if global.json { return printJSON(data) }
            var table = Table(["ID", "AT", "ACTOR", "ACTION", "OBJECT"], truncating: [2])
            for e in object(data)["entries"] as? [[String: Any]] ?? [] {
                table.add([Cell(String(e["id"] as? Int ?? 0)), Cell(e["at"] as? String ?? ""), Cell(e["actor"] as? String ?? ""),
                           Cell(e["action"] as? String ?? ""), Cell(e["object_id"] as? String ?? "")])
            }
            table.print()
        }
    }
}

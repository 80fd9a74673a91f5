import ArgumentParser
import Foundation

// API keys (admin) and the usage ledger. A key's secret is printed once, by `keys create`;
// voxd keeps only a salted hash of it.

private func money(_ v: Any?) -> String {
    guard let d = v as? Double ?? (v as? Int).map(Double.init) else { return "-" }
    return d >= 0.01 || d == 0 ? String(format: "$%.2f", d) : String(format: "$%.6f", d)
}

private func number(_ v: Any?) -> String {
    if let i = v as? Int { return String(i) }
    if let d = v as? Double { return d == d.rounded() ? String(Int(d)) : String(format: "%.1f", d) }
    return "-"
}

/// Options shared by `keys create` and `keys update`: the body's members.
struct KeyFields: ParsableArguments {
    @Option(name: .customLong("scope"), help: "A scope: chat, tts, stt, realtime, config:read, config:write, admin (repeat for more).")
    var scopes: [String] = []
    @Option(name: .customLong("day-usd"), help: "Budget in USD per UTC day.") var dayUSD: Double?
    @Option(name: .customLong("month-usd"), help: "Budget in USD per UTC month.") var monthUSD: Double?
    @Option(help: "Requests per minute.") var rpm: Int?
    @Option(help: "Streams in flight at once.") var streams: Int?
    @Option(name: .customLong("expires-in-days"), help: "Expire this many days from now.") var expiresInDays: Double?
    @Option(name: .customLong("expires-at"), help: "Expire at this ISO-8601 time.") var expiresAt: String?

    var body: [String: Any] {
        var b: [String: Any] = [:]
        if !scopes.isEmpty { b["scopes"] = scopes }
        var budget: [String: Any] = [:]
        if let dayUSD { budget["day_usd"] = dayUSD }
        if let monthUSD { budget["month_usd"] = monthUSD }
        if !budget.isEmpty { b["budget"] = budget }
        var limit: [String: Any] = [:]
        if let rpm { limit["requests_per_minute"] = rpm }
        if let streams { limit["concurrent_streams"] = streams }
        if !limit.isEmpty { b["rate_limit"] = limit }
        if let expiresInDays { b["expires_in_days"] = expiresInDays }
        if let expiresAt { b["expires_at"] = expiresAt }
        return b
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "API keys (admin): list, create, show, update, revoke.",
        subcommands: [KeysList.self, KeysCreate.self, KeysShow.self, KeysUpdate.self, KeysRevoke.self],
        defaultSubcommand: KeysList.self)
}

struct KeysList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Table of keys with their limits and spending.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/keys")
            if global.json { return printJSON(data) }
            var table = Table(["ID", "NAME", "SCOPES", "STATUS", "TODAY", "DAY BUDGET", "MONTH", "MONTH BUDGET", "RPM", "STREAMS", "EXPIRES"], truncating: [1, 2])
            for k in object(data)["keys"] as? [[String: Any]] ?? [] {
                let budget = k["budget"] as? [String: Any] ?? [:], limit = k["rate_limit"] as? [String: Any] ?? [:]
                let status = k["status"] as? String ?? ""
                table.add([Cell(k["id"] as? String ?? ""), Cell(k["name"] as? String ?? ""),
                           Cell((k["scopes"] as? [String] ?? []).joined(separator: ",")),
                           Cell(status, colour: status == "active" ? .green : .red),
                           Cell(money(k["spent_today_usd"])), Cell(money(budget["day_usd"])),
                           Cell(money(k["spent_this_month_usd"])), Cell(money(budget["month_usd"])),
                           Cell(number(limit["requests_per_minute"])), Cell(number(limit["concurrent_streams"])),
                           Cell(k["expires_at"] as? String ?? "never")])
            }
            table.print()
        }
    }
}

struct KeysCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a key; its secret is printed this once (voxd keeps only a salted hash).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A name for the key (unique).") var name: String
    @OptionGroup var fields: KeyFields
    @Option(help: "The key's default template (template resolution falls back to it).") var template: String?

    func validate() throws {
        if fields.scopes.isEmpty { throw ValidationError("give at least one --scope (chat, tts, stt, realtime, config:read, config:write, admin)") }
    }

    func run() async throws {
        var body = fields.body
        body["name"] = name
        if let template { body["template"] = template }
        let json = try JSONSerialization.data(withJSONObject: body)
        try await global.withClient { client in
            let data = try await client.post("/v1/keys", json: json)
            if global.json { return printJSON(data) }
            let o = object(data), k = o["key"] as? [String: Any] ?? [:]
            print("created \(k["id"] as? String ?? "?") (\(name)), scopes \((k["scopes"] as? [String] ?? []).joined(separator: ", "))")
            print("secret (shown once; store it now): \(o["secret"] as? String ?? "?")")
        }
    }
}

struct KeysShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One key, with its spending.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The key's id (key_…).") var id: String

    func run() async throws {
        try await global.withClient { client in
            printJSON(try await client.get("/v1/keys/\(segment(id))"))
        }
    }
}

struct KeysUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Change a key's scopes (replacing them), budgets, limits or expiry.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The key's id (key_…).") var id: String
    @OptionGroup var fields: KeyFields
    @Option(help: "The new name.") var name: String?
    @Option(help: "The version you read (default: the current one, read first).") var version: Int?

    func run() async throws {
        var body = fields.body
        if let name { body["name"] = name }
        if body.isEmpty { throw VoxCtlError("nothing to change: give --scope, --day-usd, --month-usd, --rpm, --streams, --expires-… or --name", status: .usage) }
        try await global.withClient { client in
            var v = version
            if v == nil { v = object(try await client.get("/v1/keys/\(segment(id))"))["version"] as? Int }
            body["version"] = v ?? 0
            let data = try await client.patch("/v1/keys/\(segment(id))", json: try JSONSerialization.data(withJSONObject: body))
            if global.json { return printJSON(data) }
            print("updated \(id) (version \(object(data)["version"] as? Int ?? 0))")
        }
    }
}

struct KeysRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a key now (it stays listed, as revoked).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The key's id (key_…).") var id: String

    func run() async throws { try await deleteObject(global, "/v1/keys", id, verb: "revoked") }
}

// MARK: usage

struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage", abstract: "The usage and cost ledger: totals, calls, cost per minute estimates.",
        subcommands: [UsageTotals.self, UsageCalls.self, UsageEstimate.self], defaultSubcommand: UsageTotals.self)
}

struct UsageTotals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "totals", abstract: "Totals grouped by provider, model, key, day or kind.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("group-by"), help: "provider | model | key | day | kind") var groupBy = "provider"
    @Option(help: "From this date or time (inclusive; 2026-11-01, ISO-8601 or unix seconds).") var from: String?
    @Option(help: "Up to this date or time (exclusive).") var to: String?

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/usage", query: [("group_by", groupBy), ("from", from), ("to", to)])
            if global.json { return printJSON(data) }
            let o = object(data)
            var table = Table([groupBy.uppercased(), "CALLS", "ERRORS", "TOKENS IN", "TOKENS OUT", "CHARS", "AUDIO S", "TTFB MS", "COST"], truncating: [0])
            func add(_ name: String, _ g: [String: Any]) {
                table.add([Cell(name), Cell(number(g["calls"])), Cell(number(g["errors"])), Cell(number(g["input_tokens"])),
                           Cell(number(g["output_tokens"])), Cell(number(g["characters"])), Cell(number(g["audio_seconds"])),
                           Cell(number(g["ttfb_ms_avg"])), Cell(money(g["cost_usd"]))])
            }
            for g in o["groups"] as? [[String: Any]] ?? [] { add(g["group"] as? String ?? "", g) }
            add("total", o["total"] as? [String: Any] ?? [:])
            table.print()
            if let b = o["budget"] as? [String: Any] {
                print("key \(o["key"] as? String ?? ""): today \(money(b["spent_today_usd"])) of \(money(b["day_usd"])), this month \(money(b["spent_this_month_usd"])) of \(money(b["month_usd"]))")
            }
        }
    }
}

struct UsageCalls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "calls", abstract: "The calls themselves, newest first.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("request-id"), help: "Only this request's (X-Request-Id).") var requestID: String?
    @Option(help: "At most this many (1–1000).") var limit = 20

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/usage/calls", query: [("request_id", requestID), ("limit", String(limit))])
            if global.json { return printJSON(data) }
            var table = Table(["AT", "REQUEST", "CLIENT", "KIND", "PROVIDER", "MODEL", "UNITS", "COST", "OUTCOME"], truncating: [5, 6])
            for c in object(data)["calls"] as? [[String: Any]] ?? [] {
                let u = c["units"] as? [String: Any] ?? [:]
                let units = [("in", u["input_tokens"]), ("out", u["output_tokens"]), ("chars", u["characters"]), ("s", u["audio_seconds"])]
                    .compactMap { k, v in v is NSNull || v == nil ? nil : "\(number(v)) \(k)" }.joined(separator: ", ")
                table.add([Cell(c["at"] as? String ?? ""), Cell(c["request_id"] as? String ?? ""), Cell(c["client"] as? String ?? ""),
                           Cell(c["kind"] as? String ?? ""), Cell(c["provider"] as? String ?? "-"), Cell(c["model"] as? String ?? "-"),
                           Cell(units), Cell(money(c["cost_usd"])), Cell(c["outcome"] as? String ?? "")])
            }
            table.print()
        }
    }
}

struct UsageEstimate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estimate", abstract: "Cost per minute of conversation for an STT + LLM + TTS combination.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Speech-to-text: provider or provider/model.") var stt: String?
    @Option(help: "LLM: provider or provider/model.") var llm: String?
    @Option(help: "Text-to-speech: provider or provider/model.") var tts: String?
    @Option(name: .customLong("words-per-minute"), help: "The agent's speaking rate.") var wordsPerMinute: Double?
    @Option(name: .customLong("turns-per-minute"), help: "Exchanges per minute.") var turnsPerMinute: Double?

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/usage/estimate", query: [
                ("stt", stt), ("llm", llm), ("tts", tts), ("words_per_minute", wordsPerMinute.map { String($0) }),
                ("turns_per_minute", turnsPerMinute.map { String($0) }),
            ])
            if global.json { return printJSON(data) }
            let o = object(data)
            var table = Table(["PART", "PROVIDER", "MODEL", "USD/MIN", "NOTE"], truncating: [4])
            for (key, c) in (o["components"] as? [String: [String: Any]] ?? [:]).sorted(by: { $0.key < $1.key }) {
                table.add([Cell(key), Cell(c["provider"] as? String ?? ""), Cell(c["model"] as? String ?? "-"),
                           Cell(money(c["usd_per_minute"])), Cell(c["note"] as? String ?? "")])
            }
            table.print()
            let complete = o["complete"] as? Bool ?? false
            print("total: \(money(o["usd_per_minute"])) per minute\(complete ? "" : " (incomplete: some parts or prices are unknown)")")
        }
    }
}

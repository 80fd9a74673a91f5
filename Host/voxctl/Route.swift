import ArgumentParser
import Foundation

// `voxctl route explain`: the router's candidate list for a request, and why
// (GET /v1/route/explain; calls no provider).

struct Route: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the router how it would serve a request.",
        subcommands: [RouteExplain.self])
}

struct RouteExplain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show the providers that would serve a request, in order, and why (calls no provider).",
        discussion: """
            EXAMPLES
              voxctl route explain chat --model fast-chat
              voxctl route explain tts --voice narrator --format mp3 --language en
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The request's kind: tts, stt, stt.stream or chat.") var kind: String
    @Option(help: ArgumentHelp("provider/model, a model, or an alias from [aliases].", valueName: "model")) var model: String?
    @Option(help: ArgumentHelp("The request's language (e.g. en, hi-IN).", valueName: "code")) var language: String?
    @Option(help: ArgumentHelp("The voice asked for (or a [voice_map] name).", valueName: "voice")) var voice: String?
    @Option(help: ArgumentHelp("Output format (tts) or the upload's (stt).", valueName: "format")) var format: String?
    @Option(name: .customLong("sample-rate"), help: ArgumentHelp("Output sample rate in Hz.", valueName: "hz")) var sampleRate: Int?
    @Flag(help: "The request streams.") var stream = false

    func run() async throws {
        try await global.withClient { client in
            let data = try await client.get("/v1/route/explain", query: [
                ("kind", kind), ("model", model), ("language", language), ("voice", voice), ("format", format),
                ("sample_rate", sampleRate.map(String.init)), ("stream", stream ? "true" : nil),
            ])
            if global.json { return printJSON(data) }
            guard let doc = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw VoxCtlError("unexpected answer from voxd for GET /v1/route/explain (not a JSON object)")
            }
            let policy = doc["policy"] as? String ?? "?"
            let alias = (doc["alias"] as? String).map { ", alias \($0)" } ?? ""
            let pinned = (doc["pinned"] as? Bool) == true ? ", pinned (no failover)" : ""
            print("policy \(policy)\(alias)\(pinned); up to \(doc["max_attempts"] as? Int ?? 1) attempt(s)")
            var table = Table(["#", "PROVIDER", "MODEL", "VOICE", "CIRCUIT", "WHY"])
            for c in doc["candidates"] as? [[String: Any]] ?? [] {
                let why = (c["reasons"] as? [String] ?? []).joined(separator: "; ")
                table.add([Cell("\(c["rank"] as? Int ?? 0)"), Cell(c["provider"] as? String ?? "?"), Cell(c["model"] as? String ?? "-"),
                           Cell(c["voice"] as? String ?? "-"), Cell(c["circuit"] as? String ?? "?"), Cell(why)])
            }
            table.print()
            for e in doc["excluded"] as? [[String: Any]] ?? [] {
                print("excluded \(e["provider"] as? String ?? "?"): \(e["reason"] as? String ?? "")")
            }
        }
    }
}

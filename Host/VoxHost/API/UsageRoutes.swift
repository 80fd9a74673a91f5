import Foundation
import Hummingbird
import VoxPluginKit

/// The usage and cost ledger over the socket:
///
/// - `GET /v1/usage?group_by=provider|model|key|day|kind&from=&to=`: totals
///   per group and overall (calls, errors, tokens, characters, audio
///   seconds, USD, average time to first output, failovers). `from`
///   (inclusive) and `to` (exclusive) are dates (`2026-11-21`, UTC),
///   ISO-8601 times or unix seconds. A key sees only its own calls, and
///   its budgets with what is spent and held.
/// - `GET /v1/usage/calls?request_id=&limit=`: the calls themselves, newest first.
/// - `GET /v1/usage/estimate?stt=&llm=&tts=`: the cost of a minute of
///   conversation with that STT + LLM + TTS combination (`provider` or
///   `provider/model` each), with the assumptions it rests on.
///
/// Pending rows are written first, so an answer includes every call that
/// has ended.
struct UsageRoutes {
    let daemon: VoxDaemon

    func register(on router: Router<VoxRequestContext>) {
        router.get("/v1/usage") { request, context in
            let groupName = request.query("group_by") ?? "provider"
            guard let group = VoxStore.UsageGroup(rawValue: groupName) else {
                throw VoxError(.invalidRequest, "group_by \"\(groupName)\" is not one of \(VoxStore.UsageGroup.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let from = try Self.time(request, "from"), to = try Self.time(request, "to")
            if let from, let to, from >= to { throw VoxError(.invalidRequest, "from must be before to") }
            let key = Self.ownKey(context)
            await daemon.ledger.flush()
            let groups = try await daemon.store.usageTotals(groupBy: group, from: from, to: to, keyID: key?.id)
            let total = try await daemon.store.usageTotals(groupBy: nil, from: from, to: to, keyID: key?.id).first ?? .init()
            var o: [String: JSONValue] = [
                "group_by": .string(group.rawValue),
                "from": from.map { .string(APIKey.iso(Date(timeIntervalSince1970: $0))) } ?? .null,
                "to": to.map { .string(APIKey.iso(Date(timeIntervalSince1970: $0))) } ?? .null,
                "groups": .array(groups.map(\.json)),
                "total": total.json,
            ]
            if let key { o["key"] = .string(key.id); o["budget"] = budget(key) }
            return try jsonResponse(JSONValue.object(o))
        }
        router.get("/v1/usage/calls") { request, context in
            var limit = 50
            if let l = request.query("limit") {
                guard let v = Int(l), (1...1000).contains(v) else { throw VoxError(.invalidRequest, "limit must be an integer in 1…1000, not \"\(l)\"") }
                limit = v
            }
            await daemon.ledger.flush()
            let calls = try await daemon.store.usageCalls(requestID: request.query("request_id"), keyID: Self.ownKey(context)?.id, limit: limit)
            return try jsonResponse(JSONValue.object(["calls": .array(calls)]))
        }
        router.get("/v1/usage/estimate") { request, _ in
            try jsonResponse(try await estimate(request))
        }
    }

    /// A key without the admin scope sees its own usage only.
    static func ownKey(_ context: VoxRequestContext) -> APIKey? {
        guard let p = context.principal, !p.isAdmin else { return nil }
        return p.key
    }

    func budget(_ k: APIKey) -> JSONValue {
        let s = daemon.ledger.spending(k.id)
        return .object(["day_usd": k.budgetDayUSD.map(JSONValue.number) ?? .null, "month_usd": k.budgetMonthUSD.map(JSONValue.number) ?? .null,
                        "spent_today_usd": .number(s.day), "spent_this_month_usd": .number(s.month), "held_usd": .number(s.reserved)])
    }

    static func time(_ request: Request, _ name: String) throws -> Double? {
        guard let raw = request.query(name) else { return nil }
        if let v = Double(raw), v.isFinite { return v }
        if let d = APIKey.parseDate(raw) { return d.timeIntervalSince1970 }
        throw VoxError(.invalidRequest, "\(name) must be a date (2026-11-21), an ISO-8601 time (2026-11-21T09:00:00Z) or unix seconds, not \"\(raw)\"")
    }

    /// The cost per minute of conversation of an STT + LLM + TTS combination.
    func estimate(_ request: Request) async throws -> JSONValue {
        var parts: [TemplateCost.Component] = []
        var problems: [FieldProblem] = []
        for (key, op) in [("stt", VoxOperation.sttStream), ("llm", .llmChat), ("tts", .ttsSynthesize)] {
            guard let spec = request.query(key) else { continue }
            let bits = spec.split(separator: "/", maxSplits: 1).map(String.init)
            guard let entry = await daemon.registry.entry(bits[0]) else {
                problems.append(FieldProblem(key, "no provider named \"\(bits[0])\" (see GET /v1/plugins)"))
                continue
            }
            let instance = entry.instance
            let ops = key == "stt" ? [VoxOperation.sttStream, .sttTranscribe] : [op]
            if let caps = instance?.capabilities, !ops.contains(where: { caps.supports($0) }) {
                problems.append(FieldProblem(key, "\(bits[0]) does not offer \(ProviderResolver.noun(op))"))
                continue
            }
            parts.append(.init(key: key, provider: bits[0], model: bits.count == 2 ? bits[1] : nil, operations: ops, capabilities: instance?.capabilities))
        }
        if parts.isEmpty && problems.isEmpty {
            problems.append(FieldProblem("", "name at least one of stt, llm, tts (each provider or provider/model)"))
        }
        if !problems.isEmpty { throw VoxError(problems: problems, what: "no estimate") }
        var a = TemplateCost.Assumptions()
        func number(_ name: String, _ range: ClosedRange<Double>) throws -> Double? {
            guard let raw = request.query(name) else { return nil }
            guard let v = Double(raw), range.contains(v) else { throw VoxError(.invalidRequest, "\(name) must be a number in \(range.lowerBound)…\(range.upperBound), not \"\(raw)\"") }
            return v
        }
        if let v = try number("words_per_minute", 1...1000) { a.wordsPerMinute = v }
        if let v = try number("turns_per_minute", 0...60) { a.turnsPerMinute = v }
        if let v = try number("llm_input_tokens_per_turn", 0...1_000_000) { a.llmInputTokensPerTurn = v }
        if let v = try number("agent_talk_share", 0...1) { a.agentTalkShare = v }
        let unset = ["stt", "llm", "tts"].filter { k in !parts.contains { $0.key == k } }
        return TemplateCost.estimate(parts, unset: unset, assumptions: a, prices: daemon.priceBook)
    }
}

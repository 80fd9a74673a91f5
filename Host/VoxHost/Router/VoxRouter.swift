import Foundation
import VoxPluginKit

/// What a request asks of the router: its kind and its constraints.
public struct RouteRequest: Sendable {
    public var operation: VoxOperation
    /// `provider/model`, a bare provider name, a bare model name, an alias
    /// from `[aliases]`, or nil (every provider of the kind, default models).
    public var model: String?
    public var language: String?
    public var voice: String?
    /// TTS: the output encoding wanted (pcm_s16le stands for wav and pcm,
    /// which every PCM provider serves). STT: the upload's encoding.
    public var format: AudioEncoding?
    /// What the client called the format, for messages.
    public var formatName: String?
    public var sampleRate: Int?
    public var stream: Bool?
    /// The units this request is expected to use (the service's estimate:
    /// prompt and max_tokens, input characters, audio seconds), for its
    /// estimated cost: the budget reservation and `maxPriceUSD`.
    public var estimate: Usage?
    /// Candidates whose estimated cost is above this are not tried
    /// (`X-Vox-Max-Price`, or `max_price` on explain).
    public var maxPriceUSD: Double?
    /// Candidates observed slower to a first output than the class allows
    /// are not tried (`X-Vox-Latency-Class`).
    public var latencyClass: LatencyClass?

    public init(operation: VoxOperation, model: String? = nil, language: String? = nil, voice: String? = nil,
                format: AudioEncoding? = nil, formatName: String? = nil, sampleRate: Int? = nil, stream: Bool? = nil) {
        self.operation = operation
        self.model = model
        self.language = language
        self.voice = voice
        self.format = format
        self.formatName = formatName
        self.sampleRate = sampleRate
        self.stream = stream
    }
}

/// One provider (and its model) that can serve a request, and why it is
/// where it is in the list.
public struct RouteCandidate: Sendable {
    public let instance: PluginInstance
    public let model: String?
    public var reasons: [String]
    /// Estimated USD of a reference request (see VoxRouter.referenceCost).
    public var referenceCost: Double?
    /// Prices per unit that apply to this provider, model and operation.
    public var rates: [String: PriceBook.Rate] = [:]
    /// Estimated USD of this request (from `RouteRequest.estimate`), or nil.
    public var estimatedCost: Double?
    /// Place in the priority order (from 1), before the policy sorted.
    public var rank = 0
    /// The provider's health record, looked up once per plan.
    var health: ProviderHealth?
    /// EWMA of time to first output, seconds.
    public var latency: Double?
    public var weight: Int
    public var name: String { instance.name }
}

/// The ordered candidates for one request.
public struct RoutePlan: Sendable {
    public var request: RouteRequest
    public var policy: RoutePolicy
    public var alias: String?
    /// The client named one provider: no failover to others.
    public var pinned: Bool
    public var candidates: [RouteCandidate]
    /// Providers of the kind that cannot serve it, and the constraint that failed.
    public var excluded: [(provider: String, reason: String)]
    /// round_robin: the turn taken and the total weight (for explain).
    var turn: (turn: Int, total: Int)?
}

/// Matches requests to providers and orders them by policy; keeps each
/// provider's health (circuit breaker, latency, concurrency gate).
public final class VoxRouter: @unchecked Sendable {
    public let settings: RouterSettings
    private let lock = NSLock()
    private var health: [String: ProviderHealth] = [:]
    private var roundRobin: [String: Int] = [:]
    let metrics = RouterMetrics()
    public let prices: PriceBook
    /// Per instance (its process-unique id), model and operation: the
    /// prices and the reference cost, which only a reload changes (a
    /// reloaded plugin is a new instance). Planning prices every candidate
    /// of every request; this keeps it to one lookup.
    private struct RateKey: Hashable { var instance: UInt64; var model: String?; var operation: VoxOperation }
    private var rateCache: [RateKey: (rates: [String: PriceBook.Rate], reference: Double?)] = [:]

    func rates(_ i: PluginInstance, model: String?, operation: VoxOperation) -> (rates: [String: PriceBook.Rate], reference: Double?) {
        let key = RateKey(instance: i.id, model: model, operation: operation)
        if let hit = lock.withLock({ rateCache[key] }) { return hit }
        let rates = prices.rates(provider: i.name, capabilities: i.capabilities, operations: [operation], model: model)
        let entry = (rates: rates, reference: Self.referenceCost(rates, operation))
        lock.withLock {
            if rateCache.count > 4096 { rateCache.removeAll() } // reloads leave old instances' entries behind
            rateCache[key] = entry
        }
        return entry
    }

    public init(settings: RouterSettings) {
        self.settings = settings
        prices = PriceBook(overrides: settings.prices)
    }

    /// The health record of a provider (created on first use).
    public func health(_ provider: String) -> ProviderHealth {
        lock.withLock {
            if let h = health[provider] { return h }
            let h = ProviderHealth(name: provider, settings: settings.breaker, limits: settings.limits(provider))
            health[provider] = h
            return h
        }
    }

    public var allHealth: [ProviderHealth] { lock.withLock { health.values.sorted { $0.name < $1.name } } }

    // MARK: planning

    /// The candidates for `r`, ordered by the policy. Throws a 404 for a model
    /// nobody has and a 400 naming the failed constraint (and the providers
    /// that came closest) when no provider can serve the request.
    public func plan(_ request: RouteRequest, daemon: VoxDaemon, offline: Bool = false) async throws -> RoutePlan {
        var r = request
        if let scope = CallScope.current {
            r.maxPriceUSD = r.maxPriceUSD ?? scope.maxPriceUSD
            r.latencyClass = r.latencyClass ?? scope.latencyClass
        }
        let resolver = ProviderResolver(daemon: daemon, operation: r.operation, offline: offline)
        let noun = resolver.noun
        let base = await daemon.providers(for: r.operation)
        var targets: [(PluginInstance, String?, String)] = []
        var excluded: [(provider: String, reason: String)] = []
        var alias: String?
        var policy = settings.policy
        var pinned = false
        let model = r.model.flatMap { $0.isEmpty ? nil : $0 }
        if let model, let a = settings.aliases[model] {
            alias = model
            policy = a.policy ?? policy
            for (n, target) in a.targets.enumerated() {
                do {
                    let (i, m) = try await resolver.pinned(target, among: base)
                    targets.append((i, m, "alias \(model) target #\(n + 1) (\(target))"))
                } catch let e as VoxError {
                    excluded.append((target, e.message))
                }
            }
            if targets.isEmpty {
                throw VoxError(.unavailable, "no target of alias \(model) can serve \(noun): \(excluded.map { "\($0.provider): \($0.reason)" }.joined(separator: "; "))")
            }
        } else if let model, await Self.namesProvider(model, daemon: daemon) {
            let (i, m) = try await resolver.pinned(model, among: base)
            targets.append((i, m, model.contains("/" as Character) ? "the request names \(model)" : "the request names the provider \(model)"))
            pinned = true
        } else if let model {
            for i in base where await resolver.offers(i, model) {
                targets.append((i, model, "offers the model \(model)"))
            }
            if targets.isEmpty {
                let all = base.flatMap { i in resolver.models(i).map { "\(i.name)/\($0.id)" } }
                let aliases = settings.aliases.keys.sorted()
                throw VoxError(.notFound, "no provider offers the \(noun) model \"\(model)\"; available: \(all.joined(separator: ", "))"
                               + (aliases.isEmpty ? "" : "; aliases: \(aliases.joined(separator: ", "))"))
            }
        } else {
            guard !base.isEmpty else { throw VoxError(.unavailable, "no \(noun) provider is loaded (see GET /v1/plugins)") }
            for i in base {
                let m = resolver.defaultModel(i)
                if m == nil, r.operation == .llmChat {
                    excluded.append((i.name, "\(i.name) declares no chat model; name one as \(i.name)/MODEL"))
                    continue
                }
                targets.append((i, m, "serves \(noun)" + (m.map { " (default model \($0))" } ?? "")))
            }
            if targets.isEmpty {
                throw VoxError(.invalidRequest, excluded.map { $0.reason }.joined(separator: "; "), provider: excluded.count == 1 ? excluded[0].provider : nil)
            }
        }

        // Constraints: every failure is kept, so "closest" can be told.
        var candidates: [RouteCandidate] = []
        var failures: [(provider: String, failed: [(constraint: String, why: String)])] = []
        for (i, m, why) in targets {
            let (rates, reference) = self.rates(i, model: m, operation: r.operation)
            let estimated = r.estimate.map { PriceBook.cost($0, rates) }
            let h = health(i.name)
            var failed = constraintFailures(r, i, model: m)
            if let max = r.maxPriceUSD {
                if rates.isEmpty {
                    failed.append(("max_price", "\(i.name) declares no price for \(m ?? noun), so it cannot be held to a max price of $\(Self.money(max))"))
                } else if let cost = estimated ?? reference, cost > max {
                    failed.append(("max_price", "\(i.name)\(m.map { "/\($0)" } ?? "") would cost about $\(Self.money(cost)), above the max price of $\(Self.money(max))"))
                }
            }
            if let cls = r.latencyClass, let bound = cls.maxFirstOutputSeconds, let seen = h.latency(model: m), seen > bound {
                failed.append(("latency_class", "\(i.name)'s first output takes \(Int((seen * 1000).rounded())) ms (EWMA), above the \(cls.rawValue) class's \(Int(bound * 1000)) ms"))
            }
            if failed.isEmpty {
                var why = why
                if let rate = r.sampleRate, let native = Self.nativeRate(i.capabilities[r.operation]?.sampleRates, rate), native != rate {
                    why += "; voxd resamples its \(native) Hz output to \(rate) Hz"
                }
                var c = RouteCandidate(instance: i, model: m, reasons: [why], referenceCost: reference,
                                       latency: h.latency(model: m), weight: settings.limits(i.name).weight)
                c.rates = rates
                c.estimatedCost = estimated
                c.health = h
                c.rank = candidates.count + 1
                candidates.append(c)
            } else {
                failures.append((i.name, failed))
                excluded.append((i.name, failed.map { $0.why }.joined(separator: "; ")))
            }
        }
        if candidates.isEmpty {
            let sorted = failures.sorted { $0.failed.count < $1.failed.count }
            let constraints = Set(failures.flatMap { $0.failed.map { $0.constraint } }).sorted()
            if pinned || failures.count == 1, let only = sorted.first {
                throw VoxError(.invalidRequest, only.failed.map { $0.why }.joined(separator: "; "), provider: only.provider)
            }
            let fewest = sorted.first?.failed.count ?? 0
            let closest = sorted.filter { $0.failed.count == fewest }
            throw VoxError(.invalidRequest, "no \(noun) provider can serve this request (failed: \(constraints.joined(separator: ", "))); closest: "
                           + closest.map { f in "\(f.provider) (\(f.failed.map { $0.why }.joined(separator: "; ")))" }.joined(separator: ", "))
        }
        let turn = order(&candidates, policy: policy, key: alias ?? r.operation.rawValue)
        var plan = RoutePlan(request: r, policy: policy, alias: alias, pinned: pinned, candidates: candidates, excluded: excluded)
        plan.turn = turn
        return plan
    }

    private static func namesProvider(_ model: String, daemon: VoxDaemon) async -> Bool {
        if model.contains("/" as Character) { return true } // a Character: not Foundation's slow substring search
        return await daemon.registry.entry(model) != nil
    }

    /// The request's constraints that `i` (with `model`) fails, each with a
    /// sentence naming the constraint and what the provider offers instead.
    func constraintFailures(_ r: RouteRequest, _ i: PluginInstance, model: String?) -> [(constraint: String, why: String)] {
        var out: [(constraint: String, why: String)] = []
        let caps = i.capabilities
        let opCaps = caps[r.operation]
        if let f = r.format {
            let formats = opCaps?.formats ?? []
            switch r.operation {
            case .ttsSynthesize where f != .pcmS16LE && !formats.contains(f):
                out.append(("format", "\(i.name) cannot produce \(r.formatName ?? f.rawValue); it produces \(formats.map(\.rawValue).joined(separator: ", ")) (wav and pcm always work for PCM providers)"))
            case .sttTranscribe, .sttStream:
                if !formats.isEmpty, !formats.contains(f) {
                    out.append(("format", "\(i.name) cannot transcribe \(f.rawValue); it takes \(formats.map(\.rawValue).joined(separator: ", "))"))
                }
            default: break
            }
        }
        if let rate = r.sampleRate, let rates = opCaps?.sampleRates, !rates.isEmpty, !rates.contains(rate) {
            // voxd resamples PCM speech (wav and pcm output); other formats must be produced at the rate.
            if !(r.operation == .ttsSynthesize && r.format == .pcmS16LE) {
                out.append(("sample_rate", "\(i.name) does not offer \(rate) Hz; it offers \(rates.map(String.init).joined(separator: ", "))"
                            + (r.operation == .ttsSynthesize ? " (voxd resamples wav and pcm output only)" : "")))
            }
        }
        if let lang = r.language?.lowercased(), !lang.isEmpty {
            let tags = caps.models?.first(where: { $0.id == model })?.languages ?? caps.languages ?? []
            if !tags.isEmpty, !tags.contains(where: { Self.languageMatches($0.lowercased(), lang) }) {
                let declared = tags.map { $0.lowercased() }
                out.append(("language", "\(i.name) does not declare the language \(lang)" + (declared.count <= 12 ? "; it declares \(declared.joined(separator: ", "))" : "")))
            }
        }
        if r.stream == true, opCaps?.stream == false {
            out.append(("stream", "\(i.name) does not stream \(ProviderResolver.noun(r.operation))"))
        }
        return out
    }

    /// The rate to ask a provider for when `wanted` is asked of voxd: it
    /// when offered (or nothing is declared), else the nearest offered rate
    /// at or above it, else the highest.
    static func nativeRate(_ offered: [Int]?, _ wanted: Int) -> Int? {
        guard let offered, !offered.isEmpty else { return wanted }
        if offered.contains(wanted) { return wanted }
        return offered.filter { $0 >= wanted }.min() ?? offered.max()
    }

    /// "en" matches en, en-US…; "en-gb" matches en and en-GB; "multi" and "*" match all.
    static func languageMatches(_ declared: String, _ want: String) -> Bool {
        declared == want || declared == "multi" || declared == "*" || want.hasPrefix(declared + "-") || declared.hasPrefix(want + "-")
    }

    /// Estimated USD of a reference request at `rates` (the plugin's
    /// declared prices under the config's): chat 1,000 input + 1,000 output
    /// tokens; speech 1,000 characters (or 250 input + 1,000 output tokens
    /// for token-priced models); transcription 60 audio seconds. nil: no price.
    static func referenceCost(_ rates: [String: PriceBook.Rate], _ op: VoxOperation) -> Double? {
        guard !rates.isEmpty else { return nil }
        let usage: Usage
        switch op {
        case .llmChat: usage = Usage(inputTokens: 1000, outputTokens: 1000, requests: 1)
        case .ttsSynthesize: usage = Usage(characters: 1000, audioSeconds: 60, inputTokens: 250, outputTokens: 1000, requests: 1)
        default: usage = Usage(characters: 1000, audioSeconds: 60, requests: 1)
        }
        return PriceBook.cost(usage, rates)
    }

    /// Sorts by the policy (stable over the priority order the list came in).
    /// The reasons it implies are told by `policyReason`, for explain only:
    /// a request that is served never reads them.
    private func order(_ c: inout [RouteCandidate], policy: RoutePolicy, key: String) -> (turn: Int, total: Int)? {
        var turnTaken: (turn: Int, total: Int)?
        switch policy {
        case .priority: break
        case .price:
            let indexed = c.enumerated().map { ($0, $1) }
            c = indexed.sorted { a, b in
                switch (a.1.referenceCost, b.1.referenceCost) {
                case let (x?, y?): return x != y ? x < y : a.0 < b.0
                case (_?, nil): return true
                case (nil, _?): return false
                default: return a.0 < b.0
                }
            }.map { $0.1 }
        case .latency:
            let indexed = c.enumerated().map { ($0, $1) }
            c = indexed.sorted { a, b in
                switch (a.1.latency, b.1.latency) {
                case let (x?, y?): return x != y ? x < y : a.0 < b.0
                case (nil, _?): return true
                case (_?, nil): return false
                default: return a.0 < b.0
                }
            }.map { $0.1 }
        case .roundRobin:
            let total = c.reduce(0) { $0 + max(0, $1.weight) }
            guard total > 0 else { break }
            let turn = lock.withLock { () -> Int in
                let t = roundRobin[key, default: 0]
                roundRobin[key] = t &+ 1
                return t
            }
            turnTaken = (turn, total)
            var slot = turn % total
            var start = 0
            for (k, cand) in c.enumerated() {
                if slot < max(0, cand.weight) { start = k; break }
                slot -= max(0, cand.weight)
            }
            c = Array(c[start...] + c[..<start])
        }
        // Providers out of rotation (open circuit, retry-after) go last; the
        // failover loop asks again when their turn comes.
        let states = c.map { ($0.health ?? health($0.name)).circuitState }
        if states.contains(where: { $0 != .closed }) {
            let indexed = c.enumerated().map { ($0, $1) }
            c = indexed.sorted { (states[$0.0] == .open ? 1 : 0, $0.0) < (states[$1.0] == .open ? 1 : 0, $1.0) }.map { $0.1 }
        }
        return turnTaken
    }

    /// What the policy made of a candidate, in words (explain).
    func policyReasons(_ c: RouteCandidate, _ plan: RoutePlan) -> [String] {
        var out = ["priority rank \(c.rank)" + (plan.alias != nil && plan.policy == .priority ? " (alias order)" : "")]
        switch plan.policy {
        case .priority: break
        case .price: out.append(c.referenceCost.map { "reference request costs $\(Self.money($0))" } ?? "no declared price: after the priced ones")
        case .latency: out.append(c.latency.map { "first-output EWMA \(Int(($0 * 1000).rounded())) ms" } ?? "no latency samples yet: measured first")
        case .roundRobin:
            if let t = plan.turn { out.append("weight \(c.weight) of \(t.total); turn \(t.turn % t.total + 1)") }
        }
        return out
    }

    /// USD with six decimals ("0.000667"), without String(format:), which
    /// costs microseconds on Linux and runs for every candidate.
    static func money(_ v: Double) -> String {
        let micros = Int64((abs(v) * 1_000_000).rounded())
        let fraction = String(micros % 1_000_000)
        return (v < 0 && micros > 0 ? "-" : "") + String(micros / 1_000_000) + "." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    // MARK: explain

    /// The explain route's body: the plan, each candidate's reasons, its
    /// health, and what would stop it now, calling no provider.
    public func explain(_ plan: RoutePlan, daemon: VoxDaemon) async -> JSONValue {
        var list: [JSONValue] = []
        for (n, c) in plan.candidates.enumerated() {
            let h = c.health ?? health(c.name)
            var o: [String: JSONValue] = [
                "rank": .number(Double(n + 1)),
                "provider": .string(c.name),
                "model": c.model.map(JSONValue.string) ?? .null,
                "reasons": .array((c.reasons + policyReasons(c, plan)).map(JSONValue.string)),
                "circuit": .string(h.circuitState.rawValue),
                "reference_cost_usd": c.referenceCost.map(JSONValue.number) ?? .null,
                "prices": .object(c.rates.mapValues { .number($0.usdPerUnit) }),
                "latency_ewma_ms": c.latency.map { .number(($0 * 100_000).rounded() / 100) } ?? .null,
                "would_try": .bool(n < settings.maxAttempts && (!plan.pinned || n == 0)),
            ]
            if let v = plan.request.voice, plan.request.operation == .ttsSynthesize {
                let mapped = await VoiceMapper(daemon: daemon, offline: true).voice(for: v, on: c.instance, primary: n == 0)
                o["voice"] = mapped.voice.map(JSONValue.string) ?? .null
                o["voice_reason"] = .string(mapped.reason)
            }
            if let e = h.lastErrorText { o["last_error"] = .string(e) }
            list.append(.object(o))
        }
        var req: [String: JSONValue] = ["kind": .string(plan.request.operation.rawValue)]
        if let m = plan.request.model { req["model"] = .string(m) }
        if let l = plan.request.language { req["language"] = .string(l) }
        if let v = plan.request.voice { req["voice"] = .string(v) }
        if let f = plan.request.formatName ?? plan.request.format?.rawValue { req["format"] = .string(f) }
        if let s = plan.request.sampleRate { req["sample_rate"] = .number(Double(s)) }
        if let s = plan.request.stream { req["stream"] = .bool(s) }
        if let m = plan.request.maxPriceUSD { req["max_price_usd"] = .number(m) }
        if let c = plan.request.latencyClass { req["latency_class"] = .string(c.rawValue) }
        return .object([
            "request": .object(req),
            "policy": .string(plan.policy.rawValue),
            "alias": plan.alias.map(JSONValue.string) ?? .null,
            "pinned": .bool(plan.pinned),
            "max_attempts": .number(Double(plan.pinned ? 1 : settings.maxAttempts)),
            "candidates": .array(list),
            "excluded": .array(plan.excluded.map { .object(["provider": .string($0.provider), "reason": .string($0.reason)]) }),
        ])
    }
}

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
    /// What only a reload or a discovery changes (shared by every plan of
    /// the request's shape).
    let target: RouteTarget
    /// Estimated USD of this request (from `RouteRequest.estimate`), or nil.
    public var estimatedCost: Double?
    /// Place in the priority order (from 1), before the policy sorted.
    public var rank = 0
    /// EWMA of time to first output, seconds.
    public var latency: Double?

    public var instance: PluginInstance { target.instance }
    public var model: String? { target.model }
    public var name: String { target.instance.name }
    /// Prices per unit that apply to this provider, model and operation.
    public var rates: [String: PriceBook.Rate] { target.rates }
    /// Estimated USD of a reference request (see VoxRouter.referenceCost).
    public var referenceCost: Double? { target.referenceCost }
    public var weight: Int { target.weight }
    /// The provider's health record.
    var health: ProviderHealth { target.health }
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
        let route = try await compiled(r, daemon: daemon, offline: offline)
        // The per-call checks; every failure is kept, so "closest" can be told.
        var candidates: [RouteCandidate] = []
        candidates.reserveCapacity(route.targets.count)
        var excluded = route.excluded
        var failures: [(provider: String, failed: [(constraint: String, why: String)])] = []
        let noun = ProviderResolver.noun(r.operation)
        for t in route.targets {
            let estimated = r.estimate.map { PriceBook.cost($0, t.rates) }
            let latency = t.health.latency(model: t.model)
            var failed = t.failures
            if let max = r.maxPriceUSD {
                if t.rates.isEmpty {
                    failed.append(("max_price", "\(t.instance.name) declares no price for \(t.model ?? noun), so it cannot be held to a max price of $\(Self.money(max))"))
                } else if let cost = estimated ?? t.referenceCost, cost > max {
                    failed.append(("max_price", "\(t.instance.name)\(t.model.map { "/\($0)" } ?? "") would cost about $\(Self.money(cost)), above the max price of $\(Self.money(max))"))
                }
            }
            if let cls = r.latencyClass, let bound = cls.maxFirstOutputSeconds, let seen = latency, seen > bound {
                failed.append(("latency_class", "\(t.instance.name)'s first output takes \(Int((seen * 1000).rounded())) ms (EWMA), above the \(cls.rawValue) class's \(Int(bound * 1000)) ms"))
            }
            if failed.isEmpty {
                candidates.append(RouteCandidate(target: t, estimatedCost: estimated, rank: candidates.count + 1, latency: latency))
            } else {
                failures.append((t.instance.name, failed))
                excluded.append((t.instance.name, failed.map { $0.why }.joined(separator: "; ")))
            }
        }
        if candidates.isEmpty {
            let sorted = failures.sorted { $0.failed.count < $1.failed.count }
            let constraints = Set(failures.flatMap { $0.failed.map { $0.constraint } }).sorted()
            if route.pinned || failures.count == 1, let only = sorted.first {
                throw VoxError(.invalidRequest, only.failed.map { $0.why }.joined(separator: "; "), provider: only.provider)
            }
            let fewest = sorted.first?.failed.count ?? 0
            let closest = sorted.filter { $0.failed.count == fewest }
            throw VoxError(.invalidRequest, "no \(noun) provider can serve this request (failed: \(constraints.joined(separator: ", "))); closest: "
                           + closest.map { f in "\(f.provider) (\(f.failed.map { $0.why }.joined(separator: "; ")))" }.joined(separator: ", "))
        }
        let turn = order(&candidates, policy: route.policy, key: route.alias ?? r.operation.rawValue)
        var plan = RoutePlan(request: r, policy: route.policy, alias: route.alias, pinned: route.pinned, candidates: candidates, excluded: excluded)
        plan.turn = turn
        return plan
    }

    // MARK: compiled routes

    /// Compiled routes by request shape, each good while the epoch it was
    /// compiled at is current. Bounded: client-chosen languages and model
    /// names could otherwise grow it without end.
    private var compiledRoutes: [RouteShape: CompiledRoute] = [:]
    static let compiledRouteLimit = 1024

    /// Forgets every compiled route (the benchmark's cold decisions).
    public func forgetCompiledRoutes() { lock.withLock { compiledRoutes.removeAll() } }

    /// The targets for `r`'s shape: from the table when compiled at the
    /// current epoch, else resolved now (and kept, unless the answer leaned
    /// on a live discovery call, which routing must repeat after its TTL).
    func compiled(_ r: RouteRequest, daemon: VoxDaemon, offline: Bool) async throws -> CompiledRoute {
        let shape = RouteShape(r, offline: offline)
        let epoch = daemon.routeEpoch.value
        if let hit = lock.withLock({ compiledRoutes[shape] }), hit.epoch == epoch { return hit }
        let resolver = ProviderResolver(daemon: daemon, operation: r.operation, offline: offline)
        let route = try await compile(r, resolver: resolver, daemon: daemon, epoch: epoch)
        if !resolver.consulted.discovery {
            lock.withLock {
                if compiledRoutes.count >= Self.compiledRouteLimit { compiledRoutes.removeAll(keepingCapacity: true) }
                compiledRoutes[shape] = route
            }
        }
        return route
    }

    /// Resolves the model (alias, `provider/model`, a provider, a bare
    /// model, or every provider of the kind) to targets in priority order,
    /// and checks each against the request's capability constraints.
    private func compile(_ r: RouteRequest, resolver: ProviderResolver, daemon: VoxDaemon, epoch: UInt64) async throws -> CompiledRoute {
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
        let compiled = targets.map { (i, m, why) -> RouteTarget in
            let rates = prices.rates(provider: i.name, capabilities: i.capabilities, operations: [r.operation], model: m)
            let reference = Self.referenceCost(rates, r.operation)
            var why = why
            if let rate = r.sampleRate, let native = Self.nativeRate(i.capabilities[r.operation]?.sampleRates, rate), native != rate {
                why += "; voxd resamples its \(native) Hz output to \(rate) Hz"
            }
            return RouteTarget(instance: i, model: m, why: why, rates: rates, referenceCost: reference, health: health(i.name),
                               weight: settings.limits(i.name).weight, failures: constraintFailures(r, i, model: m))
        }
        return CompiledRoute(epoch: epoch, alias: alias, policy: policy, pinned: pinned, targets: compiled, excluded: excluded)
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
        case .price: // unpriced last; ties keep the priority order
            let cost = c.map { $0.referenceCost ?? .infinity }
            c = c.indices.sorted { cost[$0] != cost[$1] ? cost[$0] < cost[$1] : $0 < $1 }.map { c[$0] }
        case .latency: // unmeasured first, so they get measured; ties keep the priority order
            let seen = c.map { $0.latency ?? -1 }
            c = c.indices.sorted { seen[$0] != seen[$1] ? seen[$0] < seen[$1] : $0 < $1 }.map { c[$0] }
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
        if c.contains(where: { $0.health.circuitState == .open }) {
            let open = c.map { $0.health.circuitState == .open }
            c = c.indices.sorted { (open[$0] ? 1 : 0, $0) < (open[$1] ? 1 : 0, $1) }.map { c[$0] }
        }
        return turnTaken
    }

    /// What the policy made of a candidate, in words (explain): JSON
    /// strings after the candidate's own reason.
    private func writePolicyReasons(_ c: RouteCandidate, _ plan: RoutePlan, into w: inout ExplainWriter) {
        w.raw(",\"priority rank ")
        w.int(c.rank)
        if plan.alias != nil && plan.policy == .priority { w.raw(" (alias order)") }
        w.raw("\"")
        switch plan.policy {
        case .priority: return
        case .price: w.raw(","); w.append(c.target.priceReason)
        case .latency: w.raw(","); w.string(c.latency.map { "first-output EWMA \(Int(($0 * 1000).rounded())) ms" } ?? "no latency samples yet: measured first")
        case .roundRobin:
            if let t = plan.turn { w.raw(","); w.string("weight \(c.weight) of \(t.total); turn \(t.turn % t.total + 1)") }
        }
    }

    /// USD with six decimals ("0.000667"), without String(format:), which
    /// costs microseconds on Linux and runs for every candidate.
    static func money(_ v: Double) -> String {
        let micros = Int64((abs(v) * 1_000_000).rounded())
        let fraction = String(micros % 1_000_000)
        return (v < 0 && micros > 0 ? "-" : "") + String(micros / 1_000_000) + "." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    // MARK: explain

    /// The explain route's body (JSON): the plan, each candidate's reasons,
    /// its health, and what would stop it now, calling no provider.
    public func explain(_ plan: RoutePlan, daemon: VoxDaemon) async -> [UInt8] {
        let r = plan.request
        var w = ExplainWriter(capacity: 512 + 400 * plan.candidates.count)
        w.raw("{\"request\":{")
        w.field("kind", r.operation.rawValue, first: true)
        if let m = r.model { w.field("model", m) }
        if let l = r.language { w.field("language", l) }
        if let v = r.voice { w.field("voice", v) }
        if let f = r.formatName ?? r.format?.rawValue { w.field("format", f) }
        if let s = r.sampleRate { w.key("sample_rate"); w.int(s) }
        if let s = r.stream { w.key("stream"); w.bool(s) }
        if let m = r.maxPriceUSD { w.key("max_price_usd"); w.number(m) }
        if let c = r.latencyClass { w.field("latency_class", c.rawValue) }
        w.raw("}")
        w.field("policy", plan.policy.rawValue)
        w.field("alias", plan.alias)
        w.key("pinned"); w.bool(plan.pinned)
        w.key("max_attempts"); w.int(plan.pinned ? 1 : settings.maxAttempts)
        w.key("candidates"); w.raw("[")
        for (n, c) in plan.candidates.enumerated() {
            if n > 0 { w.raw(",") }
            let (circuit, lastError) = c.health.explainState
            w.raw("{\"rank\":")
            w.int(n + 1)
            w.append(c.target.explainFields)
            writePolicyReasons(c, plan, into: &w)
            w.raw("]")
            w.field("circuit", circuit.rawValue)
            w.key("latency_ewma_ms")
            if let l = c.latency { w.number((l * 100_000).rounded() / 100) } else { w.raw("null") }
            w.key("would_try"); w.bool(n < settings.maxAttempts && (!plan.pinned || n == 0))
            if let v = r.voice, r.operation == .ttsSynthesize {
                let mapped = await VoiceMapper(daemon: daemon, offline: true).voice(for: v, on: c.instance, primary: n == 0)
                w.field("voice", mapped.voice)
                w.field("voice_reason", mapped.reason)
            }
            if let e = lastError { w.field("last_error", e) }
            w.raw("}")
        }
        w.raw("]")
        w.key("excluded"); w.raw("[")
        for (n, e) in plan.excluded.enumerated() {
            w.raw(n > 0 ? ",{" : "{")
            w.field("provider", e.provider, first: true)
            w.field("reason", e.reason)
            w.raw("}")
        }
        w.raw("]}")
        return w.bytes
    }
}

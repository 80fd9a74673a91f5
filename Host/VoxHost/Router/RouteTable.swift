import Foundation
import VoxPluginKit

/// Counts changes to what routing depends on: the registry's entries and
/// the discovered model lists. A compiled route is good while the count it
/// was compiled at is the current one. Read without awaiting any actor.
public final class RouteEpoch: @unchecked Sendable {
    private let lock = NSLock()
    private var count: UInt64 = 0
    public init() {}
    public var value: UInt64 { lock.withLock { count } }
    public func bump() { lock.withLock { count &+= 1 } }
}

/// What a plan's candidate list depends on besides the epoch: the request
/// without its per-call parts (estimate, max price, latency class, voice).
struct RouteShape: Hashable {
    var operation: VoxOperation
    var model: String?
    var language: String?
    var format: AudioEncoding?
    var formatName: String?
    var sampleRate: Int?
    var stream: Bool?
    var offline: Bool

    init(_ r: RouteRequest, offline: Bool) {
        operation = r.operation
        model = r.model
        language = r.language
        format = r.format
        formatName = r.formatName
        sampleRate = r.sampleRate
        stream = r.stream
        self.offline = offline
    }
}

/// One provider (and model) that a request of some shape names or matches,
/// with everything about it that only a reload or a discovery changes:
/// its prices, the capability constraints it fails, its health record and
/// the fixed part of its explain entry.
final class RouteTarget: Sendable {
    let instance: PluginInstance
    let model: String?
    /// Why it is a candidate ("offers the model …", "alias … target #2"),
    /// with the resampling it would need.
    let why: String
    let rates: [String: PriceBook.Rate]
    let referenceCost: Double?
    let health: ProviderHealth
    let weight: Int
    /// The capability constraints it fails (format, sample rate, language, stream).
    let failures: [(constraint: String, why: String)]
    /// `,"provider":…,"model":…,"prices":{…},"reference_cost_usd":…,"reasons":["why"`
    /// for explain: after the rank (hence the leading comma), before the
    /// policy's reasons (hence the open list).
    let explainFields: [UInt8]
    /// The price policy's reason, a JSON string (explain).
    let priceReason: [UInt8]

    init(instance: PluginInstance, model: String?, why: String, rates: [String: PriceBook.Rate], referenceCost: Double?,
         health: ProviderHealth, weight: Int, failures: [(constraint: String, why: String)]) {
        self.instance = instance
        self.model = model
        self.why = why
        self.rates = rates
        self.referenceCost = referenceCost
        self.health = health
        self.weight = weight
        self.failures = failures
        var w = ExplainWriter()
        w.field("provider", instance.name)
        w.field("model", model)
        w.key("prices")
        w.raw("{")
        for (n, unit) in rates.keys.sorted().enumerated() {
            if n > 0 { w.raw(",") }
            w.key(unit, first: true)
            w.number(rates[unit]!.usdPerUnit)
        }
        w.raw("}")
        w.key("reference_cost_usd")
        if let referenceCost { w.number(referenceCost) } else { w.raw("null") }
        w.key("reasons")
        w.raw("[")
        w.string(why) // the policy's reasons and "]" follow
        explainFields = w.bytes
        var reason = ExplainWriter(capacity: 64)
        reason.string(referenceCost.map { "reference request costs $\(VoxRouter.money($0))" } ?? "no declared price: after the priced ones")
        priceReason = reason.bytes
    }
}

/// The part of a plan fixed by the request's shape and the epoch: the
/// targets in priority order, the providers left out while resolving the
/// model, the policy. `VoxRouter.plan` adds the per-call checks (max price,
/// latency class), health and order to it.
final class CompiledRoute: Sendable {
    let epoch: UInt64
    let alias: String?
    let policy: RoutePolicy
    let pinned: Bool
    let targets: [RouteTarget]
    let excluded: [(provider: String, reason: String)]

    init(epoch: UInt64, alias: String?, policy: RoutePolicy, pinned: Bool, targets: [RouteTarget],
         excluded: [(provider: String, reason: String)]) {
        self.epoch = epoch
        self.alias = alias
        self.policy = policy
        self.pinned = pinned
        self.targets = targets
        self.excluded = excluded
    }
}

/// Writes JSON text straight into bytes: the explain route renders twenty
/// candidates per call, and building a JSONValue tree of dictionaries to
/// serialize it afterwards cost more than the decision itself (measured
/// by `VoxBench router`). Commas are the caller's: `key(_:first:)`.
struct ExplainWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// `,"name":` (no comma when `first`).
    mutating func key(_ name: String, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        JSONValue.quote(name, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func string(_ s: String) { JSONValue.quote(s, into: &bytes) }

    mutating func string(_ s: String?) {
        if let s { JSONValue.quote(s, into: &bytes) } else { raw("null") }
    }

    mutating func int(_ v: Int) {
        if v >= 0 && v < 100 { // ranks and counts: no String made
            if v >= 10 { bytes.append(UInt8(ascii: "0") + UInt8(v / 10)) }
            bytes.append(UInt8(ascii: "0") + UInt8(v % 10))
        } else {
            bytes.append(contentsOf: String(v).utf8)
        }
    }

    mutating func number(_ v: Double) { JSONValue.number(v).write(into: &bytes) }

    mutating func bool(_ v: Bool) { if v { raw("true") } else { raw("false") } }

    mutating func field(_ name: String, _ value: String?, first: Bool = false) {
        key(name, first: first)
        string(value)
    }

    mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }
}

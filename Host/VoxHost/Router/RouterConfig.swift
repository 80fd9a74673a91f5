import Foundation

/// How the router orders the providers that can serve a request.
public enum RoutePolicy: String, Sendable, Equatable, CaseIterable {
    /// `router.priority` first, in that order, then the rest by name (an
    /// alias: its targets in the order written).
    case priority
    /// Lowest declared price per unit for the operation and model first
    /// (plugins' `prices`); undeclared prices last.
    case price
    /// Lowest observed time to first output (EWMA per provider+model)
    /// first; providers without samples yet go first, so they get measured.
    case latency
    /// Weighted round-robin over the candidates (`providers.NAME.weight`).
    case roundRobin = "round_robin"
}

/// An admin alias (`[aliases]` in etc/voxd.toml): a model name clients use
/// that stands for an ordered list of `provider/model` targets.
public struct RouteAlias: Sendable, Equatable {
    public var targets: [String]
    /// Overrides `router.policy` for this alias.
    public var policy: RoutePolicy?
}

/// Per-provider limits and weights (`[providers.NAME]` in etc/voxd.toml).
/// Connect and idle timeouts of remote providers are their plugins'
/// own settings (plugins.d: connect_timeout_ms, first_byte_timeout_ms…);
/// these are enforced by the host around every operation.
public struct ProviderLimits: Sendable, Equatable {
    /// Operations running at once; 0 is unlimited.
    public var maxConcurrency = 0
    /// Requests waiting for a slot beyond that; more are turned away (and
    /// fail over to the next candidate).
    public var queueSize = 64
    /// Longest a request waits in the queue.
    public var queueTimeoutSeconds = 5.0
    /// Longest from start to the operation's first output (audio chunk,
    /// chat delta, transcript); then the attempt fails over. nil: none.
    public var firstOutputTimeoutSeconds: Double?
    /// Longest an operation may run in all; nil: limits.operation_timeout_seconds.
    public var totalTimeoutSeconds: Double?
    /// Share in weighted round-robin.
    public var weight = 1

    public init() {}
}

/// The circuit breaker's thresholds (`[router.breaker]`).
public struct BreakerSettings: Sendable, Equatable {
    /// Opens after this many failures in a row.
    public var consecutiveFailures = 5
    /// …or when this share of the calls in the window failed…
    public var errorRate = 0.5
    /// …over at least this many calls…
    public var minCalls = 20
    /// …in this window.
    public var windowSeconds = 30.0
    /// Open this long, then one probe call (half-open).
    public var cooldownSeconds = 10.0
}

/// The `[router]`, `[router.breaker]`, `[aliases]`, `[voice_map]` and
/// `[providers.NAME]` parts of etc/voxd.toml.
public struct RouterSettings: Sendable, Equatable {
    public var policy: RoutePolicy = .priority
    public var priority: [String] = ["localtts"]
    /// Candidates tried per request, the first included.
    public var maxAttempts = 3
    /// Wall time a request may spend on failed attempts and backoff before
    /// the router gives up.
    public var retryBudgetSeconds = 10.0
    /// Backoff between attempts: base × 2^(n−1), capped, with full jitter
    /// on its upper half.
    public var backoffBaseSeconds = 0.05
    public var backoffMaxSeconds = 1.0
    /// A retry-after longer than this takes the provider out of rotation
    /// for that long instead of waiting for it.
    public var maxRetryAfterWaitSeconds = 2.0
    public var breaker = BreakerSettings()
    public var aliases: [String: RouteAlias] = [:]
    /// Logical voice → provider → that provider's voice id.
    public var voiceMap: [String: [String: String]] = [:]
    public var providers: [String: ProviderLimits] = [:]
    /// `[providers.NAME.prices]`: provider → model (or "*") → unit → USD.
    public var prices: [String: [String: [String: Double]]] = [:]

    public init() {}

    public func limits(_ provider: String) -> ProviderLimits { providers[provider] ?? ProviderLimits() }
}

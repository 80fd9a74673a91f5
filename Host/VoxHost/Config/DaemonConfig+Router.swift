import Foundation
import TOMLKit

extension TOMLReader {
    /// The router's part of etc/voxd.toml, strictly (all optional):
    ///
    /// ```toml
    /// [router]
    /// policy = "priority"            # priority | price | latency | round_robin
    /// priority = ["openai", "groq"]  # order for the priority policy (and ties)
    /// max_attempts = 3               # candidates tried per request (1 = no failover)
    /// retry_budget_ms = 10000        # time a request may spend failing over
    /// backoff_base_ms = 50           # jittered exponential backoff between attempts
    /// backoff_max_ms = 1000
    /// max_retry_after_wait_ms = 2000 # longer retry-after: the provider sits out instead
    /// [router.breaker]
    /// consecutive_failures = 5       # open after this many failures in a row
    /// error_rate = 0.5               # …or this share failed…
    /// min_calls = 20                 # …of at least this many calls…
    /// window_seconds = 30            # …in this window
    /// cooldown_seconds = 10          # then one probe (half-open)
    /// [aliases]                      # a model name → ordered provider/model targets
    /// fast-chat = ["groq/llama-3.3-70b-versatile", "openai/gpt-4o-mini"]
    /// [aliases.cheap-tts]            # or a table, to override the policy
    /// targets = ["openai/gpt-4o-mini-tts", "groq/playai-tts"]
    /// policy = "price"
    /// [voice_map]                    # a logical voice → one voice per provider
    /// narrator = { openai = "onyx", groq = "Fritz-PlayAI" }
    /// [providers.openai]             # host-side limits per provider
    /// max_concurrency = 8            # 0: unlimited
    /// queue_size = 64                # waiting requests beyond that are turned away
    /// queue_timeout_ms = 5000
    /// first_output_timeout_ms = 15000
    /// total_timeout_seconds = 300
    /// weight = 1                     # round_robin share
    /// [providers.openai.prices]      # USD per billing unit, over the plugin's declared prices
    /// "gpt-4o-mini" = { input_token = 0.00000015, output_token = 0.0000006 }
    /// "*" = { character = 0.000015 } # any model of the provider
    /// ```
    mutating func routerSettings(_ root: TOMLTable, defaults: RouterSettings) -> RouterSettings {
        var s = defaults
        if let t = table(root, "router", prefix: "") {
            rejectUnknown(t, prefix: "router", known: ["policy", "priority", "max_attempts", "retry_budget_ms", "backoff_base_ms",
                                                       "backoff_max_ms", "max_retry_after_wait_ms", "breaker"])
            if let p = policy(t, "policy", prefix: "router") { s.policy = p }
            if let v = strings(t, "priority", prefix: "router") { s.priority = v }
            if let v = int(t, "max_attempts", prefix: "router", range: 1...20) { s.maxAttempts = v }
            if let v = int(t, "retry_budget_ms", prefix: "router", range: 0...600_000) { s.retryBudgetSeconds = Double(v) / 1000 }
            if let v = int(t, "backoff_base_ms", prefix: "router", range: 0...60_000) { s.backoffBaseSeconds = Double(v) / 1000 }
            if let v = int(t, "backoff_max_ms", prefix: "router", range: 0...60_000) { s.backoffMaxSeconds = Double(v) / 1000 }
            if let v = int(t, "max_retry_after_wait_ms", prefix: "router", range: 0...600_000) { s.maxRetryAfterWaitSeconds = Double(v) / 1000 }
            if let b = table(t, "breaker", prefix: "router") {
                let p = "router.breaker"
                rejectUnknown(b, prefix: p, known: ["consecutive_failures", "error_rate", "min_calls", "window_seconds", "cooldown_seconds"])
                if let v = int(b, "consecutive_failures", prefix: p, range: 1...10_000) { s.breaker.consecutiveFailures = v }
                if let v = double(b, "error_rate", prefix: p, range: 0.01...1) { s.breaker.errorRate = v }
                if let v = int(b, "min_calls", prefix: p, range: 1...1_000_000) { s.breaker.minCalls = v }
                if let v = double(b, "window_seconds", prefix: p, range: 0.1...86400) { s.breaker.windowSeconds = v }
                if let v = double(b, "cooldown_seconds", prefix: p, range: 0.01...86400) { s.breaker.cooldownSeconds = v }
            }
        }
        if let t = table(root, "aliases", prefix: "") {
            for name in t.keys.sorted() {
                let key = "aliases.\(name)"
                if name.contains("/") { problem(key, "an alias name cannot contain \"/\" (that names a provider/model)"); continue }
                var alias = RouteAlias(targets: [], policy: nil)
                if t[name]?.table != nil, let a = table(t, name, prefix: "aliases") {
                    rejectUnknown(a, prefix: key, known: ["targets", "policy"])
                    alias.targets = strings(a, "targets", prefix: key) ?? []
                    alias.policy = policy(a, "policy", prefix: key)
                    if a["targets"] == nil { problem(key, "missing targets: an ordered list of \"provider/model\"") }
                } else if let v = strings(t, name, prefix: "aliases") {
                    alias.targets = v
                } else { continue }
                for (i, target) in alias.targets.enumerated() where target.split(separator: "/", maxSplits: 1).count != 2 {
                    problem("\(key)[\(i)]", "must be \"provider/model\", not \"\(target)\"")
                }
                if alias.targets.isEmpty, t[name]?.table == nil { problem(key, "must list at least one \"provider/model\"") }
                s.aliases[name] = alias
            }
        }
        if let t = table(root, "voice_map", prefix: "") {
            for name in t.keys.sorted() {
                guard let m = table(t, name, prefix: "voice_map") else { continue }
                var byProvider: [String: String] = [:]
                for provider in m.keys.sorted() {
                    if let v = string(m, provider, prefix: "voice_map.\(name)") { byProvider[provider] = v }
                }
                s.voiceMap[name] = byProvider
            }
        }
        if let t = table(root, "providers", prefix: "") {
            for name in t.keys.sorted() {
                guard let p = table(t, name, prefix: "providers") else { continue }
                let key = "providers.\(name)"
                rejectUnknown(p, prefix: key, known: ["max_concurrency", "queue_size", "queue_timeout_ms", "first_output_timeout_ms",
                                                      "total_timeout_seconds", "weight", "prices"])
                var l = ProviderLimits()
                if let v = int(p, "max_concurrency", prefix: key, range: 0...100_000) { l.maxConcurrency = v }
                if let v = int(p, "queue_size", prefix: key, range: 0...1_000_000) { l.queueSize = v }
                if let v = int(p, "queue_timeout_ms", prefix: key, range: 0...600_000) { l.queueTimeoutSeconds = Double(v) / 1000 }
                if let v = int(p, "first_output_timeout_ms", prefix: key, range: 1...3_600_000) { l.firstOutputTimeoutSeconds = Double(v) / 1000 }
                if let v = double(p, "total_timeout_seconds", prefix: key, range: 0.001...86400) { l.totalTimeoutSeconds = v }
                if let v = int(p, "weight", prefix: key, range: 0...1000) { l.weight = v }
                if p["prices"] != nil { s.prices[name] = prices(p, prefix: key) }
                s.providers[name] = l
            }
        }
        return s
    }

    /// `[providers.NAME.prices]`: model (or "*") → { unit = USD per unit }.
    private mutating func prices(_ p: TOMLTable, prefix: String) -> [String: [String: Double]] {
        guard let t = table(p, "prices", prefix: prefix) else { return [:] }
        var out: [String: [String: Double]] = [:]
        for model in t.keys.sorted() {
            let key = "\(prefix).prices.\(model)"
            guard let m = table(t, model, prefix: "\(prefix).prices") else { continue }
            rejectUnknown(m, prefix: key, known: Set(PriceBook.units))
            var units: [String: Double] = [:]
            for unit in m.keys.sorted() where PriceBook.units.contains(unit) {
                if let v = double(m, unit, prefix: key, range: 0...1_000) { units[unit] = v }
            }
            out[model] = units
        }
        return out
    }

    private mutating func policy(_ t: TOMLTable, _ key: String, prefix: String) -> RoutePolicy? {
        guard let v = string(t, key, prefix: prefix) else { return nil }
        guard let p = RoutePolicy(rawValue: v) else {
            problem(join(prefix, key), "must be one of \(RoutePolicy.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(v)\"")
            return nil
        }
        return p
    }
}

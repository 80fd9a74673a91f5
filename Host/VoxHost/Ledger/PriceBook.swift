import Foundation
import VoxPluginKit

/// Prices per billing unit for one provider, model and operation: the
/// plugin's declared facts (`capabilities.prices`, each with its source),
/// overridden by `[providers.NAME.prices]` in etc/voxd.toml. A model's own
/// price wins over a wildcard (`"*"`) one, at each level.
///
/// Units are the provider's billing units: `input_token`, `output_token`,
/// `character`, `audio_second`, `audio_minute`, `request`.
public struct PriceBook: Sendable {
    public struct Rate: Sendable, Equatable {
        public var usdPerUnit: Double
        public var source: String?
    }

    /// provider → model (or "*") → unit → USD.
    public let overrides: [String: [String: [String: Double]]]

    public init(overrides: [String: [String: [String: Double]]] = [:]) { self.overrides = overrides }

    public static let units = ["input_token", "output_token", "character", "audio_second", "audio_minute", "request"]

    public func rates(provider: String, capabilities: Capabilities?, operations: [VoxOperation], model: String?) -> [String: Rate] {
        var byUnit: [String: Rate] = [:]
        var exactUnits = Set<String>()
        for p in capabilities?.prices ?? [] where operations.contains(p.operation) {
            let exact = p.model != nil && p.model != "*" && p.model == model
            let wildcard = p.model == nil || p.model == "*"
            guard exact || wildcard else { continue }
            if exact || !exactUnits.contains(p.unit) {
                byUnit[p.unit] = Rate(usdPerUnit: p.usdPerUnit, source: p.source ?? "\(provider) plugin")
                if exact { exactUnits.insert(p.unit) }
            }
        }
        if let own = overrides[provider] {
            for (unit, usd) in own["*"] ?? [:] { byUnit[unit] = Rate(usdPerUnit: usd, source: "etc/voxd.toml providers.\(provider).prices.\"*\"") }
            if let model, let m = own[model] {
                for (unit, usd) in m { byUnit[unit] = Rate(usdPerUnit: usd, source: "etc/voxd.toml providers.\(provider).prices.\"\(model)\"") }
            }
        }
        return byUnit
    }

    /// The quantity of `unit` in `usage`, or nil when the usage does not say.
    public static func quantity(_ unit: String, in u: Usage) -> Double? {
        switch unit {
        case "input_token": return u.inputTokens.map(Double.init)
        case "output_token": return u.outputTokens.map(Double.init)
        case "character": return u.characters.map(Double.init)
        case "audio_second": return u.audioSeconds
        case "audio_minute": return u.audioSeconds.map { $0 / 60 }
        case "request": return Double(u.requests ?? 1)
        default: return nil
        }
    }

    /// The cost of `usage` at `rates`: every priced unit the usage reports.
    public static func cost(_ usage: Usage, _ rates: [String: Rate]) -> Double {
        rates.reduce(0) { sum, r in sum + (quantity(r.key, in: usage) ?? 0) * r.value.usdPerUnit }
    }
}

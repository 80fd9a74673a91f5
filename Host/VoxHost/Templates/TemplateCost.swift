import Foundation
import VoxPluginKit

/// The estimated cost of one minute of conversation with a template, from
/// the price facts its providers declare (`capabilities.prices`) and stated
/// assumptions, which the answer shows so a reader can redo the sums.
public enum TemplateCost {
    public struct Assumptions: Sendable, Equatable {
        /// Speaking rate of the agent's voice.
        public var wordsPerMinute = 150.0
        /// Share of the minute the agent is speaking (the caller has the rest).
        public var agentTalkShare = 0.5
        /// Exchanges (caller turn + agent turn) per minute.
        public var turnsPerMinute = 4.0
        /// What the LLM reads per turn: system prompt plus the conversation so far.
        public var llmInputTokensPerTurn = 1000.0
        public var tokensPerWord = 1.33
        /// Characters of spoken text per word, the space included.
        public var charactersPerWord = 6.0
        /// Speech-to-text hears the whole minute (a live stream is billed by audio sent).
        public var sttAudioSecondsPerMinute = 60.0
        public init() {}

        var agentWords: Double { wordsPerMinute * agentTalkShare }

        public var json: JSONValue {
            .object([
                "words_per_minute": .number(wordsPerMinute), "agent_talk_share": .number(agentTalkShare),
                "turns_per_minute": .number(turnsPerMinute), "llm_input_tokens_per_turn": .number(llmInputTokensPerTurn),
                "tokens_per_word": .number(tokensPerWord), "characters_per_word": .number(charactersPerWord),
                "stt_audio_seconds_per_minute": .number(sttAudioSecondsPerMinute),
                "derived": .object([
                    "agent_words_per_minute": .number(agentWords),
                    "tts_characters_per_minute": .number(agentWords * charactersPerWord),
                    "tts_audio_seconds_per_minute": .number(60 * agentTalkShare),
                    "llm_input_tokens_per_minute": .number(turnsPerMinute * llmInputTokensPerTurn),
                    "llm_output_tokens_per_minute": .number(round(agentWords * tokensPerWord)),
                ]),
            ])
        }

        /// Units of `unit` that `component` uses per minute, or nil when the
        /// unit means nothing for it.
        func quantity(_ component: String, unit: String) -> Double? {
            switch (component, unit) {
            case ("stt", "audio_second"): return sttAudioSecondsPerMinute
            case ("stt", "audio_minute"): return sttAudioSecondsPerMinute / 60
            case ("tts", "character"): return agentWords * charactersPerWord
            case ("tts", "audio_second"): return 60 * agentTalkShare
            case ("tts", "audio_minute"): return agentTalkShare
            case ("tts", "input_token"): return round(agentWords * tokensPerWord)
            case ("llm", "input_token"): return turnsPerMinute * llmInputTokensPerTurn
            case ("llm", "output_token"): return round(agentWords * tokensPerWord)
            default: return nil
            }
        }
    }

    public struct Component: Sendable {
        public var key: String
        public var provider: String
        public var model: String?
        public var operations: [VoxOperation]
        /// nil when the provider is not loaded (its price facts are unknown).
        public var capabilities: Capabilities?
        public init(key: String, provider: String, model: String?, operations: [VoxOperation], capabilities: Capabilities?) {
            self.key = key; self.provider = provider; self.model = model; self.operations = operations; self.capabilities = capabilities
        }
    }

    /// The model a component will use: the template's, else the provider's
    /// default when it serves the operation, else its first model that does.
    static func effectiveModel(_ c: Component) -> String? {
        if let m = c.model { return m }
        guard let caps = c.capabilities else { return nil }
        let own = (caps.models ?? []).filter { m in m.operations.map { ops in ops.contains { c.operations.contains($0) } } ?? true }
        if let d = caps.defaultModel, own.contains(where: { $0.id == d }) { return d }
        return own.first?.id
    }

    /// `unset`: components the template leaves to the router (their cost
    /// is unknown, so the estimate is not complete).
    public static func estimate(_ components: [Component], unset: [String] = [], assumptions a: Assumptions = Assumptions(),
                                prices: PriceBook = PriceBook()) -> JSONValue {
        var total = 0.0
        var complete = unset.isEmpty
        var out: [String: JSONValue] = [:]
        for c in components {
            let model = effectiveModel(c)
            var o: [String: JSONValue] = ["provider": .string(c.provider), "model": model.map(JSONValue.string) ?? .null]
            guard let caps = c.capabilities else {
                complete = false
                o["usd_per_minute"] = .null
                o["note"] = .string("\(c.provider) is not loaded: its prices are unknown")
                out[c.key] = .object(o)
                continue
            }
            // Per unit, the model's own price over a wildcard one, config over the plugin's.
            let byUnit = prices.rates(provider: c.provider, capabilities: caps, operations: c.operations, model: model)
            var lines: [JSONValue] = []
            var sum = 0.0
            var notes: [String] = []
            for unit in byUnit.keys.sorted() {
                let p = byUnit[unit]!
                guard let q = a.quantity(c.key, unit: unit) else {
                    notes.append("price per \(unit) not estimated (no assumption for it)")
                    complete = false
                    continue
                }
                let usd = q * p.usdPerUnit
                sum += usd
                lines.append(.object(["unit": .string(unit), "quantity": .number(q), "usd_per_unit": .number(p.usdPerUnit),
                                      "usd": .number(rounded(usd)), "source": p.source.map(JSONValue.string) ?? .null]))
            }
            if byUnit.isEmpty {
                complete = false
                notes.append("\(c.provider) declares no price for \(model ?? "this operation")")
                o["usd_per_minute"] = .null
            } else {
                o["usd_per_minute"] = .number(rounded(sum))
                total += sum
            }
            o["lines"] = .array(lines)
            if !notes.isEmpty { o["note"] = .string(notes.joined(separator: "; ")) }
            out[c.key] = .object(o)
        }
        return .object([
            "usd_per_minute": .number(rounded(total)),
            "complete": .bool(complete),
            "components": .object(out),
            "unset": .array(unset.map(JSONValue.string)),
            "assumptions": a.json,
        ])
    }

    static func rounded(_ x: Double) -> Double { (x * 1_000_000).rounded() / 1_000_000 }
}

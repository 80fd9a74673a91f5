import Foundation
import VoxPluginKit

/// Turns a request's `model` into a provider instance and the provider's own
/// model id, for one operation: `provider/model`, a bare provider name (its
/// default model for that operation), a bare model name (the first provider
/// in router order that has it), or nothing (the first provider's default).
struct ProviderResolver {
    let daemon: VoxDaemon
    let operation: VoxOperation

    /// What the operation is called in messages.
    var noun: String {
        switch operation {
        case .ttsSynthesize: return "text-to-speech"
        case .sttTranscribe: return "speech-to-text"
        case .llmChat: return "chat"
        default: return operation.rawValue
        }
    }

    /// The models of `i` that serve this operation (all when it does not say).
    func models(_ i: PluginInstance) -> [ModelInfo] {
        (i.capabilities.models ?? []).filter { $0.operations?.contains(operation) ?? true }
    }

    func defaultModel(_ i: PluginInstance) -> String? {
        let own = models(i)
        if let d = i.capabilities.defaultModel, own.contains(where: { $0.id == d }) || own.isEmpty { return d }
        return own.first?.id
    }

    /// Whether the provider's discovered models (GET /models, cached with
    /// the discovery TTL) have `id` for this operation: providers add
    /// models faster than plugins declare them.
    func discovered(_ i: PluginInstance, has id: String) async -> Bool {
        guard i.capabilities.supports(.modelsList) else { return false }
        return await daemon.catalog.models(of: i, refresh: false).contains { $0.id == id && ($0.operations?.contains(operation) ?? true) }
    }

    func resolve(_ model: String?) async throws -> (PluginInstance, String?) {
        let candidates = await daemon.providers(for: operation)
        guard let model, !model.isEmpty else {
            guard let first = candidates.first else { throw VoxError(.unavailable, "no \(noun) provider is loaded (see GET /v1/plugins)") }
            return (first, defaultModel(first))
        }
        let parts = model.split(separator: "/", maxSplits: 1).map(String.init)
        let namesAProvider = await daemon.registry.entry(model) != nil
        if parts.count == 2 || namesAProvider {
            let providerName = parts[0]
            guard let instance = candidates.first(where: { $0.name == providerName }) else {
                if let e = await daemon.registry.entry(providerName) {
                    switch e.state {
                    case .failed(let why): throw VoxError(.unavailable, "provider \(providerName) failed to load: \(why)", provider: providerName)
                    case .disabled: throw VoxError(.unavailable, "provider \(providerName) is disabled", provider: providerName)
                    case .loaded: throw VoxError(.invalidRequest, "provider \(providerName) does not offer \(noun)", provider: providerName)
                    }
                }
                throw VoxError(.notFound, "no provider named \(providerName); \(noun) providers: \(candidates.map(\.name).joined(separator: ", "))")
            }
            guard parts.count == 2 else { return (instance, defaultModel(instance)) }
            let known = models(instance)
            if !known.isEmpty, !known.contains(where: { $0.id == parts[1] }), await !discovered(instance, has: parts[1]) {
                throw VoxError(.notFound, "\(providerName) has no \(noun) model \(parts[1]); its \(noun) models: \(known.map(\.id).joined(separator: ", "))", provider: providerName)
            }
            return (instance, parts[1])
        }
        if let instance = candidates.first(where: { models($0).contains { $0.id == model } }) {
            return (instance, model)
        }
        for instance in candidates where await discovered(instance, has: model) {
            return (instance, model)
        }
        let all = candidates.flatMap { i in models(i).map { "\(i.name)/\($0.id)" } }
        throw VoxError(.notFound, "no provider offers the \(noun) model \"\(model)\"; available: \(all.joined(separator: ", "))")
    }
}

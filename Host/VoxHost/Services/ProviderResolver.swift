import Foundation
import VoxPluginKit

/// Turns one model reference into a provider instance and the provider's own
/// model id, for one operation: `provider/model` or a bare provider name (its
/// default model for that operation). The router (VoxRouter) builds its
/// candidate lists from these answers; `offline` answers from what is known
/// already and never runs discovery (the explain route calls no provider).
struct ProviderResolver {
    let daemon: VoxDaemon
    let operation: VoxOperation
    var offline = false
    /// Set when an online answer depended on a provider's discovered
    /// models: such a plan is not kept for reuse (VoxRouter's compiled
    /// routes), since routing asks discovery again once its TTL has passed.
    let consulted = Consulted()

    final class Consulted: @unchecked Sendable { var discovery = false }

    /// What the operation is called in messages.
    var noun: String { Self.noun(operation) }

    static func noun(_ operation: VoxOperation) -> String {
        switch operation {
        case .ttsSynthesize: return "text-to-speech"
        case .sttTranscribe: return "speech-to-text"
        case .sttStream: return "streaming speech-to-text"
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
        if !offline { consulted.discovery = true }
        let list = offline ? await daemon.catalog.cachedModels(of: i) : await daemon.catalog.models(of: i, refresh: false)
        return list.contains { $0.id == id && ($0.operations?.contains(operation) ?? true) }
    }

    /// Whether `i` offers `model` for this operation (declared, or discovered).
    func offers(_ i: PluginInstance, _ model: String) async -> Bool {
        if i.capabilities.models?.contains(where: { $0.id == model && ($0.operations?.contains(operation) ?? true) }) == true { return true }
        return await discovered(i, has: model)
    }

    /// `provider/model` or a bare provider name, among `candidates` (the
    /// loaded providers of the operation). Throws the reason it cannot be.
    func pinned(_ model: String, among candidates: [PluginInstance]) async throws -> (PluginInstance, String?) {
        let parts = model.split(separator: "/", maxSplits: 1).map(String.init)
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
}

import CVoxPlugin
import Foundation
import VoxPluginKit

/// Discovered voices and models per plugin instance, cached with a TTL and
/// served stale (marked so) when a refresh fails.
public actor Catalog {
    public struct VoiceEntry: Sendable { public var provider: String; public var voice: Voice; public var stale: Bool }

    private struct Cached<T: Sendable>: Sendable { var value: T; var fetched: Date }
    private var voices: [UInt64: Cached<[Voice]>] = [:]
    /// Routing reads the discovered models: a new list bumps the epoch.
    private var models: [UInt64: Cached<[ModelInfo]>] = [:] { didSet { routeEpoch.bump() } }
    private let routeEpoch: RouteEpoch
    private let ttl: Double
    private let bufferBytes: Int

    public init(ttl: Double, bufferBytes: Int, routeEpoch: RouteEpoch = RouteEpoch()) {
        self.routeEpoch = routeEpoch
        self.ttl = ttl
        self.bufferBytes = bufferBytes
    }

    /// Voices of every loaded instance that lists voices, filtered.
    public func voices(of instances: [PluginInstance], language: String?, gender: String?, refresh: Bool) async -> (voices: [VoiceEntry], errors: [String: String]) {
        var out: [VoiceEntry] = []
        var errors: [String: String] = [:]
        for i in instances where i.capabilities.supports(.voicesList) {
            let key = i.id
            var stale = false
            var list: [Voice]
            if !refresh, let c = voices[key], Date().timeIntervalSince(c.fetched) < ttl {
                list = c.value
            } else {
                do {
                    list = try await fetch(i, kind: VOX_OP_LIST_VOICES, request: VoxJSON.string(VoiceListRequest(includeCustom: true, refresh: refresh)), event: "voices", as: [Voice].self)
                    voices[key] = Cached(value: list, fetched: Date())
                } catch {
                    errors[i.name] = "\(error)"
                    guard let c = voices[key] else { continue }
                    list = c.value
                    stale = true
                }
            }
            for v in list where Self.matches(v, language: language, gender: gender) {
                out.append(VoiceEntry(provider: i.name, voice: v, stale: stale))
            }
        }
        return (out, errors)
    }

    /// Forgets an instance's voices (a clone added one): the next listing asks again.
    public func invalidateVoices(of i: PluginInstance) { voices[i.id] = nil }

    /// Models of one instance: discovered when it lists models, else declared.
    public func models(of i: PluginInstance, refresh: Bool) async -> [ModelInfo] {
        let declared = i.capabilities.models ?? []
        guard i.capabilities.supports(.modelsList) else { return declared }
        let key = i.id
        if !refresh, let c = models[key], Date().timeIntervalSince(c.fetched) < ttl { return c.value }
        do {
            let found = try await fetch(i, kind: VOX_OP_LIST_MODELS, request: VoxJSON.string(ModelListRequest(refresh: refresh)), event: "models", as: [ModelInfo].self)
            models[key] = Cached(value: found, fetched: Date())
            return found
        } catch {
            return models[key]?.value ?? declared
        }
    }

    /// Like `models(of:refresh:)`, also saying whether the list is stale:
    /// the provider lists models but the last attempt to ask it failed, so
    /// what is returned is an older answer or only the declared models.
    public func modelsStatus(of i: PluginInstance) async -> (models: [ModelInfo], stale: Bool) {
        let declared = i.capabilities.models ?? []
        guard i.capabilities.supports(.modelsList) else { return (declared, false) }
        if let c = models[i.id], Date().timeIntervalSince(c.fetched) < ttl { return (c.value, false) }
        do {
            let found = try await fetch(i, kind: VOX_OP_LIST_MODELS, request: VoxJSON.string(ModelListRequest(refresh: false)), event: "models", as: [ModelInfo].self)
            models[i.id] = Cached(value: found, fetched: Date())
            return (found, false)
        } catch {
            return (models[i.id]?.value ?? declared, true)
        }
    }

    /// Models known without asking anyone: the last discovered list (even
    /// past its TTL), else the declared ones. The explain route uses this.
    public func cachedModels(of i: PluginInstance) -> [ModelInfo] {
        models[i.id]?.value ?? (i.capabilities.models ?? [])
    }

    /// Voices known without asking anyone (nil: never listed).
    public func cachedVoices(of i: PluginInstance) -> [Voice]? { voices[i.id]?.value }

    static func matches(_ v: Voice, language: String?, gender: String?) -> Bool {
        if let gender, v.gender?.lowercased() != gender.lowercased() { return false }
        if let language {
            let want = language.lowercased()
            let langs = (v.languages ?? []).map { $0.lowercased() }
            // "en" matches en, en-us, en-gb…; "en-gb" matches en-gb and its subtags only.
            if !langs.contains(where: { $0 == want || $0.hasPrefix(want + "-") }) { return false }
        }
        return true
    }

    /// Runs a discovery operation and decodes the member `event` of its
    /// single event of that type.
    private func fetch<T: Decodable>(_ i: PluginInstance, kind: vox_type_op_kind, request: String, event: String, as: T.Type) async throws -> T {
        let op = try i.start(kind, request: request, bufferBytes: bufferBytes, timeout: 30)
        var found: T?
        while let out = try await op.next() {
            guard case .event(let json) = out, let v = try? VoxJSON.decode(JSONValue.self, from: Data(json.utf8)),
                  v["type"]?.stringValue == event, let payload = v[event] else { continue }
            found = try VoxJSON.decode(T.self, from: VoxJSON.encode(payload))
        }
        guard let found else { throw VoxPluginError.internalError("\(i.name) finished discovery without a \"\(event)\" event") }
        return found
    }
}

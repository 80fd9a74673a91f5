import Foundation
import Hummingbird
import VoxPluginKit

/// What the loaded providers can do: capabilities, providers, models, voices.
struct CatalogRoutes {
    let daemon: VoxDaemon

    func register(on router: Router<VoxRequestContext>) {
        router.get("/v1/capabilities") { _, _ in try await capabilities() }
        router.get("/v1/providers") { request, _ in try await providers(request) }
        router.get("/v1/models") { request, _ in try await models(request) }
        router.get("/v1/voices") { request, _ in try await voices(request) }
    }

    /// The merged matrix: each provider's declared capabilities, and per
    /// operation the providers that offer it, in router order.
    func capabilities() async throws -> Response {
        let instances = await daemon.providers()
        var byOperation: [String: JSONValue] = [:]
        for op in VoxOperation.allCases {
            let names = instances.filter { $0.capabilities.supports(op) }.map { JSONValue.string($0.name) }
            if !names.isEmpty { byOperation[op.rawValue] = .array(names) }
        }
        var providers: [JSONValue] = []
        for i in instances {
            guard case .object(var caps) = i.capabilitiesJSON else { continue }
            caps["provider"] = .string(i.name)
            caps["models"] = try VoxJSON.decode(JSONValue.self, from: VoxJSON.encode(await daemon.catalog.models(of: i, refresh: false)))
            providers.append(.object(caps))
        }
        return try jsonResponse(JSONValue.object(["providers": .array(providers), "operations": .object(byOperation)]))
    }

    func providers(_ request: Request) async throws -> Response {
        var op: VoxOperation?
        if let kind = request.query("kind") {
            guard let o = Self.operation(kind) else {
                throw VoxError(.invalidRequest, "unknown kind \"\(kind)\"; use one of \(VoxOperation.allCases.map(\.rawValue).joined(separator: ", ")) (or tts, stt, chat)")
            }
            op = o
        }
        var out: [JSONValue] = []
        for i in await daemon.providers(for: op) {
            let caps = i.capabilities
            out.append(.object([
                "name": .string(i.name),
                "operations": .array(caps.operations.keys.sorted().map(JSONValue.string)),
                "default_model": caps.defaultModel.map(JSONValue.string) ?? .null,
                "default_voice": caps.defaultVoice.map(JSONValue.string) ?? .null,
                "models": .array(await daemon.catalog.models(of: i, refresh: false).map { .string($0.id) }),
                "languages": .array((caps.languages ?? []).map(JSONValue.string)),
                "health": daemon.router.health(i.name).json,
            ]))
        }
        return try jsonResponse(JSONValue.object(["providers": .array(out)]))
    }

    /// OpenAI's list shape; ids are provider/model.
    func models(_ request: Request) async throws -> Response {
        let refresh = try request.boolQuery("refresh")
        var data: [JSONValue] = []
        for i in await daemon.providers() {
            for m in await daemon.catalog.models(of: i, refresh: refresh) {
                data.append(.object([
                    "id": .string("\(i.name)/\(m.id)"),
                    "object": .string("model"),
                    "created": .number(0),
                    "owned_by": .string(i.name),
                    "operations": .array((m.operations ?? []).map { .string($0.rawValue) }),
                ]))
            }
        }
        return try jsonResponse(JSONValue.object(["object": .string("list"), "data": .array(data)]))
    }

    func voices(_ request: Request) async throws -> Response {
        var instances = await daemon.providers()
        if let p = request.query("provider") {
            guard let i = instances.first(where: { $0.name == p }) else {
                throw VoxError(.notFound, "no loaded provider named \"\(p)\"; loaded: \(instances.map(\.name).joined(separator: ", "))")
            }
            guard i.capabilities.supports(.voicesList) else {
                throw VoxError(.unsupported, "\(p) does not list voices", provider: p)
            }
            instances = [i]
        }
        let gender = request.query("gender")
        if let g = gender, !["male", "female", "neutral"].contains(g.lowercased()) {
            throw VoxError(.invalidRequest, "gender must be male, female or neutral, not \"\(g)\"")
        }
        // include_custom (default true): the account's own voices (cloned,
        // designed, professional) next to the provider's stock ones.
        let includeCustom = request.query("include_custom") == nil ? true : try request.boolQuery("include_custom")
        let result = await daemon.catalog.voices(of: instances, language: request.query("language"), gender: gender,
                                                 refresh: try request.boolQuery("refresh"))
        let voices: [JSONValue] = try result.voices.filter { includeCustom || $0.voice.custom != true }.map { entry in
            guard case .object(var o) = try VoxJSON.decode(JSONValue.self, from: VoxJSON.encode(entry.voice)) else { return .null }
            o["provider"] = .string(entry.provider)
            if entry.stale { o["stale"] = .bool(true) }
            return .object(o)
        }
        var body: [String: JSONValue] = ["voices": .array(voices)]
        if !result.errors.isEmpty { body["errors"] = .object(result.errors.mapValues(JSONValue.string)) }
        return try jsonResponse(JSONValue.object(body))
    }

    static func operation(_ kind: String) -> VoxOperation? {
        switch kind {
        case "tts": return .ttsSynthesize
        case "stt": return .sttTranscribe
        case "chat", "llm": return .llmChat
        default: return VoxOperation(rawValue: kind)
        }
    }
}

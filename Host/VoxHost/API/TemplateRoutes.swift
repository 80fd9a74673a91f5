import Foundation
import HTTPTypes
import Hummingbird
import VoxPluginKit

/// AI templates: `/v1/templates` (presets listed with `"preset": true`),
/// `/{id}` (GET, PUT/PATCH with a version, DELETE), `/{id}/clone`,
/// `/validate` (a body that is not saved), `/{id}/resolve` (the fallback
/// chain); and `/v1/defaults` (a client's default template). Writes are
/// admin actions, audited.
struct TemplateRoutes {
    let daemon: VoxDaemon
    var validator: TemplateValidator { TemplateValidator(daemon: daemon) }

    func register(on router: Router<VoxRequestContext>) {
        router.get("/v1/templates") { _, _ in
            let all = TemplatePresets.all + (try await daemon.store.templates())
            return try jsonResponse(JSONValue.object(["templates": .array(all.map(\.json))]))
        }
        router.post("/v1/templates") { request, context in
            let actor = try await daemon.admin.require(context, action: "creating a template")
            let body = try await request.jsonObject(context: context)
            let read = TemplateSchema.read(body)
            let t = AITemplate(id: "", name: read.name ?? "", description: read.description, config: read.config)
            let report = try await validated(t.config, schemaProblems: read.problems)
            let saved = try await daemon.store.createTemplate(t, actor: actor)
            return try respond(saved, report: report, status: .created)
        }
        router.post("/v1/templates/validate") { request, context in
            let body = try await request.jsonObject(context: context)
            let read = TemplateSchema.read(body)
            var report = await validator.check(read.config)
            report.errors = read.problems + report.errors
            return try jsonResponse(report.json)
        }
        router.get("/v1/templates/:id") { _, context in
            let t = try await find(try context.parameters.require("id"))
            return try respond(t, report: await validator.check(t.config))
        }
        let update: @Sendable (Request, VoxRequestContext) async throws -> Response = { request, context in
            let id = try context.parameters.require("id")
            let actor = try await daemon.admin.require(context, action: "changing a template")
            if TemplatePresets.find(id) != nil { throw Self.readOnly(id) }
            let body = try await request.jsonObject(context: context)
            var r = BodyReader()
            let bodyVersion = r.int(body, "version", "", min: 1)
            let read = TemplateSchema.read(body, partial: true, extraKnown: ["version"])
            if !(r.problems + read.problems).isEmpty { throw VoxError(problems: r.problems + read.problems, what: "template not saved, nothing was written") }
            let version = try PromptRoutes.expectedVersion(request, body: bodyVersion, required: true)!
            guard var t = try await daemon.store.template(id) else { throw VoxStore.noTemplate(id) }
            guard t.version == version else { throw VoxStore.stale(AITemplate.self, id, t.version, version) }
            // Members given replace the stored ones whole (a section at a time);
            // `null` removes an optional section.
            if let name = read.name { t.name = name }
            if body["description"] != nil { t.description = read.description }
            for key in TemplateSchema.configKeys where body[key] != nil { t.config[key] = read.config[key] }
            let report = try await validated(t.config, schemaProblems: [])
            let saved = try await daemon.store.updateTemplate(t, expectedVersion: version, actor: actor)
            return try respond(saved, report: report)
        }
        router.put("/v1/templates/:id", use: update)
        router.patch("/v1/templates/:id", use: update)
        router.delete("/v1/templates/:id") { request, context in
            let id = try context.parameters.require("id")
            let actor = try await daemon.admin.require(context, action: "deleting a template")
            if TemplatePresets.find(id) != nil { throw Self.readOnly(id) }
            let version = try PromptRoutes.expectedVersion(request, body: nil, required: false)
            try await daemon.store.deleteTemplate(id, expectedVersion: version, systemDefault: daemon.config.systemTemplate, actor: actor)
            return try jsonResponse(JSONValue.object(["deleted": .string(id)]))
        }
        router.post("/v1/templates/:id/clone") { request, context in
            let actor = try await daemon.admin.require(context, action: "cloning a template")
            let source = try await find(try context.parameters.require("id"))
            let body = try await PromptRoutes.optionalBody(request, context)
            var r = BodyReader()
            r.rejectUnknown(body, "", known: ["name", "description"])
            let name = r.name(body, required: false) ?? String("\(source.name) (copy)".prefix(80))
            let description = r.string(body, "description", "", maxLength: 500, allowEmpty: true) ?? source.description
            if !r.problems.isEmpty { throw VoxError(problems: r.problems, what: "template not cloned, nothing was written") }
            let copy = AITemplate(id: "", name: name, description: description, config: source.config)
            let saved = try await daemon.store.createTemplate(copy, actor: actor, action: "template.clone")
            return try respond(saved, report: await validator.check(saved.config), status: .created, clonedFrom: source.id)
        }
        router.get("/v1/templates/:id/resolve") { _, context in
            try await resolve(try context.parameters.require("id"), context: context)
        }
        router.post("/v1/templates/:id/resolve") { _, context in
            try await resolve(try context.parameters.require("id"), context: context)
        }
        router.get("/v1/defaults") { _, context in
            let client = try await Self.client(context)
            let t = try await daemon.store.clientDefault(client)
            let c = try await daemon.store.clientDefaultConfig(client)
            return try jsonResponse(JSONValue.object(["client": .string(client), "template": t.map(JSONValue.string) ?? .null,
                                                     "session_config": c.map(JSONValue.string) ?? .null,
                                                     "system_template": .string(daemon.config.systemTemplate)]))
        }
        router.put("/v1/defaults") { request, context in
            let actor = try await daemon.admin.require(context, action: "setting a default template")
            let body = try await request.jsonObject(context: context)
            var r = BodyReader()
            r.rejectUnknown(body, "", known: ["template", "session_config", "client"])
            if body["template"] == nil && body["session_config"] == nil {
                r.problem("template", "missing: a template id, or null to clear the default (or session_config, likewise)")
            }
            let template = r.string(body, "template", "", maxLength: 100)
            let config = r.string(body, "session_config", "", maxLength: 100)
            var client = try await Self.client(context)
            if let c = r.string(body, "client", "", maxLength: 100) {
                if c.hasPrefix("uid:"), UInt32(c.dropFirst(4)) != nil {
                    client = c
                } else if c.hasPrefix("key:"), daemon.keys.key(String(c.dropFirst(4))) != nil {
                    client = c
                } else {
                    r.problem("client", "must be \"uid:N\" (a socket peer's uid) or \"key:ID\" (an API key of GET /v1/keys), not \"\(c)\"")
                }
            }
            if !r.problems.isEmpty { throw VoxError(problems: r.problems, what: "default not set, nothing was written") }
            if let template { _ = try await find(template) }
            if let config, try await daemon.store.sessionConfig(config) == nil { throw VoxStore.noSessionConfig(config) }
            if body["template"] != nil { try await daemon.store.setClientDefault(client, template: template, actor: actor) }
            if body["session_config"] != nil { try await daemon.store.setClientDefaultConfig(client, config: config, actor: actor) }
            return try jsonResponse(JSONValue.object([
                "client": .string(client),
                "template": try await daemon.store.clientDefault(client).map(JSONValue.string) ?? .null,
                "session_config": try await daemon.store.clientDefaultConfig(client).map(JSONValue.string) ?? .null,
            ]))
        }
    }

    func find(_ id: String) async throws -> AITemplate {
        if let p = TemplatePresets.find(id) { return p }
        guard let t = try await daemon.store.template(id) else { throw VoxStore.noTemplate(id) }
        return t
    }

    /// Validates, throwing 400 with every problem (schema and capabilities) when any is an error.
    func validated(_ config: [String: JSONValue], schemaProblems: [FieldProblem]) async throws -> TemplateValidator.Report {
        let report = await validator.check(config)
        let errors = schemaProblems + report.errors
        if !errors.isEmpty { throw VoxError(problems: errors, what: "template not saved, nothing was written") }
        return report
    }

    func respond(_ t: AITemplate, report: TemplateValidator.Report, status: HTTPResponse.Status = .ok, clonedFrom: String? = nil) throws -> Response {
        guard case .object(var o) = t.json else { throw VoxError(.internal, "template \(t.id) is not an object") }
        o["validation"] = .object(["valid": .bool(report.errors.isEmpty), "errors": .array(report.errors.map(\.json)),
                                   "warnings": .array(report.warnings.map(\.json))])
        o["cost"] = report.cost
        if let clonedFrom { o["cloned_from"] = .string(clonedFrom) }
        var r = try jsonResponse(JSONValue.object(o), status: status)
        r.headers[.eTag] = "\"\(t.version)\""
        return r
    }

    static func readOnly(_ id: String) -> VoxError {
        VoxError(.forbidden, "\(id) is a system preset and read-only; clone it with POST /v1/templates/\(id)/clone and change the copy")
    }

    /// Who is asking, as defaults are keyed: `uid:N` of the socket peer.
    static func client(_ context: VoxRequestContext) async throws -> String {
        // A key's own client name (`key:ID`), else the admin peer's (`uid:N`).
        if let p = context.principal { return p.client }
        guard let peer = await context.peerCredentials() else { throw VoxError(.forbidden, "defaults are per socket peer; this connection has none") }
        return "uid:\(peer.uid)"
    }

    /// The fallback chain: the named template → the caller's default → the
    /// system default → the emergency preset. The first that can be served
    /// now (each provider it names loaded, enabled and offering the
    /// operation) is used; the answer says which, and why the others were not.
    func resolve(_ id: String, context: VoxRequestContext) async throws -> Response {
        let named = try await find(id)
        let client = try await Self.client(context)
        var steps: [(step: String, id: String)] = [("named", named.id)]
        if let d = try await daemon.store.clientDefault(client) { steps.append(("caller_default", d)) }
        steps.append(("system_default", daemon.config.systemTemplate))
        steps.append(("emergency", TemplatePresets.emergencyID))
        var chain: [JSONValue] = []
        var seen = Set<String>()
        for (step, tid) in steps {
            guard seen.insert(tid).inserted else {
                chain.append(.object(["step": .string(step), "id": .string(tid), "servable": .bool(false), "reasons": .array([.string("already tried above")])]))
                continue
            }
            guard let t = try? await find(tid) else {
                chain.append(.object(["step": .string(step), "id": .string(tid), "servable": .bool(false), "reasons": .array([.string("no such template")])]))
                continue
            }
            let reasons = await unservable(t)
            chain.append(.object(["step": .string(step), "id": .string(tid), "servable": .bool(reasons.isEmpty), "reasons": .array(reasons.map(JSONValue.string))]))
            if reasons.isEmpty {
                let why = step == "named" ? "the requested template can be served"
                    : "used \(step.replacingOccurrences(of: "_", with: " ")) \(tid) because " + Self.firstFailure(chain)
                return try jsonResponse(JSONValue.object(["requested": .string(named.id), "used": .string(step), "reason": .string(why),
                                                          "client": .string(client), "template": t.json, "chain": .array(chain)]))
            }
        }
        var e = VoxError(.unavailable, "no template on the chain can be served now: " + chain.compactMap { c -> String? in
            guard let id = c["id"]?.stringValue, let rs = c["reasons"]?.arrayValue else { return nil }
            return "\(id): \(rs.compactMap(\.stringValue).joined(separator: ", "))"
        }.joined(separator: "; "))
        e.retriable = true
        throw e
    }

    static func firstFailure(_ chain: [JSONValue]) -> String {
        guard let first = chain.first, let id = first["id"]?.stringValue else { return "" }
        let rs = first["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return "\(id) cannot be served: \(rs.joined(separator: "; "))"
    }

    /// Why a template cannot be served right now (empty: it can).
    func unservable(_ t: AITemplate) async -> [String] {
        var reasons: [String] = []
        for (key, noun, ops) in AITemplate.components {
            guard let provider = t.string(key, "provider") else { continue }
            guard let entry = await daemon.registry.entry(provider) else { reasons.append("\(key): no provider \(provider)"); continue }
            switch entry.state {
            case .disabled: reasons.append("\(key): \(provider) is disabled")
            case .failed(let why): reasons.append("\(key): \(provider) failed to load (\(why))")
            case .loaded(let i):
                if !ops.contains(where: { i.capabilities.supports($0) }) { reasons.append("\(key): \(provider) offers no \(noun)") }
                // The router's circuit breaker: an open circuit means calls
                // to it are failing now (half-open lets a probe through).
                let health = daemon.router.health(provider)
                if health.circuitState == .open {
                    reasons.append("\(key): \(provider)'s circuit is open" + (health.lastErrorText.map { " (last error: \($0))" } ?? ""))
                }
            }
        }
        return reasons
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import VoxPluginKit

/// Session configurations: `/v1/session-configs` (+ `/{id}`, `/{id}/export`,
/// `/v1/session-configs/import`). Writes are admin actions, audited.
///
/// A configuration is checked through its effective configuration (the
/// template with the overrides and target language applied): problems in
/// what the configuration itself sets (its overrides, its target language)
/// are errors; problems the template brings with it (say its provider is
/// disabled right now) are warnings, since the template is valid on its own
/// terms and may be served again later.
struct SessionConfigRoutes {
    let daemon: VoxDaemon
    var templates: TemplateRoutes { TemplateRoutes(daemon: daemon) }

    struct Checked {
        var errors: [FieldProblem]
        var warnings: [FieldProblem]
        var effective: [String: JSONValue]
        var cost: JSONValue
    }

    func register(on router: Router<VoxRequestContext>) {
        router.get("/v1/session-configs") { _, _ in
            try jsonResponse(JSONValue.object(["session_configs": .array(try await daemon.store.sessionConfigs().map(\.json))]))
        }
        router.post("/v1/session-configs") { request, context in
            let actor = try await daemon.admin.require(context, action: "creating a session configuration")
            let body = try await request.jsonObject(context: context)
            let read = SessionConfigSchema.read(body)
            let c = SessionConfig(id: "", name: read.name ?? "", template: read.template ?? "", overrides: read.overrides ?? [:],
                                  optimization: read.optimization ?? "balanced", targetLanguage: read.targetLanguage?.stringValue, version: 1)
            let checked = try await refuseErrors(c, problems: read.problems, what: "session configuration not saved, nothing was written")
            let saved = try await daemon.store.createSessionConfig(c, actor: actor)
            return try respond(saved, checked, status: .created)
        }
        router.post("/v1/session-configs/import") { request, context in
            let actor = try await daemon.admin.require(context, action: "importing a session configuration")
            let buffer = try await request.body.collect(upTo: context.maxUploadSize)
            let document: JSONValue
            do { document = try JSONValue.parse(Data(buffer.readableBytesView)) } catch {
                throw VoxError(problems: [FieldProblem("", "not valid JSON: \(error)")], what: "nothing imported")
            }
            guard case .object(let doc) = document else {
                throw VoxError(problems: [FieldProblem("", "the document must be a JSON object as GET /v1/session-configs/{id}/export writes it")], what: "nothing imported")
            }
            var r = BodyReader()
            r.rejectUnknown(doc, "", known: ["kind", "format_version", "session_config"])
            if let kind = r.string(doc, "kind", "", required: true), kind != SessionConfigSchema.kind {
                r.problem("kind", "\"\(kind)\" is not \"\(SessionConfigSchema.kind)\"")
            }
            _ = r.int(doc, "format_version", "", oneOf: [1])
            if doc["format_version"] == nil { r.problem("format_version", "missing: must be 1") }
            let inner = r.object(doc, "session_config", "", required: true) ?? [:]
            let read = SessionConfigSchema.read(inner, prefix: "session_config")
            var problems = r.problems + read.problems
            if let name = read.name, let other = try await daemon.store.sessionConfigID(named: name) {
                problems.append(FieldProblem("session_config.name", "a session configuration named \"\(name)\" already exists (\(other))"))
            }
            let c = SessionConfig(id: "", name: read.name ?? "", template: read.template ?? "", overrides: read.overrides ?? [:],
                                  optimization: read.optimization ?? "balanced", targetLanguage: read.targetLanguage?.stringValue, version: 1)
            let checked = try await refuseErrors(c, problems: problems, what: "nothing imported", prefix: "session_config.")
            let saved = try await daemon.store.createSessionConfig(c, actor: actor, action: "session_config.import")
            return try respond(saved, checked, status: .created)
        }
        router.get("/v1/session-configs/:id") { _, context in
            let c = try await find(try context.parameters.require("id"))
            return try respond(c, await check(c))
        }
        router.get("/v1/session-configs/:id/export") { _, context in
            let c = try await find(try context.parameters.require("id"))
            var r = try jsonResponse(c.export)
            r.headers[.contentDisposition] = "attachment; filename=\"\(c.id).json\""
            return r
        }
        let update: @Sendable (Request, VoxRequestContext) async throws -> Response = { request, context in
            let id = try context.parameters.require("id")
            let actor = try await daemon.admin.require(context, action: "changing a session configuration")
            let body = try await request.jsonObject(context: context)
            var r = BodyReader()
            let bodyVersion = r.int(body, "version", "", min: 1)
            let read = SessionConfigSchema.read(body, partial: true, extraKnown: ["version"])
            if !(r.problems + read.problems).isEmpty {
                throw VoxError(problems: r.problems + read.problems, what: "session configuration not saved, nothing was written")
            }
            let version = try PromptRoutes.expectedVersion(request, body: bodyVersion, required: true)!
            var c = try await find(id)
            guard c.version == version else { throw VoxStore.stale(SessionConfig.self, id, c.version, version) }
            if let v = read.name { c.name = v }
            if let v = read.template { c.template = v }
            if let v = read.overrides { c.overrides = v }
            if let v = read.optimization { c.optimization = v }
            if let v = read.targetLanguage { c.targetLanguage = v.stringValue }
            let checked = try await refuseErrors(c, problems: [], what: "session configuration not saved, nothing was written")
            let saved = try await daemon.store.updateSessionConfig(c, expectedVersion: version, actor: actor)
            return try respond(saved, checked)
        }
        router.put("/v1/session-configs/:id", use: update)
        router.patch("/v1/session-configs/:id", use: update)
        router.delete("/v1/session-configs/:id") { request, context in
            let id = try context.parameters.require("id")
            let actor = try await daemon.admin.require(context, action: "deleting a session configuration")
            let version = try PromptRoutes.expectedVersion(request, body: nil, required: false)
            try await daemon.store.deleteSessionConfig(id, expectedVersion: version, actor: actor)
            return try jsonResponse(JSONValue.object(["deleted": .string(id)]))
        }
    }

    func find(_ id: String) async throws -> SessionConfig {
        guard let c = try await daemon.store.sessionConfig(id) else { throw VoxStore.noSessionConfig(id) }
        return c
    }

    /// Checks the effective configuration; see the type's comment for which
    /// problems are errors. `prefix` goes before every path (import nests).
    func check(_ c: SessionConfig, prefix: String = "") async -> Checked {
        let template: AITemplate? = try? await templates.find(c.template)
        guard let template else {
            return Checked(errors: [FieldProblem(prefix + "template", "no template \"\(c.template)\" (see GET /v1/templates)")], warnings: [], effective: [:], cost: .null)
        }
        let effective = c.effective(template.config)
        var body = effective
        body["name"] = .string(template.name)
        let schema = TemplateSchema.read(body).problems
        let report = await templates.validator.check(effective)
        var errors: [FieldProblem] = []
        var warnings: [FieldProblem] = report.warnings.map { var p = $0; p.path = prefix + "effective." + p.path; return p }
        for p in schema + report.errors {
            let section = String(p.path.split(separator: ".").first ?? "")
            var q = p
            if section == "stt", c.targetLanguage != nil, p.path == "stt.language" {
                q.path = prefix + "target_language"
                errors.append(q)
            } else if c.overrides[section] != nil {
                q.path = prefix + "overrides." + p.path
                errors.append(q)
            } else {
                q.path = prefix + "template." + p.path
                q.reason = "from template \(template.id): " + p.reason
                warnings.append(q)
            }
        }
        return Checked(errors: errors, warnings: warnings, effective: effective, cost: report.cost)
    }

    func refuseErrors(_ c: SessionConfig, problems: [FieldProblem], what: String, prefix: String = "") async throws -> Checked {
        var checked = Checked(errors: [], warnings: [], effective: [:], cost: .null)
        if !c.template.isEmpty { checked = await check(c, prefix: prefix) }
        let all = problems + checked.errors.filter { e in !problems.contains { $0.path == e.path } }
        if !all.isEmpty { throw VoxError(problems: all, what: what) }
        return checked
    }

    func respond(_ c: SessionConfig, _ checked: Checked, status: HTTPResponse.Status = .ok) throws -> Response {
        guard case .object(var o) = c.json else { throw VoxError(.internal, "session configuration \(c.id) is not an object") }
        o["effective"] = .object(checked.effective)
        o["validation"] = .object(["valid": .bool(checked.errors.isEmpty), "errors": .array(checked.errors.map(\.json)),
                                   "warnings": .array(checked.warnings.map(\.json))])
        o["cost"] = checked.cost
        var r = try jsonResponse(JSONValue.object(o), status: status)
        r.headers[.eTag] = "\"\(c.version)\""
        return r
    }
}

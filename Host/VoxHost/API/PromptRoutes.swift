import Foundation
import HTTPTypes
import Hummingbird
import VoxPluginKit

/// System prompts: `/v1/prompts` (built-ins listed with `"builtin": true`),
/// `/v1/prompts/{id}` (GET, PUT/PATCH with a version, DELETE) and
/// `/v1/prompts/{id}/render`. Writes are admin actions, audited.
struct PromptRoutes {
    let daemon: VoxDaemon
    var limits: PromptLimits { daemon.config.promptLimits }

    func register(on router: Router<VoxRequestContext>) {
        router.get("/v1/prompts") { request, _ in
            var all = BuiltinPrompts.all + (try await daemon.store.prompts())
            if let c = request.query("category") { all = all.filter { $0.category == c } }
            if request.query("builtin") != nil {
                let builtin = try request.boolQuery("builtin")
                all = all.filter { $0.builtin == builtin }
            }
            return try jsonResponse(JSONValue.object(["prompts": .array(all.map(\.json))]))
        }
        router.post("/v1/prompts") { request, context in
            let actor = try await daemon.admin.require(context, action: "creating a prompt")
            let body = try await request.jsonObject(context: context)
            let (input, problems) = PromptInput.read(body, creating: true)
            var p = Prompt(id: "", name: "", category: "custom", text: "", variables: [])
            input.apply(to: &p)
            // The body's problems and the draft's (placeholders, variables) in one answer.
            let all = problems + PromptCheck.problems(p, limits: limits)
            if !all.isEmpty { throw VoxError(problems: all, what: "prompt not saved, nothing was written") }
            let saved = try await daemon.store.createPrompt(p, limits: limits, actor: actor)
            return try Self.respond(saved, status: .created)
        }
        router.get("/v1/prompts/:id") { _, context in
            try Self.respond(try await find(try context.parameters.require("id")))
        }
        let update: @Sendable (Request, VoxRequestContext) async throws -> Response = { request, context in
            let id = try context.parameters.require("id")
            let actor = try await daemon.admin.require(context, action: "changing a prompt")
            if BuiltinPrompts.find(id) != nil { throw Self.readOnly(id) }
            let body = try await request.jsonObject(context: context)
            let input = try PromptInput.parse(body, creating: false)
            let version = try Self.expectedVersion(request, body: input.version, required: true)!
            let saved = try await daemon.store.updatePrompt(id, expectedVersion: version, limits: limits, actor: actor) { input.apply(to: &$0) }
            return try Self.respond(saved)
        }
        router.put("/v1/prompts/:id", use: update)
        router.patch("/v1/prompts/:id", use: update)
        router.delete("/v1/prompts/:id") { request, context in
            let id = try context.parameters.require("id")
            let actor = try await daemon.admin.require(context, action: "deleting a prompt")
            if BuiltinPrompts.find(id) != nil { throw Self.readOnly(id) }
            let version = try Self.expectedVersion(request, body: nil, required: false)
            try await daemon.store.deletePrompt(id, expectedVersion: version, actor: actor)
            return try jsonResponse(JSONValue.object(["deleted": .string(id)]))
        }
        router.post("/v1/prompts/:id/render") { request, context in
            let prompt = try await find(try context.parameters.require("id"))
            let body = try await Self.optionalBody(request, context)
            var r = BodyReader()
            r.rejectUnknown(body, "", known: ["values", "mode", "sections"])
            let mode = r.choice(body, "mode", "", PromptRenderer.Mode.allCases.map(\.rawValue)).flatMap(PromptRenderer.Mode.init) ?? .text
            var values: [String: String] = [:]
            for (k, v) in r.object(body, "values", "") ?? [:] {
                switch v {
                case .string(let s): values[k] = s
                case .number: values[k] = v.serialized
                case .bool(let b): values[k] = b ? "true" : "false"
                default: r.problem("values.\(k)", "must be a string, number or boolean, not \(BodyReader.kind(v))")
                }
            }
            let sections = Self.sections(body, &r)
            if !sections.isEmpty, mode != .realtime { r.problem("sections", "only used with \"mode\": \"realtime\"") }
            if !r.problems.isEmpty { throw VoxError(problems: r.problems, what: "prompt \(prompt.id) not rendered") }
            let out = try PromptRenderer.render(prompt, values: values, mode: mode, sections: sections, limits: limits)
            var o: [String: JSONValue] = [
                "prompt": .object(["id": .string(prompt.id), "version": .number(Double(prompt.version))]),
                "mode": .string(mode.rawValue), "text": .string(out.text), "length": .number(Double(out.text.count)),
                "values": .object(out.values.mapValues(JSONValue.string)),
                "warning": out.warning.map(JSONValue.string) ?? .null,
            ]
            if let s = out.sectionSources { o["sections"] = .object(s.mapValues(JSONValue.string)) }
            return try jsonResponse(JSONValue.object(o))
        }
    }

    func find(_ id: String) async throws -> Prompt {
        if let b = BuiltinPrompts.find(id) { return b }
        guard let p = try await daemon.store.prompt(id) else { throw VoxStore.noPrompt(id) }
        return p
    }

    static func respond(_ p: Prompt, status: HTTPResponse.Status = .ok) throws -> Response {
        var r = try jsonResponse(p.json, status: status)
        r.headers[.eTag] = "\"\(p.version)\""
        return r
    }

    static func readOnly(_ id: String) -> VoxError {
        VoxError(.forbidden, "\(id) is a built-in prompt and read-only; create your own from its text with POST /v1/prompts")
    }

    static func sections(_ body: [String: JSONValue], _ r: inout BodyReader, prefix: String = "") -> [String: String] {
        guard let o = r.object(body, "sections", prefix) else { return [:] }
        let path = BodyReader.path(prefix, "sections")
        r.rejectUnknown(o, path, known: RealtimeSections.order)
        var out: [String: String] = [:]
        for key in RealtimeSections.order { if let s = r.string(o, key, path) { out[key] = s } }
        return out
    }

    static func optionalBody(_ request: Request, _ context: VoxRequestContext) async throws -> [String: JSONValue] {
        if request.headers[.contentLength] == "0" { return [:] }
        do { return try await request.jsonObject(context: context) } catch let e as VoxError where e.message == "the request needs a JSON body" { return [:] }
    }

    /// The version a write expects: the body's `version` or `If-Match`
    /// (`"3"`, `W/"3"` or `3`); both given must agree.
    static func expectedVersion(_ request: Request, body: Int?, required: Bool) throws -> Int? {
        var header: Int?
        if let raw = request.headers[.ifMatch] {
            let t = raw.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "W/", with: "").trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard let v = Int(t) else { throw VoxError(.invalidRequest, "If-Match must be the ETag you read (a version like \"3\"), not \(raw)") }
            header = v
        }
        if let header, let body, header != body {
            throw VoxError(.invalidRequest, "If-Match (\(header)) and the body's version (\(body)) disagree")
        }
        guard let v = header ?? body else {
            if required {
                throw VoxError(.invalidRequest, "a change needs the version you read: send \"version\" in the body or an If-Match header with the ETag",
                               status: .init(code: 428, reasonPhrase: "Precondition Required"))
            }
            return nil
        }
        return v
    }
}

/// The writable fields of a prompt, read from a body: every problem at once.
struct PromptInput: Sendable {
    var name: String?
    var category: String?
    var text: String?
    var variables: [PromptVariable]?
    var sections: [String: String]?
    var isDefault: Bool?
    var version: Int?

    static func parse(_ body: [String: JSONValue], creating: Bool) throws -> PromptInput {
        let (input, problems) = read(body, creating: creating)
        if !problems.isEmpty { throw VoxError(problems: problems, what: "prompt not saved, nothing was written") }
        return input
    }

    static func read(_ body: [String: JSONValue], creating: Bool) -> (PromptInput, [FieldProblem]) {
        var r = BodyReader()
        var known = ["name", "category", "text", "variables", "sections", "is_default"]
        if !creating { known.append("version") }
        r.rejectUnknown(body, "", known: known)
        var input = PromptInput()
        input.name = r.name(body, required: creating)
        input.category = r.choice(body, "category", "", Prompt.categories)
        input.text = r.string(body, "text", "", required: creating)
        if body["variables"] != nil, let list = r.array(body, "variables", "") {
            var vars: [PromptVariable] = []
            for (i, item) in list.enumerated() {
                let path = "variables[\(i)]"
                guard case .object(let o) = item else { r.problem(path, "must be an object {name, description, default, required}"); continue }
                r.rejectUnknown(o, path, known: ["name", "description", "default", "required"])
                let name = r.string(o, "name", path, required: true, maxLength: 64)
                let description = r.string(o, "description", path, maxLength: 500)
                let def = r.string(o, "default", path, maxLength: 2000, allowEmpty: true)
                let required = r.bool(o, "required", path) ?? false
                if let name { vars.append(PromptVariable(name: name, description: description, defaultValue: def, required: required)) }
            }
            input.variables = vars
        }
        if body["sections"] != nil { input.sections = PromptRoutes.sections(body, &r) }
        input.isDefault = r.bool(body, "is_default", "")
        if !creating { input.version = r.int(body, "version", "", min: 1) }
        return (input, r.problems)
    }

    func apply(to p: inout Prompt) {
        if let name { p.name = name }
        if let category { p.category = category }
        if let text { p.text = text }
        if let variables { p.variables = variables }
        if let sections { p.sections = sections }
        if let isDefault { p.isDefault = isDefault }
    }
}

import Foundation
import GRDB
import VoxPluginKit

/// The `templates` and `client_defaults` tables. Validation against the
/// running providers happens before a write (it is async and reaches the
/// plugins); the write itself checks the version, the name and references.
extension VoxStore {
    public func templates() async throws -> [AITemplate] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM templates ORDER BY name").map(Self.template) }
    }

    public func template(_ id: String) async throws -> AITemplate? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM templates WHERE id = ?", arguments: [id]).map(Self.template) }
    }

    public func createTemplate(_ input: AITemplate, actor: AuditActor, action: String = "template.create") async throws -> AITemplate {
        try await write { db in
            var t = input
            t.id = Self.newID("tpl")
            t.preset = false
            t.version = 1
            t.createdAt = Self.now()
            t.updatedAt = t.createdAt
            try Self.checkName(db, t)
            try db.execute(sql: "INSERT INTO templates (id, name, body, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [t.id, t.name, Self.storedBody(t).serialized, t.version, t.createdAt, t.updatedAt])
            try Self.audit(db, actor: actor, action: action, objectType: "template", objectID: t.id, before: nil, after: t.json)
            return t
        }
    }

    /// Replaces the template with `updated` if the stored one is still at
    /// `expectedVersion`; otherwise 409 and nothing changes.
    public func updateTemplate(_ updated: AITemplate, expectedVersion: Int, actor: AuditActor) async throws -> AITemplate {
        try await write { db in
            guard let before = try Row.fetchOne(db, sql: "SELECT * FROM templates WHERE id = ?", arguments: [updated.id]).map(Self.template) else {
                throw Self.noTemplate(updated.id)
            }
            guard before.version == expectedVersion else { throw Self.stale(updated.id, before.version, expectedVersion) }
            var t = updated
            t.version = before.version + 1
            t.createdAt = before.createdAt
            t.updatedAt = Self.now()
            try Self.checkName(db, t)
            try db.execute(sql: "UPDATE templates SET name = ?, body = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?",
                           arguments: [t.name, Self.storedBody(t).serialized, t.version, t.updatedAt, t.id, expectedVersion])
            try Self.audit(db, actor: actor, action: "template.update", objectType: "template", objectID: t.id, before: before.json, after: t.json)
            return t
        }
    }

    /// Deletes a template unless something refers to it (409 naming them).
    public func deleteTemplate(_ id: String, expectedVersion: Int?, systemDefault: String, actor: AuditActor) async throws {
        try await write { db in
            guard let before = try Row.fetchOne(db, sql: "SELECT * FROM templates WHERE id = ?", arguments: [id]).map(Self.template) else {
                throw Self.noTemplate(id)
            }
            if let expectedVersion, before.version != expectedVersion { throw Self.stale(id, before.version, expectedVersion) }
            var users: [String] = []
            if id == systemDefault { users.append("the system default (templates.system_default in voxd.toml)") }
            let clients = try String.fetchAll(db, sql: "SELECT client FROM client_defaults WHERE template_id = ? ORDER BY client", arguments: [id])
            users += clients.map { "the default of \($0)" }
            let configs = try String.fetchAll(db, sql: "SELECT id FROM session_configs WHERE json_extract(body, '$.template') = ? ORDER BY id", arguments: [id])
            users += configs.map { "session configuration \($0)" }
            if !users.isEmpty {
                throw VoxError.conflict("template \(id) is still referred to by \(users.joined(separator: ", ")): point \(users.count == 1 ? "it" : "them") elsewhere first (nothing was deleted)")
            }
            try db.execute(sql: "DELETE FROM templates WHERE id = ?", arguments: [id])
            try Self.audit(db, actor: actor, action: "template.delete", objectType: "template", objectID: id, before: before.json, after: nil)
        }
    }

    /// The template a client (`uid:1000`, later `key:…`) falls back to.
    public func clientDefault(_ client: String) async throws -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT template_id FROM client_defaults WHERE client = ?", arguments: [client]) }
    }

    /// Sets (or with nil clears) a client's default template.
    public func setClientDefault(_ client: String, template: String?, actor: AuditActor) async throws {
        try await write { db in
            let before = try String.fetchOne(db, sql: "SELECT template_id FROM client_defaults WHERE client = ?", arguments: [client])
            if let template {
                try db.execute(sql: "INSERT INTO client_defaults (client, template_id, updated_at) VALUES (?, ?, ?) ON CONFLICT(client) DO UPDATE SET template_id = excluded.template_id, updated_at = excluded.updated_at",
                               arguments: [client, template, Self.now()])
            } else {
                try db.execute(sql: "DELETE FROM client_defaults WHERE client = ?", arguments: [client])
            }
            try Self.audit(db, actor: actor, action: "default.set", objectType: "client_default", objectID: client,
                           before: before.map { .object(["template": .string($0)]) }, after: template.map { .object(["template": .string($0)]) })
        }
    }

    static func noTemplate(_ id: String) -> VoxError { VoxError(.notFound, "no template \"\(id)\" (see GET /v1/templates)") }

    static func stale(_ id: String, _ at: Int, _ expected: Int) -> VoxError {
        VoxError.conflict("template \(id) is at version \(at), not \(expected): someone changed it since you read it; read it again and reapply your change (nothing was written)")
    }

    private static func checkName(_ db: Database, _ t: AITemplate) throws {
        if TemplatePresets.all.contains(where: { $0.name.caseInsensitiveCompare(t.name) == .orderedSame }) {
            throw VoxError(problems: [FieldProblem("name", "\"\(t.name)\" is the name of a system preset; choose another")], what: "template not saved, nothing was written")
        }
        if let other = try String.fetchOne(db, sql: "SELECT id FROM templates WHERE name = ? AND id != ?", arguments: [t.name, t.id]) {
            throw VoxError.conflict("a template named \"\(t.name)\" already exists (\(other)); names are unique, case-insensitively (nothing was written)")
        }
    }

    static func storedBody(_ t: AITemplate) -> JSONValue {
        var o = t.config
        o["description"] = t.description.map(JSONValue.string) ?? .null
        return .object(o)
    }

    static func template(_ r: Row) -> AITemplate {
        var body = ((try? JSONValue.parse(Data((r["body"] as String).utf8)))?.objectValue) ?? [:]
        let description = body.removeValue(forKey: "description")?.stringValue
        return AITemplate(id: r["id"], name: r["name"], description: description, config: body, preset: false,
                          version: r["version"], createdAt: r["created_at"], updatedAt: r["updated_at"])
    }
}

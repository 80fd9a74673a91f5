import Foundation
import GRDB
import VoxPluginKit

/// The `templates` and `client_defaults` tables. Validation against the
/// running providers happens before a write (it is async and reaches the
/// plugins); the write itself checks the version, the name and references.
extension VoxStore {
    public func templates() async throws -> [AITemplate] { try await documents(AITemplate.self) }

    public func template(_ id: String) async throws -> AITemplate? { try await document(AITemplate.self, id) }

    public func createTemplate(_ input: AITemplate, actor: AuditActor, action: String = "template.create") async throws -> AITemplate {
        try await write { db in
            var t = input
            t.preset = false
            try Self.checkNotAPreset(t)
            return try Self.insert(db, t, actor: actor, action: action)
        }
    }

    /// Replaces the template with `updated` if the stored one is still at
    /// `expectedVersion`; otherwise 409 and nothing changes.
    public func updateTemplate(_ updated: AITemplate, expectedVersion: Int, actor: AuditActor) async throws -> AITemplate {
        try await write { db in
            try Self.checkNotAPreset(updated)
            return try Self.update(db, updated, expectedVersion: expectedVersion, actor: actor)
        }
    }

    /// Deletes a template unless something refers to it (409 naming them).
    public func deleteTemplate(_ id: String, expectedVersion: Int?, systemDefault: String, actor: AuditActor) async throws {
        try await write { db in
            let before = try Self.existing(AITemplate.self, db, id, expectedVersion: expectedVersion)
            var users: [String] = []
            if id == systemDefault { users.append("the system default (templates.system_default in voxd.toml)") }
            let clients = try String.fetchAll(db, sql: "SELECT client FROM client_defaults WHERE template_id = ? ORDER BY client", arguments: [id])
            users += clients.map { "the default of \($0)" }
            let configs = try String.fetchAll(db, sql: "SELECT id FROM session_configs WHERE json_extract(body, '$.template') = ? ORDER BY id", arguments: [id])
            users += configs.map { "session configuration \($0)" }
            if !users.isEmpty {
                throw VoxError.conflict("template \(id) is still referred to by \(users.joined(separator: ", ")): point \(users.count == 1 ? "it" : "them") elsewhere first (nothing was deleted)")
            }
            try Self.delete(db, before, actor: actor)
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

    static func noTemplate(_ id: String) -> VoxError { notFound(AITemplate.self, id) }

    private static func checkNotAPreset(_ t: AITemplate) throws {
        if TemplatePresets.all.contains(where: { $0.name.caseInsensitiveCompare(t.name) == .orderedSame }) {
            throw VoxError(problems: [FieldProblem("name", "\"\(t.name)\" is the name of a system preset; choose another")], what: "template not saved, nothing was written")
        }
    }
}

extension AITemplate: StoredDocument {
    static let kind = DocumentKind(table: "templates", objectType: "template", noun: "template", idPrefix: "tpl", listRoute: "GET /v1/templates")

    /// The sections, with the description beside them.
    var storedBody: JSONValue {
        var o = config
        o["description"] = description.map(JSONValue.string) ?? .null
        return .object(o)
    }

    init(row r: Row) {
        var body = ((try? JSONValue.parse(Data((r["body"] as String).utf8)))?.objectValue) ?? [:]
        let description = body.removeValue(forKey: "description")?.stringValue
        self.init(id: r["id"], name: r["name"], description: description, config: body, preset: false,
                  version: r["version"], createdAt: r["created_at"], updatedAt: r["updated_at"])
    }
}

import Foundation
import GRDB
import VoxPluginKit

/// The `session_configs` and `client_config_defaults` tables.
extension VoxStore {
    public func sessionConfigs() async throws -> [SessionConfig] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM session_configs ORDER BY name").map(Self.sessionConfig) }
    }

    public func sessionConfig(_ id: String) async throws -> SessionConfig? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM session_configs WHERE id = ?", arguments: [id]).map(Self.sessionConfig) }
    }

    /// The id of the configuration with this name, if any (import reports a clash as a problem).
    public func sessionConfigID(named name: String) async throws -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT id FROM session_configs WHERE name = ?", arguments: [name]) }
    }

    public func createSessionConfig(_ input: SessionConfig, actor: AuditActor, action: String = "session_config.create") async throws -> SessionConfig {
        try await write { db in
            var c = input
            c.id = Self.newID("cfg")
            c.version = 1
            c.createdAt = Self.now()
            c.updatedAt = c.createdAt
            try Self.checkConfigName(db, c)
            try db.execute(sql: "INSERT INTO session_configs (id, name, body, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [c.id, c.name, c.portable.serialized, c.version, c.createdAt, c.updatedAt])
            try Self.audit(db, actor: actor, action: action, objectType: "session_config", objectID: c.id, before: nil, after: c.json)
            return c
        }
    }

    public func updateSessionConfig(_ updated: SessionConfig, expectedVersion: Int, actor: AuditActor) async throws -> SessionConfig {
        try await write { db in
            guard let before = try Row.fetchOne(db, sql: "SELECT * FROM session_configs WHERE id = ?", arguments: [updated.id]).map(Self.sessionConfig) else {
                throw Self.noSessionConfig(updated.id)
            }
            guard before.version == expectedVersion else { throw Self.staleConfig(updated.id, before.version, expectedVersion) }
            var c = updated
            c.version = before.version + 1
            c.createdAt = before.createdAt
            c.updatedAt = Self.now()
            try Self.checkConfigName(db, c)
            try db.execute(sql: "UPDATE session_configs SET name = ?, body = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?",
                           arguments: [c.name, c.portable.serialized, c.version, c.updatedAt, c.id, expectedVersion])
            try Self.audit(db, actor: actor, action: "session_config.update", objectType: "session_config", objectID: c.id, before: before.json, after: c.json)
            return c
        }
    }

    public func deleteSessionConfig(_ id: String, expectedVersion: Int?, actor: AuditActor) async throws {
        try await write { db in
            guard let before = try Row.fetchOne(db, sql: "SELECT * FROM session_configs WHERE id = ?", arguments: [id]).map(Self.sessionConfig) else {
                throw Self.noSessionConfig(id)
            }
            if let expectedVersion, before.version != expectedVersion { throw Self.staleConfig(id, before.version, expectedVersion) }
            let clients = try String.fetchAll(db, sql: "SELECT client FROM client_config_defaults WHERE config_id = ? ORDER BY client", arguments: [id])
            if !clients.isEmpty {
                throw VoxError.conflict("session configuration \(id) is the default of \(clients.joined(separator: ", ")): point \(clients.count == 1 ? "it" : "them") elsewhere first (nothing was deleted)")
            }
            try db.execute(sql: "DELETE FROM session_configs WHERE id = ?", arguments: [id])
            try Self.audit(db, actor: actor, action: "session_config.delete", objectType: "session_config", objectID: id, before: before.json, after: nil)
        }
    }

    public func clientDefaultConfig(_ client: String) async throws -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT config_id FROM client_config_defaults WHERE client = ?", arguments: [client]) }
    }

    public func setClientDefaultConfig(_ client: String, config: String?, actor: AuditActor) async throws {
        try await write { db in
            let before = try String.fetchOne(db, sql: "SELECT config_id FROM client_config_defaults WHERE client = ?", arguments: [client])
            if let config {
                guard try String.fetchOne(db, sql: "SELECT id FROM session_configs WHERE id = ?", arguments: [config]) != nil else { throw Self.noSessionConfig(config) }
                try db.execute(sql: "INSERT INTO client_config_defaults (client, config_id, updated_at) VALUES (?, ?, ?) ON CONFLICT(client) DO UPDATE SET config_id = excluded.config_id, updated_at = excluded.updated_at",
                               arguments: [client, config, Self.now()])
            } else {
                try db.execute(sql: "DELETE FROM client_config_defaults WHERE client = ?", arguments: [client])
            }
            try Self.audit(db, actor: actor, action: "default.set", objectType: "client_default", objectID: client,
                           before: before.map { .object(["session_config": .string($0)]) }, after: config.map { .object(["session_config": .string($0)]) })
        }
    }

    static func noSessionConfig(_ id: String) -> VoxError { VoxError(.notFound, "no session configuration \"\(id)\" (see GET /v1/session-configs)") }

    static func staleConfig(_ id: String, _ at: Int, _ expected: Int) -> VoxError {
        VoxError.conflict("session configuration \(id) is at version \(at), not \(expected): someone changed it since you read it; read it again and reapply your change (nothing was written)")
    }

    private static func checkConfigName(_ db: Database, _ c: SessionConfig) throws {
        if let other = try String.fetchOne(db, sql: "SELECT id FROM session_configs WHERE name = ? AND id != ?", arguments: [c.name, c.id]) {
            throw VoxError.conflict("a session configuration named \"\(c.name)\" already exists (\(other)); names are unique, case-insensitively (nothing was written)")
        }
    }

    static func sessionConfig(_ r: Row) -> SessionConfig {
        let body = (try? JSONValue.parse(Data((r["body"] as String).utf8))) ?? .object([:])
        return SessionConfig(id: r["id"], name: r["name"], template: body["template"]?.stringValue ?? "",
                             overrides: body["overrides"]?.objectValue ?? [:], optimization: body["optimization"]?.stringValue ?? "balanced",
                             targetLanguage: body["target_language"]?.stringValue, version: r["version"],
                             createdAt: r["created_at"], updatedAt: r["updated_at"])
    }
}

import Foundation
import GRDB
import VoxPluginKit

/// The `session_configs` and `client_config_defaults` tables.
extension VoxStore {
    public func sessionConfigs() async throws -> [SessionConfig] { try await documents(SessionConfig.self) }

    public func sessionConfig(_ id: String) async throws -> SessionConfig? { try await document(SessionConfig.self, id) }

    /// The id of the configuration with this name, if any (import reports a clash as a problem).
    public func sessionConfigID(named name: String) async throws -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT id FROM session_configs WHERE name = ?", arguments: [name]) }
    }

    public func createSessionConfig(_ input: SessionConfig, actor: AuditActor, action: String = "session_config.create") async throws -> SessionConfig {
        try await write { db in try Self.insert(db, input, actor: actor, action: action) }
    }

    public func updateSessionConfig(_ updated: SessionConfig, expectedVersion: Int, actor: AuditActor) async throws -> SessionConfig {
        try await write { db in try Self.update(db, updated, expectedVersion: expectedVersion, actor: actor) }
    }

    public func deleteSessionConfig(_ id: String, expectedVersion: Int?, actor: AuditActor) async throws {
        try await write { db in
            let before = try Self.existing(SessionConfig.self, db, id, expectedVersion: expectedVersion)
            let clients = try String.fetchAll(db, sql: "SELECT client FROM client_config_defaults WHERE config_id = ? ORDER BY client", arguments: [id])
            if !clients.isEmpty {
                throw VoxError.conflict("session configuration \(id) is the default of \(clients.joined(separator: ", ")): point \(clients.count == 1 ? "it" : "them") elsewhere first (nothing was deleted)")
            }
            try Self.delete(db, before, actor: actor)
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

    static func noSessionConfig(_ id: String) -> VoxError { notFound(SessionConfig.self, id) }
}

extension SessionConfig: StoredDocument {
    static let kind = DocumentKind(table: "session_configs", objectType: "session_config", noun: "session configuration", idPrefix: "cfg",
                                   listRoute: "GET /v1/session-configs")

    var storedBody: JSONValue { portable }

    init(row r: Row) {
        let body = (try? JSONValue.parse(Data((r["body"] as String).utf8))) ?? .object([:])
        self.init(id: r["id"], name: r["name"], template: body["template"]?.stringValue ?? "",
                  overrides: body["overrides"]?.objectValue ?? [:], optimization: body["optimization"]?.stringValue ?? "balanced",
                  targetLanguage: body["target_language"]?.stringValue, version: r["version"],
                  createdAt: r["created_at"], updatedAt: r["updated_at"])
    }
}

import Foundation
import GRDB
import VoxPluginKit

/// A configuration object kept as one JSON `body` in a table of the shape
/// `(id, name UNIQUE NOCASE, body, version, created_at, updated_at)`: AI
/// templates and session configurations. The store writes them one way:
/// a new id and version 1 on create; on update the version must still be
/// the one the caller read (else 409, nothing written); names unique; an
/// audit row in the same transaction.
protocol StoredDocument {
    static var kind: DocumentKind { get }
    var id: String { get set }
    var name: String { get }
    var version: Int { get set }
    var createdAt: String? { get set }
    var updatedAt: String? { get set }
    /// What the API shows (and the audit log keeps).
    var json: JSONValue { get }
    /// What the `body` column holds.
    var storedBody: JSONValue { get }
    init(row: Row)
}

struct DocumentKind {
    /// SQL table.
    var table: String
    /// Audit object type, and the prefix of its actions ("template.update").
    var objectType: String
    /// In messages: "template", "session configuration".
    var noun: String
    /// New ids: "tpl_…".
    var idPrefix: String
    /// Where to list them, for a not-found message.
    var listRoute: String
}

extension VoxStore {
    func documents<D: StoredDocument>(_: D.Type) async throws -> [D] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM \(D.kind.table) ORDER BY name").map(D.init(row:)) }
    }

    func document<D: StoredDocument>(_: D.Type, _ id: String) async throws -> D? {
        try await read { db in try Self.fetch(D.self, db, id) }
    }

    static func fetch<D: StoredDocument>(_: D.Type, _ db: Database, _ id: String) throws -> D? {
        try Row.fetchOne(db, sql: "SELECT * FROM \(D.kind.table) WHERE id = ?", arguments: [id]).map(D.init(row:))
    }

    /// Inserts `input` as a new document (new id, version 1).
    static func insert<D: StoredDocument>(_ db: Database, _ input: D, actor: AuditActor, action: String) throws -> D {
        var d = input
        d.id = newID(D.kind.idPrefix)
        d.version = 1
        d.createdAt = now()
        d.updatedAt = d.createdAt
        try checkUniqueName(db, d)
        try db.execute(sql: "INSERT INTO \(D.kind.table) (id, name, body, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [d.id, d.name, d.storedBody.serialized, d.version, d.createdAt, d.updatedAt])
        try audit(db, actor: actor, action: action, objectType: D.kind.objectType, objectID: d.id, before: nil, after: d.json)
        return d
    }

    /// Replaces the document if it is still at `expectedVersion`.
    static func update<D: StoredDocument>(_ db: Database, _ updated: D, expectedVersion: Int, actor: AuditActor) throws -> D {
        let before = try existing(D.self, db, updated.id, expectedVersion: expectedVersion)
        var d = updated
        d.version = before.version + 1
        d.createdAt = before.createdAt
        d.updatedAt = now()
        try checkUniqueName(db, d)
        try db.execute(sql: "UPDATE \(D.kind.table) SET name = ?, body = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?",
                       arguments: [d.name, d.storedBody.serialized, d.version, d.updatedAt, d.id, expectedVersion])
        try audit(db, actor: actor, action: "\(D.kind.objectType).update", objectType: D.kind.objectType, objectID: d.id, before: before.json, after: d.json)
        return d
    }

    /// Deletes the document (the caller has checked what refers to it).
    static func delete<D: StoredDocument>(_ db: Database, _ before: D, actor: AuditActor) throws {
        try db.execute(sql: "DELETE FROM \(D.kind.table) WHERE id = ?", arguments: [before.id])
        try audit(db, actor: actor, action: "\(D.kind.objectType).delete", objectType: D.kind.objectType, objectID: before.id, before: before.json, after: nil)
    }

    /// The stored document, checked against the version the caller read (nil: no check).
    static func existing<D: StoredDocument>(_: D.Type, _ db: Database, _ id: String, expectedVersion: Int?) throws -> D {
        guard let d = try fetch(D.self, db, id) else { throw notFound(D.self, id) }
        if let expectedVersion, d.version != expectedVersion { throw stale(D.self, id, d.version, expectedVersion) }
        return d
    }

    static func notFound<D: StoredDocument>(_: D.Type, _ id: String) -> VoxError {
        VoxError(.notFound, "no \(D.kind.noun) \"\(id)\" (see \(D.kind.listRoute))")
    }

    static func stale<D: StoredDocument>(_: D.Type, _ id: String, _ at: Int, _ expected: Int) -> VoxError {
        VoxError.conflict("\(D.kind.noun) \(id) is at version \(at), not \(expected): someone changed it since you read it; read it again and reapply your change (nothing was written)")
    }

    private static func checkUniqueName<D: StoredDocument>(_ db: Database, _ d: D) throws {
        if let other = try String.fetchOne(db, sql: "SELECT id FROM \(D.kind.table) WHERE name = ? AND id != ?", arguments: [d.name, d.id]) {
            throw VoxError.conflict("a \(D.kind.noun) named \"\(d.name)\" already exists (\(other)); names are unique, case-insensitively (nothing was written)")
        }
    }
}

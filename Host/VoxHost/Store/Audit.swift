import Foundation
import GRDB
import VoxPluginKit

/// Who made an admin change: a socket peer (uid, pid, user name read with
/// SO_PEERCRED) or, once API keys exist, a key id.
public struct AuditActor: Sendable, Hashable, CustomStringConvertible {
    public var uid: UInt32?
    public var pid: Int32?
    public var keyID: String?
    /// Not a request: e.g. `signal:SIGHUP`.
    public var other: String?

    public init(uid: UInt32? = nil, pid: Int32? = nil, keyID: String? = nil, other: String? = nil) {
        self.uid = uid; self.pid = pid; self.keyID = keyID; self.other = other
    }

    /// `uid:1000(alice) pid:4242`, `key:vx_ab12` or `signal:SIGHUP`.
    public var description: String {
        if let other { return other }
        if let keyID { return "key:\(keyID)" }
        var s = "uid:\(uid.map(String.init) ?? "?")"
        if let uid, let pw = getpwuid(uid) { s += "(\(String(cString: pw.pointee.pw_name)))" }
        if let pid { s += " pid:\(pid)" }
        return s
    }
}

/// One row of the audit log.
public struct AuditEntry: Sendable, Hashable {
    public var id: Int64
    public var at: String
    public var actor: String
    public var action: String
    public var objectType: String
    public var objectID: String
    public var before: JSONValue?
    public var after: JSONValue?

    public var json: JSONValue {
        .object([
            "id": .number(Double(id)), "at": .string(at), "actor": .string(actor), "action": .string(action),
            "object_type": .string(objectType), "object_id": .string(objectID),
            "before": before ?? .null, "after": after ?? .null,
        ])
    }
}

extension VoxStore {
    /// Records an admin change inside the caller's write transaction, so the
    /// change and its audit row commit (or vanish) together.
    static func audit(_ db: Database, actor: AuditActor, action: String, objectType: String, objectID: String,
                      before: JSONValue?, after: JSONValue?) throws {
        try db.execute(sql: """
            INSERT INTO audit (at, actor, action, object_type, object_id, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [now(), actor.description, action, objectType, objectID, before?.serialized, after?.serialized])
    }

    /// Records an admin change that is not itself a store write (enabling a
    /// plugin, a reload), in a transaction of its own.
    public func record(actor: AuditActor, action: String, objectType: String, objectID: String,
                       before: JSONValue?, after: JSONValue?) async throws {
        try await write { db in
            try Self.audit(db, actor: actor, action: action, objectType: objectType, objectID: objectID, before: before, after: after)
        }
    }

    /// Audit entries, newest first; `beforeID` pages backwards.
    public func auditEntries(objectType: String? = nil, objectID: String? = nil, limit: Int = 100, beforeID: Int64? = nil) async throws -> [AuditEntry] {
        try await read { db in
            var clauses: [String] = []
            var args: [(any DatabaseValueConvertible)?] = []
            if let objectType { clauses.append("object_type = ?"); args.append(objectType) }
            if let objectID { clauses.append("object_id = ?"); args.append(objectID) }
            if let beforeID { clauses.append("id < ?"); args.append(beforeID) }
            let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            args.append(limit)
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM audit \(whereSQL) ORDER BY id DESC LIMIT ?",
                                        arguments: StatementArguments(args))
            return rows.map { r in
                func json(_ col: String) -> JSONValue? {
                    guard let s: String = r[col] else { return nil }
                    return try? JSONValue.parse(Data(s.utf8))
                }
                return AuditEntry(id: r["id"], at: r["at"], actor: r["actor"], action: r["action"],
                                  objectType: r["object_type"], objectID: r["object_id"], before: json("before"), after: json("after"))
            }
        }
    }
}

import Foundation
import GRDB

/// voxd's embedded store: one SQLite file, `<state_dir>/voxd.sqlite`, in WAL
/// mode, its schema built by the numbered migrations of `VoxStore.migrator`.
///
/// Durability: every write is one transaction, committed with
/// `synchronous = FULL` (the WAL is fsynced at each commit), so a write the
/// API acknowledged survives kill -9 and power loss; a crash mid-transaction
/// leaves nothing of it. At open, `PRAGMA quick_check` must say "ok" or voxd
/// refuses to start (naming the file), rather than serve from a damaged store.
public final class VoxStore: Sendable {
    public let path: String
    let pool: DatabasePool

    public struct OpenError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Opens (creating it if absent) and migrates the store at `path`.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw OpenError(description: "cannot open the store \(path): \(error)")
        }
        do {
            let check = try pool.read { db in try String.fetchOne(db, sql: "PRAGMA quick_check") }
            guard check == "ok" else {
                throw OpenError(description: "the store \(path) is damaged (quick_check: \(check ?? "no answer")); restore it from a backup or move it aside")
            }
            if try pool.read({ try Self.migrator.hasBeenSuperseded($0) }) {
                throw OpenError(description: "the store \(path) was written by a newer voxd (it has migrations this one does not know); run that version, or restore a backup")
            }
            try Self.migrator.migrate(pool)
        } catch let e as OpenError {
            throw e
        } catch {
            throw OpenError(description: "cannot open the store \(path): \(error)")
        }
    }

    /// For `voxd --check-config`: why the store at `path` could not be
    /// used, or nil when it is fine or does not exist yet (voxd creates it).
    /// Opens it read-only: checking changes nothing.
    public static func problem(path: String) -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var config = Configuration()
        config.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            let check = try queue.read { db in try String.fetchOne(db, sql: "PRAGMA quick_check") }
            if check != "ok" { return "the store \(path) is damaged (quick_check: \(check ?? "no answer"))" }
            let applied = try queue.read { db in try migrator.appliedIdentifiers(db) }
            let known = Set(migrator.migrations)
            if let unknown = applied.sorted().first(where: { !known.contains($0) }) {
                return "the store \(path) has migration \(unknown), which this voxd does not know: it was written by a newer voxd"
            }
            return nil
        } catch {
            return "cannot open the store \(path): \(error)"
        }
    }

    /// The store of a daemon: `<stateDir>/voxd.sqlite`.
    public convenience init(stateDir: String) throws {
        try self.init(path: (stateDir as NSString).appendingPathComponent("voxd.sqlite"))
    }

    /// Applied migrations, in order (for /v1/status and tests).
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedMigrations(db) }
    }

    public var journalMode: String {
        (try? pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }) ?? "unknown"
    }

    /// Runs `body` in one write transaction; a thrown error rolls it back.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.write(body)
    }

    /// `write`, on the calling thread (GRDB runs a synchronous write
    /// there): for a thread of its own, never a Swift task's.
    func writeNow<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.write(body)
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read(body)
    }

    // MARK: - Schema

    /// The numbered migrations. Never edit one that has shipped: add the next.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("0001_audit") { db in
            try db.execute(sql: """
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    object_type TEXT NOT NULL,
                    object_id TEXT NOT NULL,
                    before TEXT,
                    after TEXT
                );
                CREATE INDEX audit_object ON audit(object_type, object_id);
                """)
        }
        m.registerMigration("0002_prompts") { db in
            try db.execute(sql: """
                CREATE TABLE prompts (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    category TEXT NOT NULL,
                    body TEXT NOT NULL,
                    is_default INTEGER NOT NULL DEFAULT 0,
                    version INTEGER NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("0003_templates") { db in
            try db.execute(sql: """
                CREATE TABLE templates (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    body TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("0004_client_defaults") { db in
            try db.execute(sql: """
                CREATE TABLE client_defaults (
                    client TEXT PRIMARY KEY,
                    template_id TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("0005_session_configs") { db in
            try db.execute(sql: """
                CREATE TABLE session_configs (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    body TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                CREATE TABLE client_config_defaults (
                    client TEXT PRIMARY KEY,
                    config_id TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("0006_api_keys") { db in
            // Same shape as the other documents; the body holds the salt and
            // the hash of the secret, never the secret.
            try db.execute(sql: """
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    body TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("0007_usage") { db in
            // One row per call (see UsageLedger). `at` is unix seconds; `day`
            // (UTC, yyyy-mm-dd) groups and bounds budget sums cheaply.
            try db.execute(sql: """
                CREATE TABLE usage (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at REAL NOT NULL,
                    day TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    client TEXT NOT NULL,
                    key_id TEXT,
                    kind TEXT NOT NULL,
                    provider TEXT,
                    model TEXT,
                    voice TEXT,
                    input_tokens INTEGER,
                    output_tokens INTEGER,
                    characters INTEGER,
                    audio_seconds REAL,
                    prices TEXT,
                    cost_usd REAL NOT NULL,
                    ttfb_ms REAL,
                    total_ms REAL,
                    outcome TEXT NOT NULL,
                    retries INTEGER NOT NULL,
                    failovers INTEGER NOT NULL
                );
                CREATE INDEX usage_at ON usage(at);
                CREATE INDEX usage_key_day ON usage(key_id, day);
                CREATE INDEX usage_request ON usage(request_id);
                """)
        }
        return m
    }

    // MARK: - Helpers

    /// A new id: `prefix_` and 16 random hex digits.
    static func newID(_ prefix: String) -> String {
        prefix + "_" + String(format: "%016llx", UInt64.random(in: 0...UInt64.max))
    }

    static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }
}

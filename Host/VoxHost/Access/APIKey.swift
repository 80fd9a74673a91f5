import Crypto
import Foundation
import GRDB
import VoxPluginKit

/// An API key: what its holder may do (scopes), spend (USD per day and
/// per month, checked against the usage ledger) and how fast (requests per
/// minute, concurrent streams).
///
/// The secret is `vx_<16 hex: the key's id>_<43 chars: 256 random bits,
/// base64url>`, shown once when the key is created. The store keeps only a
/// random 16-byte salt and SHA-256(salt ‖ secret): the secret is 256 random
/// bits, so a fast hash is as strong as a slow one here (a password hash's
/// stretching guards guessable secrets, which these are not), and checking
/// a key costs about a microsecond on the request path.
public struct APIKey: Hashable, Sendable {
    public var id: String
    public var name: String
    public var scopes: [Scope]
    public var budgetDayUSD: Double?
    public var budgetMonthUSD: Double?
    public var requestsPerMinute: Int?
    public var concurrentStreams: Int?
    public var expiresAt: Date?
    public var revokedAt: Date?
    /// Hex; never shown.
    var salt: String
    var hash: String
    public var version: Int
    public var createdAt: String?
    public var updatedAt: String?

    public enum Status: String, Sendable { case active, expired, revoked }

    public func status(at now: Date = Date()) -> Status {
        if revokedAt != nil { return .revoked }
        if let expiresAt, expiresAt <= now { return .expired }
        return .active
    }

    /// The public part of the secret, to tell keys apart in listings.
    public var prefix: String { Self.prefix(id) }
    static func prefix(_ id: String) -> String { "vx_\(id.dropFirst(4))_…" }

    public var json: JSONValue {
        .object([
            "id": .string(id), "name": .string(name), "prefix": .string(prefix),
            "scopes": .array(scopes.sorted().map { .string($0.rawValue) }),
            "budget": .object(["day_usd": budgetDayUSD.map(JSONValue.number) ?? .null,
                               "month_usd": budgetMonthUSD.map(JSONValue.number) ?? .null]),
            "rate_limit": .object(["requests_per_minute": requestsPerMinute.map { .number(Double($0)) } ?? .null,
                                   "concurrent_streams": concurrentStreams.map { .number(Double($0)) } ?? .null]),
            "expires_at": expiresAt.map { .string(APIKey.iso($0)) } ?? .null,
            "revoked_at": revokedAt.map { .string(APIKey.iso($0)) } ?? .null,
            "status": .string(status().rawValue),
            "version": .number(Double(version)),
            "created_at": createdAt.map(JSONValue.string) ?? .null,
            "updated_at": updatedAt.map(JSONValue.string) ?? .null,
        ])
    }

    // MARK: - Secrets

    /// A new key's id and secret, and the salt and hash to store.
    static func mint() -> (id: String, secret: String, salt: String, hash: String) {
        var rng = SystemRandomNumberGenerator()  // getrandom(2)
        let idHex = String(format: "%016llx", rng.next() as UInt64)
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let secret = "vx_\(idHex)_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }.hex
        return ("key_\(idHex)", secret, salt, digest(salt: salt, secret: secret))
    }

    static func digest(salt: String, secret: String) -> String {
        var h = SHA256()
        h.update(data: Array(salt.utf8))
        h.update(data: Array(secret.utf8))
        return Array(h.finalize()).hex
    }

    /// The key id a secret names, or nil when it is not shaped like one.
    static func keyID(ofSecret s: String) -> String? {
        let parts = s.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "vx", parts[1].count == 16, parts[1].allSatisfy(\.isHexDigit), parts[2].count == 43 else { return nil }
        return "key_\(parts[1])"
    }

    /// Constant-time comparison of the secret's hash with the stored one.
    func matches(secret: String) -> Bool {
        let a = Array(Self.digest(salt: salt, secret: secret).utf8), b = Array(hash.utf8)
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    /// `2026-11-21T10:58:21Z`; a value-type style, not a formatter object
    /// made per call (usage listings format a time per row).
    static func iso(_ d: Date) -> String { d.formatted(isoStyle) }
    private static let isoStyle = Date.ISO8601FormatStyle()

    static func parseDate(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withFullDate]
        return f.date(from: s)
    }
}

extension Array where Element == UInt8 {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

extension APIKey: StoredDocument {
    static let kind = DocumentKind(table: "api_keys", objectType: "key", noun: "API key", idPrefix: "key", listRoute: "GET /v1/keys")

    /// The row's body: the hash and salt with the rest (never the secret).
    var storedBody: JSONValue {
        guard case .object(var o) = json else { return json }
        for k in ["id", "name", "prefix", "status", "version", "created_at", "updated_at"] { o[k] = nil }
        o["salt"] = .string(salt)
        o["hash"] = .string(hash)
        return .object(o)
    }

    init(row r: Row) {
        let b = (try? JSONValue.parse(Data((r["body"] as String).utf8))) ?? .object([:])
        self.init(id: r["id"], name: r["name"],
                  scopes: (b["scopes"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(Scope.init(rawValue:)) },
                  budgetDayUSD: b["budget"]?["day_usd"]?.doubleValue, budgetMonthUSD: b["budget"]?["month_usd"]?.doubleValue,
                  requestsPerMinute: b["rate_limit"]?["requests_per_minute"]?.intValue,
                  concurrentStreams: b["rate_limit"]?["concurrent_streams"]?.intValue,
                  expiresAt: b["expires_at"]?.stringValue.flatMap(APIKey.parseDate),
                  revokedAt: b["revoked_at"]?.stringValue.flatMap(APIKey.parseDate),
                  salt: b["salt"]?.stringValue ?? "", hash: b["hash"]?.stringValue ?? "",
                  version: r["version"], createdAt: r["created_at"], updatedAt: r["updated_at"])
    }
}

extension VoxStore {
    public func apiKeys() async throws -> [APIKey] { try await documents(APIKey.self) }

    /// Stores a key minted by the caller (`key.id` already set): the id is
    /// part of the secret, so it cannot be a fresh one from `insert`.
    func createAPIKey(_ key: APIKey, actor: AuditActor) async throws -> APIKey {
        try await write { db in
            var k = key
            k.version = 1
            k.createdAt = Self.now()
            k.updatedAt = k.createdAt
            if let other = try String.fetchOne(db, sql: "SELECT id FROM api_keys WHERE name = ?", arguments: [k.name]) {
                throw VoxError.conflict("an API key named \"\(k.name)\" already exists (\(other)); names are unique, case-insensitively (nothing was written)")
            }
            try db.execute(sql: "INSERT INTO api_keys (id, name, body, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [k.id, k.name, k.storedBody.serialized, k.version, k.createdAt, k.updatedAt])
            try Self.audit(db, actor: actor, action: "key.create", objectType: "key", objectID: k.id, before: nil, after: k.json)
            return k
        }
    }

    func updateAPIKey(_ key: APIKey, expectedVersion: Int, actor: AuditActor) async throws -> APIKey {
        try await write { db in try Self.update(db, key, expectedVersion: expectedVersion, actor: actor) }
    }

    func apiKey(_ id: String) async throws -> APIKey? { try await document(APIKey.self, id) }

    static func noAPIKey(_ id: String) -> VoxError { notFound(APIKey.self, id) }
}

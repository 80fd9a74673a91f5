import Foundation

/// What an API key may do. A socket peer that is an admin (SO_PEERCRED:
/// root, voxd's own uid, or the admin group) may do everything without a
/// key; every other client needs a key with the route's scope.
public enum Scope: String, CaseIterable, Sendable, Codable, Comparable {
    case chat, tts, stt, realtime
    case configRead = "config:read"
    case configWrite = "config:write"
    case admin

    public static func < (a: Scope, b: Scope) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}

/// Who is calling: an admin socket peer, or the holder of an API key.
public struct Principal: Sendable {
    public enum Kind: Sendable {
        case peerAdmin(uid: UInt32, pid: Int32)
        case key(APIKey)
    }
    public let kind: Kind

    public var key: APIKey? { if case .key(let k) = kind { return k } else { return nil } }
    public var keyID: String? { key?.id }

    /// The ledger's and the defaults' name for the caller: `uid:N` or `key:ID`.
    public var client: String {
        switch kind {
        case .peerAdmin(let uid, _): return "uid:\(uid)"
        case .key(let k): return "key:\(k.id)"
        }
    }

    public var actor: AuditActor {
        switch kind {
        case .peerAdmin(let uid, let pid): return AuditActor(uid: uid, pid: pid)
        case .key(let k): return AuditActor(keyID: k.id)
        }
    }

    /// Admin peers and keys with the admin scope may do anything.
    public func allows(_ scope: Scope) -> Bool {
        switch kind {
        case .peerAdmin: return true
        case .key(let k): return k.scopes.contains(.admin) || k.scopes.contains(scope)
        }
    }

    public var isAdmin: Bool { allows(.admin) }
}

/// The request being served, for code that has no request context at hand
/// (the router's ledger entries): set by the access middleware for the
/// handler's task and everything it awaits.
public enum CallScope {
    public struct Info: Sendable {
        public var requestID: String
        public var principal: Principal?
        /// `X-Vox-Max-Price`, `X-Vox-Latency-Class`: route constraints.
        public var maxPriceUSD: Double?
        public var latencyClass: LatencyClass?
    }
    @TaskLocal public static var current: Info?
}

import VoxPluginKit

/// The `[settings]` table of a remote plugin's config file, validated.
///
/// Common to every remote plugin:
/// - `base_url`: the API root (each plugin's documented default); a
///   compatible gateway or a test fake replaces it.
/// - `connect_timeout_ms` (0 = the host's default), `first_byte_timeout_ms`
///   (default 30000), `idle_timeout_ms` (default 30000), `total_timeout_ms`
///   (0 = none): handed to the host's HTTP service with every request.
///
/// A plugin names its own extra keys; anything else is an error naming the
/// key and the known ones. The API key is never a setting: it is the secret
/// bound to `[secrets] api_key`.
public struct ProviderSettings: Sendable {
    public static let common: Set<String> = ["base_url", "connect_timeout_ms", "first_byte_timeout_ms", "idle_timeout_ms", "total_timeout_ms"]

    public var baseURL: String
    public var connectTimeoutMs: UInt32
    public var firstByteTimeoutMs: UInt32
    public var idleTimeoutMs: UInt32
    public var totalTimeoutMs: UInt32
    /// The whole table, for the plugin's own keys (read with `string`, `millis`, …).
    public let table: [String: JSONValue]

    public init(_ s: JSONValue, defaultBaseURL: String, extraKeys: Set<String> = []) throws {
        guard let table = s.objectValue else { throw VoxPluginError.invalidRequest("settings: must be a table") }
        let known = Self.common.union(extraKeys)
        for key in table.keys.sorted() where !known.contains(key) {
            throw VoxPluginError.invalidRequest("settings.\(key): unknown setting (known: \(known.sorted().joined(separator: ", ")))")
        }
        self.table = table
        baseURL = ""
        connectTimeoutMs = 0
        firstByteTimeoutMs = 0
        idleTimeoutMs = 0
        totalTimeoutMs = 0
        var base = try string("base_url") ?? defaultBaseURL
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw VoxPluginError.invalidRequest("settings.base_url: \"\(base)\" is not an http:// or https:// URL")
        }
        while base.hasSuffix("/") { base.removeLast() }
        baseURL = base
        connectTimeoutMs = try millis("connect_timeout_ms", 0, allowZero: true)
        firstByteTimeoutMs = try millis("first_byte_timeout_ms", 30_000, allowZero: false)
        idleTimeoutMs = try millis("idle_timeout_ms", 30_000, allowZero: false)
        totalTimeoutMs = try millis("total_timeout_ms", 0, allowZero: true)
    }

    /// A non-empty string setting, or nil when absent.
    public func string(_ key: String) throws -> String? {
        guard let v = table[key] else { return nil }
        guard let str = v.stringValue, !str.isEmpty else { throw VoxPluginError.invalidRequest("settings.\(key): must be a non-empty string") }
        return str
    }

    /// Milliseconds in 0/1…600000.
    public func millis(_ key: String, _ dflt: UInt32, allowZero: Bool) throws -> UInt32 {
        guard let v = table[key] else { return dflt }
        let lower = allowZero ? 0 : 1
        guard let i = v.intValue, (lower...600_000).contains(i) else {
            throw VoxPluginError.invalidRequest("settings.\(key): must be an integer number of milliseconds in \(lower)…600000")
        }
        return UInt32(i)
    }

    /// An integer in `range`.
    public func int(_ key: String, _ dflt: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let v = table[key] else { return dflt }
        guard let i = v.intValue, range.contains(i) else {
            throw VoxPluginError.invalidRequest("settings.\(key): must be an integer in \(range.lowerBound)…\(range.upperBound)")
        }
        return i
    }

    public func bool(_ key: String, _ dflt: Bool) throws -> Bool {
        guard let v = table[key] else { return dflt }
        guard let b = v.boolValue else { throw VoxPluginError.invalidRequest("settings.\(key): must be true or false") }
        return b
    }

    /// An http(s) URL with no trailing slash; `ws(s)://` too when `websocket`.
    public func url(_ key: String, _ dflt: String, websocket: Bool = false) throws -> String {
        var u = try string(key) ?? dflt
        let schemes = websocket ? ["ws://", "wss://", "http://", "https://"] : ["http://", "https://"]
        guard schemes.contains(where: { u.hasPrefix($0) }) else {
            throw VoxPluginError.invalidRequest("settings.\(key): \"\(u)\" must start with \(schemes.joined(separator: " or "))")
        }
        while u.hasSuffix("/") { u.removeLast() }
        return u
    }
}

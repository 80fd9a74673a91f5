import VoxPluginKit

/// The `[settings]` table of plugins.d/openai.toml, validated.
///
/// - `base_url`: the API root (default "https://api.openai.com/v1", openai.md
///   "Basics"); a compatible gateway or the test fake replaces it.
/// - `organization`, `project`: sent as `OpenAI-Organization` / `OpenAI-Project`.
/// - `connect_timeout_ms`, `first_byte_timeout_ms` (default 30000),
///   `idle_timeout_ms` (default 30000): handed to the host's HTTP service
///   with every request. 0 for connect means the host's default.
///
/// The API key is not a setting: it is the secret bound to `[secrets] api_key`.
struct OpenAISettings: Sendable {
    static let defaultBaseURL = "https://api.openai.com/v1"
    static let known: Set<String> = ["base_url", "organization", "project",
                                     "connect_timeout_ms", "first_byte_timeout_ms", "idle_timeout_ms"]

    var baseURL: String
    var organization: String?
    var project: String?
    var connectTimeoutMs: UInt32
    var firstByteTimeoutMs: UInt32
    var idleTimeoutMs: UInt32

    init(_ s: JSONValue) throws {
        guard let table = s.objectValue else { throw VoxPluginError.invalidRequest("settings: must be a table") }
        for key in table.keys.sorted() where !Self.known.contains(key) {
            throw VoxPluginError.invalidRequest("settings.\(key): unknown setting (known: \(Self.known.sorted().joined(separator: ", ")))")
        }
        func string(_ key: String) throws -> String? {
            guard let v = table[key] else { return nil }
            guard let str = v.stringValue, !str.isEmpty else { throw VoxPluginError.invalidRequest("settings.\(key): must be a non-empty string") }
            return str
        }
        func millis(_ key: String, _ dflt: UInt32, allowZero: Bool) throws -> UInt32 {
            guard let v = table[key] else { return dflt }
            let lower = allowZero ? 0 : 1
            guard let i = v.intValue, (lower...600_000).contains(i) else {
                throw VoxPluginError.invalidRequest("settings.\(key): must be an integer number of milliseconds in \(lower)…600000")
            }
            return UInt32(i)
        }
        var base = try string("base_url") ?? Self.defaultBaseURL
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw VoxPluginError.invalidRequest("settings.base_url: \"\(base)\" is not an http:// or https:// URL")
        }
        while base.hasSuffix("/") { base.removeLast() }
        baseURL = base
        organization = try string("organization")
        project = try string("project")
        connectTimeoutMs = try millis("connect_timeout_ms", 0, allowZero: true)
        firstByteTimeoutMs = try millis("first_byte_timeout_ms", 30_000, allowZero: false)
        idleTimeoutMs = try millis("idle_timeout_ms", 30_000, allowZero: false)
    }
}

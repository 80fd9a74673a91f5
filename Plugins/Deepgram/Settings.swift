import ProviderSupport
import VoxPluginKit

/// The `[settings]` table of plugins.d/deepgram.toml: the common remote
/// settings (ProviderSettings: base_url, timeouts) with the default
/// "https://api.deepgram.com" (deepgram.md "Basics", REST base), plus
/// `ws_base_url` (default "wss://api.deepgram.com", the WS base): the root
/// the live-listen WebSocket (`wss://…/v1/listen`) connects to, and
/// `keepalive_ms` (500–9000, default 4000): how long the live socket may
/// go without audio before voxd sends Deepgram a KeepAlive (Deepgram
/// closes after ~10 s without either).
struct DeepgramSettings: Sendable {
    static let defaultBaseURL = "https://api.deepgram.com"
    static let defaultWSBaseURL = "wss://api.deepgram.com"

    var common: ProviderSettings
    var wsBaseURL: String
    var keepAliveMs: Int

    init(_ s: JSONValue) throws {
        common = try ProviderSettings(s, defaultBaseURL: Self.defaultBaseURL, extraKeys: ["ws_base_url", "keepalive_ms"])
        wsBaseURL = try common.url("ws_base_url", Self.defaultWSBaseURL, websocket: true)
        keepAliveMs = try common.int("keepalive_ms", 4000, in: 500...9000)
    }
}

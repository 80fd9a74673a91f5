import ProviderSupport
import VoxPluginKit

/// The `[settings]` table of plugins.d/deepgram.toml: the common remote
/// settings (ProviderSettings: base_url, timeouts) with the default
/// "https://api.deepgram.com" (deepgram.md "Basics", REST base), plus
/// `ws_base_url` (default "wss://api.deepgram.com", the WS base): the root
/// the live-listen WebSocket (`wss://…/v1/listen`) connects to.
struct DeepgramSettings: Sendable {
    static let defaultBaseURL = "https://api.deepgram.com"
    static let defaultWSBaseURL = "wss://api.deepgram.com"

    var common: ProviderSettings
    var wsBaseURL: String

    init(_ s: JSONValue) throws {
        common = try ProviderSettings(s, defaultBaseURL: Self.defaultBaseURL, extraKeys: ["ws_base_url"])
        wsBaseURL = try common.url("ws_base_url", Self.defaultWSBaseURL, websocket: true)
    }
}

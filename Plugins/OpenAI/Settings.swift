import ProviderSupport
import VoxPluginKit

/// The `[settings]` table of plugins.d/openai.toml: the common remote
/// settings (ProviderSettings: base_url, timeouts) with the default
/// "https://api.openai.com/v1" (openai.md "Basics"), plus
/// `organization` and `project`, sent as `OpenAI-Organization` /
/// `OpenAI-Project`.
struct OpenAISettings: Sendable {
    static let defaultBaseURL = "https://api.openai.com/v1"

    var common: ProviderSettings
    var organization: String?
    var project: String?

    init(_ s: JSONValue) throws {
        common = try ProviderSettings(s, defaultBaseURL: Self.defaultBaseURL, extraKeys: ["organization", "project"])
        organization = try common.string("organization")
        project = try common.string("project")
    }
}

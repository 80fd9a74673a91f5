import ProviderSupport
import VoxPluginKit

/// The `[settings]` table of plugins.d/elevenlabs.toml: the common remote
/// settings (ProviderSettings: base_url, timeouts) with the default
/// "https://api.elevenlabs.io" (elevenlabs.md "Basics"; the data-residency
/// hosts such as https://api.eu.residency.elevenlabs.io go in base_url), plus:
///
/// - `default_model`: the text-to-speech model when a request names none
///   (default `eleven_multilingual_v2`, the API's own default).
/// - `default_voice`: the voice id (or name) when a request names none
///   (default `21m00Tcm4TlvDq8ikWAM`, "Rachel", the spec's example voice).
/// - `pcm_sample_rate`: the rate of raw PCM when a request names none
///   (default 24000; one of the `pcm_<rate>` output formats).
/// - `enable_logging`: false asks ElevenLabs for zero retention
///   (`enable_logging=false`, enterprise accounts only). Default true.
/// - `usd_per_credit`: what one ElevenLabs credit costs on the account's
///   plan, for the declared prices (default 0.0001, i.e. $0.10 per 1,000
///   credits, see ElevenLabsCatalog.prices).
struct ElevenLabsSettings: Sendable {
    static let defaultBaseURL = "https://api.elevenlabs.io"

    var common: ProviderSettings
    var defaultModel: String
    var defaultVoice: String
    var pcmSampleRate: Int
    var enableLogging: Bool
    var usdPerCredit: Double

    init(_ s: JSONValue) throws {
        common = try ProviderSettings(s, defaultBaseURL: Self.defaultBaseURL,
                                      extraKeys: ["default_model", "default_voice", "pcm_sample_rate", "enable_logging", "usd_per_credit"])
        defaultModel = try common.string("default_model") ?? ElevenLabsCatalog.defaultTTSModel
        defaultVoice = try common.string("default_voice") ?? ElevenLabsCatalog.defaultVoice
        pcmSampleRate = try common.int("pcm_sample_rate", 24_000, in: 8_000...48_000)
        guard OutputFormat.pcmRates.contains(pcmSampleRate) else {
            throw VoxPluginError.invalidRequest("settings.pcm_sample_rate: \(pcmSampleRate) is not a rate ElevenLabs makes; use one of \(OutputFormat.pcmRates.map(String.init).joined(separator: ", "))")
        }
        enableLogging = try common.bool("enable_logging", true)
        if let v = common.table["usd_per_credit"] {
            guard let d = v.doubleValue, d >= 0, d < 1 else {
                throw VoxPluginError.invalidRequest("settings.usd_per_credit: must be a number of US dollars in 0…1 (e.g. 0.0001)")
            }
            usdPerCredit = d
        } else {
            usdPerCredit = ElevenLabsCatalog.defaultUSDPerCredit
        }
    }
}

/// Sarvam's language codes (sarvam.md): `xx-IN` for every language, `od-IN`
/// for Odia, `unknown` for auto-detection in speech-to-text. voxd speaks
/// BCP 47 (SCHEMAS.md); the primary subtag decides ("hi", "hi-IN",
/// "hi-Deva-IN" → hi-IN; "en-US" → en-IN: Sarvam's English is Indian
/// English, and it has no other).
enum SarvamLanguages {
    /// TTS `language_code`, and what the stock speakers speak.
    static let tts = ["bn-IN", "en-IN", "gu-IN", "hi-IN", "kn-IN", "ml-IN", "mr-IN", "od-IN", "pa-IN", "ta-IN", "te-IN"]
    /// STT `language_code`, every model.
    static let sttBase = ["hi-IN", "bn-IN", "kn-IN", "ml-IN", "mr-IN", "od-IN", "pa-IN", "ta-IN", "te-IN", "en-IN", "gu-IN"]
    /// STT `language_code`, added by saaras:v3/v4.
    static let sttSaarasExtra = ["as-IN", "ur-IN", "ne-IN", "kok-IN", "ks-IN", "sd-IN", "sa-IN", "sat-IN", "mni-IN", "brx-IN", "mai-IN", "doi-IN"]

    static func stt(model: String) -> [String] {
        SarvamCatalog.saarasModes.contains(model) ? sttBase + sttSaarasExtra : sttBase
    }

    /// The Sarvam code for a BCP 47 tag, when it is among `supported`.
    static func code(for tag: String, in supported: [String]) -> String? {
        var primary = String(tag.split(separator: "-").first ?? Substring(tag)).split(separator: "_").first.map(String.init)?.lowercased() ?? ""
        if primary == "or" { primary = "od" } // ISO 639-1 Odia is "or"; Sarvam writes od-IN
        return supported.first { $0.lowercased() == "\(primary)-in" }
    }

    /// The TTS language of a text from its script, for a request that names
    /// none: Devanagari → hi-IN, Bengali → bn-IN, Gurmukhi → pa-IN,
    /// Gujarati → gu-IN, Oriya → od-IN, Tamil → ta-IN, Telugu → te-IN,
    /// Kannada → kn-IN, Malayalam → ml-IN; anything else en-IN. (Marathi is
    /// Devanagari too: name mr-IN to get it.)
    static func guess(text: String) -> String {
        for scalar in text.unicodeScalars.prefix(400) {
            switch scalar.value {
            case 0x0900...0x097F: return "hi-IN"
            case 0x0980...0x09FF: return "bn-IN"
            case 0x0A00...0x0A7F: return "pa-IN"
            case 0x0A80...0x0AFF: return "gu-IN"
            case 0x0B00...0x0B7F: return "od-IN"
            case 0x0B80...0x0BFF: return "ta-IN"
            case 0x0C00...0x0C7F: return "te-IN"
            case 0x0C80...0x0CFF: return "kn-IN"
            case 0x0D00...0x0D7F: return "ml-IN"
            default: continue
            }
        }
        return "en-IN"
    }
}

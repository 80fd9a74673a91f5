/// Scribe names the language it heard with an ISO 639 code (`language_code`,
/// 639-1 or 639-3: elevenlabs.md "Speech-to-text" shows "en", the field
/// takes "ISO-639-1/3"); voxd speaks BCP 47, which uses the two-letter code
/// where one exists. The pairs are ISO 639-2/3's own, for the languages
/// Scribe lists.
enum ScribeLanguages {
    /// A BCP 47 tag for the code; a code without a two-letter form stays as
    /// it is ("yue", "ceb"), nil for an empty or non-alphabetic one.
    static func tag(_ code: String) -> String? {
        let c = code.lowercased()
        guard !c.isEmpty, c.allSatisfy({ ($0 >= "a" && $0 <= "z") || $0 == "-" || $0 == "_" }) else { return nil }
        if c.count == 3, let two = twoLetter[c] { return two }
        return VoiceDirectory.bcp47(c) ?? c
    }

    private static let twoLetter: [String: String] = [
        "afr": "af", "amh": "am", "ara": "ar", "hye": "hy", "asm": "as", "aze": "az", "bel": "be", "ben": "bn", "bos": "bs",
        "bul": "bg", "mya": "my", "cat": "ca", "zho": "zh", "cmn": "zh", "hrv": "hr", "ces": "cs", "dan": "da", "nld": "nl",
        "eng": "en", "est": "et", "fin": "fi", "fra": "fr", "ful": "ff", "glg": "gl", "lug": "lg", "kat": "ka", "deu": "de",
        "ell": "el", "guj": "gu", "hau": "ha", "heb": "he", "hin": "hi", "hun": "hu", "isl": "is", "ibo": "ig", "ind": "id",
        "gle": "ga", "ita": "it", "jpn": "ja", "jav": "jv", "kan": "kn", "kaz": "kk", "khm": "km", "kor": "ko", "kur": "ku",
        "kir": "ky", "lao": "lo", "lav": "lv", "lin": "ln", "lit": "lt", "ltz": "lb", "mkd": "mk", "msa": "ms", "mal": "ml",
        "mlt": "mt", "mri": "mi", "mar": "mr", "mon": "mn", "nep": "ne", "nor": "no", "nob": "nb", "nno": "nn", "nya": "ny",
        "oci": "oc", "ori": "or", "pus": "ps", "fas": "fa", "pol": "pl", "por": "pt", "pan": "pa", "ron": "ro", "rus": "ru",
        "srp": "sr", "sna": "sn", "snd": "sd", "slk": "sk", "slv": "sl", "som": "so", "spa": "es", "swa": "sw", "swe": "sv",
        "tam": "ta", "tgk": "tg", "tel": "te", "tha": "th", "tur": "tr", "ukr": "uk", "urd": "ur", "uzb": "uz", "vie": "vi",
        "cym": "cy", "wol": "wo", "xho": "xh", "yor": "yo", "zul": "zu", "sqi": "sq", "eus": "eu", "bak": "ba", "bre": "br",
        "tat": "tt", "tuk": "tk", "yid": "yi", "sin": "si", "tgl": "tl", "lat": "la", "san": "sa", "tib": "bo", "bod": "bo",
        "hat": "ht", "mlg": "mg", "fao": "fo", "kin": "rw", "sun": "su", "uig": "ug", "glv": "gv",
    ]
}

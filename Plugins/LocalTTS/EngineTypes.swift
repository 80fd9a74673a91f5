// Value types of the espeak-ng engine layer (see EspeakEngine.swift).

import CEspeakNG
import Foundation

// MARK: - Public (internal) value types

/// An error from the espeak-ng layer. `status` is espeak's own status code
/// (an `espeak_ng_STATUS`, or an errno value below 256) when espeak reported one.
struct EspeakError: Error, CustomStringConvertible, Equatable {
    enum Kind: String, Sendable {
        /// espeak-ng could not be initialised (data missing, wrong version, …).
        case initialization
        /// The data path given to `EspeakEngine(dataPath:)` holds no espeak-ng data.
        case dataPathMissing
        /// No espeak voice or variant matches the selection.
        case voiceNotFound
        /// A selection field is malformed (not clamped: unusable, e.g. a bad language tag).
        case invalidArgument
        /// espeak_ng_Synthesize / espeak_ng_SetParameter failed.
        case synthesis
        /// `synthesize` was called from the engine thread itself (from inside onChunk).
        case reentrantCall
    }

    let kind: Kind
    let message: String
    /// espeak-ng status code, when espeak reported one.
    let status: UInt32?

    init(_ kind: Kind, _ message: String, status: UInt32? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
    }

    var description: String {
        guard let status else { return "espeak-ng: \(message)" }
        return "espeak-ng: \(message) (status 0x\(String(status, radix: 16)): \(EspeakError.statusText(status)))"
    }

    /// espeak-ng's own text for a status code ("Voice not found", "No such file or directory", …).
    static func statusText(_ status: UInt32) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        espeak_ng_GetStatusCodeMessage(espeak_ng_STATUS(rawValue: status), &buffer, buffer.count)
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return text.isEmpty ? "unknown status" : text
    }
}

/// One voice espeak-ng can speak with, as discovered by `espeak_ListVoices(NULL)`.
struct EngineVoice: Sendable, Hashable, Codable {
    /// Stable, URL-safe, unique id: the voice's lowercase primary language tag
    /// ("en-us", "de", "fr-fr"); when two voices share a primary tag, the one
    /// whose file is named after the tag keeps it and the other falls back to
    /// its sanitised file name ("yue-latn-jyutping"). Only [a-z0-9-].
    let id: String
    /// Human name from the voice file ("English (America)").
    let name: String
    /// espeak's identifier (path below espeak-ng-data/{voices,lang}): "gmw/en-US".
    /// Pass it (or `id`) as `VoiceSelection.voiceIdentifier`.
    let identifier: String
    /// Languages the voice speaks, lowercase BCP47-ish, in the voice file's
    /// order (primary first): ["en-us", "en"].
    let languages: [String]
    /// "male" / "female" as declared by espeak (espeak 1.51 declares every
    /// language voice "male"; female sound comes from variants), or nil.
    let gender: String?
    /// Age declared by the voice file, if any.
    let age: Int?
}

/// What to speak with. Plain data; validated and clamped per job.
struct VoiceSelection: Sendable, Hashable {
    /// espeak voice to use: an `EngineVoice.id` ("en-us"), an espeak identifier
    /// ("gmw/en-US"), a voice name ("English (America)"); an optional "+variant"
    /// suffix ("gmw/en-US+f3") is allowed. When set, selection is by name and
    /// `language`, `gender`, `age`, `variant` are ignored.
    var voiceIdentifier: String?
    /// BCP47-ish language tag ("en", "en-US", "pt_BR") for selection by properties.
    /// nil → espeak's default ("en").
    var language: String?
    /// 0 any, 1 male, 2 female.
    var gender: Int
    /// Age in years, 0 any. espeak picks a child-like (female) variant below 13 and
    /// an older variant from 60 up.
    var age: Int
    /// Index into espeak's ranked candidate list (0 = best match); espeak uses it to
    /// step through its m1…m6 / f1…f4 variants.
    var variant: Int
    /// Optional named espeak variant (a file in espeak-ng-data/voices/!v, e.g.
    /// "whisper", "whisperf", "croak", "f3", "m3"). Applied on top of the voice
    /// chosen by `voiceIdentifier`, or by `language` (then `gender`, `age` and
    /// `variant` are ignored: the variant defines them).
    var variantName: String?
    /// Words per minute, espeak 80...450 (clamped). Default 175.
    var rateWPM: Int
    /// Base pitch 0...100 (clamped), 50 normal.
    var pitch: Int
    /// Pitch range 0...100 (clamped), 0 monotone, 50 normal.
    var pitchRange: Int
    /// Volume 0...200 (clamped), 100 normal; above 100 may compress/distort.
    var volume: Int

    static let rateLimits = Int(espeakRATE_MINIMUM)...Int(espeakRATE_MAXIMUM)
    static let pitchLimits = 0...100
    static let pitchRangeLimits = 0...100
    static let volumeLimits = 0...200
    static let defaultRate = Int(espeakRATE_NORMAL)

    init(
        voiceIdentifier: String? = nil,
        language: String? = nil,
        gender: Int = 0,
        age: Int = 0,
        variant: Int = 0,
        variantName: String? = nil,
        rateWPM: Int = VoiceSelection.defaultRate,
        pitch: Int = 50,
        pitchRange: Int = 50,
        volume: Int = 100
    ) {
        self.voiceIdentifier = voiceIdentifier
        self.language = language
        self.gender = gender
        self.age = age
        self.variant = variant
        self.variantName = variantName
        self.rateWPM = rateWPM
        self.pitch = pitch
        self.pitchRange = pitchRange
        self.volume = volume
    }

    /// The selection with every numeric field clamped to what espeak accepts.
    func clamped() -> VoiceSelection {
        var s = self
        s.gender = (0...2).contains(gender) ? gender : 0
        s.age = min(max(age, 0), 255)
        s.variant = min(max(variant, 0), 255)
        s.rateWPM = rateWPM.clamped(to: Self.rateLimits)
        s.pitch = pitch.clamped(to: Self.pitchLimits)
        s.pitchRange = pitchRange.clamped(to: Self.pitchRangeLimits)
        s.volume = volume.clamped(to: Self.volumeLimits)
        return s
    }
}

/// Options for one synthesis call.
struct SynthesisOptions: OptionSet, Sendable, Hashable {
    let rawValue: UInt32
    init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Interpret the text as SSML (espeakSSML). Off: plain text, '<' is literal.
    static let ssml = SynthesisOptions(rawValue: 1 << 0)
    /// Keep the sentence pause at the end of the text (espeakENDPAUSE, what the
    /// espeak-ng command line does). Off: the trailing pause is suppressed.
    static let endPause = SynthesisOptions(rawValue: 1 << 1)
}

/// What one synthesis produced.
struct SynthesisStats: Sendable, Hashable {
    /// Samples delivered to onChunk (mono Int16 at `sampleRate`).
    var samples: Int
    /// Number of non-empty chunks delivered.
    var chunks: Int
    /// True if onChunk returned false and synthesis stopped early.
    var aborted: Bool
    var sampleRate: Int
    /// espeak's name of the voice the job ended up with ("English (America)").
    var voiceName: String?
    var duration: Double { sampleRate > 0 ? Double(samples) / Double(sampleRate) : 0 }
}

extension Comparable {
    func clamped(to limits: ClosedRange<Self>) -> Self { min(max(self, limits.lowerBound), limits.upperBound) }
}

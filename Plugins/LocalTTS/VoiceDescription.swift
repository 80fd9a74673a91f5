// Description-based voices: a short English description ("a calm elderly man
// speaking slowly", "young energetic woman, high pitched, fast") turned into an
// espeak VoiceSelection. Keyword based, case-insensitive, punctuation-tolerant.
//
// Rules:
//   * each known word sets one or more properties: gender, age, pitch, pitch
//     range, rate, volume, timbre (espeak's whisper / croak variants), accent;
//   * an explicit number ("300 wpm", "aged 40") beats a word's main meaning
//     ("slow" → rate), which beats a side meaning ("energetic" → rate fast,
//     "child" → pitch high, "grandma" → old); among equals the first word
//     wins ("a woman reading to her son" stays female);
//   * "very/really/extremely" widen the next pitch/rate/volume/range word by
//     half again, "slightly/somewhat/a bit/a little" halve it;
//   * "40 year old", "aged 40", "40yo" set the age; "200 wpm" the rate;
//   * pitch defaults follow the voice: child 85, female 60, male 40, else 50;
//   * a description with no meaningful word throws DescriptionError, whose
//     message lists the vocabulary.
//
// Plain Swift, no espeak calls: fully unit-testable.

import Foundation

/// Thrown when a description has no word the parser understands.
struct DescriptionError: Error, CustomStringConvertible, Equatable {
    /// The description as given.
    let text: String
    let message: String
    var description: String { message }
}

struct VoiceDescription: Sendable, Hashable {
    /// The selection the description maps to (voiceIdentifier is nil: selection
    /// is by language + properties, or by language + variantName for whisper/croak).
    let selection: VoiceSelection
    /// Words of the description that were understood, in order.
    let understood: [String]
    /// Words that were neither understood nor filler, in order.
    let ignored: [String]

    /// Parses `text` into a selection for `baseLanguage` ("en", "en-US", "de"…).
    static func parse(_ text: String, baseLanguage: String) throws -> VoiceSelection {
        try interpret(text, baseLanguage: baseLanguage).selection
    }

    /// Like `parse`, keeping which words were understood and which ignored.
    static func interpret(_ text: String, baseLanguage: String) throws -> VoiceDescription {
        var parser = Parser(baseLanguage: baseLanguage)
        parser.run(tokens: tokenize(text))
        guard parser.meaningful else {
            throw DescriptionError(text: text, message: errorMessage(for: text, parser: parser))
        }
        return VoiceDescription(selection: parser.selection(), understood: parser.understood,
                                ignored: parser.ignored)
    }

    /// What was chosen, for a response header or a log line (ASCII, one line):
    /// "language=en; gender=female; age=25; pitch=75; range=80; rate=230; volume=100 (from: young, energetic, woman, high, fast)".
    /// Ignored words come from the caller's text: they are shown ASCII-only
    /// (other characters become "?"), at most 5 of them, each cut to 24 characters.
    func summary() -> String {
        var text = selection.summary()
        if !understood.isEmpty { text += " (from: \(understood.joined(separator: ", "))" }
        if !ignored.isEmpty {
            var shown = ignored.prefix(5).map { word in
                String(String(word.unicodeScalars.map { $0.isASCII ? Character($0) : "?" }).prefix(24))
            }
            if ignored.count > 5 { shown.append("+\(ignored.count - 5) more") }
            text += (understood.isEmpty ? " (" : "; ") + "ignored: \(shown.joined(separator: ", "))"
        }
        if !understood.isEmpty || !ignored.isEmpty { text += ")" }
        return text
    }

    /// Every word the parser understands (filler words such as "a", "with" aside), sorted.
    static let vocabulary: [String] = {
        var words = Set(lexicon.keys)
        words.formUnion(intensifiers.keys)
        words.formUnion(["middle-aged", "year", "years", "old", "aged", "wpm"])
        return words.sorted()
    }()

    /// Vocabulary grouped by what the words set, for documentation and errors.
    static let vocabularyByTopic: [(topic: String, words: [String])] = {
        func words(_ test: (Effect) -> Bool) -> [String] {
            lexicon.filter { $0.value.contains(where: { test($0) && $0.strong }) }.keys.sorted()
        }
        return [
            ("gender", words { if case .gender = $0.kind { return true }; return false }),
            ("age", words { if case .age = $0.kind { return true }; return false } + ["middle-aged", "<n> year old"]),
            ("pitch", words { if case .pitch = $0.kind { return true }; return false }),
            ("expression", words { if case .range = $0.kind { return true }; return false }),
            ("speed", words { if case .rate = $0.kind { return true }; return false } + ["<n> wpm"]),
            ("volume", words { if case .volume = $0.kind { return true }; return false }),
            ("timbre", words { if case .timbre = $0.kind { return true }; return false }),
            ("accent (English)", words { if case .accent = $0.kind { return true }; return false }),
            ("intensity", intensifiers.keys.sorted()),
        ]
    }()

    // MARK: - Lexicon

    enum Timbre: String, Sendable { case whisper, croak }

    struct Effect: Hashable, Sendable {
        enum Kind: Hashable, Sendable {
            case gender(Int), age(Int), pitch(Int), range(Int), rate(Int), volume(Int)
            case timbre(Timbre), accent(String)
            /// Understood, sets nothing, but makes the description meaningful ("normal").
            case plain
            /// Understood, sets nothing, and alone does not make a description meaningful ("voice").
            case role
        }
        let kind: Kind
        let strong: Bool
    }

    static let childAge = 10, teenAge = 16, youngAge = 25, adultAge = 35, middleAge = 45, oldAge = 70
    static let deepPitch = 25, highPitch = 75, childPitch = 85, femalePitch = 60, malePitch = 40
    static let flatRange = 15, livelyRange = 80
    static let slowRate = 130, fastRate = 230
    static let softVolume = 60, loudVolume = 130

    private static func entries(_ words: [String], _ effects: [Effect]) -> [(String, [Effect])] {
        words.map { ($0, effects) }
    }
    private static func s(_ kind: Effect.Kind) -> Effect { Effect(kind: kind, strong: true) }
    private static func w(_ kind: Effect.Kind) -> Effect { Effect(kind: kind, strong: false) }

    static let lexicon: [String: [Effect]] = {
        var table: [(String, [Effect])] = []
        // Gender.
        table += entries(["man", "men", "male", "gentleman", "gentlemen", "guy", "guys", "masculine",
                          "lad", "sir", "mister", "father", "dad", "husband", "brother", "son", "king"],
                         [s(.gender(1))])
        table += entries(["boy", "boys"], [s(.gender(1)), w(.age(teenAge))])
        table += entries(["grandfather", "grandpa", "grandad", "granddad"], [s(.gender(1)), w(.age(oldAge))])
        table += entries(["woman", "women", "female", "lady", "ladies", "gal", "feminine", "madam",
                          "mother", "mom", "mum", "wife", "sister", "daughter", "queen"],
                         [s(.gender(2))])
        table += entries(["girl", "girls"], [s(.gender(2)), w(.age(teenAge))])
        table += entries(["grandmother", "grandma", "granny", "grandmum"], [s(.gender(2)), w(.age(oldAge))])
        // Age.
        table += entries(["child", "children", "kid", "kids", "childlike", "childish", "toddler"],
                         [s(.age(childAge)), w(.pitch(childPitch))])
        table += entries(["little", "tiny"], [w(.age(childAge)), w(.pitch(childPitch))])
        table += entries(["teen", "teens", "teenage", "teenager", "adolescent"], [s(.age(teenAge))])
        table += entries(["young", "younger", "youthful", "youth"], [s(.age(youngAge))])
        table += entries(["adult", "grown"], [s(.age(adultAge))])
        table += entries(["mature", "middle-aged", "midlife"], [s(.age(middleAge))])
        table += entries(["old", "older", "elderly", "aged", "senior", "ancient", "elder", "aging", "ageing"],
                         [s(.age(oldAge))])
        // Pitch.
        table += entries(["deep", "low", "lower", "bass", "baritone"], [s(.pitch(deepPitch))])
        table += entries(["high", "higher", "squeaky", "shrill", "soprano", "falsetto", "squeaking"],
                         [s(.pitch(highPitch))])
        // Pitch range.
        table += entries(["monotone", "monotonous", "flat", "robotic", "robot", "droning", "deadpan",
                          "dull", "emotionless", "bored", "boring"], [s(.range(flatRange))])
        table += entries(["expressive", "lively", "animated", "enthusiastic", "dramatic", "bubbly",
                          "cheerful", "cheery", "passionate", "excited", "emotional", "melodic", "singsong"],
                         [s(.range(livelyRange))])
        table += entries(["energetic", "vigorous", "dynamic", "upbeat", "peppy"],
                         [s(.range(livelyRange)), w(.rate(fastRate))])
        // Rate.
        table += entries(["slow", "slowly", "slower", "leisurely", "unhurried", "measured", "deliberate",
                          "drawling", "drowsy", "sleepy", "lazy"], [s(.rate(slowRate))])
        table += entries(["calm", "calmly", "relaxed", "soothing", "serene", "peaceful", "tranquil"],
                         [s(.rate(slowRate))])
        table += entries(["fast", "faster", "quick", "quickly", "rapid", "rapidly", "hurried", "brisk",
                          "speedy", "rushed", "hasty"], [s(.rate(fastRate))])
        // Volume.
        table += entries(["soft", "softly", "quiet", "quietly", "hushed", "gentle", "gently", "murmuring",
                          "faint", "mumbling"], [s(.volume(softVolume))])
        table += entries(["loud", "loudly", "shouting", "yelling", "powerful", "forceful", "strong",
                          "bold", "commanding"], [s(.volume(loudVolume))])
        // Timbre (espeak variants).
        table += entries(["whisper", "whispers", "whispering", "whispered", "whispery", "breathy"],
                         [s(.timbre(.whisper)), w(.volume(softVolume))])
        table += entries(["hoarse", "raspy", "croaky", "croaking", "gravelly", "rough", "husky"],
                         [s(.timbre(.croak))])
        // Accents (English only).
        table += [("american", [s(.accent("en-us"))]), ("british", [s(.accent("en-gb"))]),
                  ("scottish", [s(.accent("en-gb-scotland"))]), ("caribbean", [s(.accent("en-029"))])]
        table += [("booming", [s(.volume(loudVolume)), w(.pitch(deepPitch))])]
        // Explicitly ordinary.
        table += entries(["normal", "average", "neutral", "standard", "regular", "default", "ordinary",
                          "medium", "moderate", "plain", "natural", "clear"], [s(.plain)])
        // Roles and filler nouns: understood, but not a description on their own.
        table += entries(["voice", "voiced", "narrator", "narrating", "narration", "speaker", "speaking",
                          "speaks", "spoken", "talking", "talks", "talker", "reading", "reader", "announcer",
                          "storyteller", "person", "someone", "somebody", "character", "tone", "toned",
                          "sounding", "sounds", "pitched", "pitch", "paced", "pace", "english", "accent",
                          "he", "she", "him", "her", "his", "hers"], [s(.role)])
        var result: [String: [Effect]] = [:]
        for (word, effects) in table { result[word, default: []] += effects }
        return result
    }()

    /// Intensity words and the factor they apply to the next pitch/rate/volume/range deviation.
    static let intensifiers: [String: Double] = [
        "very": 1.5, "really": 1.5, "extremely": 1.5, "super": 1.5, "incredibly": 1.5, "highly": 1.5,
        "slightly": 0.5, "somewhat": 0.5, "fairly": 0.5, "rather": 0.5, "bit": 0.5, "mildly": 0.5,
    ]

    /// Words that carry no meaning here; neither understood nor reported as ignored.
    static let fillers: Set<String> = [
        "a", "an", "the", "with", "and", "or", "of", "in", "on", "at", "to", "for", "who", "that", "is",
        "are", "be", "but", "kind", "sort", "like", "type", "sound", "quite", "so", "too",
        "its", "it", "this", "please", "s", "y", "o", "yo", "yr", "yrs", "per", "minute", "words",
        "than", "as", "by", "from", "into", "more", "less", "lot", "way",
    ]

    // MARK: - Tokenising

    /// Lowercase words; anything but letters and digits separates ("high-pitched" →
    /// "high", "pitched"; "middle aged" and "middle-aged" → "middle-aged").
    static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                tokens.append(current)
                current = ""
            }
        }
        if !current.isEmpty { tokens.append(current) }
        // Merge two-word terms.
        var merged: [String] = []
        var i = 0
        while i < tokens.count {
            if tokens[i] == "middle", i + 1 < tokens.count, tokens[i + 1] == "aged" || tokens[i + 1] == "age" {
                merged.append("middle-aged")
                i += 2
                continue
            }
            if tokens[i] == "a", i + 1 < tokens.count, tokens[i + 1] == "little" || tokens[i + 1] == "bit" {
                merged.append("slightly")
                i += 2
                continue
            }
            merged.append(tokens[i])
            i += 1
        }
        return merged
    }

    // MARK: - Parsing

    private struct Parser {
        let baseLanguage: String
        var understood: [String] = []
        var ignored: [String] = []
        var meaningful = false

        // (value, strength) per property; the first of the strongest wins.
        // Strength: 0 side meaning, 1 main meaning, 2 explicit number.
        var gender: (Int, Int)?
        var age: (Int, Int)?
        var pitch: (Int, Int)?
        var range: (Int, Int)?
        var rate: (Int, Int)?
        var volume: (Int, Int)?
        var timbre: (Timbre, Int)?
        var accent: (String, Int)?

        init(baseLanguage: String) {
            self.baseLanguage = EspeakSupport.normalizeLanguageTag(baseLanguage) ?? baseLanguage
        }

        static func offer<T>(_ slot: inout (T, Int)?, _ value: T, strength: Int) {
            guard let existing = slot else { slot = (value, strength); return }
            if strength > existing.1 { slot = (value, strength) }
        }

        static func scale(_ value: Int, around neutral: Int, by factor: Double) -> Int {
            Int((Double(neutral) + Double(value - neutral) * factor).rounded())
        }

        mutating func run(tokens: [String]) {
            var factor = 1.0
            var i = 0
            while i < tokens.count {
                let token = tokens[i]
                let next = i + 1 < tokens.count ? tokens[i + 1] : nil

                // "<n> year(s) old", "<n>yo", "<n> wpm".
                if let number = Self.leadingNumber(token) {
                    let unit = token.dropFirst(String(number).count)
                    if unit == "yo" || (unit.isEmpty && ["year", "years", "yr", "yrs", "yo"].contains(next ?? "")) {
                        Self.offer(&age, min(max(number, 1), 120), strength: 2)
                        understood.append(unit.isEmpty ? "\(number) \(next!)" : token)
                        meaningful = true
                        i += unit.isEmpty ? 2 : 1
                        if i < tokens.count, tokens[i] == "old" { i += 1 }
                        continue
                    }
                    if unit == "wpm" || (unit.isEmpty && next == "wpm") {
                        Self.offer(&rate, number, strength: 2)
                        understood.append("\(number) wpm")
                        meaningful = true
                        i += unit.isEmpty ? 2 : 1
                        continue
                    }
                }
                // "aged 40" / "age 40".
                if token == "aged" || token == "age", let next, let number = Int(next) {
                    Self.offer(&age, min(max(number, 1), 120), strength: 2)
                    understood.append("\(token) \(number)")
                    meaningful = true
                    i += 2
                    continue
                }
                if let f = VoiceDescription.intensifiers[token] {
                    factor = f
                    understood.append(token)
                    i += 1
                    continue
                }
                guard let effects = VoiceDescription.lexicon[token] else {
                    if !VoiceDescription.fillers.contains(token), Int(token) == nil { ignored.append(token) }
                    i += 1
                    continue
                }
                understood.append(token)
                for effect in effects { apply(effect, factor: factor) }
                if effects.contains(where: { if case .role = $0.kind { return false }; return true }) {
                    factor = 1.0
                }
                i += 1
            }
        }

        static func leadingNumber(_ token: String) -> Int? {
            let digits = token.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, digits.count <= 4 else { return nil }
            return Int(digits)
        }

        mutating func apply(_ effect: Effect, factor: Double) {
            let strength = effect.strong ? 1 : 0
            switch effect.kind {
            case .role:
                return
            case .plain:
                break
            case .gender(let g): Self.offer(&gender, g, strength: strength)
            case .age(let a): Self.offer(&age, a, strength: strength)
            case .pitch(let p): Self.offer(&pitch, Self.scale(p, around: 50, by: factor), strength: strength)
            case .range(let r): Self.offer(&range, Self.scale(r, around: 50, by: factor), strength: strength)
            case .rate(let r):
                Self.offer(&rate, Self.scale(r, around: VoiceSelection.defaultRate, by: factor), strength: strength)
            case .volume(let v): Self.offer(&volume, Self.scale(v, around: 100, by: factor), strength: strength)
            case .timbre(let t): Self.offer(&timbre, t, strength: strength)
            case .accent(let a): Self.offer(&accent, a, strength: strength)
            }
            meaningful = true
        }

        func selection() -> VoiceSelection {
            var s = VoiceSelection()
            let isEnglish = baseLanguage == "en" || baseLanguage.hasPrefix("en-")
            s.language = (isEnglish ? accent?.0 : nil) ?? baseLanguage
            s.gender = gender?.0 ?? 0
            s.age = age?.0 ?? 0
            let isChild = s.age > 0 && s.age < 13
            let defaultPitch = isChild ? VoiceDescription.childPitch
                : s.gender == 2 ? VoiceDescription.femalePitch
                : s.gender == 1 ? VoiceDescription.malePitch : 50
            // A pitch word wins over the child / gender default.
            s.pitch = pitch?.0 ?? defaultPitch
            s.pitchRange = range?.0 ?? 50
            s.rateWPM = rate?.0 ?? VoiceSelection.defaultRate
            s.volume = volume?.0 ?? 100
            switch timbre?.0 {
            case .whisper?:
                s.variantName = (s.gender == 2 || isChild) ? "whisperf" : "whisper"
            case .croak?:
                // espeak has only a male croak; a female/child voice keeps its own timbre.
                if s.gender != 2 && !isChild { s.variantName = "croak" }
            case nil:
                break
            }
            return s.clamped()
        }
    }

    private static func errorMessage(for text: String, parser: Parser) -> String {
        let shown = text.count > 80 ? String(text.prefix(80)) + "..." : text
        var message = "cannot make a voice from the description \"\(shown)\": "
        if parser.understood.isEmpty {
            message += "no word in it is understood."
        } else {
            message += "it only has filler words (\(parser.understood.joined(separator: ", "))) and says nothing about the voice."
        }
        message += " Describe gender, age, pitch, expression, speed, volume or timbre, e.g. \"calm elderly man speaking slowly\". Understood words: "
        message += vocabularyByTopic.map { "\($0.topic): \($0.words.joined(separator: ", "))" }.joined(separator: "; ")
        return message
    }
}

extension VoiceSelection {
    /// One ASCII line saying what is selected, e.g.
    /// "language=en; gender=female; age=25; pitch=75; range=80; rate=230; volume=100".
    func summary() -> String {
        var parts: [String] = []
        if let voiceIdentifier, !voiceIdentifier.isEmpty {
            parts.append("voice=\(voiceIdentifier)")
        } else {
            parts.append("language=\(language ?? "default")")
            parts.append("gender=\(gender == 1 ? "male" : gender == 2 ? "female" : "any")")
            parts.append("age=\(age == 0 ? "any" : String(age))")
            if variant != 0 { parts.append("variant=\(variant)") }
        }
        if let variantName, !variantName.isEmpty { parts.append("timbre=\(variantName)") }
        parts.append("pitch=\(pitch)")
        parts.append("range=\(pitchRange)")
        parts.append("rate=\(rateWPM)")
        parts.append("volume=\(volume)")
        return parts.joined(separator: "; ")
    }
}

import Foundation

/// Test helper for the examplec plugin (Plugins/ExampleC/examplec.c): decodes
/// its Morse-code audio back to text, and predicts how long that audio is.
///
/// The plugin's timing (PARIS standard): a dot is one unit of 1.2 / wpm
/// seconds, a dash 3 units; gaps are 1 unit inside a character, 3 between
/// characters, 7 between words. The audio starts with the first tone and
/// ends with the last one. Each tone fades in and out over 5 ms.
public enum MorseDecoder {
    /// International Morse code, as the plugin sends it.
    static let table: [Character: String] = [
        "A": ".-", "B": "-...", "C": "-.-.", "D": "-..", "E": ".", "F": "..-.", "G": "--.",
        "H": "....", "I": "..", "J": ".---", "K": "-.-", "L": ".-..", "M": "--", "N": "-.",
        "O": "---", "P": ".--.", "Q": "--.-", "R": ".-.", "S": "...", "T": "-", "U": "..-",
        "V": "...-", "W": ".--", "X": "-..-", "Y": "-.--", "Z": "--..",
        "0": "-----", "1": ".----", "2": "..---", "3": "...--", "4": "....-",
        "5": ".....", "6": "-....", "7": "--...", "8": "---..", "9": "----.",
        ".": ".-.-.-", ",": "--..--", "?": "..--..", "'": ".----.", "!": "-.-.--", "/": "-..-.",
        "(": "-.--.", ")": "-.--.-", "&": ".-...", ":": "---...", ";": "-.-.-.", "=": "-...-",
        "+": ".-.-.", "-": "-....-", "_": "..--.-", "\"": ".-..-.", "$": "...-..-", "@": ".--.-.",
    ]

    private static let reverse: [String: Character] = Dictionary(uniqueKeysWithValues: table.map { ($0.value, $0.key) })

    /// What decoding returns for a character the table does not know.
    static let unknown: Character = "*"

    // MARK: - Decoding

    /// Decodes 16-bit mono PCM to text: upper case, one space between words.
    /// The dot length is estimated from the rhythm itself. A text whose
    /// elements all have the same length is ambiguous without the speed
    /// ("E" vs "T", "I" vs "TT"); it decodes with the longest unit that
    /// fits (as "E", "I"). Pass `wpm` when that matters.
    public static func decode(samples: [Int16], sampleRate: Int) -> String {
        decode(samples: samples, sampleRate: sampleRate, unitSamples: nil)
    }

    /// Decodes with a known speed: `wpm` is the effective words per minute
    /// (the plugin's "wpm" setting times the request's "speed").
    public static func decode(samples: [Int16], sampleRate: Int, wpm: Double) -> String {
        decode(samples: samples, sampleRate: sampleRate, unitSamples: Double(sampleRate) * 1.2 / wpm)
    }

    private static func decode(samples: [Int16], sampleRate: Int, unitSamples: Double?) -> String {
        let tones = toneRuns(samples: samples, sampleRate: sampleRate)
        guard !tones.isEmpty else { return "" }
        let on = tones.map { Double($0.upperBound - $0.lowerBound) }
        let off = zip(tones, tones.dropFirst()).map { Double($1.lowerBound - $0.upperBound) }
        let unit = unitSamples ?? estimateUnit(on: on, off: off)

        // Tones shorter than 2 units are dots; gaps of 2 units or more end a
        // character, of 5 or more a word (halfway between 1/3 and 3/7, which
        // absorbs the fades' shortening of tones and lengthening of gaps).
        var text = ""
        var symbol = ""
        for (index, length) in on.enumerated() {
            symbol.append(length < 2 * unit ? "." : "-")
            let gap = index < off.count ? off[index] : .infinity
            if gap < 2 * unit { continue }
            text.append(reverse[symbol] ?? unknown)
            symbol = ""
            if index < off.count, gap >= 5 * unit { text.append(" ") }
        }
        return text
    }

    /// Sample ranges where the tone sounds. A sample is loud when it exceeds
    /// a tenth of the peak; loud samples closer than 2.5 ms belong to the
    /// same tone (that bridges the waveform's zero crossings, down to 200 Hz).
    private static func toneRuns(samples: [Int16], sampleRate: Int) -> [Range<Int>] {
        let peak = samples.reduce(0) { max($0, abs(Int($1))) }
        guard peak > 0 else { return [] }
        let threshold = peak / 10
        let bridge = max(3, sampleRate / 400)
        var runs: [Range<Int>] = []
        var start = -1
        var last = -1
        for (index, sample) in samples.enumerated() where abs(Int(sample)) > threshold {
            if start < 0 {
                start = index
            } else if index - last > bridge {
                runs.append(start..<(last + 1))
                start = index
            }
            last = index
        }
        if start >= 0 { runs.append(start..<(last + 1)) }
        return runs
    }

    /// The unit (in samples) that best explains the run lengths: tones are 1
    /// or 3 units, gaps 1, 3 or 7. Candidates are each distinct length divided
    /// by each multiple; the score is the summed squared relative error.
    private static func estimateUnit(on: [Double], off: [Double]) -> Double {
        let onCounts = Dictionary(on.map { ($0, 1) }, uniquingKeysWith: +)
        let offCounts = Dictionary(off.map { ($0, 1) }, uniquingKeysWith: +)
        func error(_ length: Double, _ multiples: [Double], _ unit: Double) -> Double {
            multiples.map { let e = (length - $0 * unit) / ($0 * unit); return e * e }.min()!
        }
        func score(_ unit: Double) -> Double {
            onCounts.reduce(0) { $0 + Double($1.value) * error($1.key, [1, 3], unit) }
                + offCounts.reduce(0) { $0 + Double($1.value) * error($1.key, [1, 3, 7], unit) }
        }
        let candidates = onCounts.keys.flatMap { [$0, $0 / 3] } + offCounts.keys.flatMap { [$0, $0 / 3, $0 / 7] }
        var best = (unit: 0.0, score: Double.infinity)
        for unit in candidates.sorted(by: >) {
            let s = score(unit)
            if s < best.score - 1e-12 { best = (unit, s) }
        }
        return best.unit
    }

    // MARK: - What the plugin sends

    /// The text the plugin sends for `input`, which is also what `decode`
    /// returns: letters upper-cased, digits and ITU punctuation kept, runs of
    /// ASCII whitespace turned into one space between words, anything else
    /// dropped ("A#B" is "AB", "A # B" is "A B").
    static func normalized(_ input: String) -> String {
        words(input).map { String($0) }.joined(separator: " ")
    }

    /// The length of `input`'s Morse code in dot units, from the start of the
    /// first tone to the end of the last.
    static func units(_ input: String) -> Int {
        let words = words(input)
        var total = 0
        for (w, word) in words.enumerated() {
            if w > 0 { total += 7 }
            for (c, character) in word.enumerated() {
                if c > 0 { total += 3 }
                let code = table[character]!
                total += code.reduce(0) { $0 + ($1 == "-" ? 3 : 1) } + (code.count - 1)
            }
        }
        return total
    }

    /// The duration of the plugin's audio for `text`, from the PARIS timing:
    /// units × 1.2 / wpm seconds, with `wpm` the effective words per minute
    /// (setting "wpm" × request "speed"). The plugin rounds the time line to
    /// whole samples, so its audio is within half a sample of this; use
    /// `expectedSampleCount` for the exact length.
    public static func expectedDurationSeconds(text: String, wpm: Double) -> Double {
        Double(units(text)) * 1.2 / wpm
    }

    /// The exact number of samples the plugin produces for `text`.
    public static func expectedSampleCount(text: String, wpm: Double, sampleRate: Int) -> Int {
        // The same arithmetic as the plugin: samples per unit first, then
        // round(units × samples per unit).
        let samplesPerUnit = Double(sampleRate) * 1.2 / wpm
        return Int((Double(units(text)) * samplesPerUnit + 0.5).rounded(.down))
    }

    /// The encodable characters of each word.
    private static func words(_ input: String) -> [[Character]] {
        var words: [[Character]] = []
        var current: [Character] = []
        var wordBreak = false
        for scalar in input.unicodeScalars {
            guard scalar.isASCII else { continue }
            if [" ", "\t", "\n", "\u{0B}", "\u{0C}", "\r"].contains(scalar) {
                wordBreak = true
                continue
            }
            let character = Character(String(scalar).uppercased())
            guard table[character] != nil else { continue }
            if wordBreak, !current.isEmpty {
                words.append(current)
                current = []
            }
            wordBreak = false
            current.append(character)
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}

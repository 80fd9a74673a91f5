import Foundation

/// SubRip and WebVTT from timed segments.
enum Subtitles {
    struct Segment: Sendable { var start: Double; var end: Double; var text: String }

    static func srt(_ segments: [Segment]) -> String {
        segments.enumerated().map { i, s in
            "\(i + 1)\n\(stamp(s.start, ",")) --> \(stamp(s.end, ","))\n\(s.text.trimmingCharacters(in: .whitespaces))\n"
        }.joined(separator: "\n")
    }

    static func vtt(_ segments: [Segment]) -> String {
        "WEBVTT\n\n" + segments.map { s in
            "\(stamp(s.start, ".")) --> \(stamp(s.end, "."))\n\(s.text.trimmingCharacters(in: .whitespaces))\n"
        }.joined(separator: "\n")
    }

    /// hh:mm:ss,mmm (SRT) or hh:mm:ss.mmm (VTT).
    static func stamp(_ seconds: Double, _ separator: String) -> String {
        let ms = Int((max(seconds, 0) * 1000).rounded())
        return String(format: "%02d:%02d:%02d%@%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, separator, ms % 1000)
    }
}

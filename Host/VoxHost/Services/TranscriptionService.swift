import CVoxPlugin
import Foundation
import VoxPluginKit

/// `POST /v1/audio/transcriptions` (OpenAI's multipart shape) as a request.
public struct TranscriptionInput: Sendable {
    public var file: [UInt8]
    public var fileName: String?
    public var model: String?
    public var language: String?
    public var prompt: String?
    public var responseFormat = "json"
    public var temperature: Double?
    public var timestampGranularities: [String] = []
}

/// What a provider heard: the plugin's `transcript` event.
public struct Transcript: Sendable {
    public var text: String
    public var language: String?
    public var duration: Double?
    public var segments: [JSONValue]
    public var words: [JSONValue]?
}

extension VoxDaemon {
    static let transcriptionFormats = ["json", "text", "srt", "verbose_json", "vtt"]

    /// The transcript, who made it, and how many candidates were tried.
    public func transcribe(_ input: TranscriptionInput) async throws -> (provider: String, model: String?, transcript: Transcript, attempts: Int) {
        guard Self.transcriptionFormats.contains(input.responseFormat) else {
            throw VoxError(.invalidRequest, "response_format \"\(input.responseFormat)\" is not one of \(Self.transcriptionFormats.joined(separator: ", "))")
        }
        guard !input.file.isEmpty else { throw VoxError(.invalidRequest, "the file part is empty") }
        guard let encoding = AudioSniff.encoding(of: Array(input.file.prefix(64))) else {
            throw VoxError(.invalidRequest, "file\(input.fileName.map { " \"\($0)\"" } ?? "") does not look like audio (expected wav, mp3, ogg/opus, flac, webm or m4a)")
        }
        var routed = RouteRequest(operation: .sttTranscribe, model: input.model, language: input.language, format: encoding)
        routed.estimate = Usage(audioSeconds: Self.audioSeconds(input.file, encoding))
        let plan = try await router.plan(routed, daemon: self)
        let (result, attempt) = try await route(plan) { a in try await self.attemptTranscription(a, input, encoding: encoding) }
        return (result.provider, result.model, result.transcript, attempt.index + 1)
    }

    /// An upload's length in seconds: exact for WAV, else from its size at
    /// a typical compressed bitrate (64 kbit/s), an over-estimate for most
    /// speech, which suits a budget reservation.
    static func audioSeconds(_ file: [UInt8], _ encoding: AudioEncoding) -> Double {
        if encoding == .wav, let h = WAV.parse(file), h.sampleRate > 0, h.channels > 0, h.bitsPerSample > 0 {
            return Double(min(h.dataBytes, file.count)) / Double(h.sampleRate * h.channels * h.bitsPerSample / 8)
        }
        return Double(file.count) / 8000
    }

    /// One candidate: the whole file sent, its transcript awaited (none is
    /// a retriable failure; the upload is kept, so the next one gets it too).
    private func attemptTranscription(_ a: RouteAttempt, _ input: TranscriptionInput, encoding: AudioEncoding) async throws
        -> (provider: String, model: String?, transcript: Transcript) {
        let instance = a.instance
        let model = a.candidate.model
        var request = TranscriptionRequest(model: model, language: input.language, prompt: input.prompt)
        request.temperature = input.temperature
        request.timestampGranularities = input.timestampGranularities.isEmpty ? nil : input.timestampGranularities
        request.fileName = input.fileName
        let op = try start(instance, VOX_OP_STT_TRANSCRIBE, request: VoxJSON.string(request),
                           input: AudioData(format: AudioFormat(encoding: encoding), bytes: input.file), timeout: a.limits.totalTimeoutSeconds)
        a.bind(op)
        let watch = a.watchFirstOutput(op)
        var transcript: Transcript?
        do {
            while let out = try await op.next() {
                guard case .event(let json) = out, let v = try? VoxJSON.decode(JSONValue.self, from: Data(json.utf8)),
                      v["type"]?.stringValue == "transcript" else { continue }
                watch.disarm()
                transcript = Transcript(text: v["text"]?.stringValue ?? "", language: v["language"]?.stringValue,
                                        duration: v["duration"]?.doubleValue, segments: v["segments"]?.arrayValue ?? [],
                                        words: v["words"]?.arrayValue)
            }
        } catch {
            watch.disarm()
            op.cancel()
            throw a.firstOutputError(error, watch)
        }
        watch.disarm()
        guard let transcript else {
            throw VoxError(.unavailable, "\(instance.name) finished without a transcript", provider: instance.name, retriable: true)
        }
        a.fallbackUsage = Usage(audioSeconds: transcript.duration ?? Self.audioSeconds(input.file, encoding))
        return (instance.name, model, transcript)
    }
}

extension Transcript {
    var timedSegments: [Subtitles.Segment] {
        let s = segments.compactMap { v -> Subtitles.Segment? in
            guard let start = v["start"]?.doubleValue, let end = v["end"]?.doubleValue else { return nil }
            return Subtitles.Segment(start: start, end: end, text: v["text"]?.stringValue ?? "")
        }
        return s.isEmpty ? [Subtitles.Segment(start: 0, end: duration ?? 0, text: text)] : s
    }

    /// The body for an OpenAI `response_format`, and its content type.
    func rendered(_ format: String) throws -> (String, Data) {
        switch format {
        case "text": return ("text/plain; charset=utf-8", Data(text.utf8))
        case "srt": return ("text/plain; charset=utf-8", Data(Subtitles.srt(timedSegments).utf8))
        case "vtt": return ("text/vtt; charset=utf-8", Data(Subtitles.vtt(timedSegments).utf8))
        case "verbose_json":
            var o: [String: JSONValue] = ["task": .string("transcribe"), "text": .string(text),
                                          "language": language.map(JSONValue.string) ?? .null,
                                          "duration": duration.map(JSONValue.number) ?? .null,
                                          "segments": .array(segments)]
            if let words { o["words"] = .array(words) }
            return ("application/json", try VoxJSON.encode(JSONValue.object(o)))
        default:
            return ("application/json", try VoxJSON.encode(JSONValue.object(["text": .string(text)])))
        }
    }
}

import Foundation
import ProviderSupport
import VoxPluginKit

/// `stt.transcribe`: `POST /v1/listen?…` with the file's bytes as the body
/// (deepgram.md "Pre-recorded STT"), answered by one `transcript` event.
///
/// The request's `prompt` and `temperature` have no Deepgram counterpart
/// and are not sent (nova-3's key terms are `options.keyterm`);
/// `timestamp_granularities` decides whether words and segments are kept.
struct TranscriptionOperation {
    let client: ProviderClient

    func run(_ r: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult {
        let (query, _) = try ListenQuery.build(r, mode: .prerecorded)
        let upload = try ListenUpload.body(for: audio)
        let path = "/v1/listen"
        let response = try await client.send("POST", path + query.suffix, body: upload.bytes, contentType: upload.contentType,
                                             accept: "application/json")
        let answer = try client.parse(try await client.collect(response, what: "POST \(path)"), what: "POST \(path)")
        let (event, usage) = try Self.event(answer, request: r, localDuration: WAVFile.duration(of: audio))
        try await output.emit(event)
        return OperationResult(usage: usage)
    }

    /// The `transcript` event and usage of a `ListenV1Response` (spec):
    /// text = `results.channels[0].alternatives[0].transcript`, language =
    /// the detected one or the request's, duration = `metadata.duration`
    /// (also the billed audio seconds), words with their punctuated form
    /// and speaker (when diarized), segments from `results.utterances`
    /// (or, without them, from the paragraphs' sentences).
    ///
    /// An empty transcript is a valid answer (silence); an answer without
    /// results or channels is not (e.g. `{"request_id"}` of a callback
    /// request), and is retriable.
    static func event(_ answer: JSONValue, request r: TranscriptionRequest, localDuration: Double?) throws -> (JSONValue, Usage) {
        guard let channel = answer["results"]?["channels"]?.arrayValue?.first,
              let alternative = channel["alternatives"]?.arrayValue?.first else {
            throw VoxPluginError(.unavailable, "deepgram answered a transcription without results.channels[0].alternatives[0]: \(ProviderErrors.snippet(VoxJSON.string(answer)))", retriable: true)
        }
        guard let text = alternative["transcript"]?.stringValue else {
            throw VoxPluginError(.unavailable, "deepgram answered a transcription without a transcript: \(ProviderErrors.snippet(VoxJSON.string(answer)))", retriable: true)
        }
        var event: [String: JSONValue] = ["type": .string("transcript"), "text": .string(text)]
        // detected_language (detect_language=true), the alternative's
        // `languages` (multi), else what was asked; Deepgram's default is en.
        let asked = r.language.flatMap { $0.isEmpty || $0 == "multi" ? nil : $0 }
        let language = channel["detected_language"]?.stringValue ?? alternative["languages"]?.arrayValue?.first?.stringValue
            ?? asked ?? (r.language == "multi" ? nil : "en")
        if let language { event["language"] = .string(language) }
        let duration = answer["metadata"]?["duration"]?.doubleValue ?? localDuration
        if let duration { event["duration"] = .number(duration) }

        let granularities = r.timestampGranularities ?? []
        if granularities.isEmpty || granularities.contains("word"), let words = alternative["words"]?.arrayValue {
            event["words"] = .array(words.map(word))
        }
        if granularities.isEmpty || granularities.contains("segment") {
            let segments = Self.segments(answer, alternative: alternative)
            if !segments.isEmpty { event["segments"] = .array(segments) }
        }
        return (.object(event), Usage(audioSeconds: duration))
    }

    /// `{word, start, end, confidence, punctuated_word?, speaker?}`.
    static func word(_ w: JSONValue) -> JSONValue {
        var o: [String: JSONValue] = [:]
        for key in ["word", "start", "end", "confidence", "punctuated_word", "speaker"] {
            if let v = w[key], v != .null { o[key] = v }
        }
        return .object(o)
    }

    static func segments(_ answer: JSONValue, alternative: JSONValue) -> [JSONValue] {
        if let utterances = answer["results"]?["utterances"]?.arrayValue, !utterances.isEmpty {
            return utterances.enumerated().map { i, u in
                var o: [String: JSONValue] = ["id": .number(Double(i)), "text": .string(u["transcript"]?.stringValue ?? "")]
                for key in ["start", "end", "speaker", "channel", "confidence"] { if let v = u[key], v != .null { o[key] = v } }
                return .object(o)
            }
        }
        // paragraphs=true without utterances: one segment per sentence.
        let paragraphs = alternative["paragraphs"]?["paragraphs"]?.arrayValue ?? []
        var out: [JSONValue] = []
        for p in paragraphs {
            for s in p["sentences"]?.arrayValue ?? [] {
                var o: [String: JSONValue] = ["id": .number(Double(out.count)), "text": .string(s["text"]?.stringValue ?? "")]
                for key in ["start", "end"] { if let v = s[key] { o[key] = v } }
                if let speaker = p["speaker"], speaker != .null { o["speaker"] = speaker }
                out.append(.object(o))
            }
        }
        return out
    }
}

import Foundation
import Hummingbird

/// POST /v1/audio/transcriptions, multipart/form-data (openai.md
/// "POST /audio/transcriptions").
extension OpenAIFake {
    static let transcriptionFields: Set<String> = [
        "file", "model", "language", "languages", "keywords", "prompt", "response_format", "temperature", "include[]",
        "timestamp_granularities[]", "stream", "chunking_strategy", "known_speaker_names[]", "known_speaker_references[]",
    ]
    static let transcriptionModels: Set<String> = [
        "whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-mini-transcribe-2025-12-15", "gpt-4o-transcribe-diarize", "gpt-transcribe",
    ]
    static let uploadTypes = ["flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm"]

    /// The seconds of a WAV upload (its fmt and data chunks), else 1 s per 32 kB.
    public static func uploadDuration(_ bytes: [UInt8]) -> Double {
        if bytes.count >= 44, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8),
           let seconds = FakeContent.riffDataSeconds(bytes) {
            return seconds
        }
        return max(0.1, Double(bytes.count) / 32_000)
    }

    func transcription(_ r: RecordedRequest) -> Response {
        func bad(_ s: String) { core.violation("\(r.path): \(s)") }
        guard let form = core.multipart(r) else {
            return errorResponse(400, "Expected multipart/form-data.", type: "invalid_request_error", code: nil)
        }
        core.checkParts(form, path: r.path, allowed: Self.transcriptionFields, files: ["file"])
        guard let file = form.first("file") else {
            bad("no file part")
            return errorResponse(400, "You must provide a file.", type: "invalid_request_error", code: nil, param: "file")
        }
        core.checkUpload(file, path: r.path, types: Self.uploadTypes)
        guard let model = form.first("model")?.text, !model.isEmpty else {
            bad("no model part")
            return errorResponse(400, "You must provide a model parameter.", type: "invalid_request_error", code: nil, param: "model")
        }
        guard Self.transcriptionModels.contains(model) else {
            return errorResponse(404, "The model `\(model)` does not exist or you do not have access to it.", type: "invalid_request_error", code: "model_not_found")
        }
        let format = form.first("response_format")?.text ?? "json"
        let jsonOnly = model.hasPrefix("gpt-4o") && !model.contains("diarize")
        if !["json", "text", "srt", "verbose_json", "vtt", "diarized_json"].contains(format) { bad("response_format \"\(format)\" unknown") }
        if jsonOnly, format != "json" {
            bad("response_format \(format) with \(model), which supports json only")
            return errorResponse(400, "response_format '\(format)' is not compatible with model '\(model)'. Use 'json' or 'text'.", type: "invalid_request_error", code: "unsupported_value", param: "response_format")
        }
        let granularities = form.all("timestamp_granularities[]").map(\.text)
        for g in granularities where g != "word" && g != "segment" { bad("timestamp_granularities[] \"\(g)\" is not word or segment") }
        if !granularities.isEmpty, format != "verbose_json" { bad("timestamp_granularities[] needs response_format verbose_json") }
        if let t = form.first("temperature"), !(0...1).contains(Double(t.text) ?? -1) { bad("temperature \"\(t.text)\" is not a number in 0…1") }
        if let l = form.first("language")?.text, !(2...3).contains(l.count) || l != l.lowercased() { bad("language \"\(l)\" is not ISO-639-1") }
        if case .malformedJSON = core.behaviour(r.path) {
            return .fake(200, contentType: "application/json", Array("{\"text\": \"Hello the".utf8), headers: commonHeaders())
        }
        return transcriptionAnswer(format: format, model: model, duration: Self.uploadDuration(file.data),
                                   words: granularities.contains("word"), segments: granularities.isEmpty || granularities.contains("segment"))
    }

    func transcriptionAnswer(format: String, model: String, duration: Double, words: Bool, segments: Bool) -> Response {
        let text = transcriptText
        let sentences = text.split(separator: ".", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) + "." }
            .filter { $0.count > 1 }
        let spans = sentences.enumerated().map { i, s in
            (s, duration * Double(i) / Double(sentences.count), duration * Double(i + 1) / Double(sentences.count))
        }
        func stamp(_ t: Double, _ sep: String) -> String {
            let ms = Int((t * 1000).rounded())
            return String(format: "%02d:%02d:%02d\(sep)%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
        }
        switch format {
        case "text":
            return .fake(200, contentType: "text/plain; charset=utf-8", Array((text + "\n").utf8), headers: commonHeaders())
        case "srt":
            let srt = spans.enumerated().map { i, s in "\(i + 1)\n\(stamp(s.1, ",")) --> \(stamp(s.2, ","))\n\(s.0)\n" }.joined(separator: "\n")
            return .fake(200, contentType: "text/plain; charset=utf-8", Array(srt.utf8), headers: commonHeaders())
        case "vtt":
            let vtt = "WEBVTT\n\n" + spans.map { "\(stamp($0.1, ".")) --> \(stamp($0.2, "."))\n\($0.0)\n" }.joined(separator: "\n")
            return .fake(200, contentType: "text/vtt; charset=utf-8", Array(vtt.utf8), headers: commonHeaders())
        case "verbose_json":
            var pairs: [(String, FakeJSON)] = [("task", .string("transcribe")), ("language", .string("english")),
                                               ("duration", .double(duration)), ("text", .string(text))]
            if segments {
                pairs.append(("segments", .array(spans.enumerated().map { i, s in
                    .object([("id", .int(i)), ("seek", .int(0)), ("start", .double(s.1)), ("end", .double(s.2)), ("text", .string(" " + s.0)),
                             ("tokens", .array([.int(50364 + i)])), ("temperature", .double(0)), ("avg_logprob", .double(-0.2)),
                             ("compression_ratio", .double(0.9)), ("no_speech_prob", .double(0.01))])
                })))
            }
            if words {
                let all = text.split(separator: " ").map(String.init)
                pairs.append(("words", .array(all.enumerated().map { i, w in
                    .object([("word", .string(w.trimmingCharacters(in: .punctuationCharacters))),
                             ("start", .double(duration * Double(i) / Double(all.count))),
                             ("end", .double(duration * Double(i + 1) / Double(all.count)))])
                })))
            }
            pairs.append(("usage", .object([("type", .string("duration")), ("seconds", .int(Int(duration.rounded(.up))))])))
            return .fake(200, contentType: "application/json", FakeJSON.object(pairs).bytes, headers: commonHeaders())
        default: // json
            let usage: FakeJSON = model.hasPrefix("whisper")
                ? .object([("type", .string("duration")), ("seconds", .int(Int(duration.rounded(.up))))])
                : .object([("type", .string("tokens")), ("input_tokens", .int(Int(duration * 10))),
                           ("input_token_details", .object([("text_tokens", .int(0)), ("audio_tokens", .int(Int(duration * 10)))])),
                           ("output_tokens", .int(text.split(separator: " ").count)),
                           ("total_tokens", .int(Int(duration * 10) + text.split(separator: " ").count))])
            let body = FakeJSON.object([("text", .string(text)), ("usage", usage)])
            return .fake(200, contentType: "application/json", body.bytes, headers: commonHeaders())
        }
    }
}

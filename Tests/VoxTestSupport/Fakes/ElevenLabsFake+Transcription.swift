import Foundation
import Hummingbird

/// POST /v1/speech-to-text, multipart/form-data (elevenlabs.md
/// "Speech-to-text"; the spec's Body_Speech_to_Text_v1_speech_to_text_post
/// and SpeechToTextChunkResponseModel).
extension ElevenLabsFake {
    /// The spec's parts.
    static let transcriptionFields: Set<String> = [
        "model_id", "file", "language_code", "tag_audio_events", "num_speakers", "timestamps_granularity", "diarize",
        "diarization_threshold", "additional_formats", "file_format", "cloud_storage_url", "webhook", "webhook_id", "temperature",
        "seed", "use_multi_channel", "webhook_metadata",
    ]
    /// The 2025 spec's models and SDK 2.78's scribe_v2 (elevenlabs.md).
    static let transcriptionModels: Set<String> = ["scribe_v1", "scribe_v1_experimental", "scribe_v2"]

    /// Seconds of an upload: a WAV's header, raw 16 kHz pcm by its length,
    /// else 1 s per 32 kB.
    public static func uploadSeconds(_ bytes: [UInt8], rawPCM16k: Bool) -> Double {
        if rawPCM16k { return Double(bytes.count / 2) / 16_000 }
        return OpenAIFake.uploadDuration(bytes)
    }

    func transcription(_ r: RecordedRequest) -> Response {
        func bad(_ s: String) { core.violation("\(r.path): \(s)") }
        checkQuery(r, allowed: ["enable_logging": Self.isBool])
        let (parsed, failure) = multipart(r)
        guard let form = parsed else { return failure! }
        var seen: Set<String> = []
        for part in form.parts {
            if !Self.transcriptionFields.contains(part.name) { bad("unknown field \"\(part.name)\"") }
            if !seen.insert(part.name).inserted { bad("field \"\(part.name)\" sent twice") }
            if part.name != "file", part.filename != nil { bad("field \"\(part.name)\" sent as a file") }
        }
        guard let model = form.first("model_id")?.text, !model.isEmpty else {
            bad("no model_id")
            return validationError(["body", "model_id"], "field required", type: "value_error.missing")
        }
        guard Self.transcriptionModels.contains(model) else {
            return errorResponse(400, status: "invalid_model", "Model \(model) is not a speech-to-text model.")
        }
        // Exactly one of file and cloud_storage_url.
        guard let file = form.first("file") else {
            bad("no file part")
            return validationError(["body", "file"], "Either file or cloud_storage_url must be provided", type: "value_error")
        }
        if form.first("cloud_storage_url") != nil { bad("both file and cloud_storage_url") }
        let fileFormat = form.first("file_format")?.text ?? "other"
        if !["pcm_s16le_16", "other"].contains(fileFormat) { bad("file_format \"\(fileFormat)\" is not pcm_s16le_16 or other") }
        if fileFormat == "pcm_s16le_16" {
            if file.data.isEmpty || file.data.count % 2 != 0 { bad("pcm_s16le_16 file of \(file.data.count) bytes (not whole samples)") }
            if file.data.starts(with: Array("RIFF".utf8)) { bad("a WAV file sent as file_format pcm_s16le_16 (raw samples expected)") }
        } else {
            checkAudioFile(file, path: r.path)
        }
        for k in ["tag_audio_events", "diarize", "webhook", "use_multi_channel"] {
            if let v = form.first(k)?.text, !Self.isBool(v) { bad("\(k) \"\(v)\" is not true/false") }
        }
        if let v = form.first("num_speakers")?.text, !(Int(v).map { (1...32).contains($0) } ?? false) { bad("num_speakers \"\(v)\" is not an integer in 1…32") }
        if let v = form.first("timestamps_granularity")?.text, !["none", "word", "character"].contains(v) { bad("timestamps_granularity \"\(v)\" unknown") }
        if let v = form.first("diarization_threshold")?.text {
            if !(Double(v).map { (0.1...0.4).contains($0) } ?? false) { bad("diarization_threshold \"\(v)\" is not in 0.1…0.4") }
            if form.first("diarize")?.text != "true" || form.first("num_speakers") != nil { bad("diarization_threshold without diarize=true, or with num_speakers") }
        }
        if let v = form.first("temperature")?.text, !(Double(v).map { (0...2).contains($0) } ?? false) { bad("temperature \"\(v)\" is not in 0…2") }
        if let v = form.first("seed")?.text, !(Int(v).map { (0...2_147_483_647).contains($0) } ?? false) { bad("seed \"\(v)\" is not in 0…2147483647") }
        if let l = form.first("language_code")?.text, !(2...3).contains(l.count) || l != l.lowercased() { bad("language_code \"\(l)\" is not ISO 639-1/3") }
        if case .malformedJSON = core.behaviour(r.path) {
            return .fake(200, contentType: "application/json", Array("{\"language_code\":\"en\",\"text\":\"Hello the".utf8), headers: commonHeaders())
        }
        let duration = Self.uploadSeconds(file.data, rawPCM16k: fileFormat == "pcm_s16le_16")
        return transcriptionAnswer(duration: duration, language: form.first("language_code")?.text ?? transcriptLanguage,
                                   diarize: form.first("diarize")?.text == "true",
                                   granularity: form.first("timestamps_granularity")?.text ?? "word",
                                   audioEvents: form.first("tag_audio_events")?.text != "false")
    }

    /// `{"language_code", "language_probability", "text", "words": [{text,
    /// start, end, type, speaker_id, logprob}]}` with words and the spaces
    /// between them spread evenly over the audio; with diarize, each sentence
    /// is the next speaker's.
    func transcriptionAnswer(duration: Double, language: String, diarize: Bool, granularity: String, audioEvents: Bool) -> Response {
        var pieces: [(text: String, type: String, sentence: Int)] = []
        var sentence = 0
        for (i, w) in transcriptText.split(separator: " ").enumerated() {
            if i > 0 { pieces.append((" ", "spacing", sentence)) }
            pieces.append((String(w), "word", sentence))
            if let last = w.last, ".?!".contains(last) { sentence += 1 }
        }
        if audioEvents, let event = audioEvent {
            pieces.append((" ", "spacing", sentence))
            pieces.append((event, "audio_event", sentence))
        }
        let step = duration / Double(max(1, pieces.count))
        let words: [FakeJSON] = pieces.enumerated().map { i, p in
            var o: [(String, FakeJSON)] = [("text", .string(p.text))]
            if granularity != "none" {
                o += [("start", .double((Double(i) * step * 1000).rounded() / 1000)), ("end", .double((Double(i + 1) * step * 1000).rounded() / 1000))]
            }
            o += [("type", .string(p.type)), ("speaker_id", .string(diarize ? "speaker_\(p.sentence % 2)" : "speaker_0")),
                  ("logprob", .double(p.type == "spacing" ? 0 : -0.1))]
            if granularity == "character", p.type == "word" {
                o.append(("characters", .array(p.text.map { FakeJSON.object([("text", .string(String($0)))]) })))
            }
            return .object(o)
        }
        let text = pieces.map(\.text).joined()
        let body = FakeJSON.object([("language_code", .string(language)), ("language_probability", .double(0.98)),
                                    ("text", .string(text)), ("words", .array(words))])
        return .fake(200, contentType: "application/json", body.bytes, headers: commonHeaders())
    }
}

import Foundation
import ProviderSupport
import VoxPluginKit

/// `stt.transcribe`: POST {base}/v1/speech-to-text as multipart/form-data
/// (elevenlabs.md "Speech-to-text", the spec's
/// `Body_Speech_to_Text_v1_speech_to_text_post`), answered by one
/// `transcript` event.
///
/// Parts sent: `model_id` (default scribe_v1), `file`, `language_code` (the
/// request's language, its primary subtag), `timestamps_granularity`
/// (word unless options say otherwise), `temperature` (0–2), and from
/// `options`: `diarize`, `num_speakers` (1–32), `diarization_threshold`
/// (0.1–0.4, with diarize and without num_speakers), `tag_audio_events`,
/// `timestamps_granularity` (none|word|character), `seed`
/// (0–2147483647). Raw 16 kHz mono pcm is sent as it is with
/// `file_format=pcm_s16le_16`; other pcm is wrapped in a WAV header.
/// The request's `prompt` has no ElevenLabs counterpart and is not sent.
struct TranscriptionOperation {
    let client: ProviderClient
    let settings: ElevenLabsSettings

    static func form(_ r: TranscriptionRequest, audio: AudioData) throws -> (form: MultipartForm, model: String) {
        let model = r.model ?? ElevenLabsCatalog.defaultSTTModel
        guard !model.isEmpty else { throw VoxPluginError.invalidRequest("model: must not be empty") }
        let o = try SpeechBody.options(r.options)
        var form = MultipartForm()
        form.field("model_id", model)

        let f = audio.format
        if f?.encoding == .pcmS16LE, f?.sampleRate == 16_000, (f?.channels ?? 1) == 1 {
            _ = try AudioSniff.check(audio, what: "input audio")
            form.file("file", filename: "audio.pcm", contentType: "application/octet-stream", audio.bytes)
            form.field("file_format", "pcm_s16le_16")
        } else {
            let file = try Upload.file(audio, stem: "audio", what: "input audio")
            form.file("file", filename: file.filename, contentType: file.contentType, file.bytes)
        }
        if let lang = r.language, !lang.isEmpty { form.field("language_code", try SpeechBody.languageCode(lang)) }

        var granularity = "word"
        if let v = o["timestamps_granularity"], v != .null {
            guard let s = v.stringValue, ["none", "word", "character"].contains(s) else {
                throw VoxPluginError.invalidRequest("options.timestamps_granularity: must be \"none\", \"word\" or \"character\"")
            }
            granularity = s
        }
        form.field("timestamps_granularity", granularity)
        let diarize = try SpeechBody.bool(o, "diarize")
        if let diarize { form.field("diarize", diarize ? "true" : "false") }
        var speakers: Int?
        if let v = o["num_speakers"], v != .null {
            guard let n = v.intValue, (1...32).contains(n) else { throw VoxPluginError.invalidRequest("options.num_speakers: must be an integer in 1…32") }
            speakers = n
            form.field("num_speakers", String(n))
        }
        if let t = try SpeechBody.number(o, "diarization_threshold", in: 0.1...0.4) {
            // The spec: "can only be set when diarize=True and num_speakers=None".
            guard diarize == true, speakers == nil else {
                throw VoxPluginError.invalidRequest("options.diarization_threshold: needs options.diarize = true and no options.num_speakers")
            }
            form.field("diarization_threshold", String(t))
        }
        if let tag = try SpeechBody.bool(o, "tag_audio_events") { form.field("tag_audio_events", tag ? "true" : "false") }
        var temperature = r.temperature
        if temperature == nil { temperature = try SpeechBody.number(o, "temperature", in: 0...2) }
        if let t = temperature {
            guard (0...2).contains(t) else { throw VoxPluginError.invalidRequest("temperature: must be a number in 0…2") }
            form.field("temperature", String(t))
        }
        if let v = o["seed"], v != .null {
            guard let s = v.intValue, (0...2_147_483_647).contains(s) else {
                throw VoxPluginError.invalidRequest("options.seed: must be an integer in 0…2147483647")
            }
            form.field("seed", String(s))
        }
        return (form, model)
    }

    func run(_ r: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult {
        let (form, _) = try Self.form(r, audio: audio)
        let path = "/v1/speech-to-text"
        let query = settings.enableLogging ? "" : "?enable_logging=false"
        let response = try await client.send("POST", path + query, body: form.finished(), contentType: form.contentType, accept: "application/json")
        let bytes = try await client.collect(response, what: "POST \(path)")
        guard let answer = try? VoxJSON.decode(JSONValue.self, from: Data(bytes)), answer.objectValue != nil else {
            throw VoxPluginError(.unavailable, "elevenlabs sent malformed JSON for a transcription: \(ProviderErrors.snippet(bytes))", retriable: true)
        }
        guard let text = answer["text"]?.stringValue else {
            throw VoxPluginError(.unavailable, "elevenlabs answered a transcription without text: \(ProviderErrors.snippet(bytes))", retriable: true)
        }
        let (event, usage) = Self.event(answer, text: text, localDuration: WAVFile.duration(of: audio))
        try await output.emit(event)
        return OperationResult(usage: usage)
    }

    /// The `transcript` event: text, language as BCP 47, the words (with
    /// start, end and speaker), segments cut at sentence ends and speaker
    /// changes (for subtitles), and the duration; usage in audio seconds.
    static func event(_ answer: JSONValue, text: String, localDuration: Double?) -> (JSONValue, Usage) {
        var event: [String: JSONValue] = ["type": .string("transcript"), "text": .string(text)]
        if let code = answer["language_code"]?.stringValue, let tag = ScribeLanguages.tag(code) {
            event["language"] = .string(tag)
        }
        let tokens = answer["words"]?.arrayValue ?? []
        var words: [JSONValue] = []
        var segments: [JSONValue] = []
        var current: (text: String, start: Double?, end: Double?, speaker: String?) = ("", nil, nil, nil)
        func close() {
            let t = current.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !t.isEmpty, let s = current.start, let e = current.end {
                var seg: [String: JSONValue] = ["id": .number(Double(segments.count)), "start": .number(s), "end": .number(e), "text": .string(t)]
                if let sp = current.speaker { seg["speaker"] = .string(sp) }
                segments.append(.object(seg))
            }
            current = ("", nil, nil, nil)
        }
        var lastEnd: Double?
        for token in tokens {
            let type = token["type"]?.stringValue ?? "word"
            let piece = token["text"]?.stringValue ?? ""
            let start = token["start"]?.doubleValue, end = token["end"]?.doubleValue
            let speaker = token["speaker_id"]?.stringValue
            if let end { lastEnd = max(lastEnd ?? end, end) }
            if type != "spacing", let speaker, let cur = current.speaker, speaker != cur { close() }
            current.text += piece
            if type != "spacing" {
                if current.start == nil { current.start = start }
                current.end = end ?? current.end
                current.speaker = speaker ?? current.speaker
            }
            guard type == "word" else { continue }
            var w: [String: JSONValue] = ["word": .string(piece)]
            if let start { w["start"] = .number(start) }
            if let end { w["end"] = .number(end) }
            if let speaker { w["speaker"] = .string(speaker) }
            words.append(.object(w))
            if let last = piece.last, ".?!。？！".contains(last) { close() }
        }
        close()
        if !words.isEmpty { event["words"] = .array(words) }
        if !segments.isEmpty { event["segments"] = .array(segments) }
        let duration = localDuration ?? lastEnd
        if let duration { event["duration"] = .number(duration) }
        return (.object(event), Usage(audioSeconds: duration))
    }
}

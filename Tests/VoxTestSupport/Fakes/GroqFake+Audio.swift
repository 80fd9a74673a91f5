import Foundation
import Hummingbird

/// POST /openai/v1/audio/transcriptions and /audio/speech (groq.md "Audio
/// transcriptions", "Text-to-speech").
extension GroqFake {
    // MARK: transcriptions

    /// groq.md "Audio transcriptions (multipart/form-data)" parts.
    static let transcriptionFields: Set<String> = ["file", "url", "model", "language", "prompt", "response_format", "temperature", "timestamp_granularities[]"]
    static let transcriptionModels: Set<String> = ["whisper-large-v3", "whisper-large-v3-turbo"]
    static let uploadTypes = ["flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm"]

    func transcription(_ r: RecordedRequest) -> Response {
        func bad(_ s: String) { core.violation("\(r.path): \(s)") }
        guard let form = core.multipart(r) else {
            return errorResponse(400, "request Content-Type isn't multipart/form-data", type: "invalid_request_error", code: nil)
        }
        core.checkParts(form, path: r.path, allowed: Self.transcriptionFields, files: ["file"])
        // "Either file or url required".
        guard let file = form.first("file") else {
            if form.first("url") == nil { bad("neither a file nor a url part") }
            return errorResponse(400, "either file or url must be provided", type: "invalid_request_error", code: nil)
        }
        core.checkUpload(file, path: r.path, types: Self.uploadTypes)
        if file.data.count > 25 * 1024 * 1024 { bad("file over the 25 MB limit") }
        guard let model = form.first("model")?.text, !model.isEmpty else {
            bad("no model part")
            return errorResponse(400, "model is required", type: "invalid_request_error", code: nil)
        }
        guard Self.transcriptionModels.contains(model) else {
            return errorResponse(404, "The model `\(model)` does not exist or you do not have access to it.", type: "invalid_request_error", code: "model_not_found")
        }
        let format = form.first("response_format")?.text ?? "json"
        guard ["json", "text", "verbose_json"].contains(format) else {
            // "srt and vtt are not supported".
            bad("response_format \"\(format)\" is not json, text or verbose_json")
            return errorResponse(400, "response_format must be one of json, text, verbose_json", type: "invalid_request_error", code: nil)
        }
        let granularities = form.all("timestamp_granularities[]").map(\.text)
        for g in granularities where g != "word" && g != "segment" { bad("timestamp_granularities[] \"\(g)\" is not word or segment") }
        if !granularities.isEmpty, format != "verbose_json" { bad("timestamp_granularities[] needs response_format verbose_json") }
        if let t = form.first("temperature"), !(0...1).contains(Double(t.text) ?? -1) { bad("temperature \"\(t.text)\" is not a number in 0…1") }
        if let l = form.first("language")?.text, !(2...3).contains(l.count) || l != l.lowercased() { bad("language \"\(l)\" is not ISO-639-1") }
        if case .malformedJSON = core.behaviour(r.path) {
            return .fake(200, contentType: "application/json", Array("{\"text\": \"Hello the".utf8), headers: commonHeaders())
        }
        let duration = OpenAIFake.uploadDuration(file.data)
        let text = transcriptText
        let xgroq = FakeJSON.object([("id", .string("req_fakestt\(core.next())"))])
        switch format {
        case "text":
            return .fake(200, contentType: "text/plain; charset=utf-8", Array((text + "\n").utf8), headers: commonHeaders())
        case "verbose_json":
            let sentences = text.split(separator: ".").map { $0.trimmingCharacters(in: .whitespaces) + "." }.filter { $0.count > 1 }
            let segments = sentences.enumerated().map { i, s in
                FakeJSON.object([("id", .int(i)), ("seek", .int(0)), ("start", .double(duration * Double(i) / Double(sentences.count))),
                                 ("end", .double(duration * Double(i + 1) / Double(sentences.count))), ("text", .string(" " + s)),
                                 ("tokens", .array([.int(50364 + i)])), ("temperature", .double(0)), ("avg_logprob", .double(-0.2)),
                                 ("compression_ratio", .double(0.9)), ("no_speech_prob", .double(0.01))])
            }
            var pairs: [(String, FakeJSON)] = [("task", .string("transcribe")), ("language", .string("English")),
                                               ("duration", .double(duration)), ("text", .string(text)), ("segments", .array(segments))]
            if granularities.contains("word") {
                let all = text.split(separator: " ").map(String.init)
                pairs.append(("words", .array(all.enumerated().map { i, w in
                    .object([("word", .string(w.trimmingCharacters(in: .punctuationCharacters))),
                             ("start", .double(duration * Double(i) / Double(all.count))),
                             ("end", .double(duration * Double(i + 1) / Double(all.count)))])
                })))
            }
            pairs.append(("x_groq", xgroq))
            return .fake(200, contentType: "application/json", FakeJSON.object(pairs).bytes, headers: commonHeaders())
        default:
            return .fake(200, contentType: "application/json", FakeJSON.object([("text", .string(text)), ("x_groq", xgroq)]).bytes,
                         headers: commonHeaders())
        }
    }

    // MARK: speech

    /// groq.md "Text-to-speech" fields and values.
    static let speechFields: Set<String> = ["model", "input", "voice", "response_format", "sample_rate", "speed"]
    public static let speechVoices: [String: [String]] = [
        "canopylabs/orpheus-v1-english": ["autumn", "diana", "hannah", "austin", "daniel", "troy"],
        "canopylabs/orpheus-arabic-saudi": ["abdullah", "fahad", "sultan", "lulwa", "noura", "aisha"],
    ]
    static let speechFormats = ["flac": "audio/flac", "mp3": "audio/mpeg", "mulaw": "audio/basic", "ogg": "audio/ogg", "wav": "audio/wav"]
    static let speechRates = [8000, 16000, 22050, 24000, 32000, 44100, 48000]
    /// "integrations report Orpheus output at 48 kHz": the fake's rate unless `sample_rate` says another.
    public static let defaultSpeechRate = 48000

    /// The fake's speech as pcm: a sine, 20 ms per input character.
    public static func expectedPCM(input: String, rate: Int = defaultSpeechRate) -> [UInt8] {
        FakeContent.pcm(seconds: 0.02 * Double(input.count), rate: rate)
    }

    /// The exact bytes the fake returns for `input` in a response_format.
    public static func expectedAudio(format: String, input: String, rate: Int = defaultSpeechRate) -> [UInt8] {
        format == "wav" ? FakeContent.wav(expectedPCM(input: input, rate: rate), rate: rate, list: true)
            : FakeContent.filler(format, count: input.count * 100)
    }

    func speech(_ r: RecordedRequest) -> Response {
        func bad(_ s: String) { core.violation("\(r.path): \(s)") }
        guard let body = core.jsonObject(r) else {
            return errorResponse(400, "We could not parse the JSON body of your request.", type: "invalid_request_error", code: nil)
        }
        var refused: String?
        func refuse(_ s: String) { bad(s); if refused == nil { refused = s } }
        for key in body.keys ?? [] where !Self.speechFields.contains(key) { refuse("unknown field \"\(key)\"") }
        let model = body["model"]?.string ?? ""
        if model.isEmpty { refuse("model must be a non-empty string") }
        if body["input"]?.string?.isEmpty != false { refuse("input must be a non-empty string") }
        guard let voice = body["voice"]?.string else { refuse("voice must be a string"); return errorResponse(400, refused!, type: "invalid_request_error", code: nil) }
        let format = body["response_format"]?.string ?? "wav"
        if let f = body["response_format"], Self.speechFormats[f.string ?? ""] == nil { refuse("response_format \(f) is not one of \(Self.speechFormats.keys.sorted())") }
        if let s = body["sample_rate"], !Self.speechRates.contains(s.int ?? -1) { refuse("sample_rate \(s) is not one of \(Self.speechRates)") }
        if let s = body["speed"], (s.number ?? 0) <= 0 { refuse("speed must be a positive number") }
        if let refused { return errorResponse(400, refused, type: "invalid_request_error", code: nil) }
        guard let voices = Self.speechVoices[model] else {
            return errorResponse(404, "The model `\(model)` does not exist or you do not have access to it.", type: "invalid_request_error", code: "model_not_found")
        }
        guard voices.contains(voice) else {
            bad("voice \"\(voice)\" is not one of \(model)'s voices")
            return errorResponse(400, "voice must be one of [\(voices.joined(separator: " "))]", type: "invalid_request_error", code: nil)
        }
        let rate = body["sample_rate"]?.int ?? Self.defaultSpeechRate
        let audio = Self.expectedAudio(format: format, input: body["input"]?.string ?? "", rate: rate)
        // A small first chunk cuts the WAV header in two; the rest in odd-sized pieces.
        let chunks = [Array(audio.prefix(20))] + stride(from: 20, to: audio.count, by: 4001).map { Array(audio[$0..<min($0 + 4001, audio.count)]) }
        let behaviour = core.behaviour(r.path)
        return core.stream(200, contentType: Self.speechFormats[format]!, headers: commonHeaders()) { send in
            switch behaviour {
            case .emptyAudio:
                return
            case .undecodableAudio:
                try await send(Array("<html>upstream error</html>".utf8))
            case .resetMidStream(let n):
                for c in chunks.prefix(n) { try await send(c) }
                throw FakeCore.Reset()
            case .slowStream(let n, let interval):
                try await send(Array(FakeContent.wav([], rate: rate).prefix(40)) + [0x00, 0x00, 0x00, 0x00]) // streamed header: size 0
                for _ in 0..<n {
                    try await send(FakeContent.pcm(seconds: 0.01, rate: rate))
                    try await Task.sleep(nanoseconds: UInt64(interval) * 1_000_000)
                }
            default:
                for c in chunks { try await send(c) }
            }
        }
    }
}

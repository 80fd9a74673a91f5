import Foundation
import Hummingbird

/// POST /text-to-speech and POST /speech-to-text (sarvam.md "Text-to-speech
/// REST", "Speech-to-text REST").
extension SarvamFake {
    // MARK: text-to-speech

    /// sarvam.md "Text-to-speech REST" fields. `language_code` is the name of
    /// SDK ≥0.1.30; `target_language_code` that of SDK ≤0.1.2x: both are
    /// accepted ("fakes should accept both"), exactly one is required.
    static let ttsFields: Set<String> = [
        "text", "language_code", "target_language_code", "speaker", "model", "pitch", "pace", "loudness", "temperature",
        "speech_sample_rate", "enable_preprocessing", "output_audio_codec", "dict_id", "enable_cached_responses",
    ]
    static let ttsLanguages: Set<String> = ["bn-IN", "en-IN", "gu-IN", "hi-IN", "kn-IN", "ml-IN", "mr-IN", "od-IN", "pa-IN", "ta-IN", "te-IN"]
    /// specs/sarvam/tts-speakers.json (SDK 0.1.39).
    public static let speakers: [String: [String]] = [
        "bulbul:v2": ["anushka", "manisha", "vidya", "arya", "abhilash", "karun", "hitesh"],
        "bulbul:v3": ["shubh", "aditya", "ritu", "priya", "neha", "rahul", "pooja", "rohan", "simran", "kavya", "amit", "dev", "ishita",
                      "shreya", "ratan", "varun", "manan", "sumit", "roopa", "kabir", "aayan", "ashutosh", "advait", "anand", "tanya",
                      "tarun", "sunny", "mani", "gokul", "vijay", "shruti", "suhani", "mohit", "kavitha", "rehan", "soham", "rupali"],
    ]
    static let codecs: Set<String> = ["wav", "mp3", "linear16", "mulaw", "alaw", "flac", "aac", "opus"]

    /// The fake's speech as pcm: a sine at `rate`, 30 ms per input character.
    public static func expectedPCM(text: String, rate: Int = 22050) -> [UInt8] {
        FakeContent.pcm(seconds: 0.03 * Double(text.count), rate: rate)
    }

    /// The audio the fake puts (base64) into `audios[0]`.
    public static func expectedAudio(codec: String, text: String, rate: Int = 22050) -> [UInt8] {
        switch codec {
        case "wav": return FakeContent.wav(expectedPCM(text: text, rate: rate), rate: rate)
        case "linear16": return expectedPCM(text: text, rate: rate)
        default: return FakeContent.filler(codec, count: text.count * 80)
        }
    }

    func textToSpeech(_ r: RecordedRequest) -> Response {
        guard let body = core.jsonObject(r) else { return errorResponse(400, "Invalid JSON body", code: "invalid_request_error") }
        var refused: String?
        func bad(_ s: String) { core.violation("\(r.path): \(s)"); if refused == nil { refused = s } }
        for key in body.keys ?? [] where !Self.ttsFields.contains(key) { bad("unknown field \"\(key)\"") }
        let model = body["model"]?.string ?? "bulbul:v3" // "API default when omitted, 2026"
        let v2 = model == "bulbul:v2"
        guard let speakers = Self.speakers[model] else {
            bad("model \"\(model)\" is not bulbul:v2 or bulbul:v3")
            return errorResponse(400, "Invalid model: \(model)", code: "invalid_request_error")
        }
        let text = body["text"]?.string ?? ""
        if text.isEmpty { bad("text must be a non-empty string") }
        if text.count > (v2 ? 1500 : 2500) { bad("text is \(text.count) characters; \(model) takes at most \(v2 ? 1500 : 2500)") }
        switch (body["language_code"], body["target_language_code"]) {
        case (let l?, nil), (nil, let l?): if !Self.ttsLanguages.contains(l.string ?? "") { bad("language_code \(l) is not one of \(Self.ttsLanguages.sorted())") }
        case (nil, nil): bad("language_code is required")
        default: bad("both language_code and target_language_code sent")
        }
        if let s = body["speaker"] {
            if !speakers.contains(s.string ?? "") { bad("speaker \(s) is not a \(model) speaker") }
        }
        func number(_ key: String, _ range: ClosedRange<Double>, only: Bool) {
            guard let v = body[key] else { return }
            if !only { bad("\(key) is not accepted by \(model)") } else if !range.contains(v.number ?? .nan) { bad("\(key) \(v) is outside \(range)") }
        }
        number("pitch", -0.75...0.75, only: v2)
        number("loudness", 0.3...3.0, only: v2)
        number("pace", v2 ? 0.3...3.0 : 0.5...2.0, only: true)
        number("temperature", 0.01...1.0, only: !v2)
        if let v = body["enable_preprocessing"], v.bool == nil { bad("enable_preprocessing is \(v.typeName), not boolean") }
        if let v = body["dict_id"] {
            if v2 { bad("dict_id is a bulbul:v3 field") }
            if v.string?.isEmpty != false { bad("dict_id is not a non-empty string") }
        }
        if let v = body["enable_cached_responses"], v.bool == nil { bad("enable_cached_responses is \(v.typeName), not boolean") }
        if let v = body["speaker"], v.string == nil { bad("speaker is \(v.typeName), not string") }
        let rates = v2 ? [8000, 16000, 22050, 24000] : [8000, 16000, 22050, 24000, 32000, 44100, 48000]
        if let s = body["speech_sample_rate"], !rates.contains(s.int ?? -1) { bad("speech_sample_rate \(s) is not an integer in \(rates)") }
        let codec = body["output_audio_codec"]?.string ?? "wav"
        if !Self.codecs.contains(codec) { bad("output_audio_codec \"\(codec)\" unknown") }
        if codec == "opus", !v2 { bad("opus is rejected on \(model) REST") }
        if let refused { return errorResponse(400, refused, code: "invalid_request_error") }

        let rate = body["speech_sample_rate"]?.int ?? 22050
        let id = requestID()
        let audio: FakeJSON
        switch core.behaviour(r.path) {
        case .emptyAudio: audio = .array([])
        case .undecodableAudio: audio = .array([.string(Data("not a wav file at all".utf8).base64EncodedString())])
        case .malformedJSON:
            return .fake(200, contentType: "application/json", Array("{\"request_id\":\"\(id)\",\"audios\":[\"UklGR".utf8))
        case .resetMidStream(let n):
            let whole = FakeJSON.object([("request_id", .string(id)), ("audios", .array([.string(Data(Self.expectedAudio(codec: codec, text: text, rate: rate)).base64EncodedString())]))]).bytes
            return core.stream(200, contentType: "application/json", headers: []) { send in
                for start in stride(from: 0, to: min(whole.count - 1, n * 1000), by: 1000) { try await send(Array(whole[start..<min(start + 1000, whole.count - 1)])) }
                throw FakeCore.Reset()
            }
        default: audio = .array([.string(Data(Self.expectedAudio(codec: codec, text: text, rate: rate)).base64EncodedString())])
        }
        return .fake(200, contentType: "application/json", FakeJSON.object([("request_id", .string(id)), ("audios", audio)]).bytes)
    }

    // MARK: speech-to-text

    /// sarvam.md "Speech-to-text REST" parts.
    static let sttFields: Set<String> = ["file", "model", "mode", "language_code", "with_timestamps", "input_audio_codec", "keyterms"]
    static let sttModels: Set<String> = ["saaras:v3", "saaras:v4", "saarika:v2.5", "saarika:v2", "saarika:v1"]
    static let sttBaseLanguages: Set<String> = ["hi-IN", "bn-IN", "kn-IN", "ml-IN", "mr-IN", "od-IN", "pa-IN", "ta-IN", "te-IN", "en-IN", "gu-IN"]
    static let sttSaarasLanguages: Set<String> = ["as-IN", "ur-IN", "ne-IN", "kok-IN", "ks-IN", "sd-IN", "sa-IN", "sat-IN", "mni-IN", "brx-IN", "mai-IN", "doi-IN"]
    static let sttExtensions: Set<String> = ["wav", "mp3", "aac", "aiff", "ogg", "opus", "flac", "mp4", "m4a", "amr", "wma", "webm"]

    func speechToText(_ r: RecordedRequest) -> Response {
        var refused: String?
        func bad(_ s: String) { core.violation("\(r.path): \(s)"); if refused == nil { refused = s } }
        guard let form = core.multipart(r) else { return errorResponse(400, "Expected multipart/form-data", code: "invalid_request_error") }
        core.checkParts(form, path: r.path, allowed: Self.sttFields, files: ["file"])
        guard let file = form.first("file"), !file.data.isEmpty else {
            bad("no file part")
            return errorResponse(400, "file is required", code: "invalid_request_error")
        }
        let ext = (file.filename ?? "").split(separator: ".").last.map { String($0).lowercased() } ?? ""
        if !Self.sttExtensions.contains(ext) { bad("file name \"\(file.filename ?? "")\" has no supported extension") }
        if file.contentType?.isEmpty != false { bad("file part without a Content-Type") }
        if ext == "wav", !file.data.starts(with: Array("RIFF".utf8)) { bad("a .wav file that does not start with RIFF") }
        let model = form.first("model")?.text ?? "saaras:v3"
        if !Self.sttModels.contains(model) { bad("model \"\(model)\" unknown") }
        let saaras = model == "saaras:v3" || model == "saaras:v4"
        if let mode = form.first("mode")?.text {
            if !saaras { bad("mode sent for \(model); only saaras:v3/v4 take it") }
            if !["transcribe", "translate", "verbatim", "translit", "codemix"].contains(mode) { bad("mode \"\(mode)\" unknown") }
        }
        let language = form.first("language_code")?.text ?? "unknown"
        let languages = saaras ? Self.sttBaseLanguages.union(Self.sttSaarasLanguages) : Self.sttBaseLanguages
        if language != "unknown", !languages.contains(language) { bad("language_code \"\(language)\" is not one of \(model)'s") }
        if let t = form.first("with_timestamps")?.text, t != "true", t != "false" { bad("with_timestamps \"\(t)\" is not true or false") }
        if let c = form.first("input_audio_codec")?.text, !["pcm_s16le", "pcm_l16", "pcm_raw", "wav", "mp3"].contains(c) { bad("input_audio_codec \"\(c)\" unknown") }
        if let k = form.first("keyterms") {
            if model != "saaras:v4" { bad("keyterms sent for \(model); only saaras:v4 takes them") }
            if FakeJSON.parse(Array(k.data))?.array?.allSatisfy({ $0.string != nil }) != true { bad("keyterms is not a JSON array of strings") }
        }
        // "Max ~30 s audio (longer → Batch job API)": the plugin refuses longer WAVs itself.
        let seconds = FakeContent.wavSeconds(file.data)
        if let seconds, seconds > 30 { bad(String(format: "audio of %.1f s; the REST API takes 30 s at most", seconds)) }
        if let refused { return errorResponse(400, refused, code: "invalid_request_error") }
        if case .malformedJSON = core.behaviour(r.path) {
            return .fake(200, contentType: "application/json", Array("{\"request_id\":\"x\",\"transcript\":\"नम".utf8))
        }
        let text = transcriptText
        var pairs: [(String, FakeJSON)] = [("request_id", .string(requestID())), ("transcript", .string(text))]
        if language == "unknown" {
            pairs += [("language_code", .string("hi-IN")), ("language_probability", .double(0.97))]
        } else {
            pairs.append(("language_code", .string(language)))
        }
        if form.first("with_timestamps")?.text == "true" {
            let phrases = text.split(separator: "।").map { $0.trimmingCharacters(in: .whitespaces) + "।" }.filter { $0.count > 1 }
            let d = seconds ?? 2.0
            pairs.append(("timestamps", .object([
                ("words", .array(phrases.map { .string($0) })),
                ("start_time_seconds", .array(phrases.indices.map { .double(d * Double($0) / Double(phrases.count)) })),
                ("end_time_seconds", .array(phrases.indices.map { .double(d * Double($0 + 1) / Double(phrases.count)) })),
            ])))
        } else {
            pairs.append(("timestamps", .null))
        }
        return .fake(200, contentType: "application/json", FakeJSON.object(pairs).bytes)
    }
}

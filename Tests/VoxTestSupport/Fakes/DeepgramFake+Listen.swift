import Foundation
import Hummingbird

/// POST /v1/listen, pre-recorded (deepgram.md "Pre-recorded STT";
/// openapi.yml `/v1/listen` post, response `ListenV1Response`).
extension DeepgramFake {
    /// openapi.yml `/v1/listen` parameters of type boolean.
    static let listenBooleans: Set<String> = [
        "sentiment", "topics", "intents", "detect_entities", "diarize", "dictation", "filler_words", "measurements",
        "multichannel", "numerals", "paragraphs", "profanity_filter", "punctuate", "smart_format", "utterances", "mip_opt_out",
    ]
    /// The other openapi.yml `/v1/listen` parameters, plus `sample_rate` and
    /// `channels` (deepgram.md: with raw `encoding`, uncertain for REST).
    static let listenOthers: Set<String> = [
        "callback", "callback_method", "extra", "summarize", "tag", "custom_topic", "custom_topic_mode", "custom_intent",
        "custom_intent_mode", "detect_language", "diarize_model", "encoding", "keyterm", "keywords", "language", "model",
        "redact", "replace", "search", "utt_split", "version", "sample_rate", "channels",
    ]
    /// Parameters that may repeat (arrays in the spec).
    static let listenLists: Set<String> = ["extra", "tag", "custom_topic", "custom_intent", "detect_language", "keyterm", "keywords", "redact", "replace", "search"]
    /// openapi.yml `V1ListenPostParametersModel0`: what the fake's account can use.
    public static let sttModels: [String] = [
        "nova-3", "nova-3-general", "nova-3-medical", "nova-2", "nova-2-general", "nova-2-meeting", "nova-2-finance",
        "nova-2-conversationalai", "nova-2-voicemail", "nova-2-video", "nova-2-medical", "nova-2-drivethru", "nova-2-automotive",
        "nova", "nova-general", "nova-phonecall", "nova-medical", "enhanced", "enhanced-general", "enhanced-meeting",
        "enhanced-phonecall", "enhanced-finance", "base", "meeting", "phonecall", "finance", "conversationalai", "voicemail", "video",
    ]
    /// openapi.yml `V1ListenPostParametersEncoding`.
    static let listenEncodings: Set<String> = ["linear16", "flac", "mulaw", "amr-nb", "amr-wb", "opus", "speex", "g729"]

    /// The container the bytes start with, by magic number.
    static func container(_ b: [UInt8]) -> String? {
        func at(_ o: Int, _ s: String) -> Bool { b.count >= o + s.utf8.count && b[o..<(o + s.utf8.count)].elementsEqual(s.utf8) }
        if at(0, "RIFF") && at(8, "WAVE") { return "wav" }
        if at(0, "OggS") { return "ogg" }
        if at(0, "fLaC") { return "flac" }
        if at(0, "ID3") || (b.count > 1 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0) { return "mpeg" }
        if b.count >= 4, b[0] == 0x1A, b[1] == 0x45, b[2] == 0xDF, b[3] == 0xA3 { return "webm" }
        if at(4, "ftyp") { return "mp4" }
        return nil
    }

    /// Seconds of audio: a WAV's data chunk, raw linear16 with its rate and
    /// channels, else 1 s per 16 kB.
    public static func listenDuration(_ bytes: [UInt8], sampleRate: Int?, channels: Int?) -> Double {
        if container(bytes) == "wav", let seconds = FakeContent.riffDataSeconds(bytes) { return seconds }
        if let rate = sampleRate, rate > 0 { return Double(bytes.count / 2 / max(1, channels ?? 1)) / Double(rate) }
        return max(0.1, Double(bytes.count) / 16_000)
    }

    func listen(_ r: RecordedRequest) -> Response {
        func bad(_ s: String) { core.violation("\(r.path): \(s)") }
        let q = checkQuery(r, booleans: Self.listenBooleans, others: Self.listenOthers, lists: Self.listenLists)
        let model = q["model"] ?? "base-general" // the spec's default
        let isNova3 = model.hasPrefix("nova-3")
        if let l = q["language"], l != "multi", l.range(of: "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", options: .regularExpression) == nil {
            bad("language \"\(l)\" is not BCP-47")
        }
        if let e = q["diarize_model"], !["latest", "v1", "v2"].contains(e) { bad("diarize_model \(e) is not latest, v1 or v2") }
        if let u = q["utt_split"], Double(u) == nil { bad("utt_split \(u) is not a number") }
        if !Self.queryItems(r).filter({ $0.0 == "keyterm" }).isEmpty, !isNova3 { bad("keyterm sent with \(model) (\"Only compatible with Nova-3\")") }
        if q["callback"] == nil, q["callback_method"] != nil { bad("callback_method without callback") }

        // Body: JSON {"url"} or the audio bytes (audio/*, application/octet-stream).
        let type = (r.header("content-type") ?? "").lowercased().split(separator: ";").first.map(String.init) ?? ""
        var audio = r.bytes
        if type == "application/json" {
            guard let url = r.json?["url"]?.string, url.hasPrefix("http") else {
                bad("a JSON body must be {\"url\": \"https://…\"}")
                return errorResponse(400, legacy: ("Bad Request", "Invalid JSON body: expected {\"url\": …}"))
            }
            audio = Array(url.utf8) // the fake does not fetch it
        } else {
            if !(type.hasPrefix("audio/") || type == "application/octet-stream") {
                bad("Content-Type \(type.isEmpty ? "missing" : type) is not audio/* or application/octet-stream")
            }
            guard !audio.isEmpty else {
                bad("empty audio body")
                return errorResponse(400, modern: ("INVALID_REQUEST_BODY", "Bad Request", "Request body is empty"))
            }
            let found = Self.container(audio)
            let expected = ["audio/wav": "wav", "audio/wave": "wav", "audio/x-wav": "wav", "audio/mpeg": "mpeg", "audio/mp3": "mpeg",
                            "audio/ogg": "ogg", "audio/flac": "flac", "audio/webm": "webm", "audio/mp4": "mp4"][type]
            if let expected, found != expected { bad("Content-Type \(type) but the body is \(found ?? "not a known container")") }
            if let enc = q["encoding"] {
                if !Self.listenEncodings.contains(enc) { bad("encoding \(enc) is not one of \(Self.listenEncodings.sorted())") }
                if found != nil { bad("encoding=\(enc) with containerized audio (\(found!)): \"only needed for raw headerless audio\"") }
                if Int(q["sample_rate"] ?? "") == nil { bad("encoding=\(enc) without an integer sample_rate") }
            } else if q["sample_rate"] != nil || q["channels"] != nil {
                bad("sample_rate/channels without encoding")
            }
        }
        if !Self.sttModels.contains(model), model != "base-general" {
            return errorResponse(400, legacy: ("Bad Request", "No such model/language/tier combination found. Model: \(model)"))
        }
        if q["language"] == "multi", !isNova3 {
            return errorResponse(400, legacy: ("Bad Request", "No such model/language/tier combination found. Language multi needs nova-3"))
        }
        let behaviour = core.behaviour(r.path)
        let id = nextRequestID()
        let headers = [("dg-request-id", id)]
        switch behaviour {
        case .malformedJSON:
            return .fake(200, contentType: "application/json", Array("{\"metadata\":{\"request_id\":\"\(id)\",\"dura".utf8), headers: headers)
        case .noResults:
            return .fake(200, contentType: "application/json", FakeJSON.object([("request_id", .string(id))]).bytes, headers: headers)
        default:
            break
        }
        let duration = Self.listenDuration(audio, sampleRate: Int(q["sample_rate"] ?? ""), channels: Int(q["channels"] ?? ""))
        var text = transcriptText
        if case .emptyTranscript = behaviour { text = "" }
        let body = listenAnswer(text: text, duration: duration, requestID: id, model: model, query: q).bytes
        if case .resetMidStream(let n) = behaviour {
            let chunks = stride(from: 0, to: body.count, by: 64).map { Array(body[$0..<min($0 + 64, body.count)]) }
            return core.stream(200, contentType: "application/json", headers: headers) { send in
                for c in chunks.prefix(n) { try await send(c) }
                throw FakeCore.Reset()
            }
        }
        return .fake(200, contentType: "application/json", body, headers: headers)
    }

    /// A `ListenV1Response` for `text` spread evenly over `duration`.
    func listenAnswer(text: String, duration: Double, requestID: String, model: String, query q: [String: String]) -> FakeJSON {
        let punctuated = q["punctuate"] == "true" || q["smart_format"] == "true"
        let diarized = q["diarize"] == "true" || q["diarize_model"] != nil
        let multi = q["language"] == "multi"
        let tokens = text.split(separator: " ").map(String.init)
        // Sentence index per token: a token ending with "." closes one.
        var sentenceOf: [Int] = []
        var s = 0
        for t in tokens { sentenceOf.append(s); if t.hasSuffix(".") { s += 1 } }
        let step = tokens.isEmpty ? 0 : duration / Double(tokens.count)
        func round3(_ d: Double) -> Double { (d * 1000).rounded() / 1000 }
        func word(_ i: Int) -> FakeJSON {
            let t = tokens[i]
            var pairs: [(String, FakeJSON)] = [("word", .string(t.lowercased().trimmingCharacters(in: .punctuationCharacters))),
                                               ("start", .double(round3(Double(i) * step))), ("end", .double(round3(Double(i + 1) * step))),
                                               ("confidence", .double(0.98))]
            if punctuated { pairs.append(("punctuated_word", .string(t))) }
            if diarized { pairs += [("speaker", .int(sentenceOf[i] % 2)), ("speaker_confidence", .double(0.8))] }
            if multi { pairs.append(("language", .string("en"))) }
            return .object(pairs)
        }
        let shown = punctuated ? text : text.lowercased().filter { !$0.isPunctuation }
        var alternative: [(String, FakeJSON)] = [("transcript", .string(shown)), ("confidence", .double(tokens.isEmpty ? 0 : 0.97)),
                                                 ("words", .array(tokens.indices.map(word)))]
        if multi { alternative.append(("languages", .array([.string("en")]))) }
        let sentences: [[Int]] = Dictionary(grouping: tokens.indices, by: { sentenceOf[$0] }).sorted { $0.key < $1.key }.map(\.value)
        func sentenceText(_ idx: [Int]) -> String { idx.map { punctuated ? tokens[$0] : tokens[$0].lowercased().filter { !$0.isPunctuation } }.joined(separator: " ") }
        if q["paragraphs"] == "true" {
            let paragraph = FakeJSON.object([
                ("sentences", .array(sentences.map { idx in
                    .object([("text", .string(sentenceText(idx))), ("start", .double(round3(Double(idx.first!) * step))),
                             ("end", .double(round3(Double(idx.last! + 1) * step)))])
                })),
                ("num_words", .int(tokens.count)), ("start", .double(0)), ("end", .double(round3(duration))),
            ])
            alternative.append(("paragraphs", .object([("transcript", .string("\n" + shown)), ("paragraphs", .array(tokens.isEmpty ? [] : [paragraph]))])))
        }
        var channel: [(String, FakeJSON)] = [("alternatives", .array([.object(alternative)]))]
        if let d = q["detect_language"], d != "false" { channel += [("detected_language", .string("en")), ("language_confidence", .double(0.99))] }
        var results: [(String, FakeJSON)] = [("channels", .array([.object(channel)]))]
        if q["utterances"] == "true" {
            results.append(("utterances", .array(sentences.enumerated().map { n, idx in
                .object([("start", .double(round3(Double(idx.first!) * step))), ("end", .double(round3(Double(idx.last! + 1) * step))),
                         ("confidence", .double(0.97)), ("channel", .int(0)), ("transcript", .string(sentenceText(idx))),
                         ("words", .array(idx.map(word))), ("speaker", .int(diarized ? n % 2 : 0)),
                         ("id", .string(String(format: "0000000\(n)-0000-4000-8000-000000000000")))])
            })))
        }
        let uuid = "1abfe86b-e047-4eed-858a-35e5625b41ee"
        let metadata = FakeJSON.object([
            ("transaction_key", .string("deprecated")), ("request_id", .string(requestID)),
            ("sha256", .string(String(repeating: "5e", count: 32))), ("created", .string("2026-01-01T00:00:00.000Z")),
            ("duration", .double(round3(duration))), ("channels", .int(1)), ("models", .array([.string(uuid)])),
            ("model_info", .object([(uuid, .object([("name", .string("general-\(model)")), ("version", .string("2024-12-20.0")),
                                                    ("arch", .string(model.split(separator: "-").prefix(2).joined(separator: "-")))]))])),
        ])
        return .object([("metadata", metadata), ("results", .object(results))])
    }
}

import Foundation
import VoxPluginKit

/// `stt.transcribe` against an OpenAI-compatible `POST …/audio/transcriptions`
/// (OpenAI, Groq): the multipart form (openai.md / groq.md "Audio
/// transcriptions") and the answer turned into one `transcript` event
/// (SCHEMAS.md). What differs per provider — the model, which
/// `response_format` to ask for, the upload limit — is the caller's.
public struct CompatTranscription: Sendable {
    public let client: ProviderClient
    public var path = "/audio/transcriptions"
    public var upload: AudioUpload

    /// The formats this shape knows how to read back.
    public static let readableFormats: Set<String> = ["json", "text", "verbose_json"]

    public init(client: ProviderClient, upload: AudioUpload) {
        self.client = client
        self.upload = upload
    }

    /// The multipart body, after checking what can be checked before a
    /// request. Uses the request's `language`, `prompt`, `temperature`,
    /// `timestamp_granularities` and `file_name` (the client's upload name,
    /// for the container type). `noTimestamps` completes the message when
    /// timestamps are asked with a format that has none.
    public static func form(_ r: TranscriptionRequest, audio: AudioData, model: String, responseFormat: String,
                            upload: AudioUpload, noTimestamps: String) throws -> MultipartForm {
        if let options = r.options, options != .null, options.objectValue == nil {
            throw VoxPluginError.invalidRequest("options: must be an object")
        }
        let file = try upload.file(for: audio, clientName: r.fileName)
        var form = MultipartForm()
        form.file("file", filename: file.filename, contentType: file.contentType, file.bytes)
        form.field("model", model)
        // `language`: ISO-639-1, so a BCP 47 tag loses its region ("en-US" → "en").
        if let lang = r.language, !lang.isEmpty {
            form.field("language", String(lang.split(separator: "-").first ?? Substring(lang)).lowercased())
        }
        if let prompt = r.prompt, !prompt.isEmpty { form.field("prompt", prompt) }
        form.field("response_format", responseFormat)
        if let v = r.temperature {
            // `temperature`: 0–1.
            guard (0...1).contains(v) else { throw VoxPluginError.invalidRequest("temperature: must be a number in 0…1") }
            form.field("temperature", String(v))
        }
        if let values = r.timestampGranularities, !values.isEmpty {
            guard values.allSatisfy({ $0 == "word" || $0 == "segment" }) else {
                throw VoxPluginError.invalidRequest("timestamp_granularities: must be \"word\" and/or \"segment\"")
            }
            // `timestamp_granularities[]`: "needs verbose_json".
            guard responseFormat == "verbose_json" else {
                throw VoxPluginError.invalidRequest("timestamp_granularities: timestamps need response_format verbose_json, not \(responseFormat); \(noTimestamps)")
            }
            // Arrays are sent with a [] suffix, as the official SDKs do.
            for v in values { form.field("timestamp_granularities[]", v) }
        }
        return form
    }

    /// Builds the form, sends it, emits the `transcript` event.
    public func run(_ r: TranscriptionRequest, audio: AudioData, model: String, responseFormat: String, noTimestamps: String,
                    output: EventOutput) async throws -> OperationResult {
        precondition(Self.readableFormats.contains(responseFormat), "response_format \(responseFormat) cannot be read back")
        let form = try Self.form(r, audio: audio, model: model, responseFormat: responseFormat, upload: upload, noTimestamps: noTimestamps)
        let what = "POST \(path)"
        let accept = responseFormat == "text" ? "text/plain" : "application/json"
        let response = try await client.send("POST", path, body: form.finished(), contentType: form.contentType, accept: accept)
        let bytes = try await client.collect(response, what: what)
        let localDuration = WAVFile.duration(of: audio)
        let answer: JSONValue
        if responseFormat == "text" {
            // `text` → the plain body (one line end at most after it).
            var text = String(decoding: bytes, as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            answer = .object(["text": .string(text)])
        } else {
            guard let parsed = try? VoxJSON.decode(JSONValue.self, from: Data(bytes)), parsed.objectValue != nil else {
                throw VoxPluginError(.unavailable, "\(client.name) sent malformed JSON for a transcription: \(ProviderErrors.snippet(bytes))", retriable: true)
            }
            answer = parsed
        }
        guard let text = answer["text"]?.stringValue else {
            throw VoxPluginError(.unavailable, "\(client.name) answered a transcription without text: \(ProviderErrors.snippet(bytes))", retriable: true)
        }
        let (event, usage) = Self.event(answer, text: text, requestLanguage: r.language, localDuration: localDuration)
        try await output.emit(event)
        return OperationResult(usage: usage)
    }

    /// The `transcript` event and the usage of a json / verbose_json answer.
    public static func event(_ answer: JSONValue, text: String, requestLanguage: String?, localDuration: Double?) -> (JSONValue, Usage) {
        var event: [String: JSONValue] = ["type": .string("transcript"), "text": .string(text)]
        if let lang = answer["language"]?.stringValue ?? requestLanguage {
            event["language"] = .string(WhisperLanguages.tag(for: lang))
        }
        // json usage: {"type":"duration","seconds":…} or {"type":"tokens",…}.
        let u = answer["usage"]
        let billedSeconds = u?["type"]?.stringValue == "duration" ? u?["seconds"]?.doubleValue : nil
        let duration = answer["duration"]?.doubleValue ?? billedSeconds ?? localDuration
        if let duration { event["duration"] = .number(duration) }
        if let segments = answer["segments"]?.arrayValue {
            event["segments"] = .array(segments.map { s in
                var o: [String: JSONValue] = [:]
                for key in ["id", "start", "end"] { if let v = s[key] { o[key] = v } }
                o["text"] = .string((s["text"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces))
                return .object(o)
            })
        }
        if let words = answer["words"]?.arrayValue {
            event["words"] = .array(words.map { w in
                var o: [String: JSONValue] = [:]
                for key in ["word", "start", "end"] { if let v = w[key] { o[key] = v } }
                return .object(o)
            })
        }
        var usage = Usage(audioSeconds: duration)
        if u?["type"]?.stringValue == "tokens" {
            usage.inputTokens = u?["input_tokens"]?.intValue
            usage.outputTokens = u?["output_tokens"]?.intValue
        }
        return (.object(event), usage)
    }
}

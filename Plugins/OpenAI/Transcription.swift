import Foundation
import ProviderSupport
import VoxPluginKit

/// `stt.transcribe`: POST {base}/audio/transcriptions as multipart/form-data
/// (openai.md "POST /audio/transcriptions"), answered by one `transcript`
/// event.
struct TranscriptionOperation {
    let client: ProviderClient
    /// whisper-1 answers `verbose_json` (language, duration, segments,
    /// words); the gpt-4o(-mini)-transcribe models take "json only", and so
    /// do the other newer models as far as openai.md tells.
    static func responseFormat(for model: String) -> String {
        model.hasPrefix("whisper") ? "verbose_json" : "json"
    }

    /// The multipart body, after checking what can be checked before a request.
    /// Uses the request's `temperature`, `timestamp_granularities` and
    /// `file_name` (the client's upload name, for the container type).
    static func form(_ r: TranscriptionRequest, audio: AudioData) throws -> (form: MultipartForm, model: String) {
        let model = r.model ?? OpenAICatalog.defaultSTTModel
        if let options = r.options, options != .null, options.objectValue == nil {
            throw VoxPluginError.invalidRequest("options: must be an object")
        }
        let file = try UploadFormat.file(for: audio, clientName: r.fileName)
        let format = responseFormat(for: model)
        var form = MultipartForm()
        form.file("file", filename: file.filename, contentType: file.contentType, file.bytes)
        form.field("model", model)
        // `language`: ISO-639-1, so a BCP 47 tag loses its region ("en-US" → "en").
        if let lang = r.language, !lang.isEmpty {
            form.field("language", String(lang.split(separator: "-").first ?? Substring(lang)).lowercased())
        }
        if let prompt = r.prompt, !prompt.isEmpty { form.field("prompt", prompt) }
        form.field("response_format", format)
        if let v = r.temperature {
            // `temperature`: 0–1.
            guard (0...1).contains(v) else { throw VoxPluginError.invalidRequest("temperature: must be a number in 0…1") }
            form.field("temperature", String(v))
        }
        if let values = r.timestampGranularities, !values.isEmpty {
            guard values.allSatisfy({ $0 == "word" || $0 == "segment" }) else {
                throw VoxPluginError.invalidRequest("timestamp_granularities: must be \"word\" and/or \"segment\"")
            }
            // "needs verbose_json (whisper-1)".
            guard format == "verbose_json" else {
                throw VoxPluginError.invalidRequest("timestamp_granularities: \(model) gives no timestamps; use whisper-1")
            }
            // Arrays are sent with a [] suffix, as the official SDKs do.
            for v in values { form.field("timestamp_granularities[]", v) }
        }
        return (form, model)
    }

    func run(_ r: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult {
        let (form, _) = try Self.form(r, audio: audio)
        let path = "/audio/transcriptions"
        let response = try await client.send("POST", path, body: form.finished(), contentType: form.contentType, accept: "application/json")
        let bytes = try await client.collect(response, what: "POST \(path)")
        guard let answer = try? VoxJSON.decode(JSONValue.self, from: Data(bytes)), answer.objectValue != nil else {
            throw VoxPluginError(.unavailable, "openai sent malformed JSON for a transcription: \(ProviderErrors.snippet(bytes))", retriable: true)
        }
        guard let text = answer["text"]?.stringValue else {
            throw VoxPluginError(.unavailable, "openai answered a transcription without text: \(ProviderErrors.snippet(bytes))", retriable: true)
        }
        let (event, usage) = Self.event(answer, text: text, requestLanguage: r.language, localDuration: WAVFile.duration(of: audio))
        try await output.emit(event)
        return OperationResult(usage: usage)
    }

    /// The `transcript` event and the usage of a json / verbose_json answer.
    static func event(_ answer: JSONValue, text: String, requestLanguage: String?, localDuration: Double?) -> (JSONValue, Usage) {
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

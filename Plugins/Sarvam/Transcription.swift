import Foundation
import ProviderSupport
import VoxPluginKit

/// `stt.transcribe`: POST {base}/speech-to-text, multipart (sarvam.md
/// "Speech-to-text REST"), answered by one `transcript` event.
struct TranscriptionOperation {
    let client: ProviderClient
    /// The containers Sarvam takes include all of voxd's upload encodings
    /// (wav mp3 ogg/opus flac webm mp4/m4a); raw pcm is wrapped in a WAV
    /// header, so no `input_audio_codec` is needed. No size limit is
    /// documented; the length limit below is.
    static let upload = AudioUpload(provider: "sarvam", maxBytes: nil)
    /// "Max ~30 s audio (longer → Batch job API)".
    static let maxSeconds = 30.0

    /// The multipart body, after every check that can be made before a
    /// request. Request fields: `model`, `language` (→ `language_code`,
    /// `unknown` when absent), `timestamp_granularities` (["segment"] →
    /// `with_timestamps`), `file_name`. `options`: `mode` (saaras:v3/v4),
    /// `keyterms` (saaras:v4), `with_timestamps`.
    static func form(_ r: TranscriptionRequest, audio: AudioData) throws -> (form: MultipartForm, model: String, language: String) {
        let model = r.model ?? SarvamCatalog.defaultSTTModel
        guard SarvamCatalog.sttModels.contains(model) else {
            throw VoxPluginError.notFound("sarvam has no speech-to-text model \"\(model)\"; its models are \(SarvamCatalog.sttModels.joined(separator: ", "))")
        }
        if let options = r.options, options != .null, options.objectValue == nil {
            throw VoxPluginError.invalidRequest("options: must be an object")
        }
        if let p = r.prompt, !p.isEmpty {
            throw VoxPluginError.invalidRequest("prompt: sarvam's speech-to-text takes no prompt; leave it out")
        }
        if r.temperature != nil {
            throw VoxPluginError.invalidRequest("temperature: sarvam's speech-to-text takes no temperature; leave it out")
        }
        if let seconds = WAVFile.duration(of: audio), seconds > maxSeconds {
            throw VoxPluginError.invalidRequest(String(format: "input audio: %.1f s; sarvam's /speech-to-text takes at most 30 s per request (longer audio needs Sarvam's batch job API, which this plugin does not use): cut the audio into pieces of 30 s or less", seconds))
        }
        let languages = SarvamLanguages.stt(model: model)
        var language = "unknown"
        if let asked = r.language, !asked.isEmpty, asked.lowercased() != "unknown" {
            guard let code = SarvamLanguages.code(for: asked, in: languages) else {
                throw VoxPluginError.invalidRequest("language: sarvam \(model) does not transcribe \"\(asked)\"; it takes \(languages.joined(separator: ", ")) (or none, to detect it)")
            }
            language = code
        }
        let o = r.options?.objectValue ?? [:]
        var timestamps = false
        if let values = r.timestampGranularities, !values.isEmpty {
            // `with_timestamps`: "chunk-level (phrase) timestamps, not per word".
            guard values.allSatisfy({ $0 == "segment" }) else {
                throw VoxPluginError.invalidRequest("timestamp_granularities: sarvam gives phrase (segment) timestamps only, not \(values.filter { $0 != "segment" }.joined(separator: ", "))")
            }
            timestamps = true
        }
        if let v = o["with_timestamps"], v != .null {
            guard let b = v.boolValue else { throw VoxPluginError.invalidRequest("options.with_timestamps: must be true or false") }
            timestamps = timestamps || b
        }
        let file = try upload.file(for: audio, clientName: r.fileName)
        var form = MultipartForm()
        form.file("file", filename: file.filename, contentType: file.contentType, file.bytes)
        form.field("model", model)
        if let v = o["mode"], v != .null {
            guard SarvamCatalog.saarasModes.contains(model) else {
                throw VoxPluginError.invalidRequest("options.mode: only \(SarvamCatalog.saarasModes.sorted().joined(separator: " and ")) take a mode, not \(model)")
            }
            guard let mode = v.stringValue, SarvamCatalog.modes.contains(mode) else {
                throw VoxPluginError.invalidRequest("options.mode: must be one of \(SarvamCatalog.modes.joined(separator: ", "))")
            }
            form.field("mode", mode)
        }
        form.field("language_code", language)
        if timestamps { form.field("with_timestamps", "true") }
        if let v = o["keyterms"], v != .null {
            // "saaras:v4 only; ONE form field holding a JSON array string (≤50 × 64 chars)".
            guard model == "saaras:v4" else { throw VoxPluginError.invalidRequest("options.keyterms: only saaras:v4 takes keyterms, not \(model)") }
            guard let terms = v.arrayValue?.compactMap(\.stringValue), terms.count == v.arrayValue?.count,
                  (1...50).contains(terms.count), terms.allSatisfy({ !$0.isEmpty && $0.count <= 64 }) else {
                throw VoxPluginError.invalidRequest("options.keyterms: must be 1…50 strings of at most 64 characters")
            }
            form.field("keyterms", VoxJSON.string(JSONValue.array(terms.map(JSONValue.string))))
        }
        return (form, model, language)
    }

    func run(_ r: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult {
        let (form, _, language) = try Self.form(r, audio: audio)
        let path = "/speech-to-text"
        let response = try await client.send("POST", path, body: form.finished(), contentType: form.contentType, accept: "application/json")
        let answer = try client.parse(try await client.collect(response, what: "POST \(path)"), what: "POST \(path)")
        guard let text = answer["transcript"]?.stringValue else {
            throw VoxPluginError(.unavailable, "sarvam answered a transcription without a transcript: \(ProviderErrors.snippet(VoxJSON.string(answer)))", retriable: true)
        }
        let duration = WAVFile.duration(of: audio)
        var event: [String: JSONValue] = ["type": .string("transcript"), "text": .string(text)]
        // `language_code`: what was asked, or what was detected (hi-IN is BCP 47 already).
        if let lang = answer["language_code"]?.stringValue ?? (language == "unknown" ? nil : language) { event["language"] = .string(lang) }
        if let duration { event["duration"] = .number(duration) }
        // `timestamps`: {"words": [phrase…], "start_time_seconds": […], "end_time_seconds": […]}.
        if let ts = answer["timestamps"], ts != .null {
            let phrases = ts["words"]?.arrayValue ?? [], starts = ts["start_time_seconds"]?.arrayValue ?? [], ends = ts["end_time_seconds"]?.arrayValue ?? []
            let n = min(phrases.count, starts.count, ends.count)
            event["segments"] = .array((0..<n).map { i in
                .object(["id": .number(Double(i)), "start": starts[i], "end": ends[i],
                         "text": .string((phrases[i].stringValue ?? "").trimmingCharacters(in: .whitespaces))])
            })
        }
        try await output.emit(JSONValue.object(event))
        return OperationResult(usage: Usage(audioSeconds: duration))
    }
}

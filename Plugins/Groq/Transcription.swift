import Foundation
import ProviderSupport
import VoxPluginKit

/// `stt.transcribe`: POST {base}/audio/transcriptions, multipart (groq.md
/// "Audio transcriptions"): the OpenAI-compatible form and answer
/// (ProviderSupport's CompatTranscription); Groq's own is the models and
/// the formats it answers in.
struct TranscriptionOperation {
    let client: ProviderClient
    /// "File limit 25 MB (free) / 100 MB via url (dev tier)": voxd uploads
    /// the file itself, so 25 MB.
    static let upload = AudioUpload(provider: "groq", maxBytes: 25 * 1024 * 1024)
    /// `response_format`: "json (default), text, verbose_json — srt and vtt
    /// are not supported".
    static let formats = ["json", "text", "verbose_json"]

    /// `options.response_format` when the request names one; verbose_json
    /// otherwise, which carries language, duration, segments and words.
    static func responseFormat(_ r: TranscriptionRequest) throws -> String {
        guard let v = r.options?["response_format"], v != .null else { return "verbose_json" }
        guard let f = v.stringValue else { throw VoxPluginError.invalidRequest("options.response_format: must be a string") }
        if f == "srt" || f == "vtt" {
            throw VoxPluginError.invalidRequest("options.response_format: groq does not support \(f) (only \(formats.joined(separator: ", "))); voxd's /v1/audio/transcriptions renders \(f) itself from verbose_json")
        }
        guard formats.contains(f) else {
            throw VoxPluginError.invalidRequest("options.response_format: \"\(f)\" is not one of \(formats.joined(separator: ", "))")
        }
        return f
    }

    func run(_ r: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult {
        let model = r.model ?? GroqCatalog.defaultSTTModel
        let format = try Self.responseFormat(r)
        return try await CompatTranscription(client: client, upload: Self.upload)
            .run(r, audio: audio, model: model, responseFormat: format,
                 noTimestamps: "leave options.response_format unset (verbose_json) for timestamps", output: output)
    }
}

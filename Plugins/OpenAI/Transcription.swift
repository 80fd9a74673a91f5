import Foundation
import ProviderSupport
import VoxPluginKit

/// `stt.transcribe`: POST {base}/audio/transcriptions as multipart/form-data
/// (openai.md "POST /audio/transcriptions"), answered by one `transcript`
/// event. The form and the answer are the OpenAI-compatible shape shared
/// with Groq (ProviderSupport's CompatTranscription); what is OpenAI's own
/// is the model and the format to ask for.
struct TranscriptionOperation {
    let client: ProviderClient
    /// "25 MB limit (guide)".
    static let upload = AudioUpload(provider: "openai", maxBytes: 25 * 1024 * 1024)

    /// whisper-1 answers `verbose_json` (language, duration, segments,
    /// words); the gpt-4o(-mini)-transcribe models take "json only", and so
    /// do the other newer models as far as openai.md tells.
    static func responseFormat(for model: String) -> String {
        model.hasPrefix("whisper") ? "verbose_json" : "json"
    }

    func run(_ r: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult {
        let model = r.model ?? OpenAICatalog.defaultSTTModel
        return try await CompatTranscription(client: client, upload: Self.upload)
            .run(r, audio: audio, model: model, responseFormat: Self.responseFormat(for: model),
                 noTimestamps: "\(model) gives no timestamps; use whisper-1", output: output)
    }
}

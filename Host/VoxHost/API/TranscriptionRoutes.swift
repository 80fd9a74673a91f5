import Foundation
import HTTPTypes
import Hummingbird
import MultipartKit
import NIOCore
import VoxPluginKit

/// `POST /v1/audio/transcriptions`: OpenAI's multipart form (file, model,
/// language, prompt, response_format, temperature, timestamp_granularities[]).
struct TranscriptionRoutes {
    let daemon: VoxDaemon

    func register(on router: Router<VoxRequestContext>) {
        router.post("/v1/audio/transcriptions") { request, _ in
            let input = try await Self.parse(request, limit: daemon.config.maxUploadBytes)
            let (provider, model, transcript, attempts) = try await daemon.transcribe(input)
            let (type, body) = try transcript.rendered(input.responseFormat)
            var headers: HTTPFields = [.contentType: type]
            headers[.xVoxProvider] = provider
            headers[.xVoxAttempts] = String(attempts)
            if let model { headers[.xVoxModel] = "\(provider)/\(model)" }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    static func parse(_ request: Request, limit: Int) async throws -> TranscriptionInput {
        let parts = try await FormParts.read(request, limit: limit, what: "send multipart/form-data with a file part (as OpenAI's /audio/transcriptions)")
        var input = TranscriptionInput(file: [])
        var sawFile = false
        for part in parts {
            let text = part.text
            switch part.name {
            case "file":
                sawFile = true
                input.file = part.bytes
                input.fileName = part.fileName
            case "model": input.model = text
            case "language": input.language = text.isEmpty ? nil : text
            case "prompt": input.prompt = text
            case "response_format": input.responseFormat = text
            case "temperature":
                guard let t = Double(text), (0...1).contains(t) else { throw VoxError(.invalidRequest, "temperature must be a number in 0…1") }
                input.temperature = t
            case "timestamp_granularities[]", "timestamp_granularities": input.timestampGranularities.append(text)
            default: throw VoxError(.invalidRequest, "unknown form field \"\(part.name)\"")
            }
        }
        guard sawFile else { throw VoxError(.invalidRequest, "the form has no file part") }
        return input
    }
}

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
            let (provider, model, transcript) = try await daemon.transcribe(input)
            let (type, body) = try transcript.rendered(input.responseFormat)
            var headers: HTTPFields = [.contentType: type]
            headers[HTTPField.Name("X-Vox-Provider")!] = provider
            if let model { headers[HTTPField.Name("X-Vox-Model")!] = "\(provider)/\(model)" }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    static func parse(_ request: Request, limit: Int) async throws -> TranscriptionInput {
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/form-data"),
              let boundary = boundary(of: type) else {
            throw VoxError(.invalidRequest, "send multipart/form-data with a file part (as OpenAI's /audio/transcriptions)")
        }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch is NIOTooManyBytesError {
            throw VoxError(.invalidRequest, "the upload is larger than the limit of \(limit) bytes (limits.max_upload_bytes)", status: .contentTooLarge)
        }
        var parts: [(headers: [(String, String)], body: ByteBuffer)] = []
        var headers: [(String, String)] = []
        var body = ByteBuffer()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { headers.append(($0, $1)) }
        parser.onBody = { body.writeBuffer(&$0) }
        parser.onPartComplete = {
            parts.append((headers, body))
            headers = []
            body = ByteBuffer()
        }
        do { try parser.execute(buffer) } catch {
            throw VoxError(.invalidRequest, "malformed multipart body: \(error)")
        }
        var input = TranscriptionInput(file: [])
        var sawFile = false
        for part in parts {
            let disposition = part.headers.first { $0.0.lowercased() == "content-disposition" }?.1 ?? ""
            guard let name = parameter("name", in: disposition) else { continue }
            let text = String(buffer: part.body)
            switch name {
            case "file":
                sawFile = true
                input.file = Array(part.body.readableBytesView)
                input.fileName = parameter("filename", in: disposition)
            case "model": input.model = text
            case "language": input.language = text.isEmpty ? nil : text
            case "prompt": input.prompt = text
            case "response_format": input.responseFormat = text
            case "temperature":
                guard let t = Double(text), (0...1).contains(t) else { throw VoxError(.invalidRequest, "temperature must be a number in 0…1") }
                input.temperature = t
            case "timestamp_granularities[]", "timestamp_granularities": input.timestampGranularities.append(text)
            default: throw VoxError(.invalidRequest, "unknown form field \"\(name)\"")
            }
        }
        guard sawFile else { throw VoxError(.invalidRequest, "the form has no file part") }
        return input
    }

    static func boundary(of contentType: String) -> String? {
        parameter("boundary", in: contentType)
    }

    /// `key=value` or `key="value"` from a header's parameters.
    static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";") {
            let kv = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, kv[0].lowercased() == key else { continue }
            var v = kv[1]
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }
        return nil
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import VoxPluginKit

/// `POST /v1/audio/speech`: audio streams to the client as the plugin makes it.
struct SpeechRoutes {
    let daemon: VoxDaemon

    func register(on router: Router<VoxRequestContext>) {
        router.post("/v1/audio/speech") { request, context in
            let body = try await request.decodeJSON(SpeechRequest.self, context: context)
            let started = try await daemon.startSpeech(body)
            return Self.stream(started, logger: context.logger)
        }
    }

    /// Everything that can fail cleanly has failed by now: the head goes out,
    /// then the chunks. A failure after the first byte can only cut the
    /// stream short (the chunked body ends without its terminator).
    static func stream(_ s: StartedSpeech, logger: Logger) -> Response {
        var headers: HTTPFields = [.contentType: s.output.contentType]
        headers[.xVoxProvider] = s.provider
        if let m = s.model { headers[.xVoxModel] = m }
        if let v = s.voice { headers[.xVoxVoice] = v }
        headers[.xVoxAttempts] = String(s.attempts)
        if let r = s.output.sampleRate { headers[.xVoxSampleRate] = String(r) }
        let op = s.operation
        let lease = OperationLease(op)
        let body = ResponseBody { writer in
            _ = lease
            do {
                var first = s.firstChunk
                if case .wav(let rate, let channels) = s.output { first = WAV.header(sampleRate: rate, channels: channels) + first }
                try await writer.write(ByteBuffer(bytes: first))
                // Chunks that follow a write closely are gathered into the
                // next one (ChatRoutes.gather: at most 0.25 ms added).
                var lastWrite = DispatchTime.now().uptimeNanoseconds
                while let batch = try await op.nextBatch(limit: 256, gather: { ChatRoutes.gather(since: lastWrite) }) {
                    var buffer = ByteBuffer()
                    for case .audio(_, let bytes) in batch { buffer.writeBytes(s.resampler?.process(bytes) ?? bytes) }
                    if buffer.readableBytes > 0 {
                        try await writer.write(buffer)
                        lastWrite = DispatchTime.now().uptimeNanoseconds
                    }
                }
                try await writer.finish(nil)
            } catch {
                op.cancel()
                logger.warning("speech stream ended early", metadata: ["provider": .string(s.provider), "error": .string("\(error)")])
                throw error
            }
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}

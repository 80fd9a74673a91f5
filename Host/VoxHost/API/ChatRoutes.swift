import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import VoxPluginKit

/// `POST /v1/chat/completions` in OpenAI's shapes: one JSON completion, or
/// with `stream: true` server-sent events ending in `data: [DONE]`.
struct ChatRoutes {
    let daemon: VoxDaemon

    func register(on router: Router<VoxRequestContext>) {
        router.post("/v1/chat/completions") { request, context in
            let body = try await request.decodeJSON(JSONValue.self, context: context)
            let chat = try await daemon.startChat(body)
            return chat.stream ? Self.stream(chat, logger: context.logger) : try Self.whole(chat)
        }
    }

    static func headers(_ chat: StartedChat, contentType: String) -> HTTPFields {
        var h: HTTPFields = [.contentType: contentType]
        h[.xVoxProvider] = chat.provider
        h[.xVoxModel] = chat.model
        h[.xVoxAttempts] = String(chat.attempts)
        return h
    }

    /// A whole answer: the events gathered by `attemptChat` as one completion.
    static func whole(_ chat: StartedChat) throws -> Response {
        var assembler = ChatAssembler(chat)
        for e in chat.collected ?? [] { assembler.add(e) }
        let data = try VoxJSON.encode(assembler.completion(chat.finalResult))
        return Response(status: .ok, headers: headers(chat, contentType: "application/json"), body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Nagle for tokens: an event that arrives within this long of the
    /// previous write waits out the rest of it, gathering the events behind
    /// it into the same write. A stream faster than 4,000 events/s then
    /// costs a write (and a client read) per handful of tokens instead of
    /// one each, the larger part of voxd's cost on a fast stream; a slower
    /// one, and the first event, go out at once as before. At most 0.25 ms
    /// added to a token's latency.
    static let coalesceNs: UInt64 = 250_000

    /// The stream's last event's data.
    static let done = Array("[DONE]".utf8)

    static func gather(since lastWrite: UInt64) -> UInt64 {
        let elapsed = DispatchTime.now().uptimeNanoseconds &- lastWrite
        return elapsed < coalesceNs ? coalesceNs - elapsed : 0
    }

    /// SSE: a role chunk, a chunk per event, the finish chunk, the usage chunk
    /// when asked, `[DONE]`. A failure after the head becomes an `error` event
    /// in the stream (the status is already sent), then the stream ends.
    static func stream(_ chat: StartedChat, logger: Logger) -> Response {
        var h = headers(chat, contentType: "text/event-stream")
        h[.cacheControl] = "no-cache"
        let lease = OperationLease(chat.operation)
        let body = ResponseBody { writer in
            _ = lease
            var assembler = ChatAssembler(chat)
            do {
                // The role chunk and the first words go out in one write.
                var opening = ByteBuffer()
                opening.writeSSEData(assembler.roleChunkBytes())
                if let first = chat.first { assembler.add(first); opening.writeSSEData(assembler.chunkBytes(for: first)) }
                try await writer.write(opening)
                // Events that piled up while the client was slower go out
                // in one write; so do events that follow the last write
                // within `coalesceNs` (see there).
                var lastWrite = DispatchTime.now().uptimeNanoseconds
                while let batch = try await chat.operation.nextBatch(limit: 256, gather: { Self.gather(since: lastWrite) }) {
                    var buffer = ByteBuffer()
                    for out in batch {
                        guard case .event(let json) = out, let e = ChatEvent(json: json) else { continue }
                        assembler.add(e)
                        buffer.writeSSEData(assembler.chunkBytes(for: e))
                    }
                    if buffer.readableBytes > 0 {
                        try await writer.write(buffer)
                        lastWrite = DispatchTime.now().uptimeNanoseconds
                    }
                }
                // The finish chunk, the usage chunk when asked, and [DONE]: one write.
                let result = chat.operation.result
                var closing = ByteBuffer()
                closing.writeSSEData(assembler.chunk(delta: [:], finishReason: assembler.finishReason(result)))
                if chat.includeUsage { closing.writeSSEData(assembler.usageChunk(result)) }
                closing.writeSSEData(Self.done)
                try await writer.write(closing)
                try await writer.finish(nil)
            } catch let e as VoxPluginError {
                logger.warning("chat stream failed after the head", metadata: ["provider": .string(chat.provider), "error": .string("\(e)")])
                var event = ByteBuffer()
                event.writeSSEData(VoxError(e, provider: chat.provider).json)
                try? await writer.write(event)
                try await writer.finish(nil)
            } catch {
                chat.operation.cancel()
                throw error
            }
        }
        return Response(status: .ok, headers: h, body: body)
    }
}

extension ByteBuffer {
    /// One server-sent event carrying `data` (JSON, or `[DONE]`), ended by
    /// its blank line.
    mutating func writeSSEData(_ data: [UInt8]) {
        writeStaticString("data: ")
        writeBytes(data)
        writeStaticString("\n\n")
    }

    mutating func writeSSEData(_ json: JSONValue) {
        writeStaticString("data: ")
        writeString(json.serialized)
        writeStaticString("\n\n")
    }
}

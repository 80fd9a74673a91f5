import Foundation
import Hummingbird

/// GET /v1/models (openai.md "GET /models").
extension OpenAIFake {
    /// What the fake's account "has": the documented audio and chat models,
    /// plus a few voxd cannot use (embeddings, images, moderation).
    public static let modelIDs = [
        "gpt-4o-mini", "gpt-4o", "gpt-4.1-nano", "tts-1", "tts-1-hd", "gpt-4o-mini-tts", "whisper-1", "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe", "text-embedding-3-small", "dall-e-3", "omni-moderation-latest",
    ]

    func models(_ r: RecordedRequest) -> Response {
        if !r.body.isEmpty { core.violation("\(r.path): GET with a body (\(r.body.count) bytes)") }
        if case .malformedJSON = core.behaviour(r.path) {
            return .fake(200, contentType: "application/json", Array("{\"object\":\"list\",\"data\":[{\"id\":".utf8), headers: commonHeaders())
        }
        let data = Self.modelIDs.enumerated().map { i, id in
            FakeJSON.object([("id", .string(id)), ("object", .string("model")), ("created", .int(1_700_000_000 + i)),
                             ("owned_by", .string(id.hasPrefix("gpt") ? "system" : "openai"))])
        }
        let body = FakeJSON.object([("object", .string("list")), ("data", .array(data))])
        return .fake(200, contentType: "application/json", body.bytes, headers: commonHeaders())
    }
}

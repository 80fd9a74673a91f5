import Foundation
import HTTPTypes
import Hummingbird

/// A loopback Sarvam AI for tests: the request and response shapes of
/// /work/shared/providers/sarvam.md (POST /speech-to-text, POST
/// /text-to-speech, POST /v1/chat/completions and /v2/chat/completions,
/// GET /v2/models), a strict check of every request (`violations`), a
/// record of them (`requests`), and scripted failures per path (`script`).
/// Sarvam publishes no OpenAPI file (sarvam.md "Sources"); the field lists
/// checked here are sarvam.md's tables (from `sarvamai` SDK 0.1.39) and
/// the speaker catalog specs/sarvam/tts-speakers.json.
public final class SarvamFake: LoopbackFake, @unchecked Sendable {
    /// The key the fake accepts unless started with another.
    public static let defaultAPIKey = "sk_voxdtest_0123456789abcdef"

    public let apiKey: String

    init(apiKey: String) {
        self.apiKey = apiKey
        super.init()
    }

    public static func start(apiKey: String = defaultAPIKey) async throws -> SarvamFake {
        let fake = SarvamFake(apiKey: apiKey)
        let router = Router()
        router.post("/speech-to-text") { request, _ in try await fake.handle(request) { fake.speechToText($0) } }
        router.post("/text-to-speech") { request, _ in try await fake.handle(request) { fake.textToSpeech($0) } }
        router.post("/v1/chat/completions") { request, _ in try await fake.handle(request) { fake.chat($0) } }
        router.post("/v2/chat/completions") { request, _ in try await fake.handle(request) { fake.chat($0) } }
        router.get("/v2/models") { request, _ in try await fake.handle(request) { fake.models($0) } }
        fake.core.catchAll(router) { _ in fake.errorResponse(404, "Not Found", code: "not_found_error") }
        fake.server = try await FakeHTTPServer.start(router)
        return fake
    }

    public var baseURL: String { root }

    // MARK: what tests read and set

    public func requests(to path: String) -> [RecordedRequest] { requests.filter { $0.path == path } }
    public func script(_ path: String, _ b: FakeBehaviour) { core.script(path, b) }

    @FakeSetting public var chatReply: String = "नमस्ते from the Sarvam fake."
    @FakeSetting public var transcriptText: String = "नमस्ते दुनिया। यह नकली प्रतिलेख है।"

    // MARK: shared by the endpoints

    func requestID() -> String { "20260101_fake\(core.next())" }

    /// Records, checks auth (`api-subscription-key`, sarvam.md "Basics"),
    /// applies `.status` and `.stallBeforeFirstByte`, then lets the endpoint answer.
    func handle(_ request: Request, _ endpoint: @Sendable (RecordedRequest) -> Response) async throws -> Response {
        try await core.handle(request, check: check, scriptedError: scriptedError, endpoint)
    }

    func check(_ r: RecordedRequest) -> Response? {
        // No endpoint voxd uses takes query parameters.
        if let q = r.query, !q.isEmpty { core.violation("\(r.path): unexpected query \"\(q)\"") }
        if r.header("authorization") != nil { core.violation("\(r.path): an Authorization header (Sarvam authenticates with api-subscription-key)") }
        // "auth failure: 403 (not 401)".
        guard let key = r.header("api-subscription-key"), !key.isEmpty else {
            core.violation("\(r.path): no api-subscription-key header")
            return errorResponse(403, "Authentication failed: api-subscription-key header is missing", code: "authentication_error")
        }
        guard key == apiKey else {
            return errorResponse(403, "Invalid API key provided. Please check your api-subscription-key.", code: "invalid_api_key_error")
        }
        return nil
    }

    /// sarvam.md "Errors": `{"error":{"message","code","request_id"}}`.
    func errorResponse(_ status: Int, _ message: String, code: String, headers: [(String, String)] = []) -> Response {
        let body = FakeJSON.object([("error", .object([("message", .string(message)), ("code", .string(code)), ("request_id", .string(requestID()))]))])
        return .fake(status, contentType: "application/json", body.bytes, headers: headers)
    }

    /// The codes sarvam.md lists, per status. Sarvam documents no rate-limit
    /// headers; `retry-after` is sent only when a test scripts one.
    func scriptedError(_ status: Int, retryAfter: Int?) -> Response {
        let headers = retryAfter.map { [("retry-after", String($0))] } ?? []
        switch status {
        case 400: return errorResponse(400, "Invalid request: the field 'model' has an invalid value", code: "invalid_request_error", headers: headers)
        case 403: return errorResponse(403, "Invalid API key provided.", code: "invalid_api_key_error", headers: headers)
        case 404: return errorResponse(404, "The requested resource was not found", code: "not_found_error", headers: headers)
        case 422: return errorResponse(422, "Unprocessable entity: text is too long", code: "unprocessable_entity_error", headers: headers)
        case 429: return errorResponse(429, "Rate limit exceeded. Please slow down your requests.", code: "rate_limit_exceeded_error", headers: headers)
        case 503: return errorResponse(503, "The service is overloaded. Please try again later.", code: "internal_server_error", headers: headers)
        case 500...599: return errorResponse(status, "Internal server error", code: "internal_server_error", headers: headers)
        default: return errorResponse(status, "Scripted error \(status).", code: "invalid_request_error", headers: headers)
        }
    }

    // MARK: GET /v2/models

    /// Sarvam's chat models (SDK 0.1.39) and two of the third-party models
    /// /v2/chat/completions serves (sarvam.md "Chat").
    public static let chatModels = ["sarvam-30b", "sarvam-105b", "sarvam-105b-conversations"]
    public static let thirdPartyModels = ["gemma4", "glm5.3"]

    func models(_ r: RecordedRequest) -> Response {
        if !r.body.isEmpty { core.violation("\(r.path): GET with a body") }
        if case .malformedJSON = core.behaviour(r.path) {
            return .fake(200, contentType: "application/json", Array("{\"object\":\"list\",\"data\":[".utf8))
        }
        let data = (Self.chatModels + Self.thirdPartyModels).enumerated().map { i, id in
            FakeJSON.object([("id", .string(id)), ("object", .string("model")), ("created", .int(1_760_000_000 + i)),
                             ("owned_by", .string(id.hasPrefix("sarvam") ? "sarvamai" : "third-party"))])
        }
        return .fake(200, contentType: "application/json", FakeJSON.object([("object", .string("list")), ("data", .array(data))]).bytes)
    }

    // MARK: POST /v1|v2/chat/completions

    /// sarvam.md "Chat" request fields.
    static let chatFields: Set<String> = [
        "model", "messages", "temperature", "top_p", "reasoning_effort", "max_tokens", "stream", "stop", "n", "seed",
        "frequency_penalty", "presence_penalty", "tools", "tool_choice", "response_format",
    ]

    func chat(_ r: RecordedRequest) -> Response {
        func bad(_ s: String) { core.violation("\(r.path): \(s)") }
        guard let body = core.jsonObject(r) else { return errorResponse(400, "Invalid JSON body", code: "invalid_request_error") }
        var ok = true
        for key in body.keys ?? [] where !Self.chatFields.contains(key) { bad("unknown field \"\(key)\""); ok = false }
        let model = body["model"]?.string ?? ""
        if model.isEmpty { bad("model must be a non-empty string"); ok = false }
        if (body["messages"]?.array ?? []).isEmpty { bad("messages must be a non-empty array"); ok = false }
        for (i, m) in (body["messages"]?.array ?? []).enumerated() where !["system", "user", "assistant", "tool"].contains(m["role"]?.string ?? "") {
            bad("messages[\(i)].role missing or unknown"); ok = false
        }
        for key in ["max_tokens", "n", "seed"] { if let v = body[key], !v.isNull, v.int == nil { bad("\(key) is \(v.typeName), not integer"); ok = false } }
        if let t = body["temperature"], !t.isNull, !(0...2).contains(t.number ?? -1) { bad("temperature must be in 0…2"); ok = false }
        if let s = body["stream"], s.bool == nil { bad("stream is \(s.typeName), not boolean"); ok = false }
        for (i, m) in (body["messages"]?.array ?? []).enumerated() {
            switch m["content"] {
            case .string?, .array?: break
            case .null?, nil: if m["role"]?.string != "assistant" { bad("messages[\(i)].content missing"); ok = false }
            default: bad("messages[\(i)].content is \(m["content"]!.typeName)"); ok = false
            }
        }
        guard ok else { return errorResponse(400, "Invalid chat request (see the fake's violations).", code: "invalid_request_error") }
        let served = r.path.hasPrefix("/v1/") ? Self.chatModels : Self.chatModels + Self.thirdPartyModels
        guard served.contains(model) else {
            return errorResponse(400, "Model '\(model)' is not supported at \(r.path). Supported: \(served.joined(separator: ", "))", code: "invalid_request_error")
        }
        let behaviour = core.behaviour(r.path)
        var words = FakeContent.fragments(chatReply)
        var calls: [FakeToolCall] = []
        switch behaviour {
        case .toolCalls(let c): calls = c
        case .slowStream(let n, _): words = (0..<n).map { $0 == 0 ? "word0" : " word\($0)" }
        default: break
        }
        let prompt = OpenAIFake.promptTokens(messages: body["messages"]?.array ?? [])
        guard body["stream"]?.bool == true else {
            var message: [(String, FakeJSON)] = [("role", .string("assistant")), ("content", calls.isEmpty ? .string(words.joined()) : .null)]
            if !calls.isEmpty {
                message.append(("tool_calls", .array(calls.enumerated().map { i, c in
                    .object([("id", .string("call_sarvam\(i)")), ("type", .string("function")),
                             ("function", .object([("name", .string(c.name)), ("arguments", .string(c.arguments))]))])
                })))
            }
            let body = FakeJSON.object([
                ("id", .string("chatcmpl-sarvam")), ("object", .string("chat.completion")), ("created", .int(1_760_000_000)), ("model", .string(model)),
                ("choices", .array([.object([("index", .int(0)), ("message", .object(message)),
                                             ("finish_reason", .string(calls.isEmpty ? "stop" : "tool_calls"))])])),
                ("usage", .object([("prompt_tokens", .int(prompt)), ("completion_tokens", .int(words.count)), ("total_tokens", .int(prompt + words.count))])),
            ])
            return core.json(body.bytes, behaviour: behaviour, headers: [])
        }
        // "Response/stream shapes = OpenAI": no usage without stream_options, which Sarvam does not document.
        func chunk(_ delta: [(String, FakeJSON)], finish: String? = nil) -> String {
            FakeJSON.object([("id", .string("chatcmpl-sarvam")), ("object", .string("chat.completion.chunk")), ("created", .int(1_760_000_000)),
                             ("model", .string(model)),
                             ("choices", .array([.object([("index", .int(0)), ("delta", .object(delta)),
                                                          ("finish_reason", finish.map { .string($0) } ?? .null)])]))]).text
        }
        var frames = [chunk([("role", .string("assistant")), ("content", .string(""))])]
        if calls.isEmpty {
            frames += words.map { chunk([("content", .string($0))]) }
        } else {
            for (i, call) in calls.enumerated() {
                frames.append(chunk([("tool_calls", .array([.object([("index", .int(i)), ("id", .string("call_sarvam\(i)")), ("type", .string("function")),
                                                                      ("function", .object([("name", .string(call.name)), ("arguments", .string(""))]))])]))]))
                for piece in OpenAIFake.thirds(call.arguments) {
                    frames.append(chunk([("tool_calls", .array([.object([("index", .int(i)), ("function", .object([("arguments", .string(piece))]))])]))]))
                }
            }
        }
        frames.append(chunk([], finish: calls.isEmpty ? "stop" : "tool_calls"))
        return core.sse(frames, behaviour: behaviour, headers: [])
    }
}

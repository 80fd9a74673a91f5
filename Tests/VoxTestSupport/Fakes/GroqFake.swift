import Foundation
import HTTPTypes
import Hummingbird

/// A loopback Groq for tests: the request and response shapes of
/// /work/shared/providers/groq.md (everything under /openai/v1: GET /models,
/// POST /chat/completions, /audio/transcriptions, /audio/speech), a strict
/// check of every request (`violations`), a record of them (`requests`),
/// and scripted failures per path (`script`). Groq publishes no API spec
/// (groq.md "Sources"); the field lists checked here are groq.md's tables,
/// which come from the `groq` SDK 1.7.0 types.
///
/// ```swift
/// let fake = try await GroqFake.start()
/// fake.script("/chat/completions", .status(429, retryAfter: 2))
/// … point the plugin's base_url at fake.baseURL …
/// XCTAssertEqual(fake.violations, [])
/// ```
public final class GroqFake: LoopbackFake, @unchecked Sendable {
    /// The key the fake accepts unless started with another (Groq keys are gsk_…).
    public static let defaultAPIKey = "gsk_voxdtest0123456789abcdefXYZ"
    static let prefix = "/openai/v1"

    public let apiKey: String

    init(apiKey: String) {
        self.apiKey = apiKey
        super.init()
    }

    public static func start(apiKey: String = defaultAPIKey) async throws -> GroqFake {
        let fake = GroqFake(apiKey: apiKey)
        let router = Router()
        router.get("\(prefix)/models") { request, _ in try await fake.handle(request) { fake.models($0) } }
        router.post("\(prefix)/chat/completions") { request, _ in try await fake.handle(request) { fake.chat($0) } }
        router.post("\(prefix)/audio/transcriptions") { request, _ in try await fake.handle(request) { fake.transcription($0) } }
        router.post("\(prefix)/audio/speech") { request, _ in try await fake.handle(request) { fake.speech($0) } }
        fake.core.catchAll(router) { r in
            fake.errorResponse(404, "Unknown request URL: \(r.method) \(r.path). Please check the URL for typos.", type: "invalid_request_error", code: "unknown_url")
        }
        fake.server = try await FakeHTTPServer.start(router)
        return fake
    }

    public var baseURL: String { "\(root)\(Self.prefix)" }

    // MARK: what tests read and set

    /// Requests to "/chat/completions" (or the full "/openai/v1/…" path).
    public func requests(to path: String) -> [RecordedRequest] { requests.filter { $0.path == Self.normalise(path) } }
    public func script(_ path: String, _ b: FakeBehaviour) { core.script(Self.normalise(path), b) }

    @FakeSetting public var chatReply: String = "Hello from the Groq fake."
    @FakeSetting public var transcriptText: String = "Hello there. This is the Groq fake transcript."

    static func normalise(_ path: String) -> String { path.hasPrefix(prefix) ? path : prefix + path }

    // MARK: shared by the endpoints

    /// groq.md "Rate limits": headers on every response (requests per day,
    /// tokens per minute, resets as duration strings) and the request id.
    func commonHeaders() -> [(String, String)] {
        [("x-request-id", "req_fake\(core.next())"), ("x-ratelimit-limit-requests", "14400"), ("x-ratelimit-limit-tokens", "6000"),
         ("x-ratelimit-remaining-requests", "14399"), ("x-ratelimit-remaining-tokens", "5990"),
         ("x-ratelimit-reset-requests", "6s"), ("x-ratelimit-reset-tokens", "100ms")]
    }

    /// Records, checks auth (`Authorization: Bearer gsk_…`), applies
    /// `.status` and `.stallBeforeFirstByte`, then lets the endpoint answer.
    func handle(_ request: Request, _ endpoint: @Sendable (RecordedRequest) -> Response) async throws -> Response {
        try await core.handle(request, check: check, scriptedError: scriptedError, endpoint)
    }

    func check(_ r: RecordedRequest) -> Response? {
        // No endpoint voxd uses takes query parameters.
        if let q = r.query, !q.isEmpty { core.violation("\(r.path): unexpected query \"\(q)\"") }
        guard let auth = r.header("authorization"), auth.hasPrefix("Bearer "), auth.count > 7 else {
            core.violation("\(r.path): no \"Authorization: Bearer <key>\" header")
            return errorResponse(401, "Invalid API Key", type: "invalid_request_error", code: "invalid_api_key")
        }
        guard String(auth.dropFirst(7)) == apiKey else {
            return errorResponse(401, "Invalid API Key", type: "invalid_request_error", code: "invalid_api_key")
        }
        return nil
    }

    /// OpenAI-compatible body (groq.md "Errors"): `{"error":{"message","type","code"}}`.
    func errorResponse(_ status: Int, _ message: String, type: String, code: String?, headers: [(String, String)] = []) -> Response {
        var err: [(String, FakeJSON)] = [("message", .string(message)), ("type", .string(type))]
        if let code { err.append(("code", .string(code))) }
        return .fake(status, contentType: "application/json", FakeJSON.object([("error", .object(err))]).bytes, headers: commonHeaders() + headers)
    }

    /// groq.md "Errors" per status; `retry-after` "only on 429" (and 5xx when scripted).
    func scriptedError(_ status: Int, retryAfter: Int?) -> Response {
        let headers = retryAfter.map { [("retry-after", String($0))] } ?? []
        switch status {
        case 400: return errorResponse(400, "'messages' : property 'messages' is missing", type: "invalid_request_error", code: nil, headers: headers)
        case 401: return errorResponse(401, "Invalid API Key", type: "invalid_request_error", code: "invalid_api_key", headers: headers)
        case 403: return errorResponse(403, "Organization has been restricted.", type: "permission_error", code: "organization_restricted", headers: headers)
        case 404: return errorResponse(404, "The model `llama-nope` does not exist or you do not have access to it.", type: "invalid_request_error", code: "model_not_found", headers: headers)
        case 413: return errorResponse(413, "Request Entity Too Large", type: "invalid_request_error", code: "request_too_large", headers: headers)
        case 429: return errorResponse(429, "Rate limit reached for model `llama-3.3-70b-versatile` on requests per minute (RPM): Limit 30, Used 30, Requested 1.", type: "requests", code: "rate_limit_exceeded", headers: headers)
        case 498: return errorResponse(498, "Flex tier capacity exceeded. Please try again later.", type: "capacity_exceeded", code: "capacity_exceeded", headers: headers)
        case 500...599: return errorResponse(status, "Internal Server Error", type: "internal_server_error", code: nil, headers: headers)
        default: return errorResponse(status, "Scripted error \(status).", type: "invalid_request_error", code: nil, headers: headers)
        }
    }

    // MARK: GET /models

    /// The fake account's models: groq.md's chat examples, both Whispers,
    /// both Orpheus models, a guard model voxd cannot use, and an inactive
    /// legacy PlayAI model.
    public static let modelIDs: [(id: String, owner: String, active: Bool)] = [
        ("llama-3.3-70b-versatile", "Meta", true), ("llama-3.1-8b-instant", "Meta", true), ("openai/gpt-oss-120b", "OpenAI", true),
        ("qwen/qwen3-32b", "Alibaba Cloud", true), ("groq/compound", "Groq", true), ("moonshotai/kimi-k2-instruct", "Moonshot AI", true),
        ("whisper-large-v3", "OpenAI", true), ("whisper-large-v3-turbo", "OpenAI", true),
        ("canopylabs/orpheus-v1-english", "Canopy Labs", true), ("canopylabs/orpheus-arabic-saudi", "Canopy Labs", true),
        ("meta-llama/llama-guard-4-12b", "Meta", true), ("playai-tts", "PlayAI", false),
    ]

    func models(_ r: RecordedRequest) -> Response {
        if !r.body.isEmpty { core.violation("\(r.path): GET with a body (\(r.body.count) bytes)") }
        if case .malformedJSON = core.behaviour(r.path) {
            return .fake(200, contentType: "application/json", Array("{\"object\":\"list\",\"data\":[{\"id\":".utf8), headers: commonHeaders())
        }
        let data = Self.modelIDs.enumerated().map { i, m in
            FakeJSON.object([("id", .string(m.id)), ("object", .string("model")), ("created", .int(1_730_000_000 + i)),
                             ("owned_by", .string(m.owner)), ("active", .bool(m.active)),
                             ("context_window", .int(m.id.contains("whisper") ? 448 : 131_072)), ("public_apps", .null),
                             ("max_completion_tokens", .int(m.id.contains("whisper") ? 448 : 32_768))])
        }
        return .fake(200, contentType: "application/json", FakeJSON.object([("object", .string("list")), ("data", .array(data))]).bytes,
                     headers: commonHeaders())
    }
}

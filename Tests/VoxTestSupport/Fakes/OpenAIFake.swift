import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A loopback OpenAI for tests: the real request and response shapes of
/// /work/shared/providers/openai.md (GET /v1/models, POST
/// /v1/chat/completions, /v1/audio/speech, /v1/audio/transcriptions), a
/// strict check of every request it gets (`violations`), a record of them
/// (`requests`), and scripted failures per path (`script`).
///
/// ```swift
/// let fake = try await OpenAIFake.start()
/// fake.script("/v1/chat/completions", .status(429, retryAfter: 2))
/// … point the plugin's base_url at fake.baseURL …
/// XCTAssertEqual(fake.violations, [])
/// await fake.stop()
/// ```
public final class OpenAIFake: LoopbackFake, @unchecked Sendable {
    /// How the fake answers a path (the shared behaviours, FakeCore.swift).
    public typealias Behaviour = FakeBehaviour
    public typealias ToolCall = FakeToolCall

    /// The key the fake accepts unless started with another.
    public static let defaultAPIKey = "sk-voxdtest-0123456789abcdef"

    public let apiKey: String

    init(apiKey: String) {
        self.apiKey = apiKey
        super.init()
    }

    /// Starts a fake on 127.0.0.1 with a free port.
    public static func start(apiKey: String = defaultAPIKey) async throws -> OpenAIFake {
        let fake = OpenAIFake(apiKey: apiKey)
        let router = Router()
        router.get("/v1/models") { request, _ in try await fake.handle(request) { r in fake.models(r) } }
        router.post("/v1/chat/completions") { request, _ in try await fake.handle(request) { r in fake.chat(r) } }
        router.post("/v1/audio/speech") { request, _ in try await fake.handle(request) { r in fake.speech(r) } }
        router.post("/v1/audio/transcriptions") { request, _ in try await fake.handle(request) { r in fake.transcription(r) } }
        fake.core.catchAll(router) { r in fake.errorResponse(404, "Invalid URL (\(r.method) \(r.path))", type: "invalid_request_error", code: nil) }
        fake.server = try await FakeHTTPServer.start(router)
        return fake
    }

    public var baseURL: String { "\(root)/v1" }

    // MARK: what tests read and set

    public func requests(to path: String) -> [RecordedRequest] { requests.filter { $0.path == Self.normalise(path) } }
    /// Chat's answer, streamed in word-sized fragments.
    @FakeSetting public var chatReply: String = "Hello from the fake."
    /// What transcriptions return.
    @FakeSetting public var transcriptText: String = "Hello there. This is the fake transcript."
    /// SSE as a parser must still read it: CRLF line ends, comment lines,
    /// data split over several `data:` lines, frames cut across writes.
    @FakeSetting public var sseQuirks: Bool = false
    /// Answer chat as SSE even when the request did not ask for a stream
    /// (an OpenAI-compatible gateway that ignores `stream`).
    @FakeSetting public var alwaysStream: Bool = false
    /// Answer chat with one JSON completion even when a stream was asked
    /// for (a gateway that ignores `stream: true`).
    @FakeSetting public var neverStream: Bool = false

    /// How `path` ("/v1/chat/completions" or "/chat/completions") answers from now on.
    public func script(_ path: String, _ behaviour: Behaviour) { core.script(Self.normalise(path), behaviour) }

    // MARK: shared by the endpoints

    static func normalise(_ path: String) -> String { path.hasPrefix("/v1/") ? path : "/v1" + (path.hasPrefix("/") ? path : "/" + path) }

    /// Headers OpenAI puts on every answer (openai.md "Basics").
    func commonHeaders() -> [(String, String)] {
        [("x-request-id", "req_fake\(core.next())"), ("openai-version", "2020-10-01"), ("openai-processing-ms", "3")]
    }

    /// Records, checks auth, applies `.status` and `.stallBeforeFirstByte`,
    /// then lets the endpoint answer.
    func handle(_ request: Request, _ endpoint: @Sendable (RecordedRequest) -> Response) async throws -> Response {
        try await core.handle(request, check: checkAuth, scriptedError: scriptedError, endpoint)
    }

    /// openai.md "auth": Authorization: Bearer <key>. A wrong key is the
    /// caller's mistake, not a protocol one; a missing or odd header is.
    func checkAuth(_ r: RecordedRequest) -> Response? {
        guard let auth = r.header("authorization") else {
            core.violation("\(r.path): no Authorization header")
            return errorResponse(401, "You didn't provide an API key.", type: "invalid_request_error", code: nil)
        }
        guard auth.hasPrefix("Bearer "), auth.count > 7 else {
            core.violation("\(r.path): Authorization is not \"Bearer <key>\": \(auth.prefix(12))…")
            return errorResponse(401, "You didn't provide an API key.", type: "invalid_request_error", code: nil)
        }
        let key = String(auth.dropFirst(7))
        guard key == apiKey else {
            // OpenAI quotes the key masked: first 3 and last 4 characters.
            let masked = key.count > 8 ? "\(key.prefix(3))***\(key.suffix(4))" : "***"
            return errorResponse(401, "Incorrect API key provided: \(masked). You can find your API key at https://platform.openai.com/account/api-keys.",
                                 type: "invalid_request_error", code: "invalid_api_key")
        }
        for (name, value) in r.headers where name.hasPrefix("openai-") && value.isEmpty {
            core.violation("\(r.path): empty \(name) header")
        }
        return nil
    }

    /// `{"error": {"message", "type", "param", "code"}}` (openai.md "Error body").
    func errorResponse(_ status: Int, _ message: String, type: String, code: String?, param: String? = nil,
                       headers: [(String, String)] = []) -> Response {
        let body = FakeJSON.object([("error", .object([
            ("message", .string(message)), ("type", .string(type)),
            ("param", param.map { .string($0) } ?? .null), ("code", code.map { .string($0) } ?? .null),
        ]))])
        return .fake(status, contentType: "application/json", body.bytes, headers: commonHeaders() + headers)
    }

    /// The typical type/code per status (openai.md "Error body" table).
    func scriptedError(_ status: Int, retryAfter: Int?) -> Response {
        var headers: [(String, String)] = []
        if let s = retryAfter { headers += [("retry-after", String(s)), ("retry-after-ms", String(s * 1000))] }
        switch status {
        case 400: return errorResponse(400, "Invalid value for 'model'.", type: "invalid_request_error", code: "invalid_value", param: "model", headers: headers)
        case 401: return errorResponse(401, "Incorrect API key provided: sk-***abcd.", type: "invalid_request_error", code: "invalid_api_key", headers: headers)
        case 403: return errorResponse(403, "You are not allowed to sample from this model", type: "permission_denied", code: nil, headers: headers)
        case 404: return errorResponse(404, "The model `gpt-nope` does not exist or you do not have access to it.", type: "invalid_request_error", code: "model_not_found", headers: headers)
        case 429: return errorResponse(429, "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded", headers: headers)
        case 500...599: return errorResponse(status, "The server is overloaded or not ready yet.", type: "server_error", code: nil, headers: headers)
        default: return errorResponse(status, "Scripted error \(status).", type: "invalid_request_error", code: nil, headers: headers)
        }
    }

    /// The request's JSON object, or a violation and a 400.
    func jsonObject(_ r: RecordedRequest) -> (FakeJSON?, Response?) {
        guard let json = core.jsonObject(r) else {
            return (nil, errorResponse(400, "We could not parse the JSON body of your request.", type: "invalid_request_error", code: nil))
        }
        return (json, nil)
    }
}

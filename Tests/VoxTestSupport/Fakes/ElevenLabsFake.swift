import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A loopback ElevenLabs for tests: the request and response shapes of
/// /work/shared/providers/elevenlabs.md and the official spec
/// (specs/elevenlabs/openapi.json): GET /v1/models, GET /v1/voices,
/// POST /v1/voices/add, POST /v1/text-to-speech/{voice_id}/stream,
/// POST /v1/speech-to-text. It checks every request strictly
/// (`violations`), records them (`requests`), keeps an account of voices
/// (premade ones, a few custom ones, and whatever is cloned), and fails on
/// demand per route (`script`).
///
/// ```swift
/// let fake = try await ElevenLabsFake.start()
/// fake.script(ElevenLabsFake.speechRoute, .status(429, retryAfter: 2))
/// … point the plugin's base_url at fake.baseURL …
/// XCTAssertEqual(fake.violations, [])
/// await fake.stop()
/// ```
public final class ElevenLabsFake: LoopbackFake, @unchecked Sendable {
    /// How the fake answers a route (the shared behaviours, FakeCore.swift;
    /// ElevenLabs' own: `.quotaExceeded`).
    public typealias Behaviour = FakeBehaviour

    /// Route names for `script` and `requests(to:)`.
    public static let speechRoute = "/v1/text-to-speech"
    public static let transcriptionRoute = "/v1/speech-to-text"
    public static let voicesRoute = "/v1/voices"
    public static let addVoiceRoute = "/v1/voices/add"
    public static let modelsRoute = "/v1/models"

    /// The key the fake accepts unless started with another (the real
    /// keys' shape: "sk_" and 48 hex digits).
    public static let defaultAPIKey = "sk_0123456789abcdef0123456789abcdef0123456789abcdef"

    public let apiKey: String
    let lock = NSLock()
    var clonedVoices: [FakeVoice] = []

    init(apiKey: String) {
        self.apiKey = apiKey
        super.init(core: FakeCore(route: { ElevenLabsFake.route($0) }))
    }

    /// Starts a fake on 127.0.0.1 with a free port.
    public static func start(apiKey: String = defaultAPIKey) async throws -> ElevenLabsFake {
        let fake = ElevenLabsFake(apiKey: apiKey)
        let router = Router()
        router.get("/v1/models") { request, _ in try await fake.handle(request) { r in fake.models(r) } }
        router.get("/v1/voices") { request, _ in try await fake.handle(request) { r in fake.voices(r) } }
        router.post("/v1/voices/add") { request, _ in try await fake.handle(request) { r in fake.addVoice(r) } }
        router.post("/v1/text-to-speech/:voice/stream") { request, _ in try await fake.handle(request) { r in fake.speech(r) } }
        router.post("/v1/speech-to-text") { request, _ in try await fake.handle(request) { r in fake.transcription(r) } }
        // FastAPI's answer for an unknown route.
        fake.core.catchAll(router) { _ in Response.fake(404, contentType: "application/json", FakeJSON.object([("detail", .string("Not Found"))]).bytes) }
        fake.server = try await FakeHTTPServer.start(router)
        return fake
    }

    /// The API root (what the plugin's base_url takes: paths start with /v1).
    public var baseURL: String { root }

    // MARK: what tests read and set

    /// Requests to a route (speech: every voice's).
    public func requests(to route: String) -> [RecordedRequest] { requests.filter { Self.route($0.path) == route } }
    /// What transcriptions hear.
    @FakeSetting public var transcriptText: String = "Hello there. This is the fake transcript."
    /// The `language_code` a transcription reports when the request named none.
    @FakeSetting public var transcriptLanguage: String = "en"
    /// An audio event (e.g. "(laughter)") heard at the end, unless
    /// `tag_audio_events` is false.
    @FakeSetting public var audioEvent: String? = nil

    /// How `route` answers from now on.
    public func script(_ route: String, _ behaviour: Behaviour) { core.script(route, behaviour) }

    // MARK: shared by the endpoints

    /// The route a path belongs to: every /v1/text-to-speech/… is one.
    static func route(_ path: String) -> String {
        path.hasPrefix(speechRoute + "/") ? speechRoute : path
    }

    /// Headers ElevenLabs puts on answers (elevenlabs.md "Basics").
    func commonHeaders() -> [(String, String)] {
        [("request-id", "fakereq\(core.next())"), ("current-concurrent-requests", "1"), ("maximum-concurrent-requests", "5")]
    }

    /// Records, checks auth, applies the scripted failures that come before
    /// an answer, then lets the endpoint answer.
    func handle(_ request: Request, _ endpoint: @Sendable (RecordedRequest) -> Response) async throws -> Response {
        try await core.handle(request, check: checkAuth, scriptedError: scriptedError, endpoint)
    }

    /// elevenlabs.md "Basics": `xi-api-key: <key>`. A wrong key is the
    /// caller's mistake, not a protocol one; a missing header, or the key
    /// sent some other way, is. A scripted `.quotaExceeded` answers here too.
    func checkAuth(_ r: RecordedRequest) -> Response? {
        if r.header("authorization") != nil { core.violation("\(r.path): an Authorization header (ElevenLabs takes xi-api-key)") }
        guard let key = r.header("xi-api-key"), !key.isEmpty else {
            core.violation("\(r.path): no xi-api-key header")
            return errorResponse(401, status: "invalid_api_key", "Invalid API key")
        }
        guard key == apiKey else { return errorResponse(401, status: "invalid_api_key", "Invalid API key") }
        if case .quotaExceeded = core.behaviour(r.path) {
            return errorResponse(401, status: "quota_exceeded",
                                 "This request exceeds your quota of 10000. You have 12 credits remaining, while 842 credits are required for this request.")
        }
        return nil
    }

    /// `{"detail": {"status", "message"}}` (elevenlabs.md "Errors").
    func errorResponse(_ httpStatus: Int, status: String, _ message: String, headers: [(String, String)] = []) -> Response {
        let body = FakeJSON.object([("detail", .object([("status", .string(status)), ("message", .string(message))]))])
        return .fake(httpStatus, contentType: "application/json", body.bytes, headers: commonHeaders() + headers)
    }

    /// FastAPI's 422: `{"detail": [{"loc", "msg", "type"}]}`.
    func validationError(_ loc: [String], _ msg: String, type: String) -> Response {
        let item = FakeJSON.object([("loc", .array(loc.map { .string($0) })), ("msg", .string(msg)), ("type", .string(type))])
        return .fake(422, contentType: "application/json", FakeJSON.object([("detail", .array([item]))]).bytes, headers: commonHeaders())
    }

    /// The documented code per status (elevenlabs.md "Errors").
    func scriptedError(_ status: Int, retryAfter: Int?) -> Response {
        let headers = retryAfter.map { [("retry-after", String($0))] } ?? []
        switch status {
        case 400: return errorResponse(400, status: "max_character_limit_exceeded", "Text is too long for this model.", headers: headers)
        case 401: return errorResponse(401, status: "invalid_api_key", "Invalid API key", headers: headers)
        case 403: return errorResponse(403, status: "missing_permissions", "The API key you used is missing the permission text_to_speech to execute this operation.", headers: headers)
        case 404: return errorResponse(404, status: "voice_not_found", "A voice with the voice_id you provided was not found.", headers: headers)
        case 422: return validationError(["body", "text"], "field required", type: "value_error.missing")
        case 429: return errorResponse(429, status: "too_many_concurrent_requests",
                                       "Your current subscription is associated with a maximum of 5 concurrent requests.", headers: headers)
        case 503: return errorResponse(503, status: "system_busy", "We are experiencing heavy traffic, please try again later.", headers: headers)
        default: return errorResponse(status, status: "internal_error", "An internal error occurred.", headers: headers)
        }
    }

    /// The request's JSON object, or a violation and a 422.
    func jsonObject(_ r: RecordedRequest) -> (FakeJSON?, Response?) {
        guard let json = core.jsonObject(r) else { return (nil, validationError(["body"], "value is not a valid dict", type: "type_error.dict")) }
        return (json, nil)
    }

    /// The multipart parts of a request, or a violation and a 422.
    func multipart(_ r: RecordedRequest) -> (FakeMultipart?, Response?) {
        guard let form = core.multipart(r) else { return (nil, validationError(["body"], "expected multipart/form-data", type: "value_error")) }
        return (form, nil)
    }

    /// Checks the query against the documented parameters.
    func checkQuery(_ r: RecordedRequest, allowed: [String: (String) -> Bool]) {
        for pair in (r.query ?? "").split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let name = kv[0], value = kv.count > 1 ? kv[1].removingPercentEncoding ?? kv[1] : ""
            guard let check = allowed[name] else { core.violation("\(r.path): unknown query parameter \"\(name)\""); continue }
            if !check(value) { core.violation("\(r.path): query \(name)=\(value) is not allowed") }
        }
    }

    static func isBool(_ s: String) -> Bool { s == "true" || s == "false" }
}

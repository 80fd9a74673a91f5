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
public final class ElevenLabsFake: @unchecked Sendable {
    /// How the fake answers a route.
    public enum Behaviour: Sendable {
        /// The documented answer.
        case normal
        /// An error in ElevenLabs' shape for that status (`{"detail":
        /// {"status", "message"}}`, 422 in FastAPI's list shape);
        /// `retryAfter` (seconds) sets `retry-after`.
        case status(Int, retryAfter: Int?)
        /// 401 with `quota_exceeded`: the key is good, the credits ran out.
        case quotaExceeded
        /// Holds the response head back, then answers normally.
        case stallBeforeFirstByte(seconds: Double)
        /// Speech: sends that many audio chunks, then drops the connection.
        case resetMidStream(afterChunks: Int)
        /// A 200 whose JSON is cut short.
        case malformedJSON
        /// Speech: a 200 with no audio bytes (what a spent quota has looked like).
        case emptyAudio
        /// Speech: `chunks` pieces, `intervalMs` apart (for cancelling mid-stream).
        case slowStream(chunks: Int, intervalMs: Int)
    }

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
    private var server: FakeHTTPServer?
    let lock = NSLock()
    private var _violations: [String] = []
    private var _requests: [RecordedRequest] = []
    private var _cancelledStreams = 0
    private var behaviours: [String: Behaviour] = [:]
    private var _transcript = "Hello there. This is the fake transcript."
    private var _transcriptLanguage = "en"
    private var _audioEvent: String?
    private var requestCounter = 0
    var clonedVoices: [FakeVoice] = []

    init(apiKey: String) { self.apiKey = apiKey }

    /// Starts a fake on 127.0.0.1 with a free port.
    public static func start(apiKey: String = defaultAPIKey) async throws -> ElevenLabsFake {
        let fake = ElevenLabsFake(apiKey: apiKey)
        let router = Router()
        router.get("/v1/models") { request, _ in try await fake.handle(request) { r in fake.models(r) } }
        router.get("/v1/voices") { request, _ in try await fake.handle(request) { r in fake.voices(r) } }
        router.post("/v1/voices/add") { request, _ in try await fake.handle(request) { r in fake.addVoice(r) } }
        router.post("/v1/text-to-speech/:voice/stream") { request, _ in try await fake.handle(request) { r in fake.speech(r) } }
        router.post("/v1/speech-to-text") { request, _ in try await fake.handle(request) { r in fake.transcription(r) } }
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch] {
            router.on("**", method: method) { request, _ in
                let r = try await FakeHTTPServer.record(request)
                fake.recordRequest(r)
                fake.violation("unexpected request \(r.method) \(r.path)")
                // FastAPI's answer for an unknown route.
                return Response.fake(404, contentType: "application/json", FakeJSON.object([("detail", .string("Not Found"))]).bytes)
            }
        }
        fake.server = try await FakeHTTPServer.start(router)
        return fake
    }

    /// The API root (what the plugin's base_url takes: paths start with /v1).
    public var baseURL: String { "http://127.0.0.1:\(server?.port ?? 0)" }

    public func stop() async { await server?.stop() }

    // MARK: what tests read and set

    /// Every way a request departed from the API; tests assert it is empty.
    public var violations: [String] { lock.withLock { _violations } }
    public var requests: [RecordedRequest] { lock.withLock { _requests } }
    /// Requests to a route (speech: every voice's).
    public func requests(to route: String) -> [RecordedRequest] { requests.filter { Self.route($0.path) == route } }
    /// Streams whose client went away before the end.
    public var cancelledStreams: Int { lock.withLock { _cancelledStreams } }
    /// What transcriptions hear.
    public var transcriptText: String {
        get { lock.withLock { _transcript } }
        set { lock.withLock { _transcript = newValue } }
    }
    /// The `language_code` a transcription reports when the request named none.
    public var transcriptLanguage: String {
        get { lock.withLock { _transcriptLanguage } }
        set { lock.withLock { _transcriptLanguage = newValue } }
    }
    /// An audio event (e.g. "(laughter)") heard at the end, unless
    /// `tag_audio_events` is false.
    public var audioEvent: String? {
        get { lock.withLock { _audioEvent } }
        set { lock.withLock { _audioEvent = newValue } }
    }

    /// How `route` answers from now on.
    public func script(_ route: String, _ behaviour: Behaviour) {
        lock.withLock { behaviours[route] = behaviour }
    }

    // MARK: shared by the endpoints

    /// The route a path belongs to: every /v1/text-to-speech/… is one.
    static func route(_ path: String) -> String {
        path.hasPrefix(speechRoute + "/") ? speechRoute : path
    }

    func behaviour(_ path: String) -> Behaviour { lock.withLock { behaviours[Self.route(path)] ?? .normal } }

    func violation(_ text: String) { lock.withLock { _violations.append(text) } }

    func recordRequest(_ r: RecordedRequest) { lock.withLock { _requests.append(r) } }

    func countCancelled() { lock.withLock { _cancelledStreams += 1 } }

    /// Headers ElevenLabs puts on answers (elevenlabs.md "Basics").
    func commonHeaders() -> [(String, String)] {
        let n = lock.withLock { requestCounter += 1; return requestCounter }
        return [("request-id", "fakereq\(n)"), ("current-concurrent-requests", "1"), ("maximum-concurrent-requests", "5")]
    }

    /// Records, checks auth, applies the scripted failures that come before
    /// an answer, then lets the endpoint answer.
    func handle(_ request: Request, _ endpoint: @Sendable (RecordedRequest) -> Response) async throws -> Response {
        let r = try await FakeHTTPServer.record(request)
        recordRequest(r)
        // elevenlabs.md "Basics": `xi-api-key: <key>`. A wrong key is the
        // caller's mistake, not a protocol one; a missing header, or the key
        // sent some other way, is.
        if r.header("authorization") != nil { violation("\(r.path): an Authorization header (ElevenLabs takes xi-api-key)") }
        guard let key = r.header("xi-api-key"), !key.isEmpty else {
            violation("\(r.path): no xi-api-key header")
            return errorResponse(401, status: "invalid_api_key", "Invalid API key")
        }
        guard key == apiKey else { return errorResponse(401, status: "invalid_api_key", "Invalid API key") }
        switch behaviour(r.path) {
        case .status(let code, let retryAfter):
            return scriptedError(code, retryAfter: retryAfter)
        case .quotaExceeded:
            return errorResponse(401, status: "quota_exceeded",
                                 "This request exceeds your quota of 10000. You have 12 credits remaining, while 842 credits are required for this request.")
        case .stallBeforeFirstByte(let seconds):
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
        default:
            break
        }
        return endpoint(r)
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
        if r.header("content-type")?.lowercased().hasPrefix("application/json") != true {
            violation("\(r.path): Content-Type is \(r.header("content-type") ?? "missing"), not application/json")
        }
        guard let json = FakeJSON.parse(r.bytes), json.keys != nil else {
            violation("\(r.path): body is not a JSON object: \(r.bodyText.prefix(80))")
            return (nil, validationError(["body"], "value is not a valid dict", type: "type_error.dict"))
        }
        return (json, nil)
    }

    /// The multipart parts of a request, or a violation and a 422.
    func multipart(_ r: RecordedRequest) -> (FakeMultipart?, Response?) {
        guard let boundary = FakeMultipart.boundary(ofContentType: r.header("content-type")) else {
            violation("\(r.path): Content-Type is \(r.header("content-type") ?? "missing"), not multipart/form-data with a boundary")
            return (nil, validationError(["body"], "expected multipart/form-data", type: "value_error"))
        }
        let form = FakeMultipart(body: r.bytes, boundary: boundary)
        for p in form.problems { violation("\(r.path): multipart: \(p)") }
        return (form, nil)
    }

    /// Checks the query against the documented parameters.
    func checkQuery(_ r: RecordedRequest, allowed: [String: (String) -> Bool]) {
        for pair in (r.query ?? "").split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let name = kv[0], value = kv.count > 1 ? kv[1].removingPercentEncoding ?? kv[1] : ""
            guard let check = allowed[name] else { violation("\(r.path): unknown query parameter \"\(name)\""); continue }
            if !check(value) { violation("\(r.path): query \(name)=\(value) is not allowed") }
        }
    }

    static func isBool(_ s: String) -> Bool { s == "true" || s == "false" }

    /// A streamed body that counts a client going away (a write failing)
    /// and can drop the connection on purpose.
    func stream(_ status: Int, contentType: String, headers: [(String, String)],
                _ produce: @escaping @Sendable (_ send: @Sendable ([UInt8]) async throws -> Void) async throws -> Void) -> Response {
        .fakeStream(status, contentType: contentType, headers: commonHeaders() + headers) { send in
            do {
                try await produce(send)
            } catch is DeliberateReset {
                throw DeliberateReset()
            } catch {
                self.countCancelled()
                throw error
            }
        }
    }

    /// Thrown to drop a connection mid-body (Hummingbird closes it).
    struct DeliberateReset: Error {}
}

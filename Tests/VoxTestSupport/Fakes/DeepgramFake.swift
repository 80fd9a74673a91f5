import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A loopback Deepgram for tests: the real request and response shapes of
/// /work/shared/providers/deepgram.md and the official spec
/// (specs/deepgram/openapi.yml: GET /v1/models, POST /v1/listen, POST
/// /v1/speak), a strict check of every request (`violations`), a record of
/// them (`requests`), and scripted failures per path (`script`).
///
/// ```swift
/// let fake = try await DeepgramFake.start()
/// fake.script("/v1/speak", .status(429, retryAfter: 2))
/// … point the plugin's base_url at fake.baseURL …
/// XCTAssertEqual(fake.violations, [])
/// await fake.stop()
/// ```
public final class DeepgramFake: LoopbackFake, @unchecked Sendable {
    /// How the fake answers a path (the shared behaviours, FakeCore.swift;
    /// Deepgram's own: `.noResults`, `.emptyTranscript`,
    /// `.headerDespiteContainerNone`, `.jsonInsteadOfAudio`).
    public typealias Behaviour = FakeBehaviour

    /// The key the fake accepts unless started with another (40 hex digits, like Deepgram's).
    public static let defaultAPIKey = "0123456789abcdef0123456789abcdef01234567"

    public let apiKey: String

    init(apiKey: String) {
        self.apiKey = apiKey
        super.init()
    }

    /// Starts a fake on 127.0.0.1 with a free port.
    public static func start(apiKey: String = defaultAPIKey) async throws -> DeepgramFake {
        let fake = DeepgramFake(apiKey: apiKey)
        let router = Router()
        router.get("/v1/models") { request, _ in try await fake.handle(request) { r in fake.models(r) } }
        router.post("/v1/listen") { request, _ in try await fake.handle(request) { r in fake.listen(r) } }
        router.post("/v1/speak") { request, _ in try await fake.handle(request) { r in fake.speak(r) } }
        fake.core.catchAll(router) { r in fake.errorResponse(404, legacy: ("NOT_FOUND", "Not Found: \(r.method) \(r.path)")) }
        fake.server = try await FakeHTTPServer.start(router)
        return fake
    }

    /// The REST root (Deepgram's paths start with /v1).
    public var baseURL: String { root }

    // MARK: what tests read and set

    public func requests(to path: String) -> [RecordedRequest] { requests.filter { $0.path == path } }
    /// What transcriptions return (sentences end with ".").
    @FakeSetting public var transcriptText: String = "Hello there. This is the fake transcript."

    /// How `path` ("/v1/listen", "/v1/speak", "/v1/models") answers from now on.
    public func script(_ path: String, _ behaviour: Behaviour) { core.script(path, behaviour) }

    // MARK: shared by the endpoints

    func nextRequestID() -> String {
        String(format: "fa4e0000-0000-4000-8000-%012d", core.next())
    }

    /// The query as (name, value) pairs, decoded, in order.
    public static func queryItems(_ r: RecordedRequest) -> [(String, String)] {
        guard let q = r.query, !q.isEmpty else { return [] }
        return q.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { (String(s).replacingOccurrences(of: "+", with: " ")).removingPercentEncoding ?? String(s) }
            return (decode(kv[0]), kv.count > 1 ? decode(kv[1]) : "")
        }
    }

    /// Records, checks auth, applies `.status` and `.stallBeforeFirstByte`,
    /// then lets the endpoint answer.
    func handle(_ request: Request, _ endpoint: @Sendable (RecordedRequest) -> Response) async throws -> Response {
        try await core.handle(request, check: checkAuth, scriptedError: scriptedError, endpoint)
    }

    /// deepgram.md "auth": `Authorization: Token <API_KEY>` (not Bearer).
    /// A wrong key is the caller's mistake; a missing or Bearer header is a protocol one.
    func checkAuth(_ r: RecordedRequest) -> Response? {
        guard let auth = r.header("authorization") else {
            core.violation("\(r.path): no Authorization header")
            return errorResponse(401, legacy: ("INVALID_AUTH", "Invalid credentials."))
        }
        guard auth.hasPrefix("Token "), auth.count > 6 else {
            core.violation("\(r.path): Authorization is not \"Token <key>\": \(auth.prefix(8))…")
            return errorResponse(401, legacy: ("INVALID_AUTH", "Invalid credentials."))
        }
        guard String(auth.dropFirst(6)) == apiKey else {
            return errorResponse(401, legacy: ("INVALID_AUTH", "Invalid credentials."))
        }
        return nil
    }

    /// An error in one of the spec's `ErrorResponse` shapes: legacy
    /// `{"err_code","err_msg","request_id"}`, modern
    /// `{"category","message","details","request_id"}`, or plain text;
    /// always with `dg-request-id`.
    func errorResponse(_ status: Int, legacy: (String, String)? = nil, modern: (String, String, String)? = nil, text: String? = nil,
                       headers: [(String, String)] = []) -> Response {
        let id = nextRequestID()
        let all = [("dg-request-id", id)] + headers
        if let (code, msg) = legacy {
            let body = FakeJSON.object([("err_code", .string(code)), ("err_msg", .string(msg)), ("request_id", .string(id))])
            return .fake(status, contentType: "application/json", body.bytes, headers: all)
        }
        if let (category, message, details) = modern {
            let body = FakeJSON.object([("category", .string(category)), ("message", .string(message)), ("details", .string(details)),
                                        ("request_id", .string(id))])
            return .fake(status, contentType: "application/json", body.bytes, headers: all)
        }
        return .fake(status, contentType: "text/plain", Array((text ?? "Error \(status)").utf8), headers: all)
    }

    /// The typical body per status (deepgram.md "Errors").
    func scriptedError(_ status: Int, retryAfter: Int?) -> Response {
        let headers: [(String, String)] = retryAfter.map { [("retry-after", String($0))] } ?? []
        switch status {
        case 400: return errorResponse(400, modern: ("INVALID_QUERY_PARAMETER", "Bad Request", "Failed to process audio: corrupt or unsupported data"), headers: headers)
        case 401: return errorResponse(401, legacy: ("INVALID_AUTH", "Invalid credentials."), headers: headers)
        case 402: return errorResponse(402, legacy: ("ASR_PAYMENT_REQUIRED", "Project does not have enough credits for an ASR request and does not have an overage agreement."), headers: headers)
        case 403: return errorResponse(403, modern: ("INSUFFICIENT_PERMISSIONS", "Insufficient permissions.", "This key cannot use the requested model"), headers: headers)
        case 404: return errorResponse(404, text: "Not Found", headers: headers)
        case 413: return errorResponse(413, legacy: ("PAYLOAD_TOO_LARGE", "Payload too large."), headers: headers)
        case 429: return errorResponse(429, legacy: ("TOO_MANY_REQUESTS", "Too many requests. Please try again later"), headers: headers)
        case 500...599: return errorResponse(status, text: status == 503 ? "Service Unavailable" : "Internal Server Error", headers: headers)
        default: return errorResponse(status, modern: ("ERROR", "Scripted error \(status).", ""), headers: headers)
        }
    }

    /// Checks a query against the spec's parameter list for an endpoint:
    /// known names, booleans exactly "true"/"false", repeats only for list
    /// parameters. Returns the last value per name.
    func checkQuery(_ r: RecordedRequest, booleans: Set<String>, others: Set<String>, lists: Set<String>) -> [String: String] {
        var values: [String: String] = [:]
        var seen: Set<String> = []
        for (name, value) in Self.queryItems(r) {
            if booleans.contains(name) {
                if value != "true" && value != "false" { core.violation("\(r.path): \(name)=\(value) is not \"true\" or \"false\"") }
            } else if !others.contains(name) {
                core.violation("\(r.path): unknown query parameter \(name)")
            }
            if !seen.insert(name).inserted, !lists.contains(name) { core.violation("\(r.path): query parameter \(name) repeated") }
            if value.isEmpty { core.violation("\(r.path): empty value for \(name)") }
            values[name] = value
        }
        return values
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The bookkeeping of a WebSocket provider fake (DeepgramLiveFake,
/// SarvamStreamFake): the loopback server, an injected fault, violations,
/// sessions with their queries, disconnects, and named counters of what a
/// session saw (control messages, audio bytes). Thread-safe.
public final class FakeWebSocketCore<Fault: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var server: FakeHTTPServer?
    private var _violations: [String] = []
    private var _sessions = 0
    private var _disconnects = 0
    private var _queries: [[String: String]] = []
    private var counters: [String: Int] = [:]
    private var _fault: Fault?

    public init() {}

    /// Serves `path` on 127.0.0.1 with a free port: `handshake` sees the
    /// upgrade request first and may refuse it (plain HTTP, as the provider
    /// answers; nil lets it through), then `session` runs with the query.
    func start(path: String, handshake: @escaping @Sendable (Request) -> Response?,
               session: @escaping @Sendable (_ query: [String: String], WebSocketInboundStream, WebSocketOutboundWriter) async throws -> Void) async throws {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.middlewares.add(Handshake(check: handshake))
        router.ws(RouterPath(path)) { inbound, outbound, context in
            var q: [String: String] = [:]
            for (k, v) in context.request.uri.queryParameters { q[String(k)] = String(v) }
            self.lock.withLock { self._sessions += 1; self._queries.append(q) }
            defer { self.lock.withLock { self._disconnects += 1 } }
            try await session(q, inbound, outbound)
        }
        server = try await FakeHTTPServer.start(webSocket: router)
    }

    public func stop() async { await server?.stop() }

    /// The `ws://` root for the plugin's `ws_base_url`.
    public var baseURL: String { "ws://127.0.0.1:\(server?.port ?? 0)" }

    public var fault: Fault? { lock.withLock { _fault } }
    public func inject(_ f: Fault?) { lock.withLock { _fault = f } }
    public var violations: [String] { lock.withLock { _violations } }
    public func violation(_ s: String) { lock.withLock { _violations.append(s) } }
    /// Sessions opened (handshakes that got through).
    public var sessions: Int { lock.withLock { _sessions } }
    /// Sessions ended, whoever closed them.
    public var disconnects: Int { lock.withLock { _disconnects } }
    /// Each session's query, in order.
    public var queries: [[String: String]] { lock.withLock { _queries } }
    public func count(_ name: String, by n: Int = 1) { lock.withLock { counters[name, default: 0] += n } }
    public func counter(_ name: String) -> Int { lock.withLock { counters[name] ?? 0 } }

    /// A refusal before the upgrade: `status` with a JSON `body` and extra headers.
    static func refusal(_ status: Int, body: String, headers: [(String, String)] = []) -> Response {
        var h = HTTPFields()
        for (name, value) in headers { h[HTTPField.Name(name)!] = value }
        h[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: h, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    struct Handshake: RouterMiddleware {
        let check: @Sendable (Request) -> Response?
        func handle(_ request: Request, context: BasicWebSocketRequestContext, next: (Request, BasicWebSocketRequestContext) async throws -> Response) async throws -> Response {
            if let refused = check(request) { return refused }
            return try await next(request, context)
        }
    }
}

/// A WebSocket provider fake built on a FakeWebSocketCore: what tests read
/// and set comes from the core.
public protocol WebSocketFake: CheckedFake {
    associatedtype Fault: Sendable
    var core: FakeWebSocketCore<Fault> { get }
}

extension WebSocketFake {
    public func stop() async { await core.stop() }
    /// `ws_base_url` for the plugin.
    public var baseURL: String { core.baseURL }
    /// The fault the next sessions meet (nil: none).
    public func inject(_ f: Fault?) { core.inject(f) }
    /// Every way the traffic departed from the provider's documented frames; tests assert it is empty.
    public var violations: [String] { core.violations }
    public var sessions: Int { core.sessions }
    public var disconnects: Int { core.disconnects }
    public var queries: [[String: String]] { core.queries }
    func violation(_ s: String) { core.violation(s) }
}

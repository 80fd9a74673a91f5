import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// One request a fake received, as it arrived.
public struct RecordedRequest: Sendable {
    public var method: String
    /// The path without the query.
    public var path: String
    public var query: String?
    /// Header names lowercased; repeated headers joined with ", ".
    public var headers: [String: String]
    public var body: Data

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
    public var bytes: [UInt8] { Array(body) }
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
    public var json: FakeJSON? { FakeJSON.parse(bytes) }
}

/// A Hummingbird server on 127.0.0.1, port chosen by the system: what the
/// providers' fakes run on.
public final class FakeHTTPServer: @unchecked Sendable {
    public let port: Int
    private let task: Task<Void, Error>

    private init(port: Int, task: Task<Void, Error>) {
        self.port = port
        self.task = task
    }

    /// Starts serving `router` and returns once the port is known (10 s at most).
    public static func start(_ router: Router<BasicRequestContext>) async throws -> FakeHTTPServer {
        try await start { logger, running in
            Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                        onServerRunning: running, logger: logger)
        }
    }

    /// The same with WebSocket upgrades (`router.ws(…)`) next to plain routes;
    /// a middleware that answers before the ws route refuses the upgrade
    /// with its response (as providers refuse a handshake with plain HTTP).
    public static func start(webSocket router: Router<BasicWebSocketRequestContext>) async throws -> FakeHTTPServer {
        try await start { logger, running in
            Application(router: router, server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: .init(maxFrameSize: 1 << 22))),
                        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                        onServerRunning: running, logger: logger)
        }
    }

    private static func start<App: ApplicationProtocol>(
        _ make: (Logger, @escaping @Sendable (any Channel) async -> Void) -> App
    ) async throws -> FakeHTTPServer {
        var logger = Logger(label: "fake", factory: { _ in SwiftLogNoOpLogHandler() })
        logger.logLevel = .critical
        let ready = AsyncStream<Int>.makeStream()
        let app = make(logger) { ready.continuation.yield($0.localAddress?.port ?? 0) }
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        let timeout = Task {
            try await Task.sleep(nanoseconds: 10_000_000_000)
            ready.continuation.finish()
        }
        defer { timeout.cancel() }
        var port = 0
        for await p in ready.stream { port = p; break }
        guard port > 0 else {
            task.cancel()
            throw NSError(domain: "FakeHTTPServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "the fake server did not start"])
        }
        return FakeHTTPServer(port: port, task: task)
    }

    /// Stops the server (cancelling requests still running) and waits for it.
    public func stop() async {
        task.cancel()
        _ = await task.result
    }

    /// Collects a request into a record (bodies up to 64 MiB).
    public static func record(_ request: Request) async throws -> RecordedRequest {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 << 20)
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName.lowercased()
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        return RecordedRequest(method: request.method.rawValue, path: request.uri.path,
                               query: request.uri.query, headers: headers, body: Data(buffer.readableBytesView))
    }
}

extension Response {
    /// A complete response with the given content type and headers.
    static func fake(_ status: Int, contentType: String, _ body: [UInt8], headers: [(String, String)] = []) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        for (n, v) in headers { if let name = HTTPField.Name(n) { fields.append(HTTPField(name: name, value: v)) } }
        return Response(status: .init(code: status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// A streamed (chunked) response; `write` gets a function writing one chunk.
    static func fakeStream(_ status: Int, contentType: String, headers: [(String, String)] = [],
                           _ write: @escaping @Sendable (_ send: @Sendable ([UInt8]) async throws -> Void) async throws -> Void) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        for (n, v) in headers { if let name = HTTPField.Name(n) { fields.append(HTTPField(name: name, value: v)) } }
        return Response(status: .init(code: status), headers: fields, body: ResponseBody { writer in
            let box = WriterBox(writer)
            try await write { bytes in try await box.write(bytes) }
            try await box.finish()
        })
    }
}

/// Lets a Sendable closure write to the (inout) response body writer.
private final class WriterBox: @unchecked Sendable {
    private var writer: any ResponseBodyWriter
    init(_ writer: any ResponseBodyWriter) { self.writer = writer }
    func write(_ bytes: [UInt8]) async throws { try await writer.write(ByteBuffer(bytes: bytes)) }
    func finish() async throws { try await writer.finish(nil) }
}

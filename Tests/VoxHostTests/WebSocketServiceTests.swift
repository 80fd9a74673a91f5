import CVoxPlugin
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// The host's outbound WebSocket service (ABI 1.1) through VoxPluginKit's
/// `context.webSocket`, against a loopback server: messages both ways,
/// close handshakes from either side, a refused upgrade's status and reason,
/// connection failures, idle timeouts and cancellation reaching the server.
final class WebSocketServiceTests: XCTestCase {
    /// Echoes every message; "bye" makes the server close with 4000; "quiet"
    /// makes it say nothing. Refuses a wrong Authorization with 401 + dg-error.
    final class EchoServer: @unchecked Sendable {
        var server: FakeHTTPServer!
        private let lock = NSLock()
        private var _disconnects = 0
        var disconnects: Int { lock.withLock { _disconnects } }

        func start() async throws {
            let router = Router(context: BasicWebSocketRequestContext.self)
            router.middlewares.add(AuthCheck())
            router.ws("/echo") { inbound, outbound, _ in
                defer { self.lock.withLock { self._disconnects += 1 } }
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    switch message {
                    case .text("bye"): try await outbound.close(.init(codeNumber: 4000), reason: "server says bye"); return
                    case .text("quiet"): continue
                    case .text(let t): try await outbound.write(.text("echo:" + t))
                    case .binary(let b): try await outbound.write(.binary(b))
                    }
                }
            }
            server = try await FakeHTTPServer.start(webSocket: router)
        }

        var url: String { "ws://127.0.0.1:\(server.port)/echo" }

        struct AuthCheck: RouterMiddleware {
            func handle(_ request: Request, context: BasicWebSocketRequestContext, next: (Request, BasicWebSocketRequestContext) async throws -> Response) async throws -> Response {
                guard request.headers[.authorization] == "Bearer good" else {
                    var fields = HTTPFields()
                    fields[HTTPField.Name("dg-error")!] = "Invalid credentials."
                    return Response(status: .unauthorized, headers: fields, body: .init(byteBuffer: ByteBuffer(string: #"{"err_code":"INVALID_AUTH"}"#)))
                }
                return try await next(request, context)
            }
        }
    }

    var echo: EchoServer!

    override func setUp() async throws {
        echo = EchoServer()
        try await echo.start()
    }

    override func tearDown() async throws {
        await echo.server.stop()
    }

    /// KitBridgeTests.KitTestPlugin's chat op drives a socket (one kit
    /// plugin type per process: the kit's descriptor is per image).
    static func instance() throws -> PluginInstance { try KitBridgeTests.makeInstance() }

    /// Runs the chat op; returns the event texts (bounded: 1000 outputs).
    func drive(_ request: String, cancelAfter: Double? = nil) async throws -> [String] {
        let op = try Self.instance().start(VOX_OP_LLM_CHAT, request: request, bufferBytes: 1 << 16, timeout: 20)
        if let cancelAfter {
            Task { try await Task.sleep(nanoseconds: UInt64(cancelAfter * 1e9)); op.cancel() }
        }
        var texts: [String] = []
        for _ in 0..<1000 {
            guard let out = try await op.next() else { return texts }
            if case .event(let json) = out, let v = try? VoxJSON.decode(JSONValue.self, from: Data(json.utf8)) {
                texts.append(v["content"]?.stringValue ?? "")
            }
        }
        XCTFail("the op never ended")
        return texts
    }

    func testMessagesBothWaysAndACleanClose() async throws {
        let texts = try await drive(#"{"ws":"\#(echo.url)","send":["hello","wörld"],"binary":70000,"close":true}"#)
        XCTAssertEqual(texts, ["echo:hello", "echo:wörld", "binary:70000", "closed:1000:"], "the server answers our close with its own frame")
    }

    func testServerInitiatedCloseKeepsCodeAndReason() async throws {
        let texts = try await drive(#"{"ws":"\#(echo.url)","send":["one","bye"]}"#)
        XCTAssertEqual(texts, ["echo:one", "closed:4000:server says bye"])
    }

    func testRefusedUpgradeReportsStatusAndReason() async throws {
        do {
            _ = try await drive(#"{"ws":"\#(echo.url)","auth":"Bearer wrong"}"#)
            XCTFail("expected a refusal")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .unauthenticated, e.message)
            XCTAssertEqual(e.httpStatus, 401)
            XCTAssertTrue(e.message.contains("Invalid credentials."), e.message)
        }
    }

    func testConnectionRefusedIsUnavailable() async throws {
        let port = echo.server.port
        await echo.server.stop()
        do {
            _ = try await drive(#"{"ws":"ws://127.0.0.1:\#(port)/echo"}"#)
            XCTFail("expected a failure")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .unavailable, e.message)
            XCTAssertTrue(e.retriable, e.message)
        }
        try await echo.start() // for tearDown
    }

    func testIdleTimeout() async throws {
        let started = Date()
        do {
            _ = try await drive(#"{"ws":"\#(echo.url)","send":["quiet"],"idle_ms":300}"#)
            XCTFail("expected a timeout")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .timeout, e.message)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testCancellingTheOperationClosesTheSocketAtTheServer() async throws {
        do {
            _ = try await drive(#"{"ws":"\#(echo.url)","send":["quiet"]}"#, cancelAfter: 0.3)
            XCTFail("expected cancellation")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .cancelled, e.message)
        }
        for _ in 0..<100 where echo.disconnects == 0 { try await Task.sleep(nanoseconds: 50_000_000) }
        XCTAssertEqual(echo.disconnects, 1, "the server saw the socket go away")
    }

    func testNotAWebSocketURL() async throws {
        do {
            _ = try await drive(#"{"ws":"ftp://example.invalid/x"}"#)
            XCTFail("expected a refusal")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .invalidRequest)
            XCTAssertTrue(e.message.contains("not a ws:// or wss:// URL"), e.message)
        }
    }

    // MARK: proxies from the environment

    func testProxyEnvironmentRules() {
        let env = ProxyEnvironment(["https_proxy": "http://proxy.corp:3128", "http_proxy": "proxy.corp:8080",
                                    "no_proxy": "internal.example, .corp.example,10.0.0.7,api.local:8443"])
        XCTAssertEqual(env.proxy(for: "https://api.openai.com/v1/models"), .init(host: "proxy.corp", port: 3128))
        XCTAssertEqual(env.proxy(for: "wss://api.deepgram.com/v1/listen"), .init(host: "proxy.corp", port: 3128))
        XCTAssertEqual(env.proxy(for: "http://example.com/"), .init(host: "proxy.corp", port: 8080))
        XCTAssertNil(env.proxy(for: "https://internal.example/x"))
        XCTAssertNil(env.proxy(for: "https://a.internal.example/x"), "subdomains match")
        XCTAssertNil(env.proxy(for: "https://svc.corp.example/x"), "a leading dot matches subdomains")
        XCTAssertNotNil(env.proxy(for: "https://notinternal.example/x"), "only whole labels match")
        XCTAssertNil(env.proxy(for: "http://10.0.0.7:9000/"))
        XCTAssertNil(env.proxy(for: "https://api.local:8443/"))
        XCTAssertNotNil(env.proxy(for: "https://api.local/"), "a host:port rule needs the port")
        XCTAssertNil(env.proxy(for: "http://127.0.0.1:8080/"), "loopback is never proxied")
        XCTAssertNil(ProxyEnvironment(["https_proxy": "http://p:1", "NO_PROXY": "*"]).proxy(for: "https://x.y/"))
        XCTAssertEqual(ProxyEnvironment(["HTTP_PROXY": "http://p:1"]).http, nil, "uppercase HTTP_PROXY is ignored (httpoxy)")
        XCTAssertEqual(ProxyEnvironment(["ALL_PROXY": "http://p:9"]).https, .init(host: "p", port: 9))
        XCTAssertEqual(ProxyEnvironment(["https_proxy": "socks5://p:1"]).problems.count, 1)
    }
}

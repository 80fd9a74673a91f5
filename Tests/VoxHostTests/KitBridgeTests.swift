import CVoxPlugin
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import XCTest
@testable import VoxHost
import VoxPluginKit

/// A VoxPluginKit plugin driven through the C vtable in-process (no dlopen):
/// proves the kit's entry, JSON coding, callback bridging, cancellation and
/// the host-HTTP bridge against the host's real services table.
final class KitBridgeTests: XCTestCase {
    final class KitTestPlugin: VoxPlugin {
        static let info = PluginInfo(name: "kittest", version: "0.0.1", vendor: "tests")
        let context: PluginContext
        init(context: PluginContext) throws {
            if context.settings["refuse"] != nil { throw VoxPluginError.invalidRequest("settings.refuse: refused as asked") }
            self.context = context
        }
        var capabilities: Capabilities {
            Capabilities(operations: [.ttsSynthesize: .init(stream: true, formats: [.pcmS16LE]), .voicesList: .init(),
                                      .sttStream: .init(formats: [.pcmS16LE], sampleRates: [16000]), .llmChat: .init(stream: true)],
                         models: [ModelInfo(id: "m1", operations: [.ttsSynthesize])], defaultModel: "m1")
        }
        func listVoices(_ request: VoiceListRequest) async throws -> [Voice] { [Voice(id: "v1", gender: "female")] }

        /// A partial per pushed chunk (its byte count so far), a final at the end.
        func streamTranscription(_ request: TranscriptionRequest, input: AudioInputStream, output: EventOutput) async throws -> OperationResult {
            var total = 0
            for await chunk in input {
                total += chunk.bytes.count
                try await output.emit(JSONValue.object(["type": .string("partial"), "text": .string("\(total) bytes")]))
            }
            try await output.emit(JSONValue.object(["type": .string("final"), "text": .string("heard \(total) bytes")]))
            return OperationResult(usage: Usage(audioSeconds: Double(total) / 32000))
        }

        /// WebSocketServiceTests: {"ws": url, "auth": "…", "send": ["text"…],
        /// "binary": n, "close": true, "idle_ms": n} → one event per message
        /// received, then "closed:<code>:<reason>".
        func chat(_ request: JSONValue, output: EventOutput) async throws -> OperationResult {
            guard let url = request["ws"]?.stringValue else { throw VoxPluginError.unsupported("kittest chats only over a test socket") }
            var r = VoxWebSocketRequest(url: url, headers: [("Authorization", request["auth"]?.stringValue ?? "Bearer good")])
            r.idleTimeoutMs = UInt32(request["idle_ms"]?.intValue ?? 0)
            r.connectTimeoutMs = 3000
            let ws = try await context.webSocket(r)
            for text in request["send"]?.arrayValue ?? [] { try await ws.send(text.stringValue!) }
            if let n = request["binary"]?.intValue { try await ws.send(binary: [UInt8](repeating: 0xAB, count: n)) }
            if request["close"]?.boolValue == true { ws.close(code: 1000, reason: "done") }
            while let m = try await ws.receive() {
                switch m {
                case .text(let t): try await output.emit(.object(["type": .string("delta"), "content": .string(t)]))
                case .binary(let b): try await output.emit(.object(["type": .string("delta"), "content": .string("binary:\(b.count)")]))
                }
            }
            let frame = ws.closeFrame
            try await output.emit(.object(["type": .string("delta"), "content": .string("closed:\(frame?.code ?? -1):\(frame?.reason ?? "")")]))
            return OperationResult()
        }

        /// options.url: stream that URL's body as audio; options.chunks: emit that many 640-byte chunks.
        func synthesize(_ request: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
            let format = AudioFormat(encoding: .pcmS16LE, sampleRate: 16000, channels: 1)
            if let url = request.options?["url"]?.stringValue {
                var r = VoxHTTPRequest(url: url, headers: [("Authorization", "Bearer \(try context.secret("api_key"))")])
                r.firstByteTimeoutMs = UInt32(request.options?["first_byte_ms"]?.intValue ?? 0)
                r.connectTimeoutMs = UInt32(request.options?["connect_ms"]?.intValue ?? 0)
                // options.read: "fetch" or "collect" read the body whole (options.limit bytes at most).
                if let read = request.options?["read"]?.stringValue {
                    let limit = request.options?["limit"]?.intValue ?? 64 << 20
                    let status: Int, body: [UInt8]
                    if read == "fetch" {
                        let whole = try await context.http.fetch(r, limit: limit)
                        (status, body) = (whole.status, whole.body)
                    } else {
                        let response = try await context.http.send(r)
                        (status, body) = (response.status, try await response.collect(limit: limit))
                    }
                    guard status == 200 else { throw VoxPluginError(.unavailable, "upstream said \(status)", httpStatus: status) }
                    try await output.write(body, format: format)
                    return OperationResult(usage: Usage(characters: body.count))
                }
                let response = try await context.http.send(r)
                guard response.status == 200 else {
                    throw VoxPluginError(.unavailable, "upstream said \(response.status)", httpStatus: response.status)
                }
                var total = 0
                for try await chunk in response.body {
                    total += chunk.count
                    try await output.write(chunk, format: format)
                }
                return OperationResult(usage: Usage(characters: total))
            }
            // options.where: after suspensions (a yield, and an answer from
            // another thread), say which thread the task went on on (as the
            // voice, in a metadata event).
            if request.options?["where"] != nil {
                await Task.yield()
                let afterYield = KitBridgeTests.threadName()
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in DispatchQueue.global().async { c.resume() } }
                try await output.metadata(model: "m1", voice: "\(afterYield) \(KitBridgeTests.threadName())")
            }
            let n = request.options?["chunks"]?.intValue ?? 1
            let chunk = [UInt8](repeating: 7, count: 640)
            for _ in 0..<n { try await output.write(chunk, format: format) }
            return OperationResult(usage: Usage(characters: request.input.count))
        }
    }

    /// "loop" on one of the host's event loops, else "pool".
    static func threadName() -> String { MultiThreadedEventLoopGroup.currentEventLoop == nil ? "pool" : "loop" }

    /// The host's table as a 1.1 host had it: no run_soon.
    static let hostWithoutRunSoon: UnsafePointer<vox_host_api> = {
        var api = HostServices.table.pointee
        api.struct_size = UInt32(MemoryLayout<vox_host_api>.offset(of: \.run_soon)!)
        api.abi_minor = 1
        api.run_soon = nil
        let p = UnsafeMutablePointer<vox_host_api>.allocate(capacity: 1)
        p.initialize(to: api)
        return UnsafePointer(p)
    }()

    static func makeInstance(settings: JSONValue = .object([:]), host: UnsafePointer<vox_host_api> = HostServices.table) throws -> PluginInstance {
        var err = vox_type_error()
        guard let d = VoxPluginExport.entry(KitTestPlugin.self, UInt32(VOX_ABI_MAJOR), host.pointee.abi_minor, host, &err) else {
            throw VoxPluginError(abi: &err)
        }
        let image = try PluginImage.validate(d, path: "in-process", copy: "in-process", sha256: "-", expectedName: "kittest")
        let handle = HostPluginHandle(name: "kittest", logger: TestSupport.logger, secrets: ["api_key": "s3cret"], metrics: MetricsStore())
        let config = PluginConfig(name: "kittest", file: "-", enabled: true, library: "-", sha256: nil, settings: settings, secrets: [:])
        return try PluginInstance(config: config, image: image, handle: handle, logger: TestSupport.logger)
    }

    func run(_ instance: PluginInstance, _ request: SynthesisRequest) async throws -> (bytes: Int, result: OperationResult?) {
        let op = try instance.start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(request), bufferBytes: 1 << 16, timeout: 30)
        var bytes = 0
        while let out = try await op.next() { if case .audio(_, let b) = out { bytes += b.count } }
        return (bytes, op.result)
    }

    func testDescriptorCarriesTheToolchain() throws {
        var err = vox_type_error()
        let d = VoxPluginExport.entry(KitTestPlugin.self, UInt32(VOX_ABI_MAJOR), UInt32(VOX_ABI_MINOR), HostServices.table, &err)!
        XCTAssertEqual(String(cString: d.pointee.swift_runtime), String(cString: vox_swift_toolchain_id()))
        XCTAssertEqual(String(cString: d.pointee.name), "kittest")
        XCTAssertNil(VoxPluginExport.entry(KitTestPlugin.self, UInt32(VOX_ABI_MAJOR) + 1, 0, HostServices.table, &err))
        XCTAssertTrue(VoxPluginError(abi: &err).message.contains("speaks vox ABI 1.x"))
    }

    /// A plugin's header lookup folds the case of letters only.
    func testHeaderLookupFoldsLetterCaseOnly() {
        let hs: [(String, String)] = [("X-Request-Id", "r1"), ("Content-Type", "application/json"), ("content-type", "text/plain"), ("A-B", "1")]
        XCTAssertEqual(hs.header("content-type"), "application/json")
        XCTAssertEqual(hs.header("CONTENT-TYPE"), "application/json")
        XCTAssertEqual(hs.header("x-request-id"), "r1")
        XCTAssertNil(hs.header("content-typ"))
        XCTAssertNil(hs.header("content_type"))
        XCTAssertNil(hs.header("a\rb"))  // '-' and CR differ only in bit 0x20: not letters, not folded
        XCTAssertEqual(hs.header("a-b"), "1")
        XCTAssertNil(hs.header("é"))
    }

    func testCreateErrorAndCapabilities() throws {
        XCTAssertThrowsError(try Self.makeInstance(settings: .object(["refuse": .bool(true)]))) { error in
            XCTAssertTrue("\(error)".contains("invalid_request: settings.refuse: refused as asked"), "\(error)")
        }
        let i = try Self.makeInstance()
        XCTAssertTrue(i.capabilities.supports(.ttsSynthesize))
        XCTAssertEqual(i.capabilities.defaultModel, "m1")
    }

    func testChunksAndResult() async throws {
        let i = try Self.makeInstance()
        let (bytes, result) = try await run(i, SynthesisRequest(input: "hello", options: .object(["chunks": .number(50)])))
        XCTAssertEqual(bytes, 50 * 640)
        XCTAssertEqual(result?.usage?.characters, 5)
        // A small buffer forces pause/resume through the kit's async writer.
        let op = try i.start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(SynthesisRequest(input: "x", options: .object(["chunks": .number(200)]))), bufferBytes: 2048, timeout: 30)
        var n = 0
        while let out = try await op.next() {
            if case .audio(_, let b) = out { n += b.count }
            if n % 12800 == 0 { try await Task.sleep(nanoseconds: 1_000_000) }
        }
        XCTAssertEqual(n, 200 * 640)
    }

    /// ABI 1.2: an operation's task goes on on the host's event loops after
    /// it suspends (run_soon); with a 1.1 host it still runs, on Swift's pool.
    func testOperationsResumeOnTheHostsLoops() async throws {
        func voiceAfterASuspension(_ i: PluginInstance) async throws -> String? {
            let op = try i.start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(SynthesisRequest(input: "x", options: .object(["where": .bool(true)]))),
                                 bufferBytes: 1 << 16, timeout: 30)
            var voice: String?
            while let out = try await op.next() {
                if case .event(let json) = out, let v = try? VoxJSON.decode(JSONValue.self, from: Data(json.utf8))["voice"]?.stringValue { voice = v }
            }
            XCTAssertNotNil(op.result, "the operation finished")
            return voice
        }
        // Every time, started from the pool as from a loop (as voxd does):
        // a start that lost the executor preference now and then (as
        // Task.immediateDetached did) fails here.
        let instance = try Self.makeInstance()
        var seen: [String?] = []
        for n in 0..<20 {
            let loop = HostLoops.group.next()
            seen.append(try await (n.isMultiple(of: 2) ? Task.detached { try await voiceAfterASuspension(instance) }
                                                       : Task(executorPreference: EventLoopTaskExecutor(loop)) { try await voiceAfterASuspension(instance) }).value)
        }
        XCTAssertEqual(seen, Array(repeating: "loop loop", count: 20))
        let older = try await voiceAfterASuspension(try Self.makeInstance(host: Self.hostWithoutRunSoon))
        XCTAssertEqual(older, "pool pool", "a 1.1 host has no run_soon: Swift's pool")
    }

    func testStreamingInputReachesThePluginAndEnds() async throws {
        let i = try Self.makeInstance()
        let op = try i.start(VOX_OP_STT_STREAM, request: #"{"format":{"encoding":"pcm_s16le","sample_rate":16000,"channels":1}}"#,
                             bufferBytes: 1 << 16, timeout: 30)
        let format = AudioFormat(encoding: .pcmS16LE, sampleRate: 16000, channels: 1)
        for _ in 0..<3 { try op.push(AudioData(format: format, bytes: [UInt8](repeating: 0, count: 3200))) }
        try op.finishInput()
        var texts: [String] = []
        while let out = try await op.next() {
            if case .event(let json) = out, let v = try? VoxJSON.decode(JSONValue.self, from: Data(json.utf8)) {
                texts.append("\(v["type"]!.stringValue!): \(v["text"]!.stringValue!)")
            }
        }
        XCTAssertEqual(texts, ["partial: 3200 bytes", "partial: 6400 bytes", "partial: 9600 bytes", "final: heard 9600 bytes"])
        XCTAssertEqual(op.result?.usage?.audioSeconds ?? 0, 0.3, accuracy: 1e-9)
        // After the end, pushing is refused, not lost silently.
        XCTAssertThrowsError(try op.push(AudioData(format: format, bytes: [0, 0])))
    }

    /// The host's streamed request body (VOX_HTTP_STREAM_BODY) through the
    /// services table directly, as a C plugin would use it.
    func testStreamedRequestBodyThroughTheServicesTable() async throws {
        final class Box: @unchecked Sendable {
            let done = DispatchSemaphore(value: 0)
            var status: Int32 = 0
            var body: [UInt8] = []
            var error: VoxPluginError?
        }
        let box = Box()
        var callbacks = vox_type_http_callbacks()
        callbacks.struct_size = UInt32(MemoryLayout<vox_type_http_callbacks>.size)
        callbacks.on_response = { user, status, _, _ in Unmanaged<Box>.fromOpaque(user!).takeUnretainedValue().status = status }
        callbacks.on_body = { user, data, len in
            Unmanaged<Box>.fromOpaque(user!).takeUnretainedValue().body += UnsafeBufferPointer(start: data, count: len)
            return Int32(VOX_FLOW_CONTINUE.rawValue)
        }
        callbacks.on_complete = { user, error in
            let b = Unmanaged<Box>.fromOpaque(user!).takeUnretainedValue()
            b.error = error.map { VoxPluginError(abi: $0) }
            b.done.signal()
        }
        let handle = HostPluginHandle(name: "kittest", logger: TestSupport.logger, secrets: [:], metrics: MetricsStore())
        let api = HostServices.table.pointee
        var err = vox_type_error()
        let http: OpaquePointer? = withVoxStr("POST") { method in
            withVoxStr("http://127.0.0.1:\(port)/echo-length") { url in
                var req = vox_type_http_request()
                req.struct_size = UInt32(MemoryLayout<vox_type_http_request>.size)
                req.flags = VOX_HTTP_STREAM_BODY
                req.method = method
                req.url = url
                return api.http_start!(handle.pointer, &req, &callbacks, Unmanaged.passUnretained(box).toOpaque(), &err)
            }
        }
        guard let http else { return XCTFail(VoxPluginError(abi: &err).message) }
        let piece = [UInt8](repeating: 9, count: 10_000)
        for _ in 0..<50 {
            XCTAssertNotEqual(piece.withUnsafeBufferPointer { api.http_write!(http, $0.baseAddress, $0.count) }, Int32(VOX_FLOW_STOP.rawValue))
        }
        api.http_finish!(http)
        let waited = await Task.detached { box.done.wait(timeout: .now() + 10) }.value
        XCTAssertEqual(waited, .success)
        api.http_release!(http)
        XCTAssertNil(box.error)
        XCTAssertEqual(box.status, 200)
        XCTAssertEqual(String(decoding: box.body, as: UTF8.self), "500000")
    }

    func testUnsupportedOperation() throws {
        let i = try Self.makeInstance()
        let op = try i.start(VOX_OP_CLONE_VOICE, request: #"{"name":"x"}"#, bufferBytes: 1 << 16, timeout: 5)
        let done = expectation(description: "error")
        Task {
            do { while try await op.next() != nil {} } catch let e as VoxPluginError {
                XCTAssertEqual(e.code, .unsupported)
                done.fulfill()
            }
        }
        wait(for: [done], timeout: 5)
    }

    // MARK: host HTTP through the kit

    var server: Task<Void, Error>?
    var port = 0

    override func setUp() async throws {
        let router = Router()
        router.get("/bytes") { request, _ -> Response in
            XCTAssertEqual(request.headers[.authorization], "Bearer s3cret")
            let n = Int(request.uri.queryParameters["n"] ?? "0") ?? 0
            return Response(status: .ok, body: ResponseBody { writer in
                var left = n
                while left > 0 {
                    let k = min(left, 7000)
                    try await writer.write(ByteBuffer(repeating: 1, count: k))
                    left -= k
                }
                try await writer.finish(nil)
            })
        }
        router.get("/stall") { _, _ -> Response in
            try await Task.sleep(nanoseconds: 1_500_000_000) // longer than the timeouts and cancels below
            return Response(status: .ok)
        }
        router.post("/echo-length") { request, _ -> String in
            String(try await request.body.collect(upTo: 1 << 24).readableBytes)
        }
        router.get("/busy") { _, _ -> Response in
            Response(status: .serviceUnavailable)
        }
        let ready = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { ready.continuation.yield($0.localAddress?.port ?? 0) },
                              logger: TestSupport.logger)
        server = Task { try await app.runService(gracefulShutdownSignals: []) }
        for await p in ready.stream { port = p; break }
    }

    override func tearDown() async throws {
        server?.cancel()
        _ = await server?.result
    }

    func testStreamsAnHTTPBody() async throws {
        let i = try Self.makeInstance()
        let (bytes, result) = try await run(i, SynthesisRequest(input: "x", options: .object(["url": .string("http://127.0.0.1:\(port)/bytes?n=1000000")])))
        XCTAssertEqual(bytes, 1_000_000)
        XCTAssertEqual(result?.usage?.characters, 1_000_000)
    }

    /// `fetch` (head and body gathered on the host's thread) and `collect`
    /// (the body after the head): the whole body, the limit, a status, a
    /// refused connection.
    func testWholeBodiesWithinTheirLimit() async throws {
        let i = try Self.makeInstance()
        let big = "http://127.0.0.1:\(port)/bytes?n=1000000"
        for read in ["fetch", "collect"] {
            let (bytes, result) = try await run(i, SynthesisRequest(input: "x", options: .object(["url": .string(big), "read": .string(read)])))
            XCTAssertEqual(bytes, 1_000_000, read)
            XCTAssertEqual(result?.usage?.characters, 1_000_000)
            do {
                _ = try await run(i, SynthesisRequest(input: "x", options: .object(["url": .string(big), "read": .string(read), "limit": .number(100_000)])))
                XCTFail("\(read): expected the limit to refuse the body")
            } catch let e as VoxPluginError {
                XCTAssertEqual(e.code, .unavailable)
                XCTAssertTrue(e.message.contains("response body over 100000 bytes"), e.message)
            }
            do {
                _ = try await run(i, SynthesisRequest(input: "x", options: .object(["url": .string("http://127.0.0.1:\(port)/busy"), "read": .string(read)])))
                XCTFail("expected the status")
            } catch let e as VoxPluginError {
                XCTAssertEqual(e.httpStatus, 503, e.message)
            }
        }
        do {
            _ = try await run(i, SynthesisRequest(input: "x", options: .object(["url": .string("http://127.0.0.1:1/nothing"), "read": .string("fetch"), "connect_ms": .number(500)])))
            XCTFail("expected unavailable")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .unavailable, e.message)
            XCTAssertTrue(e.retriable)
        }
    }

    func testUpstreamStatusAndTimeouts() async throws {
        let i = try Self.makeInstance()
        do {
            _ = try await run(i, SynthesisRequest(input: "x", options: .object(["url": .string("http://127.0.0.1:\(port)/busy")])))
            XCTFail("expected unavailable")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .unavailable)
            XCTAssertEqual(e.httpStatus, 503)
        }
        let started = Date()
        do {
            _ = try await run(i, SynthesisRequest(input: "x", options: .object(["url": .string("http://127.0.0.1:\(port)/stall"), "first_byte_ms": .number(200)])))
            XCTFail("expected a timeout")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .timeout, e.message)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
        do {
            _ = try await run(i, SynthesisRequest(input: "x", options: .object(["url": .string("http://127.0.0.1:1/nothing")])))
            XCTFail("expected unavailable")
        } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .unavailable, e.message)
            XCTAssertTrue(e.retriable)
        }
    }

    func testCancelClosesTheUpstreamRequest() async throws {
        let i = try Self.makeInstance()
        let op = try i.start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(SynthesisRequest(input: "x", options: .object(["url": .string("http://127.0.0.1:\(port)/stall")]))), bufferBytes: 1 << 16, timeout: 30)
        try await Task.sleep(nanoseconds: 100_000_000)
        let started = Date()
        op.cancel()
        do { while try await op.next() != nil {} } catch let e as VoxPluginError { XCTAssertEqual(e.code, .cancelled) }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
    }
}

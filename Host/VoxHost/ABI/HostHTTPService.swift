import AsyncHTTPClient
import CVoxPlugin
import Foundation
import NIOCore
import NIOHTTP1
import VoxPluginKit

/// Outbound HTTP for plugins (`http_*` in the services table), on
/// AsyncHTTPClient: one pooled client for the process, so TLS, pooling and
/// timeouts are the host's. Each exchange is one task; its callbacks follow
/// the header's order: on_response ≤ 1, on_body*, on_complete exactly once.
public enum HostHTTPService {
    /// Pooled clients by connect timeout and proxy (AsyncHTTPClient sets
    /// both per client; plugins use few distinct values), one per event
    /// loop. Other timeouts are per request. Proxies come from the
    /// environment (ProxyEnvironment).
    ///
    /// One client per loop keeps an exchange's connection on the loop that
    /// started it, which is the loop serving the client's request: a single
    /// client's pool hands out any idle connection, and with the connection
    /// on the other loop each request crossed threads six times (request
    /// head, body, response, each way), all of it wake-ups on 2 cores.
    /// Pinning requests to a loop inside one pool (`.delegateAndChannel(on:)`)
    /// made that pool close and reopen connections under concurrency; a pool
    /// per loop never has to. The cost is a pool, and its connections, per
    /// loop and upstream host.
    private struct ClientKey: Hashable { var connectMs: UInt32; var proxyHost: String?; var proxyPort: Int? }
    private static let lock = NSLock()
    nonisolated(unsafe) private static var clients: [ClientKey: [ObjectIdentifier: HTTPClient]] = [:]
    public static let defaultConnectTimeoutMs: UInt32 = 10_000
    /// `limits.upstream_connections_per_host`, set by the daemon before any
    /// plugin loads (clients made later keep the value they were made with);
    /// each loop's pool may open its share of it.
    nonisolated(unsafe) static var connectionsPerHost = 1024

    /// The client for `url` on the calling thread's event loop (any of the
    /// host's loops, in turn, when called from elsewhere).
    static func client(connectTimeoutMs: UInt32, url: String) -> HTTPClient {
        let ms = connectTimeoutMs == 0 ? defaultConnectTimeoutMs : connectTimeoutMs
        let proxy = ProxyEnvironment.current.proxy(for: url)
        let key = ClientKey(connectMs: ms, proxyHost: proxy?.host, proxyPort: proxy?.port)
        let loop = HostLoops.group.any() // the calling thread's loop when it is one of the group's
        return lock.withLock {
            if let c = clients[key]?[ObjectIdentifier(loop)] { return c }
            // Not AsyncHTTPClient's 8: every concurrent stream to a provider needs its own connection.
            // The configured number is the whole daemon's, shared evenly by the loops' pools.
            let loops = Array(HostLoops.group.makeIterator())
            var config = upstreamConfiguration(connectTimeoutMs: ms, connectionsPerLoop: max(1, (connectionsPerHost + loops.count - 1) / loops.count))
            if let proxy { config.proxy = .server(host: proxy.host, port: proxy.port) }
            var perLoop: [ObjectIdentifier: HTTPClient] = [:]
            for l in loops {
                perLoop[ObjectIdentifier(l)] = HTTPClient(eventLoopGroupProvider: .shared(l), configuration: config)
            }
            clients[key] = perLoop
            return perLoop[ObjectIdentifier(loop)]!
        }
    }

    /// A request for `url` without headers or body, parsed once per URL and
    /// method: AsyncHTTPClient parses the URL string with Foundation in
    /// `Request.init` (1.7% of voxd's CPU on a proxied chat at 8 clients;
    /// this lookup is 0.2%), and a provider plugin calls the same few URLs
    /// over and over. URLs with a query are parsed each time (they vary
    /// with a request's options, and may carry a credential). Bounded:
    /// cleared when it reaches `templateLimit`.
    static func template(url: String, method: HTTPMethod) throws -> HTTPClient.Request {
        if url.utf8.contains(UInt8(ascii: "?")) { return try HTTPClient.Request(url: url, method: method) }
        let key = TemplateKey(url: url, method: method.rawValue)
        if let hit = templateLock.withLock({ templates[key] }) { return hit }
        let fresh = try HTTPClient.Request(url: url, method: method)
        templateLock.withLock {
            if templates.count >= templateLimit { templates.removeAll(keepingCapacity: true) }
            templates[key] = fresh
        }
        return fresh
    }

    private struct TemplateKey: Hashable { var url: String; var method: String }
    private static let templateLock = NSLock()
    nonisolated(unsafe) private static var templates: [TemplateKey: HTTPClient.Request] = [:]
    static var templateCount: Int { templateLock.withLock { templates.count } }
    /// Empties the table (tests).
    static func forgetTemplates() { templateLock.withLock { templates.removeAll() } }
    static let templateLimit = 256

    /// How every upstream client is set up (one per event loop): the
    /// benchmarks' bare relay uses it too, so its floor is voxd's set-up.
    public static func upstreamConfiguration(connectTimeoutMs: UInt32, connectionsPerLoop: Int) -> HTTPClient.Configuration {
        var config = HTTPClient.Configuration()
        config.timeout = .init(connect: .milliseconds(Int64(connectTimeoutMs)))
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerLoop)
        config.decompression = .enabled(limit: .ratio(50))
        // No tracer: AsyncHTTPClient otherwise starts a span per request
        // even with the no-op global tracer (a dynamic cast, a string
        // and its attributes: ~20 us a request on the profile's machine).
        config.tracing.tracer = nil
        config.http1_1ConnectionDebugInitializer = { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(FlushCoalescer(), position: .first) }
        }
        return config
    }

    static func install(into api: inout vox_host_api) {
        api.http_start = { hp, request, callbacks, user, errOut in
            guard let hp, let request, let callbacks else {
                VoxPluginError.invalidRequest("http_start: missing arguments").fill(errOut)
                return nil
            }
            do {
                let x = try HostHTTPExchange(handle: HostPluginHandle.from(hp), request: request, callbacks: callbacks.pointee, user: user)
                x.start()
                return OpaquePointer(Unmanaged.passRetained(x).toOpaque())
            } catch {
                VoxPluginError.from(error).fill(errOut)
                return nil
            }
        }
        api.http_write = { h, data, len in
            guard let h else { return Int32(VOX_FLOW_STOP.rawValue) }
            return HostHTTPExchange.from(h).write(len > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: len)) : [])
        }
        api.http_finish = { h in h.map { HostHTTPExchange.from($0).finishBody() } }
        api.http_resume = { h in h.map { HostHTTPExchange.from($0).resume() } }
        api.http_cancel = { h in h.map { HostHTTPExchange.from($0).cancel() } }
        api.http_release = { h in h.map { Unmanaged<HostHTTPExchange>.fromOpaque(UnsafeRawPointer($0)).release() } }
    }

}

/// One outbound exchange, as AsyncHTTPClient's response delegate: the head
/// and each body part reach the plugin from the connection's event loop as
/// they are read, with no hop to a task per part (a hop per chunk was most
/// of voxd's cost on a fast token stream). PAUSE holds the part's future
/// until http_resume, and AsyncHTTPClient reads no more meanwhile.
final class HostHTTPExchange: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = Void

    static func from(_ h: OpaquePointer) -> HostHTTPExchange {
        Unmanaged<HostHTTPExchange>.fromOpaque(UnsafeRawPointer(h)).takeUnretainedValue()
    }

    private let handle: HostPluginHandle
    private let callbacks: vox_type_http_callbacks
    private let user: UnsafeMutableRawPointer?
    private let method: HTTPMethod
    private let headers: HTTPHeaders
    private let fixedBody: ByteBuffer?
    private let streamedBody: AsyncStream<ByteBuffer>?
    private let timeouts: (firstByte: Double, idle: Double, total: Double)
    private let connectTimeoutMs: UInt32
    private let url: String
    private let metrics: MetricsStore.Scope
    private let started = DispatchTime.now().uptimeNanoseconds
    // Touched only on the event loop (delegate calls), then read at the end.
    private var bytesIn = 0
    private var status = 0
    private let lock = NSLock()
    private var requestBytes = 0
    private var task: HTTPClient.Task<Void>?
    private let gate = ResumeGate()
    private let watchdog = Watchdog()
    private var cancelled = false
    private var timeoutReason: String?
    private var bodyContinuation: AsyncStream<ByteBuffer>.Continuation?

    init(handle: HostPluginHandle, request r: UnsafePointer<vox_type_http_request>, callbacks: vox_type_http_callbacks, user: UnsafeMutableRawPointer?) throws {
        self.handle = handle
        self.callbacks = callbacks
        self.user = user
        metrics = handle.metrics.scope(plugin: handle.name)
        guard callbacks.on_complete != nil else { throw VoxPluginError.invalidRequest("http_start: on_complete is required") }
        let url = r.pointee.url.string
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw VoxPluginError.invalidRequest("http_start: \"\(url)\" is not an http(s) URL")
        }
        self.url = url
        method = HTTPMethod(rawValue: r.pointee.method.len == 0 ? "GET" : r.pointee.method.string)
        var headers = HTTPHeaders()
        if let hs = r.pointee.headers {
            for i in 0..<r.pointee.header_count { headers.add(name: hs[2 * i].string, value: hs[2 * i + 1].string) }
        }
        self.headers = headers
        if r.pointee.flags & VOX_HTTP_STREAM_BODY != 0 {
            var cont: AsyncStream<ByteBuffer>.Continuation!
            let stream = AsyncStream<ByteBuffer> { cont = $0 }
            bodyContinuation = cont
            streamedBody = stream
            fixedBody = nil
        } else {
            streamedBody = nil
            fixedBody = r.pointee.body.len > 0 ? ByteBuffer(bytes: r.pointee.body.bytes) : nil
            requestBytes = r.pointee.body.len
        }
        func secs(_ ms: UInt32, _ dflt: Double) -> Double { ms == 0 ? dflt : Double(ms) / 1000 }
        connectTimeoutMs = r.pointee.connect_timeout_ms
        timeouts = (secs(r.pointee.first_byte_timeout_ms, 60), secs(r.pointee.idle_timeout_ms, 60), secs(r.pointee.total_timeout_ms, 0))
    }

    /// The plugin's streamed request body (http_write … http_finish), written
    /// as AsyncHTTPClient asks for it.
    private static func pump(_ stream: AsyncStream<ByteBuffer>, into writer: HTTPClient.Body.StreamWriter, on loop: EventLoop) -> EventLoopFuture<Void> {
        let done = loop.makePromise(of: Void.self)
        done.completeWithTask {
            for await part in stream { try await writer.write(.byteBuffer(part)).get() }
        }
        return done.futureResult
    }

    func start() {
        let client = HostHTTPService.client(connectTimeoutMs: connectTimeoutMs, url: url)
        var body: HTTPClient.Body?
        if let streamedBody {
            body = .stream(contentLength: nil) { writer in Self.pump(streamedBody, into: writer, on: client.eventLoopGroup.any()) }
        } else if let fixedBody {
            body = .byteBuffer(fixedBody)
        }
        var request: HTTPClient.Request
        do {
            request = try HostHTTPService.template(url: url, method: method)
            request.headers = headers
            request.body = body
        } catch {
            // Reported like a failed connection, through on_complete (never
            // inside http_start).
            DispatchQueue.global().async { self.finish(.failure(error)) }
            return
        }
        let deadline: NIODeadline? = timeouts.total > 0 ? .now() + .milliseconds(Int64(timeouts.total * 1000)) : nil
        watchdog.arm(after: timeouts.firstByte) { [weak self] in self?.timeOut("no response within \(self?.timeouts.firstByte ?? 0) s") }
        let t = client.execute(request: request, delegate: self, deadline: deadline)
        let cancelNow: Bool = lock.withLock { task = t; return cancelled || timeoutReason != nil }
        if cancelNow { t.cancel() }
        t.futureResult.whenComplete { self.finish($0) }
    }

    // MARK: HTTPClientResponseDelegate (on the connection's event loop)

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        status = Int(head.status.code)
        metrics.observe("http_first_byte_seconds", Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        deliverHead(status: Int32(head.status.code), headers: head.headers)
        armIdle()
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ part: ByteBuffer) -> EventLoopFuture<Void> {
        bytesIn += part.readableBytes
        armIdle()
        let flow = part.withUnsafeReadableBytes { b in
            callbacks.on_body?(user, b.baseAddress?.assumingMemoryBound(to: UInt8.self), b.count) ?? Int32(VOX_FLOW_CONTINUE.rawValue)
        }
        switch flow {
        case Int32(VOX_FLOW_CONTINUE.rawValue):
            return task.eventLoop.makeSucceededVoidFuture()
        case Int32(VOX_FLOW_PAUSE.rawValue):
            // No idle deadline while the plugin holds the body; it runs
            // again from the resume.
            watchdog.disarm()
            let resumed = gate.waitFuture(on: task.eventLoop)
            resumed.whenSuccess { [weak self] in self?.armIdle() }
            return resumed
        default: // STOP: the plugin wants no more
            return task.eventLoop.makeFailedFuture(CancellationError())
        }
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {}

    private func armIdle() {
        watchdog.arm(after: timeouts.idle) { [weak self] in self?.timeOut("no data for \(self?.timeouts.idle ?? 0) s") }
    }

    /// The single on_complete, with the exchange's metrics.
    private func finish(_ outcome: Result<Void, Error>) {
        watchdog.disarm()
        lock.withLock { task = nil } // it holds this delegate
        gate.end()
        bodyContinuation?.finish()
        var failure: VoxPluginError?
        if case .failure(let error) = outcome { failure = classify(error) }
        // Per provider: requests, errors by code (transport codes, or the
        // HTTP status class the provider answered), bytes, latency.
        metrics.count("http_requests_total")
        if let failure {
            metrics.count("http_errors_\(failure.code.name)")
        } else if status >= 400 {
            metrics.count("http_errors_status_\(status)")
        }
        metrics.count("http_bytes_out", Double(lock.withLock { requestBytes }))
        metrics.count("http_bytes_in", Double(bytesIn))
        metrics.observe("http_duration_seconds", Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        if let failure {
            var e = vox_type_error()
            failure.fill(&e)
            callbacks.on_complete?(user, &e)
        } else {
            callbacks.on_complete?(user, nil)
        }
    }

    /// Calls on_response with the headers as one flat run of strings: names
    /// and values laid end to end in one buffer, each passed as a view into
    /// it (two allocations, not two per header).
    private func deliverHead(status: Int32, headers: HTTPHeaders) {
        var flat: [UInt8] = []
        flat.reserveCapacity(headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count })
        var ends: [Int] = []
        ends.reserveCapacity(2 * headers.count)
        for h in headers {
            flat.append(contentsOf: h.name.utf8)
            ends.append(flat.count)
            flat.append(contentsOf: h.value.utf8)
            ends.append(flat.count)
        }
        flat.withUnsafeBufferPointer { b in
            let base = UnsafeRawPointer(b.baseAddress)?.assumingMemoryBound(to: CChar.self)
            var strs: [vox_type_str] = []
            strs.reserveCapacity(ends.count)
            var start = 0
            for end in ends {
                strs.append(vox_type_str(ptr: base.map { $0 + start }, len: end - start))
                start = end
            }
            strs.withUnsafeBufferPointer { callbacks.on_response?(user, status, $0.baseAddress, headers.count) }
        }
    }

    private func classify(_ error: Error) -> VoxPluginError {
        if let reason = lock.withLock({ timeoutReason }) { return VoxPluginError(.timeout, reason) }
        if lock.withLock({ cancelled }) || error is CancellationError { return .cancelled }
        if let e = error as? HTTPClientError {
            if e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout { return VoxPluginError(.timeout, "\(e)") }
            if e == .cancelled { return .cancelled }
        }
        return VoxPluginError(.unavailable, "connection failed: \(error)")
    }

    private func timeOut(_ reason: String) {
        let t: HTTPClient.Task<Void>? = lock.withLock {
            if timeoutReason == nil { timeoutReason = reason }
            return task
        }
        t?.cancel()
        gate.end()
    }

    func resume() { gate.resume() }

    func cancel() {
        let t: HTTPClient.Task<Void>? = lock.withLock { cancelled = true; return task }
        t?.cancel()
        bodyContinuation?.finish()
        gate.end()
    }

    func write(_ bytes: [UInt8]) -> Int32 {
        guard let c = bodyContinuation else { return Int32(VOX_FLOW_STOP.rawValue) }
        if case .terminated = c.yield(ByteBuffer(bytes: bytes)) { return Int32(VOX_FLOW_STOP.rawValue) }
        lock.withLock { requestBytes += bytes.count }
        return Int32(VOX_FLOW_CONTINUE.rawValue)
    }

    func finishBody() { bodyContinuation?.finish() }
}

/// A re-armable one-shot timer for first-byte and idle deadlines.
///
/// Re-arming is cheap because the HTTP service re-arms it once per body
/// chunk: it only moves the deadline. The one pending check (a
/// `Deadlines` entry), when it comes due early, goes again for the
/// deadline it finds; disarming takes it out.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var deadline: UInt64 = 0 // uptime ns, while `fire` is set
    private var fire: (@Sendable () -> Void)?
    private var check: (entry: Deadlines.Entry, due: UInt64, generation: UInt64)?
    private var generation: UInt64 = 0

    func arm(after seconds: Double, _ fire: @escaping @Sendable () -> Void) {
        guard seconds > 0 else { disarm(); return }
        let due = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        lock.withLock {
            deadline = due
            self.fire = fire
            if let c = check {
                if c.due <= due { return } // it will find the new deadline
                Deadlines.shared.cancel(c.entry)
            }
            scheduleLocked(at: due)
        }
    }

    func disarm() {
        lock.withLock {
            fire = nil
            if let c = check { Deadlines.shared.cancel(c.entry) }
            check = nil
        }
    }

    private func scheduleLocked(at due: UInt64) {
        generation &+= 1
        let g = generation
        check = (Deadlines.shared.schedule(at: due) { [weak self] in self?.checkNow(g) }, due, g)
    }

    private func checkNow(_ g: UInt64) {
        let now = DispatchTime.now().uptimeNanoseconds
        let f: (@Sendable () -> Void)? = lock.withLock {
            guard check?.generation == g else { return nil } // replaced meanwhile
            check = nil
            guard let f = fire else { return nil }
            if now >= deadline { fire = nil; return f }
            scheduleLocked(at: deadline)
            return nil
        }
        f?()
    }
}

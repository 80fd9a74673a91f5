import CVoxPlugin
import Foundation

/// Outbound HTTP through the host's services table. The host owns the
/// connection pool, TLS, proxies and timeouts; the plugin just asks.
public struct HostHTTP: @unchecked Sendable {
    let host: UnsafePointer<vox_host_api>
    let hp: OpaquePointer

    /// Sends a request and returns once the response head has arrived. The
    /// body streams from `response.body`; cancelling the calling task (or
    /// dropping the body unread) closes the connection.
    public func send(_ request: VoxHTTPRequest) async throws -> VoxHTTPResponse {
        let exchange = HTTPExchange(host: host)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (head: CheckedContinuation<VoxHTTPResponse, Error>) in
                exchange.setHead(head)
                start(request, exchange)
            }
        } onCancel: {
            exchange.cancel()
        }
    }

    /// Sends a request and returns once the whole response is in (at most
    /// `limit` body bytes, else an error): the head and body are gathered
    /// on the host thread that delivers them, and the calling task wakes
    /// once, at the end — for small answers read whole (a JSON reply).
    /// Cancelling the calling task closes the connection.
    public func fetch(_ request: VoxHTTPRequest, limit: Int = 16 << 20) async throws -> VoxHTTPWholeResponse {
        let exchange = HTTPExchange(host: host)
        let gatherer = BodyGatherer(limit: limit)
        // Every head is taken: the body goes to the gatherer from the start.
        exchange.setEarly(accept: { gatherer.head = ($0, $1); return true }, sink: gatherer.sink, rejected: { _ in })
        start(request, exchange)
        let body = try await gatherer.wait(cancel: exchange)
        guard let head = gatherer.head else { throw VoxPluginError.unavailable("connection closed before a response") }
        return VoxHTTPWholeResponse(status: head.status, headers: head.headers, body: body)
    }

    func start(_ request: VoxHTTPRequest, _ exchange: HTTPExchange) {
        guard let start = host.pointee.http_start else {
            return exchange.failHead(VoxPluginError.unsupported("the host offers no HTTP service"))
        }
        var error = vox_type_error()
        error.struct_size = UInt32(MemoryLayout<vox_type_error>.size)
        let handle = request.withABI { req in
            withUnsafePointer(to: HTTPExchange.callbacks) { cb in
                start(hp, req, cb, Unmanaged.passRetained(exchange).toOpaque(), &error)
            }
        }
        if let handle {
            exchange.attach(handle)
        } else {
            Unmanaged.passUnretained(exchange).release() // no callback will come
            exchange.failHead(VoxPluginError(abi: &error))
        }
    }
}

/// A response read whole (`HostHTTP.fetch`).
public struct VoxHTTPWholeResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    /// The first value of a header, case-insensitively.
    public func header(_ name: String) -> String? { headers.header(name) }
}

public struct VoxHTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var connectTimeoutMs: UInt32 = 0
    public var firstByteTimeoutMs: UInt32 = 0
    public var idleTimeoutMs: UInt32 = 0
    public var totalTimeoutMs: UInt32 = 0

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
    }

    func withABI<R>(_ body: (UnsafePointer<vox_type_http_request>) -> R) -> R {
        // Keep every string alive in one contiguous arena for the call.
        let strings = [method, url] + headers.flatMap { [$0.0, $0.1] }
        let bodyBytes = self.body
        return strings.withUTF8Arena { strs in
            bodyBytes.withUnsafeBytes { b in
                let headerStrs = Array(strs.dropFirst(2))
                return headerStrs.withUnsafeBufferPointer { hs in
                    var req = vox_type_http_request()
                    req.struct_size = UInt32(MemoryLayout<vox_type_http_request>.size)
                    req.method = strs[0]
                    req.url = strs[1]
                    req.headers = hs.baseAddress
                    req.header_count = headers.count
                    req.body = vox_type_str(ptr: b.baseAddress?.assumingMemoryBound(to: CChar.self), len: b.count)
                    req.connect_timeout_ms = connectTimeoutMs
                    req.first_byte_timeout_ms = firstByteTimeoutMs
                    req.idle_timeout_ms = idleTimeoutMs
                    req.total_timeout_ms = totalTimeoutMs
                    return body(&req)
                }
            }
        }
    }
}

extension Array where Element == String {
    /// Calls body with vox_type_strs pointing into one buffer holding all strings.
    fileprivate func withUTF8Arena<R>(_ body: ([vox_type_str]) -> R) -> R {
        let bytes: [UInt8] = self.flatMap { [UInt8]($0.utf8) }
        return bytes.withUnsafeBufferPointer { buf in
            var offset = 0
            var strs: [vox_type_str] = []
            strs.reserveCapacity(count)
            for s in self {
                let n = s.utf8.count
                strs.append(vox_type_str(ptr: buf.baseAddress.map { UnsafeRawPointer($0 + offset).assumingMemoryBound(to: CChar.self) }, len: n))
                offset += n
            }
            return body(strs)
        }
    }
}

public struct VoxHTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: VoxHTTPBody

    /// The first value of a header, case-insensitively.
    public func header(_ name: String) -> String? { headers.header(name) }

    /// Collects the whole body, refusing more than `limit` bytes. The
    /// chunks are gathered on the host thread that delivers them: the
    /// calling task wakes once, at the end. Cancelling the task closes the
    /// connection. Read the body either with this or as a sequence.
    public func collect(limit: Int = 64 << 20) async throws -> [UInt8] {
        try await BodyGatherer(limit: limit).run(body)
    }
}

/// One `collect` or `fetch`: the bytes so far, taken on the host's thread,
/// and the one wake-up at the end.
final class BodyGatherer: @unchecked Sendable {
    private let limit: Int
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var over = false
    private var end: Result<[UInt8], Error>?
    private var waiter: CheckedContinuation<[UInt8], Error>?
    private var _head: (status: Int, headers: [(String, String)])?
    /// The response head, for `fetch` (set on the host's thread before the body).
    var head: (status: Int, headers: [(String, String)])? {
        get { lock.withLock { _head } }
        set { lock.withLock { _head = newValue } }
    }

    init(limit: Int) { self.limit = limit }

    var sink: HTTPExchange.Sink {
        HTTPExchange.Sink(chunk: { self.take($0) ? Int32(VOX_FLOW_CONTINUE.rawValue) : Int32(VOX_FLOW_STOP.rawValue) },
                          end: { self.finish($0) })
    }

    /// The rest of a body whose head is in (`collect`).
    func run(_ body: VoxHTTPBody) async throws -> [UInt8] {
        let sink = self.sink
        while case .chunks(let queued) = body.exchange.drainOrInstall(sink) {
            for chunk in queued where !take(chunk) {
                body.cancel()
                break
            }
        }
        return try await wait(cancel: body.exchange)
    }

    /// Waits for the end; cancelling the task closes the exchange, whose
    /// on_complete ends the wait.
    func wait(cancel exchange: HTTPExchange) async throws -> [UInt8] {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<[UInt8], Error>) in
                let now: Result<[UInt8], Error>? = lock.withLock {
                    if let end { return end }
                    waiter = c
                    return nil
                }
                if let now { c.resume(with: now) }
            }
        } onCancel: {
            exchange.cancel()
        }
    }

    /// False once the body went over the limit (the rest is refused).
    private func take(_ chunk: [UInt8]) -> Bool {
        lock.withLock {
            if over { return false }
            bytes += chunk
            if bytes.count > limit { over = true; bytes = [] }
            return !over
        }
    }

    private func finish(_ error: Error?) {
        let (w, result): (CheckedContinuation<[UInt8], Error>?, Result<[UInt8], Error>) = lock.withLock {
            let r: Result<[UInt8], Error>
            if over { r = .failure(VoxPluginError.unavailable("response body over \(limit) bytes")) }
            else if let error { r = .failure(error) }
            else { r = .success(bytes) }
            end = r
            bytes = []
            defer { waiter = nil }
            return (waiter, r)
        }
        w?.resume(with: result)
    }
}

/// The response body as an async sequence of chunks. Back-pressure: when
/// more than a few chunks wait unread, the host is told to pause.
/// Dropping every copy of the body (and its iterators) unread closes the
/// connection, as does `cancel()`.
public struct VoxHTTPBody: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let lease: ExchangeLease
    var exchange: HTTPExchange { lease.exchange }

    init(exchange: HTTPExchange) { lease = ExchangeLease(exchange) }

    public func makeAsyncIterator() -> Iterator { Iterator(lease: lease) }

    /// Stops reading: closes the connection (a no-op once the body ended).
    public func cancel() { lease.exchange.cancel() }

    public struct Iterator: AsyncIteratorProtocol {
        let lease: ExchangeLease
        public mutating func next() async throws -> [UInt8]? { try await lease.exchange.next() }
    }
}

/// Cancels the exchange when the last holder of its body lets go.
final class ExchangeLease: Sendable {
    let exchange: HTTPExchange
    init(_ exchange: HTTPExchange) { self.exchange = exchange }
    deinit { exchange.cancel() }
}

/// State of one exchange, shared between the host's callbacks and the reader.
final class HTTPExchange: @unchecked Sendable {
    private let host: UnsafePointer<vox_host_api>
    private let lock = NSLock()
    private var handle: OpaquePointer?
    private var completed = false
    private var released = false
    private var cancelRequested = false
    private var head: CheckedContinuation<VoxHTTPResponse, Error>?
    /// `EventOutput.relay(http:…)` and `fetch`: decides on the head, on the host's
    /// thread, whether the body goes straight to `sink` (no task wake-up)
    /// or back to the caller as a response.
    private var early: Early?
    typealias Early = (accept: @Sendable (Int, [(String, String)]) -> Bool, sink: Sink, rejected: @Sendable (VoxHTTPResponse) -> Void)
    private var chunks: [[UInt8]] = []
    private var end: Result<Void, Error>?
    private var reader: CheckedContinuation<[UInt8]?, Error>?
    private var paused = false
    private static let highWater = 16
    /// Where chunks go once a BodyRelay has taken the body over: straight
    /// from the host's callback, no queue, no hop.
    private var sink: Sink?

    struct Sink {
        let chunk: @Sendable ([UInt8]) -> Int32
        let end: @Sendable (Error?) -> Void
    }
    enum Drain { case chunks([[UInt8]]), installed }

    init(host: UnsafePointer<vox_host_api>) { self.host = host }

    static let callbacks: vox_type_http_callbacks = {
        var cb = vox_type_http_callbacks()
        cb.struct_size = UInt32(MemoryLayout<vox_type_http_callbacks>.size)
        cb.on_response = { user, status, headers, count in
            let ex = Unmanaged<HTTPExchange>.fromOpaque(user!).takeUnretainedValue()
            var hs: [(String, String)] = []
            if let headers {
                for i in 0..<count { hs.append((headers[2 * i].string, headers[2 * i + 1].string)) }
            }
            ex.gotHead(status: Int(status), headers: hs)
        }
        cb.on_body = { user, data, len in
            let ex = Unmanaged<HTTPExchange>.fromOpaque(user!).takeUnretainedValue()
            return ex.gotBody(len > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: len)) : [])
        }
        cb.on_complete = { user, error in
            let ex = Unmanaged<HTTPExchange>.fromOpaque(user!).takeRetainedValue()
            ex.complete(error.map { VoxPluginError(abi: $0) })
        }
        return cb
    }()

    func setHead(_ c: CheckedContinuation<VoxHTTPResponse, Error>) { lock.withLock { head = c } }

    func attach(_ h: OpaquePointer) {
        let (releaseNow, cancelNow): (Bool, Bool) = lock.withLock {
            handle = h
            if completed && !released { released = true; return (true, false) }
            return (false, cancelRequested && !completed)
        }
        if cancelNow { host.pointee.http_cancel?(h) }
        if releaseNow { host.pointee.http_release?(h) }
    }

    func setEarly(accept: @escaping @Sendable (Int, [(String, String)]) -> Bool, sink: Sink, rejected: @escaping @Sendable (VoxHTTPResponse) -> Void) {
        lock.withLock { early = (accept, sink, rejected) }
    }

    func failHead(_ e: Error) {
        let (h, early) = lock.withLock { () -> (CheckedContinuation<VoxHTTPResponse, Error>?, Sink?) in
            defer { head = nil; self.early = nil }
            return (head, self.early?.sink)
        }
        h?.resume(throwing: e)
        early?.end(e)
    }

    private func gotHead(status: Int, headers: [(String, String)]) {
        let (h, early) = lock.withLock { () -> (CheckedContinuation<VoxHTTPResponse, Error>?, Early?) in
            defer { head = nil; self.early = nil }
            return (head, self.early)
        }
        if let early {
            if early.accept(status, headers) {
                lock.withLock { sink = early.sink } // the body follows on this thread, after this returns
            } else {
                early.rejected(VoxHTTPResponse(status: status, headers: headers, body: VoxHTTPBody(exchange: self)))
            }
        }
        h?.resume(returning: VoxHTTPResponse(status: status, headers: headers, body: VoxHTTPBody(exchange: self)))
    }

    private func gotBody(_ bytes: [UInt8]) -> Int32 {
        let (r, flow, relay): (CheckedContinuation<[UInt8]?, Error>?, UInt32, Sink?) = lock.withLock {
            if let sink { return (nil, VOX_FLOW_CONTINUE.rawValue, sink) }
            if let r = reader { reader = nil; return (r, VOX_FLOW_CONTINUE.rawValue, nil) }
            chunks.append(bytes)
            if chunks.count >= Self.highWater { paused = true; return (nil, VOX_FLOW_PAUSE.rawValue, nil) }
            return (nil, VOX_FLOW_CONTINUE.rawValue, nil)
        }
        if let relay { return relay.chunk(bytes) }
        r?.resume(returning: bytes)
        return Int32(flow)
    }

    /// The queued chunks, if any; otherwise `sink` takes every later chunk
    /// and the end (at once if the body already ended), and a paused body
    /// flows again.
    func drainOrInstall(_ s: Sink) -> Drain {
        let (drain, resume, endNow): (Drain, OpaquePointer?, Result<Void, Error>?) = lock.withLock {
            if !chunks.isEmpty {
                defer { chunks = [] }
                return (.chunks(chunks), nil, nil)
            }
            if let end { return (.installed, nil, end) }
            sink = s
            var h: OpaquePointer?
            if paused, !completed { paused = false; h = handle }
            return (.installed, h, nil)
        }
        if let resume { host.pointee.http_resume?(resume) }
        switch endNow {
        case .success: s.end(nil)
        case .failure(let e): s.end(e)
        case nil: break
        }
        return drain
    }

    /// Lets a body paused by a sink's PAUSE flow again.
    func resumeBody() {
        let h: OpaquePointer? = lock.withLock { completed ? nil : handle }
        if let h { host.pointee.http_resume?(h) }
    }

    private func complete(_ error: VoxPluginError?) {
        let (h, r, handleToRelease, relay): (CheckedContinuation<VoxHTTPResponse, Error>?, CheckedContinuation<[UInt8]?, Error>?, OpaquePointer?, Sink?) = lock.withLock {
            completed = true
            end = error.map { .failure($0) } ?? .success(())
            defer { head = nil; reader = nil; self.sink = nil; early = nil }
            var rel: OpaquePointer?
            if let handle, !released { released = true; rel = handle }
            // A sink bound before the head hears of a failure before it too.
            return (head, reader, rel, self.sink ?? early?.sink)
        }
        relay?.end(error)
        if let h { h.resume(throwing: error ?? VoxPluginError.unavailable("connection closed before a response")) }
        if let r {
            if let error { r.resume(throwing: error) } else { r.resume(returning: nil) }
        }
        if let handleToRelease { host.pointee.http_release?(handleToRelease) }
    }

    func next() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<[UInt8]?, Error>) in
                enum Step { case chunk([UInt8], resume: OpaquePointer?), end(Result<Void, Error>), wait }
                let step: Step = lock.withLock {
                    if !chunks.isEmpty {
                        let first = chunks.removeFirst()
                        var resumeHandle: OpaquePointer?
                        if paused, chunks.count < Self.highWater / 2, !completed { paused = false; resumeHandle = handle }
                        return .chunk(first, resume: resumeHandle)
                    }
                    if let end { return .end(end) }
                    reader = c
                    return .wait
                }
                switch step {
                case .chunk(let bytes, let h):
                    if let h { host.pointee.http_resume?(h) }
                    c.resume(returning: bytes)
                case .end(.success): c.resume(returning: nil)
                case .end(.failure(let e)): c.resume(throwing: e)
                case .wait: break
                }
            }
        } onCancel: { self.cancel() }
    }

    /// Cancels the exchange; a cancel before the handle is known is applied
    /// when it arrives (attach).
    func cancel() {
        let h: OpaquePointer? = lock.withLock {
            cancelRequested = true
            return completed ? nil : handle
        }
        if let h { host.pointee.http_cancel?(h) }
    }
}

extension Array where Element == (String, String) {
    /// The first value of header `name` in a header list, case-insensitively.
    public func header(_ name: String) -> String? {
        first { Self.sameName($0.0, name) }?.1
    }

    /// Header names are ASCII tokens: compared byte by byte, folding case.
    /// (Foundation's `caseInsensitiveCompare` here was 0.85% of voxd's CPU
    /// on a proxied chat: a response's lookup walks past a dozen headers.)
    static func sameName(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard x.count == y.count else { return false }
                for i in 0..<x.count where x[i] != y[i] {
                    let l = x[i] | 0x20
                    guard l == y[i] | 0x20, l >= UInt8(ascii: "a"), l <= UInt8(ascii: "z") else { return false }
                }
                return true
            }
        }
    }
}

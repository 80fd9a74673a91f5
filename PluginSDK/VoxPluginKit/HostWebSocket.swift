import CVoxPlugin
import Foundation

/// One message on a WebSocket.
public enum VoxWebSocketMessage: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
}

/// What to connect to (`PluginContext.webSocket`).
public struct VoxWebSocketRequest: Sendable {
    /// ws:// or wss:// (http(s):// means the same).
    public var url: String
    /// Sent with the upgrade request (auth…).
    public var headers: [(String, String)]
    /// Until the upgrade completes; 0 = the host's default (10 s).
    public var connectTimeoutMs: UInt32 = 0
    /// No message from the server for this long ends the socket with
    /// `timeout`; 0 = never (use it when the server may stay quiet).
    public var idleTimeoutMs: UInt32 = 0
    /// Larger incoming messages end the socket; 0 = 16 MiB.
    public var maxMessageBytes: UInt32 = 0

    public init(url: String, headers: [(String, String)] = []) {
        self.url = url
        self.headers = headers
    }
}

extension PluginContext {
    /// Opens a WebSocket through the host (ABI 1.1) and returns once the
    /// upgrade succeeded. A refused upgrade throws the mapped error (401 →
    /// unauthenticated, 429 → rate_limited…, with the HTTP status).
    /// Cancelling the calling task while connecting drops the attempt.
    public func webSocket(_ request: VoxWebSocketRequest) async throws -> VoxWebSocket {
        guard host.pointee.struct_size >= MemoryLayout<vox_host_api>.offset(of: \.ws_release)! + MemoryLayout<UnsafeRawPointer>.size,
              let connect = host.pointee.ws_connect else {
            throw VoxPluginError.unsupported("this voxd offers no WebSocket service (it speaks ABI \(host.pointee.abi_major).\(host.pointee.abi_minor); 1.1 is needed)")
        }
        let conn = WSConnection(host: host)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (open: CheckedContinuation<Void, Error>) in
                conn.setOpen(open)
                var error = vox_type_error()
                error.struct_size = UInt32(MemoryLayout<vox_type_error>.size)
                let handle = request.withABI { req in
                    withUnsafePointer(to: WSConnection.callbacks) { cb in
                        connect(hp, req, cb, Unmanaged.passRetained(conn).toOpaque(), &error)
                    }
                }
                if let handle {
                    conn.attach(handle)
                } else {
                    Unmanaged.passUnretained(conn).release() // no callback will come
                    conn.failOpen(VoxPluginError(abi: &error))
                }
            }
        } onCancel: {
            conn.cancel()
        }
        return VoxWebSocket(conn)
    }
}

extension VoxWebSocketRequest {
    func withABI<R>(_ body: (UnsafePointer<vox_type_ws_request>) -> R) -> R {
        let parts = headers.flatMap { [Array($0.0.utf8), Array($0.1.utf8)] }
        let flat = Array(parts.joined()) + Array(url.utf8)
        return flat.withUnsafeBufferPointer { b in
            func str(_ offset: Int, _ count: Int) -> vox_type_str {
                vox_type_str(ptr: UnsafeRawPointer(b.baseAddress.map { $0 + offset })?.assumingMemoryBound(to: CChar.self), len: count)
            }
            var strs: [vox_type_str] = []
            var offset = 0
            for p in parts { strs.append(str(offset, p.count)); offset += p.count }
            return strs.withUnsafeBufferPointer { hs in
                var r = vox_type_ws_request()
                r.struct_size = UInt32(MemoryLayout<vox_type_ws_request>.size)
                r.url = str(offset, url.utf8.count)
                r.headers = hs.baseAddress
                r.header_count = headers.count
                r.connect_timeout_ms = connectTimeoutMs
                r.idle_timeout_ms = idleTimeoutMs
                r.max_message_bytes = maxMessageBytes
                return withUnsafePointer(to: r) { body($0) }
            }
        }
    }
}

/// An open WebSocket. Read with `receive()` (or `for try await` over it);
/// write with `send`. The socket closes when `close` is called, when the
/// server closes it, or when the last reference goes away (then without a
/// handshake).
public final class VoxWebSocket: AsyncSequence, @unchecked Sendable {
    public typealias Element = VoxWebSocketMessage
    let conn: WSConnection

    init(_ conn: WSConnection) { self.conn = conn }
    deinit { conn.cancel() }

    /// Sends a text message; waits while the host's send queue is full.
    /// Throws `unavailable` once the socket is closing or closed.
    public func send(_ text: String) async throws { try await conn.send(text: true, Array(text.utf8)) }
    public func send(binary: [UInt8]) async throws { try await conn.send(text: false, binary) }

    /// The next message; nil after a close handshake (see `closeCode`);
    /// throws when the socket failed (dropped, timed out, cancelled).
    public func receive() async throws -> VoxWebSocketMessage? { try await conn.next() }

    /// Starts the close handshake (after what was sent); messages still
    /// arrive until the server's close frame.
    public func close(code: Int = 1000, reason: String = "") { conn.close(code: code, reason: reason) }

    /// Drops the connection now.
    public func cancel() { conn.cancel() }

    /// The server's close code and reason, once closed cleanly.
    public var closeFrame: (code: Int, reason: String)? { conn.closeFrame }

    public struct Iterator: AsyncIteratorProtocol {
        let socket: VoxWebSocket
        public mutating func next() async throws -> VoxWebSocketMessage? { try await socket.receive() }
    }
    public func makeAsyncIterator() -> Iterator { Iterator(socket: self) }
}

/// State of one socket, shared between the host's callbacks and the plugin.
final class WSConnection: @unchecked Sendable {
    private let host: UnsafePointer<vox_host_api>
    private let lock = NSLock()
    private var handle: OpaquePointer?
    private var ended = false
    private var released = false
    private var cancelRequested = false
    private var open: CheckedContinuation<Void, Error>?
    private var inbox: [VoxWebSocketMessage] = []
    private var end: Result<(Int, String), Error>?
    private var reader: CheckedContinuation<VoxWebSocketMessage?, Error>?
    private var writers: [CheckedContinuation<Void, Never>] = []
    private var blocked = false
    private var paused = false
    private static let highWater = 64

    init(host: UnsafePointer<vox_host_api>) { self.host = host }

    static let callbacks: vox_type_ws_callbacks = {
        var cb = vox_type_ws_callbacks()
        cb.struct_size = UInt32(MemoryLayout<vox_type_ws_callbacks>.size)
        cb.on_open = { user in
            Unmanaged<WSConnection>.fromOpaque(user!).takeUnretainedValue().opened()
        }
        cb.on_message = { user, isText, data, len in
            let c = Unmanaged<WSConnection>.fromOpaque(user!).takeUnretainedValue()
            let bytes = len > 0 && data != nil ? UnsafeBufferPointer(start: data, count: len) : UnsafeBufferPointer(start: nil, count: 0)
            return c.got(isText != 0 ? .text(String(decoding: bytes, as: UTF8.self)) : .binary(Array(bytes)))
        }
        cb.on_writable = { user in
            Unmanaged<WSConnection>.fromOpaque(user!).takeUnretainedValue().writable()
        }
        cb.on_close = { user, code, reason, error in
            let c = Unmanaged<WSConnection>.fromOpaque(user!).takeRetainedValue()
            c.closed(code: Int(code), reason: reason.string, error: error.map { VoxPluginError(abi: $0) })
        }
        return cb
    }()

    var closeFrame: (code: Int, reason: String)? {
        lock.withLock { if case .success(let f) = end { return f }; return nil }
    }

    func setOpen(_ c: CheckedContinuation<Void, Error>) { lock.withLock { open = c } }

    func attach(_ h: OpaquePointer) {
        let (releaseNow, cancelNow): (Bool, Bool) = lock.withLock {
            handle = h
            if ended && !released { released = true; return (true, false) }
            return (false, cancelRequested && !ended)
        }
        if cancelNow { host.pointee.ws_cancel?(h) }
        if releaseNow { host.pointee.ws_release?(h) }
    }

    func failOpen(_ e: Error) {
        let o = lock.withLock { () -> CheckedContinuation<Void, Error>? in defer { open = nil }; return open }
        o?.resume(throwing: e)
    }

    private func opened() {
        let o = lock.withLock { () -> CheckedContinuation<Void, Error>? in defer { open = nil }; return open }
        o?.resume()
    }

    private func got(_ m: VoxWebSocketMessage) -> Int32 {
        let (r, flow): (CheckedContinuation<VoxWebSocketMessage?, Error>?, UInt32) = lock.withLock {
            if let r = reader { reader = nil; return (r, VOX_FLOW_CONTINUE.rawValue) }
            inbox.append(m)
            if inbox.count >= Self.highWater { paused = true; return (nil, VOX_FLOW_PAUSE.rawValue) }
            return (nil, VOX_FLOW_CONTINUE.rawValue)
        }
        r?.resume(returning: m)
        return Int32(flow)
    }

    private func writable() {
        let ws: [CheckedContinuation<Void, Never>] = lock.withLock { blocked = false; defer { writers = [] }; return writers }
        for w in ws { w.resume() }
    }

    private func closed(code: Int, reason: String, error: VoxPluginError?) {
        let (o, r, ws, h): (CheckedContinuation<Void, Error>?, CheckedContinuation<VoxWebSocketMessage?, Error>?, [CheckedContinuation<Void, Never>], OpaquePointer?) = lock.withLock {
            ended = true
            end = error.map { .failure($0) } ?? .success((code, reason))
            defer { open = nil; reader = nil; writers = [] }
            var rel: OpaquePointer?
            if let handle, !released { released = true; rel = handle }
            return (open, reader, writers, rel)
        }
        o?.resume(throwing: error ?? VoxPluginError.unavailable("the WebSocket closed (\(code)) before it opened"))
        if let r {
            if let error { r.resume(throwing: error) } else { r.resume(returning: nil) }
        }
        for w in ws { w.resume() }
        if let h { host.pointee.ws_release?(h) }
    }

    func send(text: Bool, _ bytes: [UInt8]) async throws {
        // Wait while the host asked us to hold back (after a PAUSE).
        while lock.withLock({ blocked && !ended }) {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now: Bool = lock.withLock {
                    if !blocked || ended { return true }
                    writers.append(c)
                    return false
                }
                if now { c.resume() }
            }
        }
        try Task.checkCancellation()
        let h: OpaquePointer? = lock.withLock { ended ? nil : handle }
        guard let h, let sendFn = host.pointee.ws_send else {
            throw lock.withLock { Self.failure(end) } ?? VoxPluginError.unavailable("the WebSocket is closed")
        }
        let flow = bytes.withUnsafeBufferPointer { sendFn(h, text ? 1 : 0, $0.baseAddress, $0.count) }
        if flow == Int32(VOX_FLOW_STOP.rawValue) {
            throw lock.withLock { Self.failure(end) } ?? VoxPluginError.unavailable("the WebSocket is closing; the message was not sent")
        }
        if flow == Int32(VOX_FLOW_PAUSE.rawValue) { lock.withLock { blocked = true } }
    }

    private static func failure(_ end: Result<(Int, String), Error>?) -> Error? {
        if case .failure(let e) = end { return e }
        return nil
    }

    func next() async throws -> VoxWebSocketMessage? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<VoxWebSocketMessage?, Error>) in
                enum Step { case message(VoxWebSocketMessage, resume: OpaquePointer?), end(Result<(Int, String), Error>), wait }
                let step: Step = lock.withLock {
                    if !inbox.isEmpty {
                        let first = inbox.removeFirst()
                        var resumeHandle: OpaquePointer?
                        if paused, inbox.count < Self.highWater / 2, !ended { paused = false; resumeHandle = handle }
                        return .message(first, resume: resumeHandle)
                    }
                    if let end { return .end(end) }
                    reader = c
                    return .wait
                }
                switch step {
                case .message(let m, let h):
                    if let h { host.pointee.ws_resume?(h) }
                    c.resume(returning: m)
                case .end(.success): c.resume(returning: nil)
                case .end(.failure(let e)): c.resume(throwing: e)
                case .wait: break
                }
            }
        } onCancel: { self.cancel() }
    }

    func close(code: Int, reason: String) {
        let h: OpaquePointer? = lock.withLock { ended ? nil : handle }
        if let h { withVoxStr(reason) { host.pointee.ws_close?(h, Int32(code), $0) } }
    }

    /// Drops the socket; a cancel before the handle is known is applied
    /// when it arrives (attach).
    func cancel() {
        let h: OpaquePointer? = lock.withLock {
            cancelRequested = true
            return ended ? nil : handle
        }
        if let h { host.pointee.ws_cancel?(h) }
    }
}

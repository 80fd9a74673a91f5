import AsyncHTTPClient
import CVoxPlugin
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import VoxPluginKit

/// Outbound WebSocket for plugins (`ws_*` in the services table, ABI 1.1),
/// on swift-websocket's client over the process's NIO event loops: TLS,
/// proxies from the environment (ProxyEnvironment, the same rules as HTTP),
/// ping/pong and the close handshake are the host's. Callback order follows
/// the header: on_open ≤ 1, on_message* (and on_writable), on_close exactly once.
enum HostWebSocketService {
    static func install(into api: inout vox_host_api) {
        api.ws_connect = { hp, request, callbacks, user, errOut in
            guard let hp, let request, let callbacks else {
                VoxPluginError.invalidRequest("ws_connect: missing arguments").fill(errOut)
                return nil
            }
            do {
                let ws = try HostWebSocket(handle: HostPluginHandle.from(hp), request: request, callbacks: callbacks.pointee, user: user)
                ws.start()
                return OpaquePointer(Unmanaged.passRetained(ws).toOpaque())
            } catch {
                VoxPluginError.from(error).fill(errOut)
                return nil
            }
        }
        api.ws_send = { ws, isText, data, len in
            guard let ws else { return Int32(VOX_FLOW_STOP.rawValue) }
            let bytes = len > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: len)) : []
            return HostWebSocket.from(ws).send(text: isText != 0, bytes)
        }
        api.ws_close = { ws, code, reason in ws.map { HostWebSocket.from($0).close(code: Int(code), reason: reason.string) } }
        api.ws_resume = { ws in ws.map { HostWebSocket.from($0).resume() } }
        api.ws_cancel = { ws in ws.map { HostWebSocket.from($0).cancel() } }
        api.ws_release = { ws in ws.map { Unmanaged<HostWebSocket>.fromOpaque(UnsafeRawPointer($0)).release() } }
    }

    /// What a refused upgrade's HTTP status means (the header's on_close).
    static func refusal(status: Int, headers: [(String, String)], body: [UInt8], url: String) -> VoxPluginError {
        var text = String(decoding: body.prefix(400), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        // Deepgram names the reason in a header on a refused handshake.
        if let reason = headers.header("dg-error") { text = text.isEmpty ? reason : "\(reason): \(text)" }
        let message = "WebSocket upgrade refused with HTTP \(status)\(text.isEmpty ? "" : ": \(text)")"
        var retryAfter: Int?
        if let ra = headers.header("retry-after").flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) { retryAfter = Int(ra * 1000) }
        switch status {
        case 401: return VoxPluginError(.unauthenticated, message, httpStatus: status)
        case 402, 403: return VoxPluginError(.forbidden, message, httpStatus: status)
        case 404: return VoxPluginError(.notFound, message, httpStatus: status)
        case 408: return VoxPluginError(.timeout, message, httpStatus: status, retriable: true)
        case 429: return VoxPluginError(.rateLimited, message, httpStatus: status, retryAfterMs: retryAfter, retriable: true)
        case 400..<500: return VoxPluginError(.invalidRequest, message, httpStatus: status)
        default: return VoxPluginError(.unavailable, message, httpStatus: status, retryAfterMs: retryAfter, retriable: true)
        }
    }
}

/// One outbound WebSocket.
final class HostWebSocket: @unchecked Sendable {
    static func from(_ h: OpaquePointer) -> HostWebSocket {
        Unmanaged<HostWebSocket>.fromOpaque(UnsafeRawPointer(h)).takeUnretainedValue()
    }

    static let highWater = 1 << 20
    static let lowWater = 256 << 10

    private let handle: HostPluginHandle
    private let callbacks: vox_type_ws_callbacks
    private let user: UnsafeMutableRawPointer?
    private let url: String
    private let headers: [(String, String)]
    private let connectTimeout: Double
    private let idleTimeout: Double
    private let maxMessage: Int

    private enum Outbound { case message(text: Bool, [UInt8]), close(code: Int, reason: String) }
    private let lock = NSLock()
    private var queue: [Outbound] = []
    private var queuedBytes = 0
    private var wantWritable = false
    private var writerWaiting: CheckedContinuation<Void, Never>?
    private var closing = false
    private var ended = false
    private var opened = false
    private var cancelled = false
    private var timeoutReason: String?
    private var stoppedByPlugin = false
    private let gate = ResumeGate()
    private var task: Task<Void, Never>?
    private let watchdog = Watchdog()

    init(handle: HostPluginHandle, request r: UnsafePointer<vox_type_ws_request>, callbacks: vox_type_ws_callbacks, user: UnsafeMutableRawPointer?) throws {
        guard callbacks.on_close != nil else { throw VoxPluginError.invalidRequest("ws_connect: on_close is required") }
        var url = r.pointee.url.string
        if url.hasPrefix("https://") { url = "wss://" + url.dropFirst("https://".count) }
        if url.hasPrefix("http://") { url = "ws://" + url.dropFirst("http://".count) }
        guard url.hasPrefix("ws://") || url.hasPrefix("wss://"), URL(string: url)?.host != nil else {
            throw VoxPluginError.invalidRequest("ws_connect: \"\(r.pointee.url.string)\" is not a ws:// or wss:// URL")
        }
        self.handle = handle
        self.callbacks = callbacks
        self.user = user
        self.url = url
        var hs: [(String, String)] = []
        if let h = r.pointee.headers {
            for i in 0..<r.pointee.header_count { hs.append((h[2 * i].string, h[2 * i + 1].string)) }
        }
        headers = hs
        connectTimeout = r.pointee.connect_timeout_ms == 0 ? 10 : Double(r.pointee.connect_timeout_ms) / 1000
        idleTimeout = Double(r.pointee.idle_timeout_ms) / 1000
        maxMessage = r.pointee.max_message_bytes == 0 ? 16 << 20 : Int(r.pointee.max_message_bytes)
    }

    func start() {
        let t = Task { await self.run() }
        lock.withLock { task = t }
    }

    private func run() async {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let n = HTTPField.Name(name) { fields.append(HTTPField(name: n, value: value)) }
        }
        let config = WebSocketClientConfiguration(maxFrameSize: maxMessage, additionalHeaders: fields, closeTimeout: .seconds(5))
        let logger = Logger(label: "voxd.ws", factory: { _ in SwiftLogNoOpLogHandler() })
        let handler: WebSocketDataHandler<WebSocketClient.Context> = { inbound, outbound, _ in
            try await self.connected(inbound: inbound, outbound: outbound)
        }
        let client: WebSocketClient
        if let proxy = ProxyEnvironment.current.proxy(for: url) {
            client = WebSocketClient(url: url, configuration: config,
                                     proxySettings: .init(host: proxy.host, port: proxy.port, type: .http(), timeout: .milliseconds(Int64(connectTimeout * 1000))),
                                     logger: logger, handler: handler)
        } else {
            client = WebSocketClient(url: url, configuration: config, logger: logger, handler: handler)
        }
        watchdog.arm(after: connectTimeout) { [weak self] in
            guard let self else { return }
            self.timeOut("the WebSocket upgrade did not complete within \(self.connectTimeout) s")
        }
        var failure: VoxPluginError?
        var closeCode = 1006
        var closeReason = ""
        do {
            let frame = try await client.run()
            closeCode = frame.map { Self.number($0.closeCode) } ?? 1005
            closeReason = frame?.reason ?? ""
            failure = lock.withLock { Self.endReason(timeout: timeoutReason, cancelled: cancelled || stoppedByPlugin) }
            if failure == nil, !lock.withLock({ opened }) {
                failure = .unavailable("the WebSocket closed before it opened")
            }
        } catch {
            failure = await classify(error)
        }
        watchdog.disarm()
        finishQueue()
        handle.metrics.record(plugin: handle.name, kind: 0, name: failure == nil ? "ws_sessions_ok" : "ws_sessions_failed", value: 1)
        if failure != nil { closeCode = 1006 }
        lock.withLock { ended = true }
        withVoxStr(closeReason) { reason in
            if let failure {
                var e = vox_type_error()
                failure.fill(&e)
                callbacks.on_close?(user, Int32(closeCode), reason, &e)
            } else {
                callbacks.on_close?(user, Int32(closeCode), reason, nil)
            }
        }
    }

    /// The code as sent on the wire (NIO keeps it as an enum).
    static func number(_ code: WebSocketErrorCode) -> Int {
        var buffer = ByteBuffer()
        buffer.write(webSocketErrorCode: code)
        return Int(buffer.readInteger(as: UInt16.self) ?? 1005)
    }

    private static func endReason(timeout: String?, cancelled: Bool) -> VoxPluginError? {
        if let timeout { return VoxPluginError(.timeout, timeout, retriable: true) }
        if cancelled { return .cancelled }
        return nil
    }

    /// The upgrade succeeded: on_open, then read and write until either side closes.
    private func connected(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        lock.withLock { opened = true }
        armIdle()
        callbacks.on_open?(user)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.writeLoop(outbound) }
            var messages = inbound.messages(maxSize: maxMessage).makeAsyncIterator()
            while let message = try await messages.next() {
                armIdle()
                let flow: Int32
                switch message {
                case .text(let s):
                    var s = s
                    flow = s.withUTF8 { b in callbacks.on_message?(user, 1, b.baseAddress, b.count) ?? Int32(VOX_FLOW_CONTINUE.rawValue) }
                    handle.metrics.record(plugin: handle.name, kind: 0, name: "ws_bytes_in", value: Double(s.utf8.count))
                case .binary(let buffer):
                    flow = buffer.withUnsafeReadableBytes { b in
                        callbacks.on_message?(user, 0, b.baseAddress?.assumingMemoryBound(to: UInt8.self), b.count) ?? Int32(VOX_FLOW_CONTINUE.rawValue)
                    }
                    handle.metrics.record(plugin: handle.name, kind: 0, name: "ws_bytes_in", value: Double(buffer.readableBytes))
                }
                if flow == Int32(VOX_FLOW_STOP.rawValue) {
                    lock.withLock { stoppedByPlugin = true }
                    throw CancellationError()
                }
                if flow == Int32(VOX_FLOW_PAUSE.rawValue) {
                    watchdog.disarm()
                    await gate.wait()
                    armIdle()
                }
                if lock.withLock({ cancelled || timeoutReason != nil }) { throw CancellationError() }
            }
            // The server closed (or answered our close): stop writing.
            group.cancelAll()
            wakeWriter()
        }
    }

    private func armIdle() {
        if idleTimeout > 0 {
            watchdog.arm(after: idleTimeout) { [weak self] in
                guard let self else { return }
                self.timeOut("no message from the server for \(self.idleTimeout) s")
            }
        } else {
            watchdog.disarm()
        }
    }

    private func writeLoop(_ out: WebSocketOutboundWriter) async throws {
        while true {
            guard let next = await nextOutbound() else { return }
            switch next {
            case .message(let text, let bytes):
                if text {
                    try await out.write(.text(String(decoding: bytes, as: UTF8.self)))
                } else {
                    try await out.write(.binary(ByteBuffer(bytes: bytes)))
                }
                handle.metrics.record(plugin: handle.name, kind: 0, name: "ws_bytes_out", value: Double(bytes.count))
                let notify: Bool = lock.withLock {
                    queuedBytes -= bytes.count
                    if wantWritable, queuedBytes < Self.lowWater { wantWritable = false; return true }
                    return false
                }
                if notify { callbacks.on_writable?(user) }
            case .close(let code, let reason):
                try await out.close(WebSocketErrorCode(codeNumber: code), reason: reason.isEmpty ? nil : reason)
                return
            }
        }
    }

    /// The next queued item, nil when the writer should stop.
    private func nextOutbound() async -> Outbound? {
        while true {
            if Task.isCancelled { return nil }
            let item: Outbound?? = lock.withLock {
                if !queue.isEmpty { return .some(queue.removeFirst()) }
                if ended || cancelled || timeoutReason != nil { return .some(nil) }
                return nil
            }
            if let item { return item }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let now: Bool = lock.withLock {
                        if !queue.isEmpty || ended || cancelled || timeoutReason != nil { return true }
                        writerWaiting = c
                        return false
                    }
                    if now { c.resume() }
                }
            } onCancel: { self.wakeWriter() }
        }
    }

    private func wakeWriter() {
        let c: CheckedContinuation<Void, Never>? = lock.withLock { defer { writerWaiting = nil }; return writerWaiting }
        c?.resume()
    }

    func send(text: Bool, _ bytes: [UInt8]) -> Int32 {
        let flow: UInt32 = lock.withLock {
            if closing || ended || cancelled { return VOX_FLOW_STOP.rawValue }
            queue.append(.message(text: text, bytes))
            queuedBytes += bytes.count
            if queuedBytes > Self.highWater { wantWritable = true; return VOX_FLOW_PAUSE.rawValue }
            return VOX_FLOW_CONTINUE.rawValue
        }
        wakeWriter()
        return Int32(flow)
    }

    func close(code: Int, reason: String) {
        let accepted: Bool = lock.withLock {
            if closing || ended { return false }
            closing = true
            queue.append(.close(code: (1000...4999).contains(code) ? code : 1000, reason: String(reason.utf8.prefix(123)) ?? ""))
            return true
        }
        if accepted { wakeWriter() }
    }

    private func finishQueue() {
        lock.withLock { queue.removeAll(); queuedBytes = 0 }
        wakeWriter()
        gate.end()
    }

    private func timeOut(_ reason: String) {
        let t: Task<Void, Never>? = lock.withLock {
            if timeoutReason == nil { timeoutReason = reason }
            return task
        }
        t?.cancel()
        wakeWriter()
        gate.end()
    }

    func resume() { gate.resume() }

    func cancel() {
        let t: Task<Void, Never>? = lock.withLock { cancelled = true; return task }
        t?.cancel()
        wakeWriter()
        gate.end()
    }

    /// A failure of `run()` as the header's error codes. A refused upgrade
    /// is asked again as a plain GET to learn why: swift-websocket reports
    /// only that the upgrade failed, not the server's status and reason.
    private func classify(_ error: Error) async -> VoxPluginError {
        if let e = lock.withLock({ Self.endReason(timeout: timeoutReason, cancelled: cancelled || stoppedByPlugin) }) { return e }
        if error is CancellationError { return .cancelled }
        if let e = error as? WebSocketClientError, e == .webSocketUpgradeFailed {
            return await probeRefusal()
        }
        if let e = error as? WebSocketClientError, e == .serverSentMessageTooLarge {
            return VoxPluginError(.unavailable, "the server sent a message over \(maxMessage) bytes", retriable: false)
        }
        return VoxPluginError(.unavailable, "WebSocket \(Self.redactedURL(url)) failed: \(error)", retriable: true)
    }

    private func probeRefusal() async -> VoxPluginError {
        var httpURL = url
        if httpURL.hasPrefix("wss://") { httpURL = "https://" + httpURL.dropFirst(6) } else { httpURL = "http://" + httpURL.dropFirst(5) }
        var req = HTTPClientRequest(url: httpURL)
        for (n, v) in headers { req.headers.add(name: n, value: v) }
        do {
            let client = HostHTTPService.client(connectTimeoutMs: UInt32(connectTimeout * 1000), url: httpURL)
            let response = try await client.execute(req, timeout: .seconds(5))
            var body = try await response.body.collect(upTo: 64 << 10)
            let bytes = body.readBytes(length: body.readableBytes) ?? []
            let status = Int(response.status.code)
            if (200..<300).contains(status) {
                return VoxPluginError(.unavailable, "the server at \(Self.redactedURL(url)) refused the WebSocket upgrade (HTTP \(status) to a plain request)", retriable: true)
            }
            return HostWebSocketService.refusal(status: status, headers: response.headers.map { ($0.name, $0.value) }, body: bytes, url: url)
        } catch {
            return VoxPluginError(.unavailable, "the server at \(Self.redactedURL(url)) refused the WebSocket upgrade", retriable: true)
        }
    }

    /// The URL without its query (which may carry a token).
    static func redactedURL(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }
}

import CVoxPlugin
import Foundation

extension EventOutput {
    /// Turns a response body into events on the host thread that delivers
    /// each chunk: `transform` parses the chunk and its events go to the
    /// host at once, with no hop to this task per chunk (on a fast token
    /// stream those hops were most of a plugin's cost). This task steps in
    /// only when the host asks to pause: it waits for the resume, sends the
    /// events it held, and lets the body flow again.
    ///
    /// `transform` sees the chunks in order, one call at a time, and appends
    /// their events; it must be quick and must not block (it runs on the
    /// host's I/O thread). Events it appended before throwing are still
    /// sent (unless the host has paused the relay: then they go with the
    /// rest it held), then the relay stops with its error. Returns
    /// at the end of the body. Throws what `transform` threw, a
    /// CancellationError once the operation is cancelled, or the body's
    /// transport error. Read the body either with this or as a sequence,
    /// not both.
    public func relay(_ body: VoxHTTPBody, _ transform: @escaping @Sendable (_ chunk: [UInt8], _ events: inout [JSONValue]) throws -> Void) async throws {
        try await BodyRelay(box: box, exchange: body.exchange, lease: body.lease, transform: Self.items(transform)).run()
    }

    /// Sends `request` and relays its body as above from the moment its
    /// head arrives: `accept` sees the status and headers on the host's
    /// thread, and an accepted body is relayed with no wake-up of this task
    /// in between (on a stream, the first events reach the host one task
    /// hop sooner). Returns nil at the end of an accepted body; a head that
    /// `accept` refuses (an error status, another content type) comes back
    /// as the response, its body unread, for the caller to handle. Throws
    /// as `relay(_:_:)` does, and the exchange's failure before any head.
    public func relay(_ http: HostHTTP, _ request: VoxHTTPRequest,
                      accept: @escaping @Sendable (_ status: Int, _ headers: [(String, String)]) -> Bool,
                      _ transform: @escaping @Sendable (_ chunk: [UInt8], _ events: inout [JSONValue]) throws -> Void) async throws -> VoxHTTPResponse? {
        let exchange = HTTPExchange(host: http.host)
        // No lease: a refused head's response carries its own, and dropping
        // the relay must not close the body handed back.
        let relay = BodyRelay(box: box, exchange: exchange, lease: nil, transform: Self.items(transform))
        exchange.setEarly(accept: accept, sink: relay.sink, rejected: { relay.signal(.rejected($0)) })
        http.start(request, exchange)
        return try await relay.run(installed: true)
    }

    /// The events a transform made, serialized; those made before it threw
    /// are kept.
    private static func items(_ transform: @escaping @Sendable ([UInt8], inout [JSONValue]) throws -> Void) -> BodyRelay.Transform {
        { chunk, items in
            var made: [JSONValue] = []
            defer { for e in made { items.append(.event(VoxJSON.string(e))) } }
            try transform(chunk, &made)
        }
    }
}

extension AudioOutput {
    /// Streams a response body out as audio on the host thread that delivers
    /// each chunk, as `EventOutput.relay` does with events: no hop to this
    /// task per chunk; it steps in only to wait out the host's pauses.
    ///
    /// `transform` sees the chunks in order, one call at a time, and returns
    /// the audio each one makes (a slice of it, or of bytes it kept from
    /// before) with its format, or nil when it has none yet; it must be
    /// quick and must not block. Returns at the end of the body. Throws what
    /// `transform` threw, a CancellationError once the operation is
    /// cancelled, or the body's transport error.
    public func relay(_ body: VoxHTTPBody,
                      _ transform: @escaping @Sendable (_ chunk: [UInt8]) throws -> (audio: ArraySlice<UInt8>, format: AudioFormat)?) async throws {
        try await BodyRelay(box: box, exchange: body.exchange, lease: body.lease, transform: { chunk, items in
            if let (audio, format) = try transform(chunk), !audio.isEmpty { items.append(.audio(audio, format)) }
        }).run()
    }
}

/// The state of one `relay`: what it made (events or audio) held while the
/// host pauses, and the signals (paused, ended) that wake the relaying task.
final class BodyRelay: @unchecked Sendable {
    fileprivate enum Signal { case paused, ended(Error?), rejected(VoxHTTPResponse) }
    /// One output for the host: an event's JSON, or audio.
    enum Item {
        case event(String)
        case audio(ArraySlice<UInt8>, AudioFormat)
    }
    typealias Transform = @Sendable (_ chunk: [UInt8], _ items: inout [Item]) throws -> Void
    private let box: OperationBox
    private let exchange: HTTPExchange
    private let lease: ExchangeLease? // the body stays open while it relays
    private let transform: Transform
    private let lock = NSLock()
    private var paused = false // the host said PAUSE; the body is held too
    private var held: [Item] = [] // made while paused, in order
    private var failure: Error?
    private var signals: [Signal] = []
    private var waiter: CheckedContinuation<Signal, Never>?

    init(box: OperationBox, exchange: HTTPExchange, lease: ExchangeLease?, transform: @escaping Transform) {
        self.box = box
        self.exchange = exchange
        self.lease = lease
        self.transform = transform
    }

    var sink: HTTPExchange.Sink { HTTPExchange.Sink(chunk: { self.take($0, fromSink: true) }, end: { self.signal(.ended($0)) }) }

    /// Relays to the end (nil), or returns the response whose head was
    /// refused (`installed`: the sink was bound before the head).
    @discardableResult
    func run(installed: Bool = false) async throws -> VoxHTTPResponse? {
        // Chunks that arrived before the sink are taken here, in order;
        // the sink goes in once none is left.
        let sink = self.sink
        while !installed, case .chunks(let queued) = exchange.drainOrInstall(sink) {
            for chunk in queued {
                switch UInt32(bitPattern: take(chunk, fromSink: false)) {
                case VOX_FLOW_CONTINUE.rawValue: continue
                case VOX_FLOW_PAUSE.rawValue: try await waitOutPause(resumeBody: false)
                default:
                    exchange.cancel()
                    throw lock.withLock { failure } ?? CancellationError()
                }
            }
        }
        while true {
            switch await nextSignal() {
            case .paused: try await waitOutPause(resumeBody: true)
            case .ended(let error):
                if let failure = lock.withLock({ failure }) { throw failure }
                if let error { throw error }
                return nil
            case .rejected(let response):
                return response
            }
        }
    }

    /// One chunk, on the thread that has it: what it makes goes to the host
    /// until it pauses; the flow answer is for the body. From the sink, a
    /// pause wakes the task; on the task, the caller waits it out.
    private func take(_ bytes: [UInt8], fromSink: Bool) -> Int32 {
        if lock.withLock({ failure != nil }) { return Int32(VOX_FLOW_STOP.rawValue) }
        var made: [Item] = []
        var thrown: Error?
        do { try transform(bytes, &made) } catch { thrown = error }
        var flow = Int32(VOX_FLOW_CONTINUE.rawValue)
        var newlyPaused = false
        if lock.withLock({ () -> Bool in if paused { held += made }; return paused }) {
            flow = Int32(VOX_FLOW_PAUSE.rawValue)
        } else {
            for (i, item) in made.enumerated() {
                let answer = send(item)
                if answer == Int32(VOX_FLOW_CONTINUE.rawValue) { continue }
                if answer == Int32(VOX_FLOW_PAUSE.rawValue) {
                    lock.withLock { paused = true; held += made[(i + 1)...] }
                    flow = answer
                    newlyPaused = true
                } else {
                    thrown = thrown ?? CancellationError()
                }
                break
            }
        }
        if let thrown {
            // What was sent stays sent; the held rest would follow a
            // failure, so it goes.
            lock.withLock { held = []; if failure == nil { failure = thrown } }
            return Int32(VOX_FLOW_STOP.rawValue)
        }
        if fromSink, newlyPaused { signal(.paused) } // already paused: the task is on it
        return flow
    }

    /// After a PAUSE: waits for the host's resume, sends what it held
    /// (pausing again as told), then lets the body go on.
    private func waitOutPause(resumeBody: Bool) async throws {
        while true {
            try await box.honour(Int32(VOX_FLOW_PAUSE.rawValue))
            let items: [Item] = lock.withLock { defer { held = [] }; return held }
            var again = false
            for (i, item) in items.enumerated() {
                let flow = UInt32(bitPattern: send(item))
                if flow == VOX_FLOW_PAUSE.rawValue {
                    lock.withLock { held.insert(contentsOf: items[(i + 1)...], at: 0) }
                    again = true
                    break
                }
                if flow != VOX_FLOW_CONTINUE.rawValue { throw CancellationError() }
            }
            if again { continue }
            let done: Bool = lock.withLock {
                guard held.isEmpty else { return false }
                paused = false
                return true
            }
            if done {
                if resumeBody { exchange.resumeBody() }
                return
            }
        }
    }

    /// Hands one item to the host; its flow answer (STOP once cancelled).
    private func send(_ item: Item) -> Int32 {
        switch item {
        case .event(let json): return box.emitNow(json)
        case .audio(let bytes, let format): return bytes.withUnsafeBytes { box.sendAudio($0, format: format) }
        }
    }

    fileprivate func signal(_ s: Signal) {
        let w: CheckedContinuation<Signal, Never>? = lock.withLock {
            if let w = waiter { waiter = nil; return w }
            signals.append(s)
            return nil
        }
        w?.resume(returning: s)
    }

    private func nextSignal() async -> Signal {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Signal, Never>) in
                let now: Signal? = lock.withLock {
                    if !signals.isEmpty { return signals.removeFirst() }
                    waiter = c
                    return nil
                }
                if let now { c.resume(returning: now) }
            }
        } onCancel: {
            exchange.cancel() // its on_complete ends the wait
        }
    }
}

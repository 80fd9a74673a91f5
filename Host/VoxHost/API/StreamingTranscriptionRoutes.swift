import CVoxPlugin
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import VoxPluginKit

/// `GET /v1/audio/transcriptions/stream` (WebSocket): live speech-to-text.
///
/// Query: `model` (`provider/model`, a provider, a model, or none),
/// `language`, `encoding` (default pcm_s16le), `sample_rate` (default
/// 16000), `channels` (default 1), `interim_results` (default true).
/// Client → voxd: binary messages of audio in that format; text messages
/// `{"type":"finish"}` (no more audio: the provider flushes its last
/// results) and `{"type":"keepalive"}` (ignored; the provider plugin keeps
/// its own upstream alive). voxd → client: the plugin's events as JSON text
/// (`partial`, `final`, `utterance_end`, `speech_started`, `metadata`; see
/// PluginSDK/SCHEMAS.md), then `{"type":"done","provider":…,"usage":{…}}`
/// and a normal close (1000); or `{"type":"error","error":{…}}` (the one
/// error shape) and a close with 1008 (bad input) or 1011 (provider
/// failure). Closing the socket without "finish" cancels the upstream
/// session. A bad query (unknown model, unsupported format…) is such an
/// error right after the upgrade; a request without `Upgrade: websocket`
/// gets a plain JSON 400.
struct StreamingTranscriptionRoutes {
    let daemon: VoxDaemon
    static let path: RouterPath = "/v1/audio/transcriptions/stream"

    struct Session {
        var instance: PluginInstance
        var request: TranscriptionRequest
        var format: AudioFormat
        var candidate: RouteCandidate
    }

    /// A live session holds its budget reservation for this much audio
    /// (priced at the provider's rates) until it ends and is booked.
    static let reservedAudioSeconds = 60.0

    func register(on router: Router<VoxRequestContext>) {
        router.ws(Self.path, shouldUpgrade: { request, _ in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                throw VoxError(.invalidRequest, "\(Self.path) speaks WebSocket: connect with an Upgrade: websocket request")
            }
            // Everything else is checked after the upgrade and reported in
            // the socket: a refused upgrade's body never reaches most
            // WebSocket clients (NIO answers it with a bare 400).
            return .upgrade([:])
        }, onUpgrade: { inbound, outbound, context in
            let rc = context.requestContext
            let info = CallScope.Info(requestID: rc.requestID, principal: rc.principal,
                                      maxPriceUSD: try? AccessMiddleware.maxPrice(context.request),
                                      latencyClass: try? AccessMiddleware.latencyClass(context.request))
            try await CallScope.$current.withValue(info) {
                let session: Session
                let slot: KeyRing.StreamSlot?
                do {
                    slot = try rc.principal?.key.flatMap { try daemon.keys.acquireStream($0) }
                    session = try await prepare(context.request)
                } catch {
                    try await Self.fail(outbound, error, provider: nil)
                    return
                }
                try await run(session, inbound: inbound, outbound: outbound)
                slot?.free()
            }
        })
    }

    /// Everything that can be refused before any audio: the provider, the
    /// model and the format.
    func prepare(_ request: Request) async throws -> Session {
        let encodingName = request.query("encoding") ?? AudioEncoding.pcmS16LE.rawValue
        guard let encoding = AudioEncoding(rawValue: encodingName) else {
            throw VoxError(.invalidRequest, "encoding \"\(encodingName)\" is not one of \(AudioEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func int(_ name: String, _ dflt: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let text = request.query(name) else { return dflt }
            guard let v = Int(text), range.contains(v) else {
                throw VoxError(.invalidRequest, "\(name) must be an integer in \(range.lowerBound)…\(range.upperBound), not \"\(text)\"")
            }
            return v
        }
        let rate = try int("sample_rate", 16000, 8000...192_000)
        let channels = try int("channels", 1, 1...8)
        // The router picks the provider (a live stream cannot fail over once
        // audio flows, so only the first candidate is used).
        var routed = RouteRequest(operation: .sttStream, model: request.query("model"), language: request.query("language"))
        routed.estimate = Usage(audioSeconds: Self.reservedAudioSeconds)
        let plan = try await daemon.router.plan(routed, daemon: daemon)
        let first = plan.candidates.first(where: { $0.health.circuitState != .open }) ?? plan.candidates[0]
        let (instance, model) = (first.instance, first.model)
        let cap = instance.capabilities[.sttStream]
        if let formats = cap?.formats, !formats.isEmpty, !formats.contains(encoding) {
            throw VoxError(.invalidRequest, "\(instance.name) cannot stream \(encoding.rawValue); it takes \(formats.map(\.rawValue).joined(separator: ", "))", provider: instance.name)
        }
        if let rates = cap?.sampleRates, !rates.isEmpty, encoding == .pcmS16LE || encoding == .mulaw || encoding == .alaw, !rates.contains(rate) {
            throw VoxError(.invalidRequest, "\(instance.name) streams \(encoding.rawValue) at \(rates.map(String.init).joined(separator: ", ")) Hz, not \(rate)", provider: instance.name)
        }
        var r = TranscriptionRequest(model: model, language: request.query("language"), prompt: request.query("prompt"))
        let format = AudioFormat(encoding: encoding, sampleRate: rate, channels: channels)
        r.format = format
        r.interimResults = request.query("interim_results") == nil ? true : try request.boolQuery("interim_results")
        return Session(instance: instance, request: r, format: format, candidate: first)
    }

    func run(_ s: Session, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let op: HostOperation
        let call = CallScope.current
        let reservation: UsageLedger.Reservation
        let started = Date()
        do {
            reservation = try daemon.ledger.reserve(key: call?.principal?.key,
                                                    estimate: PriceBook.cost(Usage(audioSeconds: Self.reservedAudioSeconds), s.candidate.rates))
        } catch {
            daemon.ledger.record(book(s, call: call, usage: nil, outcome: "budget_exceeded", started: started, firstOutput: nil))
            try await Self.fail(outbound, error, provider: s.instance.name)
            return
        }
        do {
            op = try daemon.start(s.instance, VOX_OP_STT_STREAM, request: VoxJSON.string(s.request))
        } catch {
            daemon.ledger.record(book(s, call: call, usage: nil, outcome: (error as? VoxError)?.code.name ?? "internal", started: started, firstOutput: nil),
                                 settling: reservation)
            try await Self.fail(outbound, error, provider: s.instance.name)
            return
        }
        let firstOutput = FirstOutputClock()
        op.whenEnded { [daemon] outcome in
            let code: String
            switch outcome {
            case .success: code = "ok"
            case .failure(let e): code = e.code.name
            }
            daemon.ledger.record(book(s, call: call, usage: op.result?.usage, outcome: code, started: started, firstOutput: firstOutput.seconds),
                                 settling: reservation)
        }
        let lease = OperationLease(op) // the socket going away cancels the operation
        let clientError = ErrorBox()
        let clientSide = Task {
            do {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    switch message {
                    case .binary(let buffer):
                        try op.push(AudioData(format: s.format, bytes: Array(buffer.readableBytesView)))
                    case .text(let text):
                        let control = try? VoxJSON.decode(JSONValue.self, from: Data(text.utf8))
                        switch control?["type"]?.stringValue {
                        case "finish":
                            try op.finishInput()
                            return
                        case "keepalive":
                            continue
                        default:
                            throw VoxError(.invalidRequest, "unknown control message \(text.prefix(80)); send binary audio, {\"type\":\"finish\"} or {\"type\":\"keepalive\"}")
                        }
                    }
                }
                op.cancel() // closed without "finish"
            } catch {
                clientError.set(error)
                op.cancel()
            }
        }
        defer { clientSide.cancel() }
        do {
            while let batch = try await op.nextBatch() {
                firstOutput.mark(since: started)
                for case .event(let json) in batch { try await outbound.write(.text(json)) }
            }
            var done: [String: JSONValue] = ["type": .string("done"), "provider": .string(s.instance.name)]
            if let m = s.request.model { done["model"] = .string(m) }
            if let usage = op.result?.usage, let u = try? VoxJSON.decode(JSONValue.self, from: VoxJSON.encode(usage)) { done["usage"] = u }
            try await outbound.write(.text(VoxJSON.string(JSONValue.object(done))))
            try await outbound.close(.normalClosure, reason: nil)
        } catch {
            try await Self.fail(outbound, clientError.value ?? error, provider: s.instance.name)
        }
        _ = lease
    }

    /// The ledger's row for a live session: audio seconds as the plugin
    /// counted them (what was sent upstream), at the provider's rates.
    func book(_ s: Session, call: CallScope.Info?, usage: Usage?, outcome: String, started: Date, firstOutput: Double?) -> UsageEntry {
        UsageEntry(call, kind: "stt_stream", provider: s.instance.name, model: s.request.model, voice: nil, usage: usage,
                   rates: s.candidate.rates, outcome: outcome, ttfbSeconds: firstOutput, totalSeconds: Date().timeIntervalSince(started),
                   retries: 0, failovers: 0)
    }

    /// The error in the one error shape, then a close: 1008 for the
    /// client's mistakes, 1011 for the provider's.
    static func fail(_ outbound: WebSocketOutboundWriter, _ error: Error, provider: String?) async throws {
        let e: VoxError
        if let v = error as? VoxError { e = v } else if let p = error as? VoxPluginError { e = VoxError(p, provider: provider ?? "") } else {
            e = VoxError(.internal, "\(error)", provider: provider)
        }
        try await outbound.write(.text(VoxJSON.string(JSONValue.object(["type": .string("error"), "error": e.json["error"] ?? e.json]))))
        // The client's request or standing (a bad parameter, no access, a spent budget): policy violation;
        // the provider or voxd failing: unexpected server error.
        let refused: Set<VoxErrorCode> = [.invalidRequest, .notFound, .unsupported, .unauthenticated, .forbidden, .rateLimited]
        let code: WebSocketErrorCode = refused.contains(e.code) ? .policyViolation : .unexpectedServerError
        try await outbound.close(code, reason: String(e.code.name))
    }
}

/// When a session's first result came, once.
private final class FirstOutputClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Double?
    func mark(since start: Date) { lock.withLock { if value == nil { value = Date().timeIntervalSince(start) } } }
    var seconds: Double? { lock.withLock { value } }
}

/// The first error of the client's side of a session.
private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    func set(_ e: Error) { lock.withLock { if error == nil { error = e } } }
    var value: Error? { lock.withLock { error } }
}

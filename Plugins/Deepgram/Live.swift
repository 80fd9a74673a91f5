import Foundation
import ProviderSupport
import VoxPluginKit

/// `stt.stream`: Deepgram's live listen socket, `wss://…/v1/listen`
/// (deepgram.md "Live STT"; asyncapi.yml `/v1/listen`), through the host's
/// WebSocket service.
///
/// - The query is ListenQuery's live mode: the request's model and
///   language, `encoding`/`sample_rate`/`channels` from the audio format
///   (raw linear16, mu-law or A-law), `interim_results` from the request,
///   Deepgram feature params from `options` (endpointing, utterance_end_ms,
///   vad_events…).
/// - Audio goes out as binary messages as it is pushed. When the client
///   sends nothing for `keepalive_ms` (default 4000: deepgram.md "send
///   every 3–5 s when idle"; Deepgram closes after ~10 s of silence) a
///   `{"type":"KeepAlive"}` goes out.
/// - At the end of the input, `{"type":"CloseStream"}`: Deepgram sends its
///   last Results and the Metadata (the billed duration), then closes 1000.
/// - Server messages become events (ListenMessages): partial, final,
///   utterance_end, speech_started.
/// - Failures: a refused handshake carries Deepgram's status and reason
///   (401 → unauthenticated naming the secret); a close with 1008
///   (DATA-0000, audio it cannot decode) → invalid_request; 1011 (NET-0000,
///   or NET-0001 "no audio or KeepAlive for ~10 s") or a socket that drops
///   or closes before the Metadata → unavailable, retriable.
struct LiveOperation {
    let context: PluginContext
    let client: ProviderClient
    let settings: DeepgramSettings

    /// Raw encodings the socket takes (deepgram.md "Live STT" `encoding`),
    /// as voxd names them.
    static let encodings: [AudioEncoding: String] = [.pcmS16LE: "linear16", .mulaw: "mulaw", .alaw: "alaw"]
    static let sampleRates = [8000, 16000, 22050, 24000, 32000, 44100, 48000]

    func run(_ r: TranscriptionRequest, input: AudioInputStream, output: EventOutput) async throws -> OperationResult {
        guard let format = r.format else { throw VoxPluginError.invalidRequest("format: live transcription needs the audio format") }
        guard let encoding = Self.encodings[format.encoding] else {
            throw VoxPluginError.invalidRequest("format: deepgram live takes raw \(Self.encodings.keys.map(\.rawValue).sorted().joined(separator: ", ")), not \(format.encoding.rawValue)")
        }
        let rate = format.sampleRate ?? 16000
        let channels = format.channels ?? 1
        let (query, model) = try ListenQuery.build(r, mode: .live(encoding: encoding, sampleRate: rate, channels: channels))
        var request = VoxWebSocketRequest(url: settings.wsBaseURL + "/v1/listen" + query.suffix,
                                          headers: [client.provider.authHeader, ("User-Agent", "voxd-deepgram/\(DeepgramPlugin.info.version)")])
        request.connectTimeoutMs = settings.common.connectTimeoutMs
        let ws: VoxWebSocket
        do {
            ws = try await context.webSocket(request)
        } catch {
            throw ProviderErrors.webSocket(error, provider: client.provider, "live listen (\(model))")
        }
        try await output.emit(.object(["type": .string("metadata"), "model": .string(model)]))

        let bytesPerSecond = Double(rate * channels * (encoding == "linear16" ? 2 : 1))
        let sent = SentAudio()
        let keepAliveSeconds = Double(settings.keepAliveMs) / 1000
        var billed: Double?
        var sawMetadata = false
        do {
            // Children of this task: cancelling the operation stops them
            // before a CloseStream could go out (the socket just drops).
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Audio out as it is pushed; CloseStream after the last of it.
                group.addTask {
                    for await chunk in input where !chunk.bytes.isEmpty {
                        try await ws.send(binary: chunk.bytes)
                        sent.add(chunk.bytes.count)
                    }
                    try Task.checkCancellation()
                    try await ws.send(#"{"type":"CloseStream"}"#)
                    sent.finish()
                }
                // KeepAlive while the client is quiet.
                group.addTask {
                    while !sent.finished {
                        try await Task.sleep(nanoseconds: UInt64(keepAliveSeconds / 4 * 1e9))
                        if sent.idleSeconds >= keepAliveSeconds, !sent.finished {
                            try await ws.send(#"{"type":"KeepAlive"}"#)
                            sent.touch()
                        }
                    }
                }
                for try await message in ws {
                    guard case .text(let text) = message else { continue } // Deepgram answers in text only
                    switch try ListenMessages.parse(text) {
                    case .events(let events): for e in events { try await output.emit(e) }
                    case .metadata(let duration, _): billed = duration; sawMetadata = true
                    case .nothing: break
                    }
                }
                group.cancelAll()
            }
        } catch {
            ws.cancel()
            throw ProviderErrors.webSocket(error, provider: client.provider, "live listen")
        }
        let close = ws.closeFrame ?? (code: 1005, reason: "")
        switch close.code {
        case 1000, 1005:
            break // a normal close; it must still have brought the Metadata (below)
        case 1008:
            throw VoxPluginError.invalidRequest("deepgram could not decode the audio (close 1008 \(close.reason)); check encoding \(encoding) at \(rate) Hz, \(channels) channel(s)")
        default:
            let why = close.reason == "NET-0001" ? "no audio or KeepAlive reached it for ~10 s" : "closed the stream"
            throw VoxPluginError(.unavailable, "deepgram live listen: the server \(why) (close \(close.code) \(close.reason)) before the final results", retriable: true)
        }
        guard sawMetadata else {
            throw VoxPluginError(.unavailable, "deepgram live listen closed without its final Metadata (the results may be incomplete)", retriable: true)
        }
        return OperationResult(usage: Usage(audioSeconds: billed ?? Double(sent.bytes) / bytesPerSecond))
    }
}

/// What went out on the socket, shared by the sender and the keep-alive.
final class SentAudio: @unchecked Sendable {
    private let lock = NSLock()
    private var last = Date()
    private var total = 0
    private var done = false

    func add(_ n: Int) { lock.withLock { total += n; last = Date() } }
    func touch() { lock.withLock { last = Date() } }
    func finish() { lock.withLock { done = true } }
    var finished: Bool { lock.withLock { done } }
    var bytes: Int { lock.withLock { total } }
    var idleSeconds: Double { lock.withLock { Date().timeIntervalSince(last) } }
}

import Foundation
import ProviderSupport
import VoxPluginKit

/// `stt.stream`: Sarvam's streaming speech-to-text socket,
/// `wss://…/speech-to-text/ws` (sarvam.md "Speech-to-text streaming"),
/// through the host's WebSocket service.
///
/// - Query: `model` (saaras:v3 default, or saaras:v4), `language-code`
///   (with its hyphen; `unknown` detects), `mode` from options,
///   `sample_rate`, `input_audio_codec=pcm_s16le` (raw 16-bit PCM),
///   `vad_signals=true` (speech start/end events) and
///   `flush_signal=true`. Header `Api-Subscription-Key`.
/// - Audio goes out as JSON text frames `{"audio":{"data":<base64>,
///   "sample_rate","encoding":"audio/wav"}}` in pieces of at most
///   `stream_chunk_ms` (default 500 ms); at the end of the input a
///   `{"type":"flush"}` makes Sarvam transcribe what it holds.
/// - Sarvam sends finals only (no interim partials are documented): each
///   `data` frame is a `final` event; VAD `START_SPEECH` / `END_SPEECH`
///   become `speech_started` / `utterance_end`.
/// - The end: Sarvam has no close-stream message. After the flush, voxd
///   waits for the transcript of the audio still pending, up to
///   `stream_final_wait_ms` (default 3000) of quiet, then closes the socket.
/// - Failures: a refused handshake (403 = bad key → unauthenticated naming
///   the secret); an `error` frame → unavailable with Sarvam's message
///   (invalid_request when its code says the request was wrong); the
///   socket closing early → unavailable, retriable; a `data` frame whose
///   transcript is empty while audio was sent → unavailable (an empty final).
struct StreamingOperation {
    let context: PluginContext
    let client: ProviderClient
    let wsBaseURL: String
    let chunkMs: Int
    let finalWaitMs: Int

    static let models: Set<String> = ["saaras:v3", "saaras:v4"]
    static let sampleRates = [8000, 16000, 22050, 24000, 44100, 48000]

    func run(_ r: TranscriptionRequest, input: AudioInputStream, output: EventOutput) async throws -> OperationResult {
        let model = r.model ?? SarvamCatalog.defaultSTTModel
        guard Self.models.contains(model) else {
            throw VoxPluginError.notFound("sarvam streams speech-to-text with \(Self.models.sorted().joined(separator: " or ")), not \(model)")
        }
        guard let format = r.format, format.encoding == .pcmS16LE else {
            throw VoxPluginError.invalidRequest("format: sarvam streaming takes raw pcm_s16le, not \(r.format?.encoding.rawValue ?? "an unstated format")")
        }
        let rate = format.sampleRate ?? 16000
        guard (format.channels ?? 1) == 1 else { throw VoxPluginError.invalidRequest("format: sarvam streaming takes mono audio") }
        var language = "unknown"
        let languages = SarvamLanguages.stt(model: model)
        if let asked = r.language, !asked.isEmpty, asked.lowercased() != "unknown" {
            guard let code = SarvamLanguages.code(for: asked, in: languages) else {
                throw VoxPluginError.invalidRequest("language: sarvam \(model) does not transcribe \"\(asked)\"; it takes \(languages.joined(separator: ", ")) (or none, to detect it)")
            }
            language = code
        }
        var query = URLQuery()
        query.add("language-code", language)
        query.add("model", model)
        if let mode = r.options?["mode"], mode != .null {
            guard let m = mode.stringValue, SarvamCatalog.modes.contains(m) else {
                throw VoxPluginError.invalidRequest("options.mode: must be one of \(SarvamCatalog.modes.joined(separator: ", "))")
            }
            query.add("mode", m)
        }
        query.add("sample_rate", rate)
        query.add("input_audio_codec", "pcm_s16le")
        query.add("vad_signals", true)
        query.add("flush_signal", true)

        var request = VoxWebSocketRequest(url: wsBaseURL + "/speech-to-text/ws" + query.suffix,
                                          headers: [("Api-Subscription-Key", client.provider.apiKey),
                                                    ("User-Agent", "voxd-sarvam/\(SarvamPlugin.info.version)")])
        request.connectTimeoutMs = client.settings.connectTimeoutMs
        let ws: VoxWebSocket
        do {
            ws = try await context.webSocket(request)
        } catch {
            throw ProviderErrors.webSocket(error, provider: client.provider, "streaming speech-to-text (\(model))")
        }
        try await output.emit(.object(["type": .string("metadata"), "model": .string(model)]))

        let state = StreamState()
        let piece = max(320, rate * 2 * chunkMs / 1000 / 2 * 2)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await chunk in input where !chunk.bytes.isEmpty {
                        var offset = 0
                        while offset < chunk.bytes.count {
                            let end = min(chunk.bytes.count, offset + piece)
                            let b64 = Data(chunk.bytes[offset..<end]).base64EncodedString()
                            try await ws.send(#"{"audio":{"data":"\#(b64)","sample_rate":\#(rate),"encoding":"audio/wav"}}"#)
                            state.sent(end - offset)
                            offset = end
                        }
                    }
                    try Task.checkCancellation()
                    try await ws.send(#"{"type":"flush"}"#)
                    state.flushed()
                }
                // After the flush: close once Sarvam has answered for every
                // byte, or has been quiet for the final wait.
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(nanoseconds: 50_000_000)
                        if state.readyToClose(quietMs: finalWaitMs) { ws.close(code: 1000, reason: "done"); return }
                    }
                }
                for try await message in ws {
                    guard case .text(let text) = message else { continue }
                    for event in try Self.events(text, sentAudio: state.bytes > 0) {
                        try await output.emit(event)
                    }
                    state.heard()
                }
                group.cancelAll()
            }
        } catch {
            ws.cancel()
            throw ProviderErrors.webSocket(error, provider: client.provider, "streaming speech-to-text")
        }
        let close = ws.closeFrame ?? (code: 1005, reason: "")
        guard state.isFlushed, close.code == 1000 || close.code == 1005 else {
            throw VoxPluginError(.unavailable, "sarvam closed the speech-to-text stream early (close \(close.code)\(close.reason.isEmpty ? "" : " \(close.reason)"))", retriable: true)
        }
        return OperationResult(usage: Usage(audioSeconds: Double(state.bytes) / Double(rate * 2)))
    }

    /// One server frame as voxd events (sarvam.md "Server frames").
    static func events(_ text: String, sentAudio: Bool) throws -> [JSONValue] {
        guard let m = try? VoxJSON.decode(JSONValue.self, from: Data(text.utf8)), m.objectValue != nil else {
            throw VoxPluginError(.unavailable, "sarvam sent malformed JSON on the speech-to-text stream: \(ProviderErrors.snippet(text))", retriable: true)
        }
        let data = m["data"]
        switch m["type"]?.stringValue {
        case "data":
            guard let transcript = data?["transcript"]?.stringValue else {
                throw VoxPluginError(.unavailable, "sarvam sent a transcript frame without a transcript: \(ProviderErrors.snippet(text))", retriable: true)
            }
            guard !transcript.trimmingCharacters(in: .whitespaces).isEmpty || !sentAudio else {
                throw VoxPluginError(.unavailable, "sarvam sent an empty transcript for the audio it was given", retriable: true)
            }
            var e: [String: JSONValue] = ["type": .string("final"), "text": .string(transcript)]
            if let lang = data?["language_code"]?.stringValue { e["language"] = .string(lang) }
            if let p = data?["language_probability"]?.doubleValue { e["confidence"] = .number(p) }
            if let d = data?["metrics"]?["audio_duration"]?.doubleValue { e["duration"] = .number(d) }
            return [.object(e)]
        case "events":
            switch data?["signal_type"]?.stringValue {
            case "START_SPEECH":
                var e: [String: JSONValue] = ["type": .string("speech_started")]
                if let t = data?["occured_at"]?.doubleValue { e["timestamp"] = .number(t) }
                return [.object(e)]
            case "END_SPEECH":
                var e: [String: JSONValue] = ["type": .string("utterance_end")]
                if let t = data?["occured_at"]?.doubleValue { e["last_word_end"] = .number(t) }
                return [.object(e)]
            default:
                return []
            }
        case "error":
            let message = data?["message"]?.stringValue ?? ProviderErrors.snippet(text)
            let code = data?["code"]?.stringValue ?? ""
            let clientFault = ["invalid_request_error", "unprocessable_entity_error"].contains(code)
            throw VoxPluginError(clientFault ? .invalidRequest : .unavailable, "sarvam streaming speech-to-text: \(message)\(code.isEmpty ? "" : " (\(code))")",
                                 retriable: !clientFault)
        default:
            return []
        }
    }
}

/// What went out and came back on the socket.
final class StreamState: @unchecked Sendable {
    private let lock = NSLock()
    private var sentBytes = 0
    private var flush: Date?
    private var lastHeard = Date()
    private var framesAfterFlush = 0

    func sent(_ n: Int) { lock.withLock { sentBytes += n } }
    func flushed() { lock.withLock { flush = Date(); lastHeard = Date() } }
    func heard() { lock.withLock { lastHeard = Date(); if flush != nil { framesAfterFlush += 1 } } }
    var bytes: Int { lock.withLock { sentBytes } }
    var isFlushed: Bool { lock.withLock { flush != nil } }

    /// After the flush: a frame came back and things went quiet briefly,
    /// or nothing came for the whole wait.
    func readyToClose(quietMs: Int) -> Bool {
        lock.withLock {
            guard flush != nil else { return false }
            let quiet = Date().timeIntervalSince(lastHeard) * 1000
            if sentBytes == 0 { return true }
            if framesAfterFlush > 0 { return quiet >= 300 }
            return quiet >= Double(quietMs)
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// A loopback Sarvam streaming speech-to-text server
/// (`wss://…/speech-to-text/ws`, sarvam.md "Speech-to-text streaming"):
/// `Api-Subscription-Key` on the handshake (403 otherwise, as Sarvam answers
/// a bad key), the documented query (`language-code` with its hyphen,
/// `model`, `mode`, `sample_rate`, `input_audio_codec`, `vad_signals`,
/// `flush_signal`…), JSON audio frames `{"audio":{"data":base64,
/// "sample_rate","encoding"}}` and `{"type":"flush"}` in; `data`
/// transcripts (finals only: Sarvam sends no partials), VAD `events` and
/// `error` frames out.
///
/// It hears one word of `script` per `secondsPerWord` of audio; each
/// `wordsPerSegment` words, or a flush, become one `data` frame.
public final class SarvamStreamFake: WebSocketFake, @unchecked Sendable {
    public enum Fault: Sendable {
        case refuse(Int)
        /// An `error` frame after the first audio frame.
        case errorFrame
        /// After the first audio frame, close without a reason.
        case drop
        /// A `data` frame whose transcript is empty.
        case emptyTranscript
    }

    static let queryKeys: Set<String> = ["language-code", "model", "mode", "sample_rate", "input_audio_codec", "high_vad_sensitivity",
                                         "vad_signals", "flush_signal", "keyterms", "prompt"]
    static let models: Set<String> = ["saaras:v3", "saaras:v4", "saarika:v2.5"]
    static let modes: Set<String> = ["transcribe", "translate", "verbatim", "translit", "codemix"]
    static let codecs: Set<String> = ["wav", "pcm_s16le", "pcm_l16", "pcm_raw"]

    public let apiKey: String
    public var script = ["namaste", "duniya", "yeh", "sarvam", "ka", "nakli", "server", "hai"]
    public var secondsPerWord = 0.25
    public var wordsPerSegment = 4
    public let core = FakeWebSocketCore<Fault>()

    init(apiKey: String) { self.apiKey = apiKey }

    public static func start(apiKey: String) async throws -> SarvamStreamFake {
        let fake = SarvamStreamFake(apiKey: apiKey)
        try await fake.core.start(path: "/speech-to-text/ws", handshake: { fake.handshake($0) }) { query, inbound, outbound in
            try await fake.session(query: query, inbound: inbound, outbound: outbound)
        }
        return fake
    }

    public var flushes: Int { core.counter("flush") }

    /// `api-subscription-key` before the upgrade: 403 otherwise, as Sarvam answers a bad key.
    func handshake(_ request: Request) -> Response? {
        func refuse(_ status: Int, _ code: String, _ message: String) -> Response {
            FakeWebSocketCore<Fault>.refusal(status, body: #"{"error":{"message":"\#(message)","code":"\#(code)","request_id":"fake"}}"#)
        }
        guard request.headers[HTTPField.Name("api-subscription-key")!] == apiKey else {
            return refuse(403, "invalid_api_key_error", "Invalid API key")
        }
        if case .refuse(let status)? = core.fault {
            return refuse(status, status == 429 ? "rate_limit_exceeded_error" : "internal_server_error", "refused by the fake")
        }
        return nil
    }

    private func session(query q: [String: String], inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        for key in q.keys where !Self.queryKeys.contains(key) { violation("stt ws: unknown query parameter \(key)\(key == "language_code" ? " (Sarvam's is language-code, with a hyphen)" : "")") }
        if let m = q["model"], !Self.models.contains(m) { violation("stt ws: model \(m)") }
        if let m = q["mode"], !Self.modes.contains(m) { violation("stt ws: mode \(m)") }
        if let c = q["input_audio_codec"], !Self.codecs.contains(c) { violation("stt ws: input_audio_codec \(c)") }
        for key in ["vad_signals", "flush_signal", "high_vad_sensitivity"] {
            if let v = q[key], v != "true", v != "false" { violation("stt ws: \(key)=\(v) is not \"true\"/\"false\"") }
        }
        let rate = q["sample_rate"].flatMap(Int.init) ?? 16000
        let language = q["language-code"] ?? "unknown"
        let vad = q["vad_signals"] == "true"
        let fault = core.fault
        let bytesPerWord = Int(Double(rate * 2) * secondsPerWord)
        var received = 0, heard = 0, sent = 0, frames = 0
        var speaking = false

        func send(_ s: String) async throws { try await outbound.write(.text(s)) }
        func segment() async throws {
            guard heard > sent else { return }
            let words = (sent..<heard).map { script[$0 % script.count] }.joined(separator: " ")
            let text = { if case .emptyTranscript? = fault { return "" }; return words }()
            let seconds = Double(heard - sent) * secondsPerWord
            try await send(#"{"type":"data","data":{"request_id":"fake_\#(frames)","transcript":"\#(text)","language_code":"\#(language == "unknown" ? "hi-IN" : language)","language_probability":0.93,"timestamps":null,"diarized_transcript":null,"metrics":{"audio_duration":\#(seconds),"processing_latency":0.05}}}"#)
            sent = heard
            if vad, speaking { speaking = false; try await send(#"{"type":"events","data":{"event_type":"vad","signal_type":"END_SPEECH","occured_at":\#(Double(heard) * secondsPerWord)}}"#) }
        }

        for try await message in inbound.messages(maxSize: 1 << 22) {
            guard case .text(let text) = message else { violation("stt ws: a binary frame; Sarvam takes base64 audio in JSON text frames"); continue }
            guard let v = FakeJSON.parse(Array(text.utf8)) else { violation("stt ws: a frame that is not JSON"); continue }
            if let audio = v["audio"] {
                frames += 1
                guard let b64 = audio["data"]?.string, let data = Data(base64Encoded: b64) else { violation("stt ws: audio.data is not base64"); continue }
                if audio["sample_rate"]?.int == nil { violation("stt ws: audio.sample_rate missing or not an integer") }
                if audio["encoding"]?.string == nil { violation("stt ws: audio.encoding missing") }
                received += data.count
                switch fault {
                case .errorFrame?:
                    try await send(#"{"type":"error","data":{"message":"audio could not be decoded","code":"invalid_request_error","details":null,"request_id":"fake"}}"#)
                    continue
                case .drop?:
                    try await outbound.close(.unexpectedServerError, reason: nil)
                    return
                default: break
                }
                if vad, !speaking { speaking = true; try await send(#"{"type":"events","data":{"event_type":"vad","signal_type":"START_SPEECH","occured_at":\#(Double(heard) * secondsPerWord)}}"#) }
                while received / max(1, bytesPerWord) > heard {
                    heard += 1
                    if heard - sent >= wordsPerSegment { try await segment() }
                }
            } else if v["type"]?.string == "flush" {
                core.count("flush")
                try await segment()
            } else if v["type"]?.string == "config" {
                continue
            } else {
                violation("stt ws: unknown frame \(text.prefix(80))")
            }
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// A loopback Deepgram live-listen server (`wss://…/v1/listen`, deepgram.md
/// "Live STT", asyncapi.yml ListenV1): the handshake with `Authorization:
/// Token`, query parameters checked against the documented names and
/// values, binary audio in, control messages (KeepAlive, Finalize,
/// CloseStream), and Results / UtteranceEnd / SpeechStarted / Metadata out.
///
/// It "hears" one word of `script` per `secondsPerWord` of audio received
/// (counted from the bytes at the negotiated rate): each new word is an
/// interim `Results` (is_final false) when interim_results=true; every
/// `wordsPerUtterance` words (or on Finalize / CloseStream) the words become
/// a final `Results` with speech_final true, followed by `UtteranceEnd`
/// when utterance_end_ms was asked for. Like Deepgram it closes with 1011
/// "NET-0001" when neither audio nor KeepAlive arrives for `silenceTimeout`.
public final class DeepgramLiveFake: WebSocketFake, @unchecked Sendable {
    public enum Fault: Sendable {
        /// Refuse the handshake with this HTTP status (dg-error header).
        case refuse(Int)
        /// After this many Results, close with 1011 without Metadata.
        case dropAfter(results: Int)
        /// Answer the first audio with a text frame that is not JSON.
        case malformedJSON
        /// A final Results whose channel has no alternatives.
        case emptyFinal
    }

    public static let queryKeys: Set<String> = [
        // asyncapi.yml ListenV1 bindings.query (the subset voxd may send)
        "model", "language", "encoding", "sample_rate", "channels", "interim_results", "punctuate", "smart_format",
        "diarize", "endpointing", "utterance_end_ms", "vad_events", "numerals", "profanity_filter", "filler_words",
        "keyterm", "keywords", "redact", "multichannel", "dictation", "tag", "mip_opt_out", "version",
    ]
    static let encodings: Set<String> = ["linear16", "linear32", "flac", "alaw", "mulaw", "amr-nb", "amr-wb", "opus", "ogg-opus", "speex", "g729"]

    public let apiKey: String
    public var script = ["hello", "there", "this", "is", "the", "live", "fake", "speaking", "slowly", "today"]
    public var secondsPerWord = 0.25
    public var wordsPerUtterance = 3
    public var silenceTimeout: Double = 10
    public let core = FakeWebSocketCore<Fault>()

    init(apiKey: String) { self.apiKey = apiKey }

    public static func start(apiKey: String) async throws -> DeepgramLiveFake {
        let fake = DeepgramLiveFake(apiKey: apiKey)
        try await fake.core.start(path: "/v1/listen", handshake: { fake.handshake($0) }) { query, inbound, outbound in
            try await fake.session(query: query, inbound: inbound, outbound: outbound)
        }
        return fake
    }

    public var keepAlives: Int { core.counter("KeepAlive") }
    public var closeStreams: Int { core.counter("CloseStream") }
    public var audioBytes: Int { core.counter("audio bytes") }

    /// Auth and documented query values before the upgrade; a refusal is
    /// plain HTTP with `dg-error`, as Deepgram does.
    func handshake(_ request: Request) -> Response? {
        func refuse(_ status: Int, _ reason: String) -> Response {
            FakeWebSocketCore<Fault>.refusal(status, body: #"{"err_code":"\#(status == 401 ? "INVALID_AUTH" : "REQUEST_REFUSED")","err_msg":"\#(reason)","request_id":"fake"}"#,
                                             headers: [("dg-error", reason), ("dg-request-id", UUID().uuidString.lowercased())])
        }
        guard request.headers[.authorization] == "Token \(apiKey)" else {
            if request.headers[.authorization]?.hasPrefix("Bearer ") == true { violation("live listen: Bearer auth; Deepgram uses Authorization: Token") }
            return refuse(401, "Invalid credentials.")
        }
        if case .refuse(let status)? = core.fault { return refuse(status, status == 429 ? "Too many requests" : "Refused") }
        return nil
    }

    private func checkQuery(_ q: [String: String]) -> (rate: Int, channels: Int, interim: Bool, utteranceEnd: Bool, vad: Bool) {
        for key in q.keys where !Self.queryKeys.contains(key) { violation("live listen: unknown query parameter \(key)") }
        for key in ["interim_results", "punctuate", "smart_format", "diarize", "vad_events", "numerals", "profanity_filter", "filler_words", "dictation", "multichannel"] {
            if let v = q[key], v != "true", v != "false" { violation("live listen: \(key)=\(v) is not true/false") }
        }
        var rate = 16000, channels = 1
        if let e = q["encoding"] {
            if !Self.encodings.contains(e) { violation("live listen: encoding \(e) is not documented") }
            guard let r = q["sample_rate"].flatMap(Int.init) else { violation("live listen: encoding without sample_rate"); return (rate, 1, false, false, false) }
            rate = r
            channels = q["channels"].flatMap(Int.init) ?? 1
        }
        let interim = q["interim_results"] == "true"
        if let u = q["utterance_end_ms"] {
            if (Int(u) ?? 0) < 1000 { violation("live listen: utterance_end_ms \(u) < 1000") }
            if !interim { violation("live listen: utterance_end_ms needs interim_results=true") }
        }
        if let ep = q["endpointing"], ep != "false", Int(ep) == nil { violation("live listen: endpointing=\(ep)") }
        return (rate, channels, interim, q["utterance_end_ms"] != nil, q["vad_events"] == "true")
    }

    private func session(query q: [String: String], inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let (rate, channels, interim, utteranceEnd, vad) = checkQuery(q)
        let bytesPerWord = Int(Double(rate * channels * 2) * secondsPerWord)
        let requestID = UUID().uuidString.lowercased()
        var received = 0, heard = 0, finalized = 0, results = 0
        var lastInput = Date()
        var speaking = false
        let fault = core.fault

        func send(_ json: String) async throws { try await outbound.write(.text(json)) }
        func words(_ from: Int, _ to: Int) -> [String] { (from..<to).map { script[$0 % script.count] } }
        func resultsJSON(_ ws: [String], start: Int, isFinal: Bool, speechFinal: Bool, fromFinalize: Bool = false) -> String {
            let dur = secondsPerWord
            let wordsJSON = ws.enumerated().map { i, w in
                let s = Double(start + i) * dur
                return #"{"word":"\#(w)","start":\#(s),"end":\#(s + dur * 0.9),"confidence":0.98,"punctuated_word":"\#(w.capitalized)"}"#
            }.joined(separator: ",")
            return #"{"type":"Results","channel_index":[0,1],"duration":\#(Double(ws.count) * dur),"start":\#(Double(start) * dur),"is_final":\#(isFinal),"speech_final":\#(speechFinal),"from_finalize":\#(fromFinalize),"channel":{"alternatives":[{"transcript":"\#(ws.joined(separator: " "))","confidence":0.97,"words":[\#(wordsJSON)]}]},"metadata":{"request_id":"\#(requestID)","model_info":{"name":"general-nova-3","version":"2024-12-20.0","arch":"nova-3"},"model_uuid":"fake"}}"#
        }
        func finalize(fromFinalize: Bool) async throws {
            guard heard > finalized else { return }
            if case .emptyFinal? = fault {
                try await send(#"{"type":"Results","is_final":true,"speech_final":true,"channel":{"alternatives":[]}}"#)
            } else {
                try await send(resultsJSON(words(finalized, heard), start: finalized, isFinal: true, speechFinal: !fromFinalize, fromFinalize: fromFinalize))
            }
            results += 1
            finalized = heard
            if utteranceEnd { try await send(#"{"type":"UtteranceEnd","channel":[0,1],"last_word_end":\#(Double(heard) * secondsPerWord)}"#) }
            speaking = false
        }
        func metadata() async throws {
            let duration = Double(received) / Double(max(1, rate * channels * 2))
            try await send(#"{"type":"Metadata","transaction_key":"deprecated","request_id":"\#(requestID)","sha256":"fake","created":"2026-11-21T00:00:00.000Z","duration":\#(duration),"channels":\#(channels)}"#)
        }

        var iterator = inbound.messages(maxSize: 1 << 22).makeAsyncIterator()
        while true {
            // Deepgram's ~10 s rule: no audio and no KeepAlive → 1011 NET-0001.
            let next = try await withThrowingTaskGroup(of: WebSocketMessage??.self) { group in
                group.addTask { try await iterator.next() }
                group.addTask {
                    try await Task.sleep(nanoseconds: UInt64(max(0, self.silenceTimeout - Date().timeIntervalSince(lastInput)) * 1e9))
                    return WebSocketMessage??.none // the silence rule, not the end of the stream
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
            guard let message = next else {
                try await outbound.close(.unexpectedServerError, reason: "NET-0001")
                return
            }
            guard let message else { return } // the client went away
            lastInput = Date()
            switch message {
            case .binary(let buffer):
                received += buffer.readableBytes
                core.count("audio bytes", by: buffer.readableBytes)
                if case .malformedJSON? = fault { try await send("{\"type\":\"Results\",\"channel\":"); continue }
                if vad, !speaking { speaking = true; try await send(#"{"type":"SpeechStarted","channel":[0,1],"timestamp":\#(Double(heard) * secondsPerWord)}"#) }
                while received / max(1, bytesPerWord) > heard {
                    heard += 1
                    if interim { try await send(resultsJSON(words(finalized, heard), start: finalized, isFinal: false, speechFinal: false)); results += 1 }
                    if heard - finalized >= wordsPerUtterance { try await finalize(fromFinalize: false) }
                    if case .dropAfter(let n)? = fault, results >= n {
                        try await outbound.close(.unexpectedServerError, reason: "NET-0000")
                        return
                    }
                }
            case .text(let text):
                guard let v = FakeJSON.parse(Array(text.utf8)), let type = v["type"]?.string else {
                    violation("live listen: a text frame that is not a control message: \(text.prefix(80))")
                    continue
                }
                switch type {
                case "KeepAlive": core.count("KeepAlive")
                case "Finalize": try await finalize(fromFinalize: true)
                case "CloseStream":
                    core.count("CloseStream")
                    try await finalize(fromFinalize: false)
                    try await metadata()
                    try await outbound.close(.normalClosure, reason: nil)
                    return
                default: violation("live listen: unknown control message type \(type)")
                }
            }
        }
    }
}

import Foundation
import ProviderSupport
import VoxPluginKit

/// What one server message of the live `/v1/listen` socket means for voxd
/// (deepgram.md "Live STT", asyncapi.yml `ListenV1Results`,
/// `ListenV1UtteranceEnd`, `ListenV1SpeechStarted`, `ListenV1Metadata`).
/// Pure: the socket loop (Live.swift, once the host's WebSocket service
/// exists) feeds it each text frame and emits what it returns.
enum ListenMessage: Equatable {
    /// Events for the client (SCHEMAS.md `partial` / `final` /
    /// `utterance_end`, plus `speech_started`).
    case events([JSONValue])
    /// The closing `Metadata`: the seconds Deepgram bills and its request id.
    case metadata(duration: Double?, requestID: String?)
    /// Nothing for the client: an empty interim or final, or a message type
    /// this version does not know (Deepgram may add some).
    case nothing
}

enum ListenMessages {
    /// A text frame; anything but a JSON object is the provider misbehaving.
    static func parse(_ text: String) throws -> ListenMessage {
        guard let json = try? VoxJSON.decode(JSONValue.self, from: Data(text.utf8)), json.objectValue != nil else {
            throw VoxPluginError(.unavailable, "deepgram sent malformed JSON on the listen socket: \(ProviderErrors.snippet(text))", retriable: true)
        }
        return try map(json)
    }

    /// - `Results` with `is_final:false` → `partial` (it will be replaced);
    ///   `is_final:true` → `final` (this span is fixed), with
    ///   `speech_final` (an endpoint: the speaker paused) and the words.
    ///   An empty final that is `speech_final` still ends the utterance:
    ///   `utterance_end` at the end of its span.
    /// - `UtteranceEnd` → `utterance_end` with `last_word_end` (the
    ///   word-timing fallback when `speech_final` never fires).
    /// - `SpeechStarted` (`vad_events=true`) → `speech_started` with `timestamp`.
    /// - `Metadata` (after CloseStream) → the billed duration.
    static func map(_ m: JSONValue) throws -> ListenMessage {
        switch m["type"]?.stringValue {
        case "Results":
            return try results(m)
        case "UtteranceEnd":
            var e: [String: JSONValue] = ["type": .string("utterance_end")]
            if let t = m["last_word_end"]?.doubleValue { e["last_word_end"] = .number(t) }
            if let c = channel(m["channel"]) { e["channel"] = .number(Double(c)) }
            return .events([.object(e)])
        case "SpeechStarted":
            var e: [String: JSONValue] = ["type": .string("speech_started")]
            if let t = m["timestamp"]?.doubleValue { e["timestamp"] = .number(t) }
            if let c = channel(m["channel"]) { e["channel"] = .number(Double(c)) }
            return .events([.object(e)])
        case "Metadata":
            return .metadata(duration: m["duration"]?.doubleValue, requestID: m["request_id"]?.stringValue)
        default:
            return .nothing
        }
    }

    static func results(_ m: JSONValue) throws -> ListenMessage {
        guard let alternative = m["channel"]?["alternatives"]?.arrayValue?.first,
              let text = alternative["transcript"]?.stringValue else {
            throw VoxPluginError(.unavailable, "deepgram sent Results without channel.alternatives[0].transcript: \(ProviderErrors.snippet(VoxJSON.string(m)))", retriable: true)
        }
        let start = m["start"]?.doubleValue ?? 0
        let end = start + (m["duration"]?.doubleValue ?? 0)
        let isFinal = m["is_final"]?.boolValue ?? false
        let speechFinal = m["speech_final"]?.boolValue ?? false
        let channel = channel(m["channel_index"])
        if text.isEmpty {
            guard isFinal, speechFinal else { return .nothing }
            var e: [String: JSONValue] = ["type": .string("utterance_end"), "last_word_end": .number(end)]
            if let channel { e["channel"] = .number(Double(channel)) }
            return .events([.object(e)])
        }
        var e: [String: JSONValue] = ["type": .string(isFinal ? "final" : "partial"), "text": .string(text),
                                      "start": .number(start), "end": .number(end)]
        if let c = alternative["confidence"]?.doubleValue { e["confidence"] = .number(c) }
        if let channel { e["channel"] = .number(Double(channel)) }
        if isFinal {
            e["speech_final"] = .bool(speechFinal)
            if let words = alternative["words"]?.arrayValue { e["words"] = .array(words.map(TranscriptionOperation.word)) }
        }
        return .events([.object(e)])
    }

    /// `[channel, total_channels]`: the channel, when there are several.
    static func channel(_ v: JSONValue?) -> Int? {
        guard let a = v?.arrayValue, a.count == 2, let c = a[0].intValue, let total = a[1].intValue, total > 1 else { return nil }
        return c
    }
}

@testable import Deepgram
import ProviderSupport
import VoxPluginKit
import XCTest

/// The live-listen message mapping (ListenMessages), fed the server
/// messages of deepgram.md "Live STT" verbatim, and the live query.
final class ListenMessagesTests: XCTestCase {
    // deepgram.md "Live STT", server → client examples.
    static let results = #"{"type":"Results","channel_index":[0,1],"duration":1.02,"start":0.0,"is_final":true,"speech_final":true,"from_finalize":false,"channel":{"alternatives":[{"transcript":"hello there","confidence":0.97,"words":[{"word":"hello","start":0.1,"end":0.4,"confidence":0.98,"punctuated_word":"Hello"}]}]},"metadata":{"request_id":"uuid","model_info":{"name":"general-nova-3","version":"…","arch":"nova-3"},"model_uuid":"uuid"}}"#
    static let utteranceEnd = #"{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.31}"#
    static let speechStarted = #"{"type":"SpeechStarted","channel":[0,1],"timestamp":0.48}"#
    static let metadata = #"{"type":"Metadata","transaction_key":"deprecated","request_id":"uuid","sha256":"…","created":"…","duration":4.2,"channels":1}"#

    func events(_ text: String) throws -> [JSONValue] {
        guard case .events(let e) = try ListenMessages.parse(text) else { XCTFail("no events for \(text)"); return [] }
        return e
    }

    func testFinalResultsWithSpeechFinal() throws {
        let e = try events(Self.results)
        XCTAssertEqual(e.count, 1)
        XCTAssertEqual(e[0]["type"]?.stringValue, "final")
        XCTAssertEqual(e[0]["text"]?.stringValue, "hello there")
        XCTAssertEqual(e[0]["start"]?.doubleValue, 0)
        XCTAssertEqual(e[0]["end"]?.doubleValue ?? 0, 1.02, accuracy: 1e-9)
        XCTAssertEqual(e[0]["confidence"]?.doubleValue, 0.97)
        XCTAssertEqual(e[0]["speech_final"]?.boolValue, true)
        XCTAssertNil(e[0]["channel"], "one channel of one: no channel member")
        let w = try XCTUnwrap(e[0]["words"]?.arrayValue?.first)
        XCTAssertEqual(w["word"]?.stringValue, "hello")
        XCTAssertEqual(w["punctuated_word"]?.stringValue, "Hello")
        XCTAssertEqual(w["start"]?.doubleValue, 0.1)
        XCTAssertEqual(w["end"]?.doubleValue, 0.4)
    }

    func testInterimResultsArePartialAndEmptyOnesAreDropped() throws {
        let interim = Self.results.replacingOccurrences(of: #""is_final":true,"speech_final":true"#, with: #""is_final":false,"speech_final":false"#)
            .replacingOccurrences(of: #""channel_index":[0,1]"#, with: #""channel_index":[1,2]"#)
        let e = try events(interim)
        XCTAssertEqual(e.first?["type"]?.stringValue, "partial")
        XCTAssertEqual(e.first?["text"]?.stringValue, "hello there")
        XCTAssertNil(e.first?["speech_final"])
        XCTAssertNil(e.first?["words"])
        XCTAssertEqual(e.first?["channel"]?.intValue, 1, "the second of two channels")

        let silent = Self.results.replacingOccurrences(of: #""transcript":"hello there""#, with: #""transcript":"""#)
        let emptyInterim = silent.replacingOccurrences(of: #""is_final":true,"speech_final":true"#, with: #""is_final":false,"speech_final":false"#)
        XCTAssertEqual(try ListenMessages.parse(emptyInterim), .nothing)
        let emptyFinal = silent.replacingOccurrences(of: #""speech_final":true"#, with: #""speech_final":false"#)
        XCTAssertEqual(try ListenMessages.parse(emptyFinal), .nothing)
        // An empty final that is speech_final still ends the utterance.
        let endpoint = try events(silent)
        XCTAssertEqual(endpoint.first?["type"]?.stringValue, "utterance_end")
        XCTAssertEqual(endpoint.first?["last_word_end"]?.doubleValue ?? 0, 1.02, accuracy: 1e-9)
    }

    func testUtteranceEndSpeechStartedMetadata() throws {
        let u = try events(Self.utteranceEnd)
        XCTAssertEqual(u.first?["type"]?.stringValue, "utterance_end")
        XCTAssertEqual(u.first?["last_word_end"]?.doubleValue, 2.31)
        let s = try events(Self.speechStarted)
        XCTAssertEqual(s.first?["type"]?.stringValue, "speech_started")
        XCTAssertEqual(s.first?["timestamp"]?.doubleValue, 0.48)
        XCTAssertEqual(try ListenMessages.parse(Self.metadata), .metadata(duration: 4.2, requestID: "uuid"))
        XCTAssertEqual(try ListenMessages.parse(#"{"type":"SomethingNew","x":1}"#), .nothing)
    }

    func testBrokenMessagesAreUnavailable() {
        for text in ["{\"type\":\"Results\",\"channel\":", "[1,2]", #"{"type":"Results","start":0,"duration":1,"channel":{"alternatives":[]}}"#] {
            XCTAssertThrowsError(try ListenMessages.parse(text)) { e in
                XCTAssertEqual((e as? VoxPluginError)?.code, .unavailable, text)
                XCTAssertEqual((e as? VoxPluginError)?.retriable, true)
            }
        }
    }

    func testLiveQuerySharesTheFeatureParams() throws {
        var r = TranscriptionRequest(model: "nova-3", language: "multi")
        r.interimResults = true
        r.options = .object(["endpointing": .number(300), "utterance_end_ms": .number(1000), "vad_events": .bool(true),
                             "keyterm": .array([.string("voxd"), .string("Deepgram")]), "smart_format": .bool(false)])
        let (q, model) = try ListenQuery.build(r, mode: .live(encoding: "linear16", sampleRate: 16000, channels: 1))
        XCTAssertEqual(model, "nova-3")
        XCTAssertEqual(q.encoded, "model=nova-3&language=multi&channels=1&encoding=linear16&endpointing=300&interim_results=true&keyterm=voxd&keyterm=Deepgram&punctuate=true&sample_rate=16000&smart_format=false&utterance_end_ms=1000&vad_events=true")
        // File-only options are refused live, and live-only ones for files.
        var bad = TranscriptionRequest(model: "nova-3")
        bad.options = .object(["paragraphs": .bool(true)])
        XCTAssertThrowsError(try ListenQuery.build(bad, mode: .live(encoding: "linear16", sampleRate: 16000, channels: 1))) {
            XCTAssertTrue("\($0)".contains("options.paragraphs: only for pre-recorded"), "\($0)")
        }
        bad.options = .object(["interim_results": .bool(true)])
        XCTAssertThrowsError(try ListenQuery.build(bad, mode: .prerecorded)) { XCTAssertTrue("\($0)".contains("only for live"), "\($0)") }
    }
}

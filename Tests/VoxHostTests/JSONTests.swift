import Foundation
import VoxPluginKit
import XCTest

/// VoxJSON's JSONValue fast paths (JSONParser and the writer) against Foundation.
final class JSONTests: XCTestCase {
    let sample = #"{"id":"c1","n":-1.5e3,"z":0,"one":1,"t":true,"f":false,"nil":null,"s":"a \"q\" é\n\t\u0001 \ud83d\ude00","a":[1,[2,{"k":"v"}],[]],"o":{}}"#

    func testParsesLikeFoundation() throws {
        let ours = try VoxJSON.decode(JSONValue.self, from: Data(sample.utf8))
        let theirs = try JSONDecoder().decode(JSONValue.self, from: Data(sample.utf8))
        XCTAssertEqual(ours, theirs)
        XCTAssertEqual(ours["t"], .bool(true))
        XCTAssertEqual(ours["one"], .number(1))
        XCTAssertEqual(ours["s"]?.stringValue, "a \"q\" é\n\t\u{01} 😀")
        XCTAssertEqual(try JSONValue.parse(sample), ours)
        XCTAssertEqual(try JSONValue.parse(Array(sample.utf8)), ours)
        // Raw UTF-8 is kept; bytes that are not UTF-8 are refused, ASCII or not around them.
        XCTAssertEqual(try JSONValue.parse(#"["é 😀","ascii"]"#), .array([.string("é 😀"), .string("ascii")]))
        for bad: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0x61, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22]] {
            XCTAssertThrowsError(try JSONValue.parse(bad), "\(bad)")
        }
    }

    func testWritesSortedAndRoundTrips() throws {
        let v = try VoxJSON.decode(JSONValue.self, from: Data(sample.utf8))
        let text = VoxJSON.string(v)
        XCTAssertTrue(text.hasPrefix(#"{"a":[1,[2,{"k":"v"}],[]],"f":false,"id":"c1","n":-1500,"nil":null,"o":{},"one":1,"#), text)
        XCTAssertTrue(text.contains(#""s":"a \"q\" é\n\t\u0001 😀""#), text)
        XCTAssertEqual(try VoxJSON.decode(JSONValue.self, from: Data(text.utf8)), v)
        // Foundation reads what we write.
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(text.utf8)))
        XCTAssertEqual(VoxJSON.string(JSONValue.number(0.25)), "0.25")
        XCTAssertEqual(VoxJSON.string(JSONValue.number(.nan)), "null")
        // Escapes at either end and side by side; plain runs copied whole.
        XCTAssertEqual(JSONValue.quote("\\\"x\u{1f}"), #""\\\"x\u001f""#)
        XCTAssertEqual(JSONValue.quote("plain é 😀"), "\"plain é 😀\"")
        XCTAssertEqual(JSONValue.quote(""), "\"\"")
        XCTAssertEqual(JSONValue.quote("\n\n"), #""\n\n""#)
    }

    func testRefusesMalformedJSON() {
        for bad in ["", "{", "[1,]", #"{"a" 1}"#, "01", #""\ud800""#, "tru", "1 2", "\"a\u{01}\"", "[\"\\x\"]", "{\"a\":1,}", "-", "1.", "1e"] {
            XCTAssertThrowsError(try VoxJSON.decode(JSONValue.self, from: Data(bad.utf8)), bad)
        }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        XCTAssertThrowsError(try VoxJSON.decode(JSONValue.self, from: Data(deep.utf8)))
    }

    /// Integers of up to 15 digits skip strtod: the same Doubles either way,
    /// at the edges of that path and past them.
    func testNumbersParseAsStrtodReadsThem() throws {
        let texts = ["0", "-0", "7", "-7", "1732182000", "999999999999999", "-999999999999999", "9999999999999999",
                     "12345678901234567890", "9007199254740993", "1.5", "-0.0", "1e3", "1E+2", "25e-1", "10.000"]
        for text in texts {
            guard case .number(let ours) = try JSONValue.parse(text) else { return XCTFail("\(text): not a number") }
            let strtod = Double(text)!
            XCTAssertEqual(ours.bitPattern, strtod.bitPattern, text)
        }
        // Members: every one kept, a repeated name keeps its last value, objects of any size.
        let wide = "{" + (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k3\":\"last\"}"
        let o = try XCTUnwrap(try JSONValue.parse(wide).objectValue)
        XCTAssertEqual(o.count, 40)
        XCTAssertEqual(o["k39"], .number(39))
        XCTAssertEqual(o["k3"], .string("last"))
    }
    /// op_done's result: the fast writer gives Foundation's bytes, and the
    /// fast reader accepts and refuses what JSONDecoder does.
    func testOperationResultWireJSONMatchesCodable() throws {
        let results = [
            OperationResult(),
            OperationResult(finishReason: "stop"),
            OperationResult(usage: Usage(inputTokens: 12, outputTokens: 3), finishReason: "tool_calls"),
            OperationResult(usage: Usage(characters: 42, audioSeconds: 1.25, requests: 1)),
            OperationResult(usage: Usage(audioSeconds: 3), finishReason: "a \"quoted\" reason é"),
        ]
        // The fast path spells out Usage's fields: a field added to Usage must be added there too.
        XCTAssertEqual(Set(Mirror(reflecting: Usage()).children.compactMap(\.label)),
                       ["characters", "audioSeconds", "inputTokens", "outputTokens", "requests"],
                       "Usage changed: update OperationResult.wireJSON and init(wireJSON:)")
        XCTAssertEqual(Set(Mirror(reflecting: OperationResult()).children.compactMap(\.label)), ["usage", "finishReason"],
                       "OperationResult changed: update wireJSON and init(wireJSON:)")
        for r in results {
            XCTAssertEqual(r.wireJSON, VoxJSON.string(r))
            XCTAssertEqual(try OperationResult(wireJSON: Data(r.wireJSON.utf8)), r)
        }
        let accepted = [
            #"{}"#, #"{"finish_reason":null,"usage":null}"#, #"{"usage":{"input_tokens":5,"extra":[1]},"other":"x"}"#,
            #"{"usage":{"audio_seconds":2,"characters":7.0}}"#, #" {"finish_reason":"length"} "#,
        ]
        for text in accepted {
            let theirs = try JSONDecoder().decode(OperationResult.self, from: Data(text.utf8))
            XCTAssertEqual(try OperationResult(wireJSON: Data(text.utf8)), theirs, text)
        }
        let refused = [#"[]"#, #""stop""#, #"{"finish_reason":1}"#, #"{"usage":[]}"#, #"{"usage":{"input_tokens":1.5}}"#,
                       #"{"usage":{"audio_seconds":"2"}}"#, #"{"#, ""]
        for text in refused {
            XCTAssertThrowsError(try JSONDecoder().decode(OperationResult.self, from: Data(text.utf8)), "Foundation: \(text)")
            XCTAssertThrowsError(try OperationResult(wireJSON: Data(text.utf8)), text)
        }
    }
}

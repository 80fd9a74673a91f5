import XCTest
@testable import VoxHost
import VoxPluginKit

/// Template bodies (types, ranges, unknown fields: all at once), presets,
/// and the cost-per-minute estimate from declared prices.
final class TemplateTests: XCTestCase {
    func parse(_ json: String) throws -> [String: JSONValue] {
        try JSONValue.parse(Data(json.utf8)).objectValue!
    }

    func testEveryRangeAndTypeProblemIsReportedAtOnce() throws {
        let body = try parse("""
        {"name":"A/B","colour":1,
         "stt":{"model":"m","language":"en_US!"},
         "tts":{"provider":"x","speed":0.4,"stability":1.5,"options":[]},
         "llm":{"provider":"y","temperature":2.5,"max_tokens":0,"top_p":-0.1,"frequency_penalty":3,"presence_penalty":"high","seed":1},
         "vad":{"enabled":"yes","threshold":1.1,"prefix_padding_ms":-1,"silence_duration_ms":2.5},
         "turn_detection":"semantic","audio":{"input_transcription":true,"sample_rate":22050},
         "system_prompt":{"variables":{"a":1}}}
        """)
        let read = TemplateSchema.read(body)
        let paths = Set(read.problems.map(\.path))
        XCTAssertEqual(paths, ["name", "colour", "stt.provider", "stt.language", "tts.speed", "tts.stability", "tts.options",
                               "llm.temperature", "llm.max_tokens", "llm.top_p", "llm.frequency_penalty", "llm.presence_penalty", "llm.seed",
                               "vad.enabled", "vad.threshold", "vad.prefix_padding_ms", "vad.silence_duration_ms",
                               "turn_detection", "audio.sample_rate", "system_prompt.id", "system_prompt.variables.a"], "\(read.problems)")
        XCTAssertTrue(read.problems.contains { $0.path == "llm.temperature" && $0.reason.contains("2.5 is out of range: must be 0–2") })
        XCTAssertTrue(read.problems.contains { $0.path == "audio.sample_rate" && $0.reason.contains("16000, 24000, 48000") })
    }

    func testAValidBodyIsKeptMemberForMember() throws {
        let body = try parse("""
        {"name":"Support line","description":"d","stt":{"provider":"openai","model":"whisper-1","language":"en"},
         "tts":{"provider":"localtts","voice":"en-us","speed":1.25,"stability":0,"options":{"pitch":3}},
         "llm":{"provider":"openai","model":"gpt-4o-mini","temperature":0,"max_tokens":256,"top_p":1,"frequency_penalty":-2,"presence_penalty":2},
         "vad":{"enabled":true,"threshold":0.5,"prefix_padding_ms":0,"silence_duration_ms":700},
         "turn_detection":"none","audio":{"input_transcription":false,"sample_rate":48000},
         "system_prompt":{"id":"builtin-general-assistant","variables":{"agent_name":"Kim"}}}
        """)
        let read = TemplateSchema.read(body)
        XCTAssertEqual(read.problems, [])
        XCTAssertEqual(read.name, "Support line")
        var expected = body
        expected["name"] = nil
        expected["description"] = nil
        XCTAssertEqual(read.config, expected)
    }

    func testPresetsAreWellFormedAndReadOnlyIdsAreDistinct() {
        XCTAssertGreaterThanOrEqual(TemplatePresets.all.count, 4)
        XCTAssertEqual(Set(TemplatePresets.all.map(\.id)).count, TemplatePresets.all.count)
        for p in TemplatePresets.all {
            var body = p.config
            body["name"] = .string(p.name)
            XCTAssertEqual(TemplateSchema.read(body).problems, [], p.id)
            XCTAssertTrue(p.preset)
            XCTAssertNotNil(BuiltinPrompts.find(p.string("system_prompt", "id") ?? ""), p.id)
        }
        XCTAssertEqual(TemplatePresets.find(TemplatePresets.emergencyID)?.string("tts", "provider"), "localtts")
        XCTAssertNotNil(TemplatePresets.all.first { $0.string("stt", "language")?.hasPrefix("en") == false }, "a non-English preset")
    }

    func testCostPerMinuteFromDeclaredPrices() throws {
        let stt = Capabilities(operations: [.sttTranscribe: OperationCapability()],
                               models: [ModelInfo(id: "whisper-1", operations: [.sttTranscribe])],
                               prices: [Price(operation: .sttTranscribe, model: "whisper-1", unit: "audio_second", usdPerUnit: 0.006 / 60, source: "s1")])
        let tts = Capabilities(operations: [.ttsSynthesize: OperationCapability()],
                               prices: [Price(operation: .ttsSynthesize, model: "*", unit: "character", usdPerUnit: 15.0 / 1_000_000),
                                        Price(operation: .ttsSynthesize, model: "tts-1-hd", unit: "character", usdPerUnit: 30.0 / 1_000_000)])
        let llm = Capabilities(operations: [.llmChat: OperationCapability()], models: [ModelInfo(id: "big", operations: [.llmChat])],
                               defaultModel: "big",
                               prices: [Price(operation: .llmChat, model: "big", unit: "input_token", usdPerUnit: 1.0 / 1_000_000),
                                        Price(operation: .llmChat, model: "big", unit: "output_token", usdPerUnit: 4.0 / 1_000_000)])
        let cost = TemplateCost.estimate([
            .init(key: "stt", provider: "a", model: "whisper-1", operations: [.sttStream, .sttTranscribe], capabilities: stt),
            .init(key: "tts", provider: "b", model: "tts-1-hd", operations: [.ttsSynthesize], capabilities: tts),
            .init(key: "llm", provider: "c", model: nil, operations: [.llmChat], capabilities: llm),
        ])
        // stt 60 s × $0.0001 = 0.006; tts 75 words × 6 chars = 450 × $0.00003 = 0.0135;
        // llm 4 turns × 1000 in = 4000 × $1e-6 = 0.004, out round(75 × 1.33) = 100 × $4e-6 = 0.0004.
        let c = try XCTUnwrap(cost.objectValue)
        XCTAssertEqual(c["complete"], .bool(true))
        XCTAssertEqual(c["components"]?["stt"]?["usd_per_minute"]?.doubleValue ?? 0, 0.006, accuracy: 1e-9)
        XCTAssertEqual(c["components"]?["tts"]?["usd_per_minute"]?.doubleValue ?? 0, 0.0135, accuracy: 1e-9, "the model's own price wins over the wildcard")
        XCTAssertEqual(c["components"]?["llm"]?["model"]?.stringValue, "big", "the provider's default model when none is named")
        XCTAssertEqual(c["components"]?["llm"]?["usd_per_minute"]?.doubleValue ?? 0, 0.0044, accuracy: 1e-9)
        XCTAssertEqual(c["usd_per_minute"]?.doubleValue ?? 0, 0.0239, accuracy: 1e-9)
        XCTAssertEqual(c["assumptions"]?["words_per_minute"]?.doubleValue, 150)
        XCTAssertEqual(c["components"]?["stt"]?["lines"]?.arrayValue?.first?["source"]?.stringValue, "s1")

        let partial = TemplateCost.estimate([.init(key: "llm", provider: "c", model: "other", operations: [.llmChat], capabilities: llm),
                                             .init(key: "tts", provider: "gone", model: nil, operations: [.ttsSynthesize], capabilities: nil)])
        XCTAssertEqual(partial["complete"], .bool(false))
        XCTAssertEqual(partial["components"]?["llm"]?["usd_per_minute"], .null)
        XCTAssertTrue(partial["components"]?["tts"]?["note"]?.stringValue?.contains("not loaded") == true)
        let routerPicks = TemplateCost.estimate([.init(key: "stt", provider: "a", model: "whisper-1", operations: [.sttTranscribe], capabilities: stt)], unset: ["llm"])
        XCTAssertEqual(routerPicks["complete"], .bool(false), "a component left to the router has an unknown cost")
        XCTAssertEqual(routerPicks["unset"], .array([.string("llm")]))
    }

    func testLanguagesMatchByPrimaryTag() {
        XCTAssertTrue(TemplateValidator.sameLanguage("en", "en-US"))
        XCTAssertTrue(TemplateValidator.sameLanguage("hi-IN", "hi-in"))
        XCTAssertFalse(TemplateValidator.sameLanguage("en", "eng"))
        XCTAssertFalse(TemplateValidator.sameLanguage("hi-IN", "en-IN"))
    }
}

import CVoxPlugin
import Foundation
import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// The real libvox_sarvam.so through the registry, the loader and the C ABI,
/// against the loopback SarvamFake. Every test ends by asserting the fake
/// saw no request that departs from Sarvam's API (sarvam.md).
final class SarvamPluginTests: XCTestCase {
    static let keyVar = "VOXD_TEST_SARVAM_KEY"
    var fake: SarvamFake!
    let h = PluginHarness(name: "sarvam")

    override func setUp() async throws {
        fake = try await SarvamFake.start()
        setenv(Self.keyVar, SarvamFake.defaultAPIKey, 1)
    }

    override func tearDown() async throws { await h.finish(fake, "requests that depart from the Sarvam API") }

    func load(_ settings: String = "", keyVar: String = keyVar) async throws -> PluginInstance {
        try await h.load(settings: "base_url = \"\(fake.baseURL)\"\n\(settings)", keyVar: keyVar)
    }

    func speak(_ i: PluginInstance, _ r: SynthesisRequest) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_TTS_SYNTHESIZE, VoxJSON.string(r))
    }

    func transcribe(_ i: PluginInstance, _ r: TranscriptionRequest, _ audio: AudioData = PluginHarness.wav(seconds: 2, rate: 16000)) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_STT_TRANSCRIBE, VoxJSON.string(r), input: audio)
    }

    func chat(_ i: PluginInstance, _ body: String = #"{"model":"sarvam-30b","messages":[{"role":"user","content":"Say hello"}]}"#) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_LLM_CHAT, body)
    }

    // MARK: text-to-speech

    func testSpeechV3DecodesTheBase64WAVIntoPCM() async throws {
        let i = try await load()
        let text = "नमस्ते, आप कैसे हैं?"
        let out = try await speak(i, SynthesisRequest(input: text, language: "hi", speed: 1.5, format: AudioFormat(encoding: .pcmS16LE),
                                                      options: .object(["temperature": .number(0.4)])))
        XCTAssertGreaterThan(out.audio.count, 1, "handed on in 100 ms pieces")
        for (format, bytes) in out.audio {
            XCTAssertEqual(format, AudioFormat(encoding: .pcmS16LE, sampleRate: 22050, channels: 1))
            XCTAssertLessThanOrEqual(bytes.count, 4410)
        }
        XCTAssertEqual(out.audioBytes, SarvamFake.expectedPCM(text: text), "the WAV header off, every sample kept")
        XCTAssertEqual(out.result?.usage?.characters, text.count)
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 0.03 * Double(text.count), accuracy: 0.001)
        XCTAssertEqual(out.events("metadata").first?["voice"]?.stringValue, "shubh")
        XCTAssertEqual(out.events("metadata").first?["model"]?.stringValue, "bulbul:v3")

        let sent = try XCTUnwrap(fake.requests(to: "/text-to-speech").first)
        XCTAssertEqual(sent.header("api-subscription-key"), SarvamFake.defaultAPIKey)
        let body = try XCTUnwrap(sent.json)
        XCTAssertEqual(body["language_code"]?.string, "hi-IN", "the newest field name")
        XCTAssertNil(body["target_language_code"])
        XCTAssertEqual(body["model"]?.string, "bulbul:v3")
        XCTAssertEqual(body["speaker"]?.string, "shubh")
        XCTAssertEqual(body["speech_sample_rate"]?.int, 22050)
        XCTAssertEqual(body["output_audio_codec"]?.string, "wav")
        XCTAssertEqual(body["pace"]?.number, 1.5)
        XCTAssertEqual(body["temperature"]?.number, 0.4)
        XCTAssertNil(body["pitch"])
    }

    func testSpeechWAVAndOtherCodecsPassThrough() async throws {
        let i = try await load()
        let wav = try await speak(i, SynthesisRequest(input: "Hello from Chennai", voice: "Kavitha", language: "en-US",
                                                      format: AudioFormat(encoding: .wav, sampleRate: 48000)))
        XCTAssertEqual(wav.audioBytes, SarvamFake.expectedAudio(codec: "wav", text: "Hello from Chennai", rate: 48000), "a wav client gets Sarvam's file")
        XCTAssertTrue(wav.audio.allSatisfy { $0.format.encoding == .wav })
        let body = try XCTUnwrap(fake.requests(to: "/text-to-speech").last?.json)
        XCTAssertEqual(body["speech_sample_rate"]?.int, 48000, "v3 REST takes 48 kHz")
        XCTAssertEqual(body["speaker"]?.string, "kavitha")
        XCTAssertEqual(body["language_code"]?.string, "en-IN")
        let mp3 = try await speak(i, SynthesisRequest(input: "Hello", format: AudioFormat(encoding: .mp3)))
        XCTAssertEqual(mp3.audioBytes, SarvamFake.expectedAudio(codec: "mp3", text: "Hello"))
        XCTAssertEqual(fake.requests(to: "/text-to-speech").last?.json?["output_audio_codec"]?.string, "mp3")
        // v2 has no 48 kHz: the default rate is asked, and the host converts.
        let v2 = try await speak(i, SynthesisRequest(model: "bulbul:v2", input: "Hello", format: AudioFormat(encoding: .pcmS16LE, sampleRate: 48000)))
        XCTAssertEqual(v2.audio.first?.format.sampleRate, 22050)
    }

    func testSpeechV2TakesPitchLoudnessAndItsSpeakers() async throws {
        let i = try await load()
        let out = try await speak(i, SynthesisRequest(model: "bulbul:v2", input: "வணக்கம்", speed: 2.5,
                                                      format: AudioFormat(encoding: .pcmS16LE, sampleRate: 16000),
                                                      options: .object(["pitch": .number(-0.5), "loudness": .number(1.5), "enable_preprocessing": .bool(true)])))
        XCTAssertEqual(out.audioBytes, SarvamFake.expectedPCM(text: "வணக்கம்", rate: 16000))
        XCTAssertEqual(out.audio.first?.format.sampleRate, 16000)
        let body = try XCTUnwrap(fake.requests(to: "/text-to-speech").last?.json)
        XCTAssertEqual(body["speaker"]?.string, "anushka", "v2's default")
        XCTAssertEqual(body["language_code"]?.string, "ta-IN", "guessed from the Tamil script")
        XCTAssertEqual(body["pitch"]?.number, -0.5)
        XCTAssertEqual(body["loudness"]?.number, 1.5)
        XCTAssertEqual(body["pace"]?.number, 2.5, "v2 paces up to 3.0")
        XCTAssertEqual(body["enable_preprocessing"]?.bool, true)
        XCTAssertEqual(body["speech_sample_rate"]?.int, 16000)
        _ = try await speak(i, SynthesisRequest(input: "Plain English text"))
        XCTAssertEqual(fake.requests(to: "/text-to-speech").last?.json?["language_code"]?.string, "en-IN")
    }

    func testSpeechRefusesBadRequestsBeforeAnyRequest() async throws {
        let i = try await load()
        func refused(_ r: SynthesisRequest, _ code: VoxErrorCode, _ words: [String], line: UInt = #line) async {
            let e = await h.failure({ try await self.speak(i, r) }, line: line)
            XCTAssertEqual(e.code, code, e.message, line: line)
            for w in words { XCTAssertTrue(e.message.contains(w), "\(w) not in: \(e.message)", line: line) }
        }
        await refused(SynthesisRequest(input: "x", options: .object(["pitch": .number(0.2)])), .invalidRequest, ["options.pitch", "bulbul:v3 does not take pitch"])
        await refused(SynthesisRequest(input: "x", options: .object(["loudness": .number(1)])), .invalidRequest, ["options.loudness"])
        await refused(SynthesisRequest(model: "bulbul:v2", input: "x", options: .object(["temperature": .number(0.5)])), .invalidRequest, ["options.temperature"])
        await refused(SynthesisRequest(model: "bulbul:v2", input: "x", options: .object(["pitch": .number(0.9)])), .invalidRequest, ["-0.75…0.75"])
        await refused(SynthesisRequest(input: "x", speed: 2.5), .invalidRequest, ["0.5…2.0"])
        await refused(SynthesisRequest(model: "bulbul:v2", input: "x", speed: 3.5), .invalidRequest, ["0.3…3.0"])
        await refused(SynthesisRequest(input: "x", voice: "anushka"), .notFound, ["bulbul:v3 has no speaker", "shubh, aditya", "rupali"])
        await refused(SynthesisRequest(model: "bulbul:v2", input: "x", voice: "shubh"), .notFound, ["anushka, manisha, vidya, arya, abhilash, karun, hitesh"])
        await refused(SynthesisRequest(input: String(repeating: "a", count: 2501)), .invalidRequest, ["2501 characters", "at most 2500"])
        await refused(SynthesisRequest(model: "bulbul:v2", input: String(repeating: "a", count: 1501)), .invalidRequest, ["at most 1500"])
        await refused(SynthesisRequest(input: "bonjour", language: "fr-FR"), .invalidRequest, ["fr-FR", "hi-IN", "od-IN"])
        await refused(SynthesisRequest(model: "bulbul:v9", input: "x"), .notFound, ["bulbul:v3, bulbul:v2"])
        await refused(SynthesisRequest(input: "x", options: .object(["enable_preprocessing": .bool(false)])), .invalidRequest, ["always on"])
        XCTAssertEqual(fake.requests(to: "/text-to-speech").count, 0)
        // Odia by its ISO 639-1 code: Sarvam's od-IN.
        _ = try await speak(i, SynthesisRequest(input: "x", language: "or"))
        XCTAssertEqual(fake.requests(to: "/text-to-speech").last?.json?["language_code"]?.string, "od-IN")
    }

    func testSpeechWithoutAudioIsUnavailable() async throws {
        let i = try await load()
        for (behaviour, words) in [(FakeBehaviour.emptyAudio, "audios is empty"), (.undecodableAudio, "not a WAV file"),
                                   (.malformedJSON, "malformed JSON"), (.resetMidStream(afterChunks: 1), "")] {
            fake.script("/text-to-speech", behaviour)
            let e = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello there")) }
            XCTAssertEqual(e.code, .unavailable, "\(behaviour): \(e.message)")
            XCTAssertTrue(e.retriable)
            XCTAssertTrue(words.isEmpty || e.message.contains(words), e.message)
        }
    }

    // MARK: speech-to-text

    func testTranscriptionSaarasV3WithModeAndTimestamps() async throws {
        let i = try await load()
        var r = TranscriptionRequest(language: "hi")
        r.timestampGranularities = ["segment"]
        r.options = .object(["mode": .string("verbatim")])
        let out = try await transcribe(i, r)
        let t = try XCTUnwrap(out.events("transcript").first)
        XCTAssertEqual(t["text"]?.stringValue, fake.transcriptText)
        XCTAssertEqual(t["language"]?.stringValue, "hi-IN")
        XCTAssertEqual(t["duration"]?.doubleValue ?? 0, 2, accuracy: 0.001)
        let segments = try XCTUnwrap(t["segments"]?.arrayValue)
        XCTAssertEqual(segments.compactMap { $0["text"]?.stringValue }, ["नमस्ते दुनिया।", "यह नकली प्रतिलेख है।"])
        XCTAssertEqual(segments.last?["end"]?.doubleValue ?? 0, 2, accuracy: 0.001)
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 2, accuracy: 0.001)
        let f = try PluginHarness.form(try XCTUnwrap(fake.requests(to: "/speech-to-text").first))
        XCTAssertEqual(f.first("model")?.text, "saaras:v3")
        XCTAssertEqual(f.first("mode")?.text, "verbatim")
        XCTAssertEqual(f.first("language_code")?.text, "hi-IN")
        XCTAssertEqual(f.first("with_timestamps")?.text, "true")
        XCTAssertEqual(f.first("file")?.filename, "audio.wav")
    }

    func testTranscriptionDetectsTheLanguageAndTakesPCM() async throws {
        let i = try await load()
        let pcm = PluginHarness.tone(seconds: 1, rate: 16000)
        let out = try await transcribe(i, TranscriptionRequest(model: "saarika:v2.5"), AudioData(format: AudioFormat(encoding: .pcmS16LE, sampleRate: 16000, channels: 1), bytes: pcm))
        let t = try XCTUnwrap(out.events("transcript").first)
        XCTAssertEqual(t["language"]?.stringValue, "hi-IN", "what Sarvam detected")
        XCTAssertEqual(t["duration"]?.doubleValue ?? 0, 1, accuracy: 0.001)
        XCTAssertNil(t["segments"])
        let f = try PluginHarness.form(try XCTUnwrap(fake.requests(to: "/speech-to-text").first))
        XCTAssertEqual(f.first("language_code")?.text, "unknown")
        XCTAssertNil(f.first("mode"))
        XCTAssertNil(f.first("with_timestamps"))
        XCTAssertTrue(f.first("file")?.data.starts(with: Array("RIFF".utf8)) == true, "raw pcm goes as a WAV file")
        // saaras:v4 keyterms: one field holding a JSON array.
        var v4 = TranscriptionRequest(model: "saaras:v4", language: "as-IN")
        v4.options = .object(["keyterms": .array([.string("Sarvam"), .string("New Delhi")])])
        _ = try await transcribe(i, v4)
        let g = try PluginHarness.form(try XCTUnwrap(fake.requests(to: "/speech-to-text").last))
        XCTAssertEqual(g.first("keyterms")?.text, #"["Sarvam","New Delhi"]"#)
        XCTAssertEqual(g.first("language_code")?.text, "as-IN")
    }

    func testTranscriptionRefusalsBeforeAnyRequest() async throws {
        let i = try await load()
        func refused(_ r: TranscriptionRequest, _ audio: AudioData = PluginHarness.wav(seconds: 2, rate: 16000), words: [String], line: UInt = #line) async {
            let e = await h.failure({ try await self.transcribe(i, r, audio) }, line: line)
            XCTAssertEqual(e.code, .invalidRequest, e.message, line: line)
            for w in words { XCTAssertTrue(e.message.contains(w), "\(w) not in: \(e.message)", line: line) }
        }
        await refused(TranscriptionRequest(), PluginHarness.wav(seconds: 31, rate: 8000), words: ["31.0 s", "at most 30 s", "batch"])
        var mode = TranscriptionRequest(model: "saarika:v2.5")
        mode.options = .object(["mode": .string("translate")])
        await refused(mode, words: ["options.mode", "saaras:v3 and saaras:v4", "saarika:v2.5"])
        var badMode = TranscriptionRequest()
        badMode.options = .object(["mode": .string("summarise")])
        await refused(badMode, words: ["transcribe, translate, verbatim, translit, codemix"])
        await refused(TranscriptionRequest(language: "fr"), words: ["\"fr\"", "hi-IN", "doi-IN"])
        await refused(TranscriptionRequest(model: "saarika:v2.5", language: "as"), words: ["saarika:v2.5 does not transcribe \"as\""])
        var words = TranscriptionRequest()
        words.timestampGranularities = ["word"]
        await refused(words, words: ["phrase (segment) timestamps only"])
        await refused(TranscriptionRequest(prompt: "a greeting"), words: ["prompt"])
        var keyterms = TranscriptionRequest()
        keyterms.options = .object(["keyterms": .array([.string("x")])])
        await refused(keyterms, words: ["only saaras:v4"])
        await refused(TranscriptionRequest(), AudioData(format: nil, bytes: [1, 2, 3]), words: ["format is unknown"])
        let model = await h.failure { try await self.transcribe(i, TranscriptionRequest(model: "saaras:v9")) }
        XCTAssertEqual(model.code, .notFound)
        XCTAssertTrue(model.message.contains("saaras:v3, saaras:v4, saarika:v2.5"), model.message)
        XCTAssertEqual(fake.requests(to: "/speech-to-text").count, 0)
    }

    // MARK: chat

    func testChatStreamsWithoutStreamOptions() async throws {
        let i = try await load()
        let out = try await chat(i, #"{"model":"sarvam-30b","stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":80,"messages":[{"role":"user","content":"Say hello"}]}"#)
        XCTAssertEqual(out.events("delta").compactMap { $0["content"]?.stringValue }.joined(), fake.chatReply)
        XCTAssertEqual(out.result?.finishReason, "stop")
        let sent = try XCTUnwrap(fake.requests(to: "/v1/chat/completions").first)
        XCTAssertEqual(sent.header("api-subscription-key"), SarvamFake.defaultAPIKey)
        let body = try XCTUnwrap(sent.json)
        XCTAssertNil(body["stream_options"], "not documented by Sarvam: never sent")
        XCTAssertEqual(body["max_tokens"]?.int, 80, "OpenAI's newer name mapped to Sarvam's")
        XCTAssertEqual(body["stream"]?.bool, true)

        _ = try await chat(i, #"{"model":"gemma4","messages":[{"role":"user","content":"hi"}]}"#)
        XCTAssertEqual(fake.requests(to: "/v2/chat/completions").count, 1, "third-party models at /v2")

        let unknown = await h.failure { try await self.chat(i, #"{"model":"sarvam-30b","messages":[{"role":"user","content":"hi"}],"logit_bias":{"1":2}}"#) }
        XCTAssertEqual(unknown.code, .invalidRequest)
        XCTAssertTrue(unknown.message.contains("\"logit_bias\"") && unknown.message.contains("max_tokens"), unknown.message)

        fake.script("/v1/chat/completions", .toolCalls([FakeToolCall(name: "lookup", arguments: #"{"city":"Pune"}"#)]))
        let tools = try await chat(i, #"{"model":"sarvam-105b","messages":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}]}"#)
        XCTAssertEqual(tools.events("tool_call").compactMap { $0["arguments"]?.stringValue }.joined(), #"{"city":"Pune"}"#)
        XCTAssertEqual(tools.result?.finishReason, "tool_calls")
    }

    // MARK: discovery

    func testModelsVoicesAndPrices() async throws {
        let i = try await load()
        XCTAssertEqual(i.capabilities.defaultModel, "bulbul:v3")
        XCTAssertEqual(i.capabilities[.ttsSynthesize]?.sampleRates, [8000, 16000, 22050, 24000, 32000, 44100, 48000])
        let price = try XCTUnwrap(i.capabilities.prices?.first { $0.model == "sarvam-105b" && $0.unit == "input_token" })
        XCTAssertEqual(price.usdPerUnit, 29.28 / 88 / 1_000_000, accuracy: 1e-15)
        XCTAssertTrue(price.source?.contains("₹88.0") == true, "the conversion rate is stated")

        let out = try await h.run(i, VOX_OP_LIST_MODELS, "{}")
        let models = try VoxJSON.decode([ModelInfo].self, from: VoxJSON.encode(try XCTUnwrap(out.events("models").first?["models"])))
        func ops(_ id: String) -> [VoxOperation]? { models.first { $0.id == id }?.operations }
        XCTAssertEqual(ops("sarvam-105b"), [.llmChat])
        XCTAssertEqual(ops("glm5.3"), [.llmChat])
        XCTAssertEqual(ops("bulbul:v3"), [.ttsSynthesize])
        XCTAssertEqual(ops("saaras:v3"), [.sttTranscribe, .sttStream], "files and the streaming socket")
        XCTAssertEqual(fake.requests(to: "/v2/models").count, 1)

        let v2 = try await h.run(i, VOX_OP_LIST_VOICES, #"{"model":"bulbul:v2"}"#)
        let v2voices = try XCTUnwrap(v2.events("voices").first?["voices"]?.arrayValue)
        XCTAssertEqual(v2voices.count, 7)
        XCTAssertEqual(v2voices.first { $0["id"]?.stringValue == "karun" }?["gender"]?.stringValue, "male")
        XCTAssertEqual(v2voices.first { $0["id"]?.stringValue == "vidya" }?["gender"]?.stringValue, "female")
        XCTAssertEqual(v2voices.first?["languages"]?.arrayValue?.count, 11)
        let all = try await h.run(i, VOX_OP_LIST_VOICES, "{}")
        let voices = try XCTUnwrap(all.events("voices").first?["voices"]?.arrayValue)
        XCTAssertEqual(voices.filter { $0["model"]?.stringValue == "bulbul:v3" }.count, 37)
        XCTAssertNil(voices.first { $0["id"]?.stringValue == "shubh" }?["gender"], "bulbul:v3 documents no genders")
        let none = await h.failure { try await self.h.run(i, VOX_OP_LIST_VOICES, #"{"model":"bulbul:v1"}"#) }
        XCTAssertEqual(none.code, .notFound)
    }

    // MARK: errors

    func testBadKeyIs403AndUnauthenticated() async throws {
        let wrong = "sk_wrongkey_9876543210zyxw"
        setenv("VOXD_TEST_SARVAM_BADKEY", wrong, 1)
        let i = try await load(keyVar: "VOXD_TEST_SARVAM_BADKEY")
        for e in [await h.failure { try await self.speak(i, SynthesisRequest(input: "x")) }, await h.failure { try await self.chat(i) },
                  await h.failure { try await self.transcribe(i, TranscriptionRequest()) }] {
            XCTAssertEqual(e.code, .unauthenticated, e.message)
            XCTAssertEqual(e.httpStatus, 403)
            XCTAssertTrue(e.message.contains("[secrets] api_key in plugins.d/sarvam.toml"), e.message)
            XCTAssertTrue(e.message.contains("Invalid API key provided"), "Sarvam's message is kept: \(e.message)")
            XCTAssertTrue(e.message.contains("request 20260101_fake"), "with Sarvam's request id: \(e.message)")
            XCTAssertFalse(e.message.contains(wrong) || e.message.contains("zyxw"), e.message)
        }
    }

    func testCreateNeedsTheSecretAndKnownSettings() async throws {
        for (text, expected) in [("[settings]\nbase_url = \"\(fake.baseURL)\"\n", "SARVAM_API_KEY"),
                                 ("[settings]\nspeaker = \"shubh\"\n[secrets]\napi_key = \"env:\(Self.keyVar)\"\n", "settings.speaker: unknown setting"),
                                 ("[settings]\nbase_url = \"api.sarvam.ai\"\n[secrets]\napi_key = \"env:\(Self.keyVar)\"\n", "settings.base_url")] {
            do {
                _ = try await h.load(file: "library = \"libvox_sarvam.so\"\n" + text)
                XCTFail("\(text) should refuse to load")
            } catch {
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        XCTAssertEqual(fake.requests.count, 0)
    }

    func testHTTPStatusesMapToCodes() async throws {
        let i = try await load()
        let cases: [(Int, VoxErrorCode, Bool)] = [(400, .invalidRequest, false), (403, .unauthenticated, false), (404, .notFound, false),
                                                  (422, .invalidRequest, false), (429, .rateLimited, true), (500, .unavailable, true),
                                                  (503, .unavailable, true)]
        for (status, code, retriable) in cases {
            fake.script("/text-to-speech", .status(status, retryAfter: status == 429 ? 3 : nil))
            let e = await h.failure { try await self.speak(i, SynthesisRequest(input: "x")) }
            XCTAssertEqual(e.code, code, "\(status): \(e.message)")
            XCTAssertEqual(e.httpStatus, status)
            XCTAssertEqual(e.retriable, retriable, "\(status)")
            XCTAssertTrue(e.message.contains("(request 20260101_fake"), e.message)
        }
        fake.script("/text-to-speech", .status(429, retryAfter: 3))
        let limited = await h.failure { try await self.speak(i, SynthesisRequest(input: "x")) }
        XCTAssertEqual(limited.retryAfterMs, 3000)
        XCTAssertTrue(limited.message.contains("rate_limit_exceeded_error"), limited.message)
        fake.script("/speech-to-text", .status(500, retryAfter: nil))
        let stt = await h.failure { try await self.transcribe(i, TranscriptionRequest()) }
        XCTAssertEqual(stt.code, .unavailable)
    }

    func testBrokenAnswersAreUnavailable() async throws {
        let i = try await load()
        for behaviour in [FakeBehaviour.truncatedSSE(afterChunks: 2), .resetMidStream(afterChunks: 2), .malformedJSON] {
            fake.script("/v1/chat/completions", behaviour)
            let e = await h.failure { try await self.chat(i) }
            XCTAssertEqual(e.code, .unavailable, "\(behaviour): \(e.message)")
            XCTAssertTrue(e.retriable)
        }
        fake.script("/speech-to-text", .malformedJSON)
        let stt = await h.failure { try await self.transcribe(i, TranscriptionRequest()) }
        XCTAssertEqual(stt.code, .unavailable)
        fake.script("/v2/models", .malformedJSON)
        let models = await h.failure { try await self.h.run(i, VOX_OP_LIST_MODELS, "{}") }
        XCTAssertEqual(models.code, .unavailable)
    }

    // MARK: time

    func testStallBeforeFirstByteTimesOut() async throws {
        let i = try await load("first_byte_timeout_ms = 300")
        fake.script("/text-to-speech", .stallBeforeFirstByte(seconds: 3))
        let started = Date()
        let e = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello")) }
        XCTAssertEqual(e.code, .timeout, e.message)
        XCTAssertTrue(e.retriable)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2.5)
    }

    func testCancelMidStreamClosesTheUpstreamRequest() async throws {
        let i = try await load()
        fake.script("/v1/chat/completions", .slowStream(chunks: 500, intervalMs: 20))
        let got = try await h.cancelMidStream(i, VOX_OP_LLM_CHAT, #"{"model":"sarvam-30b","stream":true,"messages":[{"role":"user","content":"go on"}]}"#)
        XCTAssertEqual(got, 2, "the stream was flowing")
        try await PluginHarness.waitUntil { self.fake.cancelledStreams > 0 }
        XCTAssertEqual(fake.cancelledStreams, 1, "the upstream stream was closed")

        // A whole answer still on its way: its request is closed too.
        try await h.cancelBeforeTheAnswer(i, VOX_OP_LLM_CHAT, #"{"model":"sarvam-30b","messages":[{"role":"user","content":"go on"}]}"#) {
            self.fake.requests(to: "/v1/chat/completions").count > 1
        }
        try await PluginHarness.waitUntil { self.fake.cancelledStreams > 1 }
        XCTAssertEqual(fake.cancelledStreams, 2, "the upstream request of a whole answer was closed")
    }
}

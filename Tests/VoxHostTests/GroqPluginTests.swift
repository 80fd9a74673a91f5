import CVoxPlugin
import Foundation
import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// The real libvox_groq.so through the registry, the loader and the C ABI,
/// against the loopback GroqFake. Every test ends by asserting the fake saw
/// no request that departs from Groq's API (groq.md).
final class GroqPluginTests: XCTestCase {
    static let keyVar = "VOXD_TEST_GROQ_KEY"
    var fake: GroqFake!
    let h = PluginHarness(name: "groq")

    override func setUp() async throws {
        fake = try await GroqFake.start()
        setenv(Self.keyVar, GroqFake.defaultAPIKey, 1)
    }

    override func tearDown() async throws { await h.finish(fake, "requests that depart from the Groq API") }

    func load(_ settings: String = "", keyVar: String = keyVar) async throws -> PluginInstance {
        try await h.load(settings: "base_url = \"\(fake.baseURL)\"\n\(settings)", keyVar: keyVar)
    }

    func chat(_ i: PluginInstance, _ body: String = #"{"model":"llama-3.3-70b-versatile","messages":[{"role":"user","content":"Say hello"}]}"#) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_LLM_CHAT, body)
    }

    func speak(_ i: PluginInstance, _ r: SynthesisRequest) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_TTS_SYNTHESIZE, VoxJSON.string(r))
    }

    func transcribe(_ i: PluginInstance, _ r: TranscriptionRequest, _ audio: AudioData = PluginHarness.wav(seconds: 1.5, rate: 16000)) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_STT_TRANSCRIBE, VoxJSON.string(r), input: audio)
    }

    // MARK: chat

    func testChatUsageFromXGroqAlone() async throws {
        let i = try await load()
        // temperature 0 and logprobs pass (groq.md: 0 becomes 1e-8; logprobs model-dependent).
        let out = try await chat(i, #"{"model":"llama-3.3-70b-versatile","stream":true,"messages":[{"role":"user","content":"Say hello"}],"temperature":0,"logprobs":true,"max_completion_tokens":64}"#)
        XCTAssertEqual(out.events("delta").compactMap { $0["content"]?.stringValue }.joined(), fake.chatReply)
        XCTAssertEqual(out.result?.usage?.inputTokens, 9, "x_groq.usage.prompt_tokens of the final chunk")
        XCTAssertEqual(out.result?.usage?.outputTokens, OpenAIFake.fragments(of: fake.chatReply).count)
        XCTAssertEqual(out.result?.finishReason, "stop")
        let sent = try XCTUnwrap(fake.requests(to: "/chat/completions").first)
        XCTAssertEqual(sent.header("authorization"), "Bearer \(GroqFake.defaultAPIKey)")
        let body = try XCTUnwrap(sent.json)
        XCTAssertEqual(body["stream"]?.bool, true)
        XCTAssertNil(body["stream_options"], "usage comes in x_groq without asking")
        XCTAssertEqual(body["temperature"]?.number, 0)
        XCTAssertEqual(body["logprobs"]?.bool, true)
    }

    /// Without `stream` one completion is asked for; its `usage` is read.
    func testChatWithoutStreamAsksForOneCompletion() async throws {
        let i = try await load()
        let out = try await chat(i, #"{"model":"llama-3.3-70b-versatile","messages":[{"role":"user","content":"Say hello"}]}"#)
        XCTAssertEqual(out.events("delta").compactMap { $0["content"]?.stringValue }, [fake.chatReply])
        XCTAssertEqual(out.result?.usage?.inputTokens, 9)
        XCTAssertEqual(out.result?.usage?.outputTokens, OpenAIFake.fragments(of: fake.chatReply).count)
        let body = try XCTUnwrap(fake.requests(to: "/chat/completions").first?.json)
        XCTAssertNil(body["stream"])
        XCTAssertNil(body["stream_options"])
    }

    func testChatUsageFromTheIncludeUsageChunk() async throws {
        let i = try await load()
        let out = try await chat(i, #"{"model":"llama-3.1-8b-instant","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}"#)
        XCTAssertEqual(out.result?.usage?.inputTokens, 17)
        XCTAssertEqual(out.result?.usage?.outputTokens, OpenAIFake.fragments(of: fake.chatReply).count)
        let body = try XCTUnwrap(fake.requests(to: "/chat/completions").first?.json)
        XCTAssertEqual(body["stream_options"]?["include_usage"]?.bool, true, "the client's own stream_options is passed on")
    }

    func testChatRefusesWhatGroqRejectsBeforeAnyRequest() async throws {
        let i = try await load()
        let bias = await h.failure { try await self.chat(i, #"{"model":"llama-3.3-70b-versatile","messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100}}"#) }
        XCTAssertEqual(bias.code, .invalidRequest)
        XCTAssertTrue(bias.message.contains("logit_bias"), bias.message)
        let name = await h.failure { try await self.chat(i, #"{"model":"llama-3.3-70b-versatile","messages":[{"role":"system","content":"x"},{"role":"user","content":"hi","name":"ann"}]}"#) }
        XCTAssertEqual(name.code, .invalidRequest)
        XCTAssertTrue(name.message.contains("messages[1].name"), name.message)
        let n = await h.failure { try await self.chat(i, #"{"model":"llama-3.3-70b-versatile","messages":[{"role":"user","content":"hi"}],"n":2}"#) }
        XCTAssertEqual(n.code, .invalidRequest)
        XCTAssertTrue(n.message.contains("n must be 1"), n.message)
        XCTAssertEqual(fake.requests(to: "/chat/completions").count, 0)
    }

    func testChatToolCallFragments() async throws {
        let i = try await load()
        fake.script("/chat/completions", .toolCalls([FakeToolCall(name: "get_time", arguments: #"{"tz":"Asia/Kolkata"}"#)]))
        let out = try await chat(i, #"{"model":"openai/gpt-oss-120b","messages":[{"role":"user","content":"time?"}],"tools":[{"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}}]}"#)
        let calls = out.events("tool_call")
        XCTAssertEqual(calls.first?["name"]?.stringValue, "get_time")
        XCTAssertEqual(calls.first?["id"]?.stringValue, "call_fake0")
        XCTAssertEqual(calls.compactMap { $0["arguments"]?.stringValue }.joined(), #"{"tz":"Asia/Kolkata"}"#)
        XCTAssertEqual(out.result?.finishReason, "tool_calls")
    }

    // MARK: speech

    func testSpeechWAVIsOpenedIntoPCM() async throws {
        let i = try await load()
        let out = try await speak(i, SynthesisRequest(input: "Hello [cheerful] there", format: AudioFormat(encoding: .pcmS16LE)))
        XCTAssertGreaterThan(out.audio.count, 1, "forwarded as it arrives")
        for (format, bytes) in out.audio {
            XCTAssertEqual(format, AudioFormat(encoding: .pcmS16LE, sampleRate: 48000, channels: 1), "the rate the WAV header says")
            XCTAssertEqual(bytes.count % 2, 0, "whole samples per chunk")
        }
        XCTAssertEqual(out.audioBytes, GroqFake.expectedPCM(input: "Hello [cheerful] there"), "header and LIST chunk off, every sample kept")
        XCTAssertEqual(out.result?.usage?.characters, 22)
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 0.44, accuracy: 0.001)
        XCTAssertEqual(out.events("metadata").first?["voice"]?.stringValue, "autumn")
        let body = try XCTUnwrap(fake.requests(to: "/audio/speech").first?.json)
        XCTAssertEqual(body["model"]?.string, "canopylabs/orpheus-v1-english")
        XCTAssertEqual(body["voice"]?.string, "autumn")
        XCTAssertEqual(body["response_format"]?.string, "wav")
        XCTAssertNil(body["sample_rate"], "no rate asked, none sent")
    }

    func testSpeechArabicAndPassThroughFormats() async throws {
        let i = try await load()
        let wav = try await speak(i, SynthesisRequest(model: "canopylabs/orpheus-arabic-saudi", input: "مرحبا", voice: "Noura", speed: 1.2,
                                                      format: AudioFormat(encoding: .wav, sampleRate: 24000)))
        XCTAssertEqual(wav.audioBytes, GroqFake.expectedAudio(format: "wav", input: "مرحبا", rate: 24000), "a wav client gets Groq's file")
        XCTAssertTrue(wav.audio.allSatisfy { $0.format.encoding == .wav })
        let body = try XCTUnwrap(fake.requests(to: "/audio/speech").last?.json)
        XCTAssertEqual(body["voice"]?.string, "noura")
        XCTAssertEqual(body["sample_rate"]?.int, 24000)
        XCTAssertEqual(body["speed"]?.number, 1.2)
        for (encoding, wire) in [(AudioEncoding.mp3, "mp3"), (.flac, "flac"), (.opus, "ogg"), (.mulaw, "mulaw")] {
            let out = try await speak(i, SynthesisRequest(input: "Hello", voice: "troy", format: AudioFormat(encoding: encoding)))
            XCTAssertEqual(out.audioBytes, GroqFake.expectedAudio(format: wire, input: "Hello"), wire)
            XCTAssertTrue(out.audio.allSatisfy { $0.format.encoding == encoding })
            XCTAssertEqual(fake.requests(to: "/audio/speech").last?.json?["response_format"]?.string, wire)
        }
    }

    func testSpeechUnknownVoiceNamesTheModelsVoices() async throws {
        let i = try await load()
        let tara = await h.failure { try await self.speak(i, SynthesisRequest(input: "hi", voice: "tara")) }
        XCTAssertEqual(tara.code, .notFound)
        XCTAssertTrue(tara.message.contains("autumn, diana, hannah, austin, daniel, troy"), tara.message)
        let crossed = await h.failure { try await self.speak(i, SynthesisRequest(model: "canopylabs/orpheus-arabic-saudi", input: "hi", voice: "autumn")) }
        XCTAssertEqual(crossed.code, .notFound)
        XCTAssertTrue(crossed.message.contains("abdullah, fahad, sultan, lulwa, noura, aisha"), crossed.message)
        let empty = await h.failure { try await self.speak(i, SynthesisRequest(input: "  ")) }
        XCTAssertEqual(empty.code, .invalidRequest)
        XCTAssertEqual(fake.requests(to: "/audio/speech").count, 0)
        // A model groq.md lists no voices for reaches Groq, which decides.
        let legacy = await h.failure { try await self.speak(i, SynthesisRequest(model: "playai-tts", input: "hi", voice: "Fritz-PlayAI")) }
        XCTAssertEqual(legacy.code, .notFound)
        XCTAssertTrue(legacy.message.contains("model_not_found"), legacy.message)
    }

    func testSpeechWithoutAudioIsUnavailable() async throws {
        let i = try await load()
        fake.script("/audio/speech", .emptyAudio)
        let empty = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello")) }
        XCTAssertEqual(empty.code, .unavailable)
        XCTAssertTrue(empty.retriable)
        XCTAssertTrue(empty.message.contains("provider returned no audio"), empty.message)
        fake.script("/audio/speech", .undecodableAudio)
        let html = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello")) }
        XCTAssertEqual(html.code, .unavailable)
        XCTAssertTrue(html.retriable)
        XCTAssertTrue(html.message.contains("not a WAV file"), html.message)
        fake.script("/audio/speech", .resetMidStream(afterChunks: 2))
        let reset = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello there, a longer text.")) }
        XCTAssertEqual(reset.code, .unavailable, reset.message)
        XCTAssertTrue(reset.retriable)
        // A transport failure says whose and which call, once; a WAV
        // failure keeps its own words (above), unlabelled twice.
        XCTAssertTrue(reset.message.hasPrefix("groq POST /audio/speech: "), reset.message)
        XCTAssertEqual(reset.message.components(separatedBy: "groq POST").count, 2, reset.message)
        XCTAssertTrue(html.message.hasPrefix("groq: "), html.message)
    }

    // MARK: transcription

    func testTranscriptionVerboseJSONByDefault() async throws {
        let i = try await load()
        var req = TranscriptionRequest(language: "en-IN", prompt: "a greeting")
        req.timestampGranularities = ["word", "segment"]
        req.temperature = 0
        let pcm = PluginHarness.tone(seconds: 1.5, rate: 16000)
        let out = try await transcribe(i, req, AudioData(format: AudioFormat(encoding: .pcmS16LE, sampleRate: 16000, channels: 1), bytes: pcm))
        let t = try XCTUnwrap(out.events("transcript").first)
        XCTAssertEqual(t["text"]?.stringValue, fake.transcriptText)
        XCTAssertEqual(t["language"]?.stringValue, "en", "Whisper's \"English\" as BCP 47")
        XCTAssertEqual(t["duration"]?.doubleValue ?? 0, 1.5, accuracy: 0.001)
        XCTAssertEqual(t["segments"]?.arrayValue?.compactMap { $0["text"]?.stringValue }, ["Hello there.", "This is the Groq fake transcript."])
        XCTAssertEqual(t["words"]?.arrayValue?.first?["word"]?.stringValue, "Hello")
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 1.5, accuracy: 0.001)
        let f = try PluginHarness.form(try XCTUnwrap(fake.requests(to: "/audio/transcriptions").first))
        XCTAssertEqual(f.first("model")?.text, "whisper-large-v3-turbo")
        XCTAssertEqual(f.first("response_format")?.text, "verbose_json")
        XCTAssertEqual(f.first("language")?.text, "en")
        XCTAssertEqual(f.first("prompt")?.text, "a greeting")
        XCTAssertEqual(f.all("timestamp_granularities[]").map(\.text), ["word", "segment"])
        XCTAssertEqual(f.first("file")?.filename, "audio.wav")
    }

    func testTranscriptionJSONTextAndRefusedFormats() async throws {
        let i = try await load()
        var json = TranscriptionRequest(model: "whisper-large-v3")
        json.options = .object(["response_format": .string("json")])
        let j = try await transcribe(i, json)
        XCTAssertEqual(j.events("transcript").first?["text"]?.stringValue, fake.transcriptText)
        XCTAssertEqual(j.events("transcript").first?["duration"]?.doubleValue ?? 0, 1.5, accuracy: 0.001, "from the WAV itself")
        var text = TranscriptionRequest()
        text.options = .object(["response_format": .string("text")])
        let t = try await transcribe(i, text)
        XCTAssertEqual(t.events("transcript").first?["text"]?.stringValue, fake.transcriptText, "the plain body, its line end off")
        XCTAssertEqual(try PluginHarness.form(fake.requests(to: "/audio/transcriptions").last!).first("response_format")?.text, "text")
        let sent = fake.requests(to: "/audio/transcriptions").count

        for f in ["srt", "vtt"] {
            var r = TranscriptionRequest()
            r.options = .object(["response_format": .string(f)])
            let e = await h.failure { try await self.transcribe(i, r) }
            XCTAssertEqual(e.code, .invalidRequest)
            XCTAssertTrue(e.message.contains("groq does not support \(f)"), e.message)
        }
        var words = TranscriptionRequest()
        words.options = .object(["response_format": .string("json")])
        words.timestampGranularities = ["word"]
        let w = await h.failure { try await self.transcribe(i, words) }
        XCTAssertEqual(w.code, .invalidRequest)
        XCTAssertTrue(w.message.contains("verbose_json"), w.message)
        let notAudio = await h.failure { try await self.transcribe(i, TranscriptionRequest(), AudioData(format: AudioFormat(encoding: .pcmF32LE, sampleRate: 16000), bytes: [1, 2, 3, 4])) }
        XCTAssertEqual(notAudio.code, .invalidRequest)
        XCTAssertEqual(fake.requests(to: "/audio/transcriptions").count, sent, "refused before any request")

        let unknown = await h.failure { try await self.transcribe(i, TranscriptionRequest(model: "whisper-9")) }
        XCTAssertEqual(unknown.code, .notFound)
    }

    // MARK: discovery

    func testModelsVoicesAndPrices() async throws {
        let i = try await load()
        XCTAssertEqual(i.capabilities.defaultModel, "canopylabs/orpheus-v1-english")
        XCTAssertTrue(i.capabilities.supports(.llmChat) && i.capabilities.supports(.sttTranscribe) && i.capabilities.supports(.ttsSynthesize))
        let prices = i.capabilities.prices ?? []
        XCTAssertEqual(prices.first { $0.model == "whisper-large-v3" }?.usdPerUnit ?? 0, 0.111 / 3600, accuracy: 1e-12)
        XCTAssertEqual(prices.first { $0.model == "whisper-large-v3-turbo" }?.unit, "audio_second")
        XCTAssertTrue(prices.allSatisfy { $0.source?.contains("groq.md") == true })

        let out = try await h.run(i, VOX_OP_LIST_MODELS, "{}")
        let models = try VoxJSON.decode([ModelInfo].self, from: VoxJSON.encode(try XCTUnwrap(out.events("models").first?["models"])))
        func ops(_ id: String) -> [VoxOperation]? { models.first { $0.id == id }?.operations }
        XCTAssertEqual(ops("whisper-large-v3"), [.sttTranscribe])
        XCTAssertEqual(ops("canopylabs/orpheus-arabic-saudi"), [.ttsSynthesize])
        XCTAssertEqual(ops("moonshotai/kimi-k2-instruct"), [.llmChat], "an undeclared chat model is discovered")
        XCTAssertEqual(ops("llama-3.3-70b-versatile"), [.llmChat])
        XCTAssertNil(ops("meta-llama/llama-guard-4-12b"), "a guard model is no chat model")
        XCTAssertNil(ops("playai-tts"), "an inactive model is left out")

        let all = try await h.run(i, VOX_OP_LIST_VOICES, "{}")
        let voices = try XCTUnwrap(all.events("voices").first?["voices"]?.arrayValue)
        XCTAssertEqual(voices.count, 12)
        XCTAssertEqual(voices.first { $0["id"]?.stringValue == "lulwa" }?["languages"]?.arrayValue?.first?.stringValue, "ar-SA")
        let english = try await h.run(i, VOX_OP_LIST_VOICES, #"{"model":"canopylabs/orpheus-v1-english"}"#)
        XCTAssertEqual(english.events("voices").first?["voices"]?.arrayValue?.compactMap { $0["id"]?.stringValue },
                       ["autumn", "diana", "hannah", "austin", "daniel", "troy"])
        let none = await h.failure { try await self.h.run(i, VOX_OP_LIST_VOICES, #"{"model":"whisper-large-v3"}"#) }
        XCTAssertEqual(none.code, .notFound)
    }

    // MARK: errors

    func testWrongKeyNamesTheSecretNeverTheKey() async throws {
        let wrong = "gsk_wrongkey9876543210zyxw"
        setenv("VOXD_TEST_GROQ_BADKEY", wrong, 1)
        let i = try await load(keyVar: "VOXD_TEST_GROQ_BADKEY")
        for e in [await h.failure { try await self.chat(i) }, await h.failure { try await self.speak(i, SynthesisRequest(input: "x")) }] {
            XCTAssertEqual(e.code, .unauthenticated)
            XCTAssertEqual(e.httpStatus, 401)
            XCTAssertTrue(e.message.contains("[secrets] api_key in plugins.d/groq.toml"), e.message)
            XCTAssertTrue(e.message.contains("Invalid API Key"), "the provider's message is kept: \(e.message)")
            XCTAssertFalse(e.message.contains(wrong), e.message)
        }
    }

    func testCreateNeedsTheSecretAndKnownSettings() async throws {
        for (text, expected) in [("[settings]\nbase_url = \"\(fake.baseURL)\"\n", "[secrets] api_key"),
                                 ("[settings]\nvoice = \"autumn\"\n[secrets]\napi_key = \"env:\(Self.keyVar)\"\n", "settings.voice: unknown setting")] {
            do {
                _ = try await h.load(file: "library = \"libvox_groq.so\"\n" + text)
                XCTFail("\(text) should refuse to load")
            } catch {
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        XCTAssertEqual(fake.requests.count, 0)
    }

    func testHTTPStatusesMapToCodes() async throws {
        let i = try await load()
        let cases: [(Int, VoxErrorCode, Bool)] = [(400, .invalidRequest, false), (403, .forbidden, false), (404, .notFound, false),
                                                  (413, .invalidRequest, false), (429, .rateLimited, true), (498, .unavailable, true),
                                                  (500, .unavailable, true), (503, .unavailable, true)]
        for (status, code, retriable) in cases {
            fake.script("/chat/completions", .status(status, retryAfter: status == 429 ? 2 : nil))
            let e = await h.failure { try await self.chat(i) }
            XCTAssertEqual(e.code, code, "\(status): \(e.message)")
            XCTAssertEqual(e.httpStatus, status)
            XCTAssertEqual(e.retriable, retriable, "\(status)")
            XCTAssertTrue(e.message.contains("req_fake"), "the request id helps support: \(e.message)")
            XCTAssertTrue(e.message.hasPrefix("groq \(status)"), e.message)
        }
        fake.script("/chat/completions", .status(429, retryAfter: 2))
        let limited = await h.failure { try await self.chat(i) }
        XCTAssertEqual(limited.retryAfterMs, 2000)
        XCTAssertTrue(limited.message.contains("Rate limit reached"), limited.message)

        fake.script("/audio/transcriptions", .status(503, retryAfter: nil))
        let stt = await h.failure { try await self.transcribe(i, TranscriptionRequest()) }
        XCTAssertEqual(stt.code, .unavailable)
        fake.script("/models", .status(500, retryAfter: nil))
        let models = await h.failure { try await self.h.run(i, VOX_OP_LIST_MODELS, "{}") }
        XCTAssertEqual(models.code, .unavailable)
    }

    func testBrokenAnswersAreUnavailable() async throws {
        let i = try await load()
        for (behaviour, text) in [(FakeBehaviour.truncatedSSE(afterChunks: 3), "truncated stream"), (.resetMidStream(afterChunks: 2), ""),
                                  (.malformedJSON, #""delta":{"content":"#)] {
            fake.script("/chat/completions", behaviour)
            let e = await h.failure { try await self.chat(i, #"{"model":"llama-3.3-70b-versatile","stream":true,"messages":[{"role":"user","content":"hi"}]}"#) }
            XCTAssertEqual(e.code, .unavailable, e.message)
            XCTAssertTrue(e.retriable)
            XCTAssertTrue(text.isEmpty || e.message.contains(text), e.message)
            // The same fault in a whole answer (cut, dropped, malformed JSON).
            let whole = await h.failure { try await self.chat(i) }
            XCTAssertEqual(whole.code, .unavailable, whole.message)
            XCTAssertTrue(whole.retriable)
            XCTAssertTrue(whole.message.hasPrefix("groq "), whole.message)
        }
        fake.script("/audio/transcriptions", .malformedJSON)
        let stt = await h.failure { try await self.transcribe(i, TranscriptionRequest()) }
        XCTAssertEqual(stt.code, .unavailable)
        XCTAssertTrue(stt.message.contains("malformed JSON"), stt.message)
        fake.script("/models", .malformedJSON)
        let models = await h.failure { try await self.h.run(i, VOX_OP_LIST_MODELS, "{}") }
        XCTAssertEqual(models.code, .unavailable)
    }

    // MARK: time

    func testStallBeforeFirstByteTimesOut() async throws {
        let i = try await load("first_byte_timeout_ms = 300")
        fake.script("/audio/speech", .stallBeforeFirstByte(seconds: 3))
        let started = Date()
        let e = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello")) }
        XCTAssertEqual(e.code, .timeout, e.message)
        XCTAssertTrue(e.retriable)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2.5)
    }

    func testCancelMidStreamClosesTheUpstreamRequest() async throws {
        let i = try await load()
        for (kind, path, request) in [(VOX_OP_LLM_CHAT, "/chat/completions", #"{"model":"llama-3.3-70b-versatile","stream":true,"messages":[{"role":"user","content":"go on"}]}"#),
                                      (VOX_OP_TTS_SYNTHESIZE, "/audio/speech", VoxJSON.string(SynthesisRequest(input: "long")))] {
            let before = fake.cancelledStreams
            fake.script(path, .slowStream(chunks: 500, intervalMs: 20)) // 10 s if nobody stops it
            let got = try await h.cancelMidStream(i, kind, request)
            XCTAssertEqual(got, 2, "the stream was flowing")
            try await PluginHarness.waitUntil { self.fake.cancelledStreams > before }
            XCTAssertEqual(fake.cancelledStreams, before + 1, "\(path): the upstream stream was closed")
        }
        let before = fake.cancelledStreams, asked = fake.requests(to: "/chat/completions").count
        fake.script("/chat/completions", .slowStream(chunks: 500, intervalMs: 20))
        try await h.cancelBeforeTheAnswer(i, VOX_OP_LLM_CHAT, #"{"model":"llama-3.3-70b-versatile","messages":[{"role":"user","content":"go on"}]}"#) {
            self.fake.requests(to: "/chat/completions").count > asked
        }
        try await PluginHarness.waitUntil { self.fake.cancelledStreams > before }
        XCTAssertEqual(fake.cancelledStreams, before + 1, "the upstream request of a whole answer was closed")
    }
}

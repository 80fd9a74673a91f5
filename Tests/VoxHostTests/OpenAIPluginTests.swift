import CVoxPlugin
import Foundation
import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// The real libvox_openai.so (SwiftPM's build of Plugins/OpenAI) through the
/// registry, the loader and the C ABI, against the loopback OpenAIFake. Every
/// test ends by asserting the fake saw no request that departs from the API.
final class OpenAIPluginTests: XCTestCase {
    static let keyVar = "VOXD_TEST_OPENAI_KEY"
    var fake: OpenAIFake!
    let h = PluginHarness(name: "openai")

    override func setUp() async throws {
        fake = try await OpenAIFake.start()
        setenv(Self.keyVar, OpenAIFake.defaultAPIKey, 1)
    }

    override func tearDown() async throws { await h.finish(fake, "requests that depart from the OpenAI API") }

    /// Loads plugins.d/openai.toml pointing at the fake.
    func load(_ settings: String = "", keyVar: String = keyVar, secrets: Bool = true) async throws -> PluginInstance {
        try await h.load(settings: "base_url = \"\(fake.baseURL)\"\n\(settings)", keyVar: secrets ? keyVar : nil)
    }

    func chat(_ i: PluginInstance, _ body: String = OpenAIPluginTests.whole) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_LLM_CHAT, body)
    }

    func speak(_ i: PluginInstance, _ r: SynthesisRequest) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_TTS_SYNTHESIZE, VoxJSON.string(r))
    }

    // MARK: chat

    func testChatStreamsDeltasAndUsage() async throws {
        let i = try await load("organization = \"org-fake\"\nproject = \"proj_fake\"")
        let out = try await chat(i, #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello"}],"temperature":0.5,"max_tokens":50}"#)
        let deltas = out.events("delta").compactMap { $0["content"]?.stringValue }
        XCTAssertEqual(deltas, ["Hello", " from", " the", " fake", "."])
        XCTAssertEqual(deltas.joined(), fake.chatReply)
        XCTAssertEqual(out.result?.usage?.inputTokens, 9) // the fake's count: 7 per message + 2 words
        XCTAssertEqual(out.result?.usage?.outputTokens, 5)
        XCTAssertEqual(out.result?.finishReason, "stop")

        let sent = try XCTUnwrap(fake.requests(to: "/chat/completions").first)
        XCTAssertEqual(sent.header("authorization"), "Bearer \(OpenAIFake.defaultAPIKey)")
        XCTAssertEqual(sent.header("openai-organization"), "org-fake")
        XCTAssertEqual(sent.header("openai-project"), "proj_fake")
        let body = try XCTUnwrap(sent.json)
        XCTAssertEqual(body["stream"]?.bool, true)
        XCTAssertEqual(body["stream_options"]?["include_usage"]?.bool, true)
        XCTAssertEqual(body["temperature"]?.number, 0.5, "the client's fields are kept")
        XCTAssertEqual(body["max_tokens"]?.int, 50)
        XCTAssertEqual(body["model"]?.string, "gpt-4o-mini")
    }

    /// A client that asked for no stream gets one completion asked for
    /// upstream: no `stream`, no `stream_options` (OpenAI refuses it
    /// without a stream), the answer as one delta, usage from the body.
    func testChatWithoutStreamAsksForOneCompletion() async throws {
        let i = try await load()
        let out = try await chat(i, #"{"model":"gpt-4o-mini","stream":false,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say hello"}]}"#)
        XCTAssertEqual(out.events("delta").compactMap { $0["content"]?.stringValue }, [fake.chatReply])
        XCTAssertEqual(out.result?.usage?.inputTokens, 9)
        XCTAssertEqual(out.result?.usage?.outputTokens, 5)
        XCTAssertEqual(out.result?.finishReason, "stop")
        let sent = try XCTUnwrap(fake.requests(to: "/chat/completions").first)
        XCTAssertEqual(sent.header("accept"), "application/json")
        let body = try XCTUnwrap(sent.json)
        XCTAssertNil(body["stream"])
        XCTAssertNil(body["stream_options"])
        XCTAssertEqual(fake.violations, [])
    }

    /// A compatible server that streams although no stream was asked for:
    /// its frames are read whole, and a stream cut before [DONE] is still
    /// an error.
    func testChatWithoutStreamReadsAnAnswerStreamedAnyway() async throws {
        let i = try await load()
        fake.alwaysStream = true
        let out = try await chat(i)
        XCTAssertEqual(out.events("delta").compactMap { $0["content"]?.stringValue }.joined(), fake.chatReply)
        XCTAssertEqual(out.result?.finishReason, "stop")
        fake.script("/chat/completions", .truncatedSSE(afterChunks: 3))
        let cut = await h.failure { try await self.chat(i) }
        XCTAssertEqual(cut.code, .unavailable)
        XCTAssertTrue(cut.message.contains("truncated stream"), cut.message)
    }

    /// A streamed request answered with one JSON completion (a gateway that
    /// ignores `stream: true`) still gives the whole answer.
    func testChatStreamAnsweredWholeIsStillRead() async throws {
        let i = try await load()
        fake.neverStream = true
        let out = try await chat(i, Self.streamed)
        XCTAssertEqual(out.events("delta").compactMap { $0["content"]?.stringValue }.joined(), fake.chatReply)
        XCTAssertEqual(out.result?.finishReason, "stop")
        XCTAssertEqual(out.result?.usage?.outputTokens, 5)
    }

    func testChatReadsAwkwardButValidSSE() async throws {
        let i = try await load()
        fake.sseQuirks = true // CRLF, comments, multi-line data, frames cut across writes
        fake.chatReply = "Grüße aus dem Fake — ünïcödé, 你好!"
        let out = try await chat(i, Self.streamed)
        XCTAssertEqual(out.events("delta").compactMap { $0["content"]?.stringValue }.joined(), fake.chatReply)
        XCTAssertEqual(out.result?.finishReason, "stop")
    }

    static let whole = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}"#
    static let streamed = #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello"}]}"#

    /// The relay sends events from the host's I/O thread; a consumer far
    /// slower than the provider (a 512-byte buffer: PAUSE every dozen
    /// events) still gets every delta, in order, and the plugin never
    /// overruns the buffer.
    func testChatThroughASlowConsumerLosesNothing() async throws {
        let i = try await load()
        fake.script("/chat/completions", .slowStream(chunks: 400, intervalMs: 0))
        let op = try i.start(VOX_OP_LLM_CHAT, request: #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"count"}]}"#,
                             bufferBytes: 512, timeout: 30)
        var deltas: [String] = []
        while let out = try await op.next() {
            guard case .event(let json) = out, let e = try? JSONValue.parse(Data(json.utf8)), e["type"]?.stringValue == "delta" else { continue }
            deltas.append(e["content"]?.stringValue ?? "")
            if deltas.count % 25 == 0 { try await Task.sleep(nanoseconds: 2_000_000) }
        }
        XCTAssertEqual(deltas, (0..<400).map { $0 == 0 ? "word0" : " word\($0)" })
        XCTAssertEqual(op.result?.finishReason, "stop")
        XCTAssertEqual(i.misbehaviourReport.count, 0, i.misbehaviourReport.last ?? "")
    }

    func testChatToolCallFragmentsByIndex() async throws {
        let i = try await load()
        fake.script("/chat/completions", .toolCalls([.init(name: "get_time", arguments: #"{"tz":"UTC"}"#),
                                                     .init(name: "get_weather", arguments: #"{"city":"Paris","unit":"C"}"#)]))
        let tools = #""tools":[{"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}},{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]"#
        let out = try await chat(i, #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"time and weather?"}],"# + tools + "}")
        let calls = out.events("tool_call")
        XCTAssertEqual(out.events("delta").count, 0)
        for (index, name, args) in [(0, "get_time", #"{"tz":"UTC"}"#), (1, "get_weather", #"{"city":"Paris","unit":"C"}"#)] {
            let fragments = calls.filter { $0["index"]?.intValue == index }
            XCTAssertGreaterThan(fragments.count, 1, "streamed in fragments")
            XCTAssertEqual(fragments.first?["id"]?.stringValue, "call_fake\(index)")
            XCTAssertEqual(fragments.first?["name"]?.stringValue, name)
            XCTAssertTrue(fragments.dropFirst().allSatisfy { $0["id"] == nil && $0["name"] == nil }, "id and name only on the first fragment")
            XCTAssertEqual(fragments.compactMap { $0["arguments"]?.stringValue }.joined(), args)
        }
        XCTAssertEqual(out.result?.finishReason, "tool_calls")

        // Not streamed: each call whole, as one fragment with its id and name.
        let whole = try await chat(i, #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"time and weather?"}],"# + tools + "}")
        let wholeCalls = whole.events("tool_call")
        XCTAssertEqual(wholeCalls.map { $0["index"]?.intValue }, [0, 1])
        XCTAssertEqual(wholeCalls.map { $0["id"]?.stringValue }, ["call_fake0", "call_fake1"])
        XCTAssertEqual(wholeCalls.map { $0["name"]?.stringValue }, ["get_time", "get_weather"])
        XCTAssertEqual(wholeCalls.map { $0["arguments"]?.stringValue }, [#"{"tz":"UTC"}"#, #"{"city":"Paris","unit":"C"}"#])
        XCTAssertEqual(whole.result?.finishReason, "tool_calls")
    }

    // MARK: speech

    func testSpeechPCMStreamsTheProviderAudio() async throws {
        let i = try await load()
        let out = try await speak(i, SynthesisRequest(model: "gpt-4o-mini-tts", input: "Hello", voice: "coral",
                                                      format: AudioFormat(encoding: .pcmS16LE, sampleRate: 16000),
                                                      options: .object(["instructions": .string("cheerful")])))
        XCTAssertGreaterThan(out.audio.count, 1, "streamed in the provider's chunks")
        for (format, bytes) in out.audio {
            XCTAssertEqual(format, AudioFormat(encoding: .pcmS16LE, sampleRate: 24000, channels: 1))
            XCTAssertEqual(bytes.count % 2, 0, "whole samples per chunk")
        }
        XCTAssertEqual(out.audioBytes, OpenAIFake.expectedAudio(format: "pcm", input: "Hello"))
        XCTAssertEqual(out.result?.usage?.characters, 5)
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 0.25, accuracy: 0.001)
        XCTAssertEqual(out.events("metadata").first?["voice"]?.stringValue, "coral")
        let body = try XCTUnwrap(fake.requests(to: "/audio/speech").first?.json)
        XCTAssertEqual(body["response_format"]?.string, "pcm")
        XCTAssertEqual(body["voice"]?.string, "coral")
        XCTAssertEqual(body["instructions"]?.string, "cheerful")

        // No format asked: pcm too (voxd asks pcm_s16le for wav and pcm clients).
        let plain = try await speak(i, SynthesisRequest(input: "Hi"))
        XCTAssertEqual(plain.audio.first?.format.encoding, .pcmS16LE)
        XCTAssertEqual(fake.requests(to: "/audio/speech").last?.json?["model"]?.string, "gpt-4o-mini-tts")
    }

    /// Speech is relayed from the host's I/O thread too: a consumer far
    /// slower than the provider (an 8 KiB buffer, the fake's odd 4,801-byte
    /// chunks) gets every byte in order, whole samples in every chunk, and
    /// the plugin never overruns the buffer.
    func testSpeechThroughASlowConsumerLosesNothing() async throws {
        let i = try await load()
        let input = String(repeating: "slow ", count: 60)
        let op = try i.start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(SynthesisRequest(input: input, format: AudioFormat(encoding: .pcmS16LE))),
                             bufferBytes: 8192, timeout: 30)
        var bytes: [UInt8] = []
        var chunks = 0
        while let out = try await op.next() {
            guard case .audio(let format, let chunk) = out else { continue }
            XCTAssertEqual(format, AudioFormat(encoding: .pcmS16LE, sampleRate: 24000, channels: 1))
            XCTAssertEqual(chunk.count % 2, 0, "whole samples per chunk")
            bytes += chunk
            chunks += 1
            if chunks % 10 == 0 { try await Task.sleep(nanoseconds: 2_000_000) }
        }
        XCTAssertEqual(bytes, OpenAIFake.expectedAudio(format: "pcm", input: input))
        XCTAssertGreaterThan(chunks, 50)
        XCTAssertEqual(op.result?.usage?.audioSeconds ?? 0, Double(input.count) * 0.05, accuracy: 0.001)
        XCTAssertEqual(i.misbehaviourReport.count, 0, i.misbehaviourReport.last ?? "")
    }

    func testSpeechMP3PassesThrough() async throws {
        let i = try await load()
        let out = try await speak(i, SynthesisRequest(model: "tts-1", input: "Hello there", voice: "alloy", speed: 1.25,
                                                      format: AudioFormat(encoding: .mp3)))
        XCTAssertEqual(out.audioBytes, OpenAIFake.expectedAudio(format: "mp3", input: "Hello there"))
        XCTAssertTrue(out.audio.allSatisfy { $0.format.encoding == .mp3 })
        let body = try XCTUnwrap(fake.requests(to: "/audio/speech").first?.json)
        XCTAssertEqual(body["response_format"]?.string, "mp3")
        XCTAssertEqual(body["speed"]?.number, 1.25)
        XCTAssertNil(body["instructions"])
    }

    func testSpeechRefusesBadRequestsBeforeAnyRequest() async throws {
        let i = try await load()
        let voice = await h.failure { try await self.speak(i, SynthesisRequest(input: "x", voice: "vulcan")) }
        XCTAssertEqual(voice.code, .notFound)
        XCTAssertTrue(voice.message.contains("alloy") && voice.message.contains("shimmer"), voice.message)
        let ins = await h.failure { try await self.speak(i, SynthesisRequest(model: "tts-1", input: "x", options: .object(["instructions": .string("sad")]))) }
        XCTAssertEqual(ins.code, .invalidRequest)
        let speed = await h.failure { try await self.speak(i, SynthesisRequest(input: "x", speed: 9)) }
        XCTAssertEqual(speed.code, .invalidRequest)
        XCTAssertEqual(fake.requests(to: "/audio/speech").count, 0)
    }

    // MARK: transcription

    func testTranscriptionVerboseJSONSegmentsAndWords() async throws {
        let i = try await load()
        var req = TranscriptionRequest(model: "whisper-1", language: "en-US", prompt: "a greeting")
        req.timestampGranularities = ["word", "segment"]
        req.temperature = 0.2
        // Raw pcm: the plugin sends it as a WAV file.
        let audio = AudioData(format: AudioFormat(encoding: .pcmS16LE, sampleRate: 16000, channels: 1), bytes: PluginHarness.tone(seconds: 1.5, rate: 16000))
        let out = try await h.run(i, VOX_OP_STT_TRANSCRIBE, VoxJSON.string(req), input: audio)
        let t = try XCTUnwrap(out.events("transcript").first)
        XCTAssertEqual(out.events("transcript").count, 1)
        XCTAssertEqual(t["text"]?.stringValue, fake.transcriptText)
        XCTAssertEqual(t["language"]?.stringValue, "en")
        XCTAssertEqual(t["duration"]?.doubleValue ?? 0, 1.5, accuracy: 0.001)
        let segments = try XCTUnwrap(t["segments"]?.arrayValue)
        XCTAssertEqual(segments.compactMap { $0["text"]?.stringValue }, ["Hello there.", "This is the fake transcript."])
        XCTAssertEqual(segments.last?["end"]?.doubleValue ?? 0, 1.5, accuracy: 0.001)
        XCTAssertEqual(segments.first?["id"]?.intValue, 0)
        XCTAssertEqual(t["words"]?.arrayValue?.first?["word"]?.stringValue, "Hello")
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 1.5, accuracy: 0.001)

        let sent = try XCTUnwrap(fake.requests(to: "/audio/transcriptions").first)
        let form = try PluginHarness.form(sent)
        XCTAssertEqual(form.first("response_format")?.text, "verbose_json")
        XCTAssertEqual(form.first("language")?.text, "en")
        XCTAssertEqual(form.first("prompt")?.text, "a greeting")
        XCTAssertEqual(form.all("timestamp_granularities[]").map(\.text), ["word", "segment"])
        XCTAssertEqual(form.first("file")?.filename, "audio.wav")
        XCTAssertEqual(form.first("file")?.contentType, "audio/wav")
    }

    func testTranscriptionWithGPT4oAsksForJSON() async throws {
        let i = try await load()
        let pcm = PluginHarness.tone(seconds: 2, rate: 24000)
        let wav = OpenAIFake.wavHeader(dataBytes: pcm.count, rate: 24000) + pcm
        let out = try await h.run(i, VOX_OP_STT_TRANSCRIBE, VoxJSON.string(TranscriptionRequest(model: "gpt-4o-mini-transcribe")),
                                input: AudioData(format: AudioFormat(encoding: .wav), bytes: wav))
        let t = try XCTUnwrap(out.events("transcript").first)
        XCTAssertEqual(t["text"]?.stringValue, fake.transcriptText)
        XCTAssertNil(t["segments"])
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 2, accuracy: 0.001, "from the WAV header when the provider bills tokens")
        XCTAssertEqual(out.result?.usage?.inputTokens, 20)
        let sent = try XCTUnwrap(fake.requests(to: "/audio/transcriptions").first)
        XCTAssertTrue(sent.bodyText.contains("name=\"response_format\"\r\n\r\njson\r\n"))

        var words = TranscriptionRequest(model: "gpt-4o-transcribe")
        words.timestampGranularities = ["word"]
        let e = await h.failure { try await self.h.run(i, VOX_OP_STT_TRANSCRIBE, VoxJSON.string(words), input: AudioData(format: AudioFormat(encoding: .wav), bytes: wav)) }
        XCTAssertEqual(e.code, .invalidRequest)
        XCTAssertEqual(fake.requests(to: "/audio/transcriptions").count, 1, "refused before any request")

        // What voxd adds for an mp4 upload: the client's file name picks the
        // extension OpenAI goes by; its response_format is voxd's to render.
        var m4a = TranscriptionRequest(model: "gpt-4o-transcribe")
        m4a.fileName = "clip.MP4"
        let mp4Bytes: [UInt8] = [0, 0, 0, 0x20] + Array("ftypM4A ".utf8) + [UInt8](repeating: 0, count: 100)
        _ = try await h.run(i, VOX_OP_STT_TRANSCRIBE, VoxJSON.string(m4a), input: AudioData(format: AudioFormat(encoding: .aac), bytes: mp4Bytes))
        let upload = try XCTUnwrap(fake.requests(to: "/audio/transcriptions").last)
        let form = try PluginHarness.form(upload)
        XCTAssertEqual(form.first("file")?.filename, "audio.mp4")
        XCTAssertEqual(form.first("file")?.contentType, "audio/mp4")
        XCTAssertEqual(form.first("response_format")?.text, "json")
    }

    // MARK: discovery

    func testModelsAndVoicesDiscovery() async throws {
        let i = try await load()
        XCTAssertEqual(i.capabilities.defaultModel, "gpt-4o-mini-tts")
        XCTAssertTrue(i.capabilities.supports(.llmChat) && i.capabilities.supports(.sttTranscribe) && i.capabilities.supports(.ttsSynthesize))
        XCTAssertEqual(i.capabilities[.ttsSynthesize]?.sampleRates, [24000])
        XCTAssertTrue((i.capabilities.models ?? []).allSatisfy { $0.operations?.isEmpty == false })
        XCTAssertTrue((i.capabilities.prices ?? []).contains { $0.model == "tts-1" && $0.unit == "character" })

        let out = try await h.run(i, VOX_OP_LIST_MODELS, "{}")
        let models = try VoxJSON.decode([ModelInfo].self, from: VoxJSON.encode(try XCTUnwrap(out.events("models").first?["models"])))
        func ops(_ id: String) -> [VoxOperation]? { models.first { $0.id == id }?.operations }
        XCTAssertEqual(ops("gpt-4.1-nano"), [.llmChat])
        XCTAssertEqual(ops("tts-1-hd"), [.ttsSynthesize])
        XCTAssertEqual(ops("gpt-4o-transcribe"), [.sttTranscribe])
        XCTAssertEqual(ops("whisper-1"), [.sttTranscribe])
        XCTAssertNil(ops("text-embedding-3-small"), "models voxd cannot use are left out")
        XCTAssertNil(ops("dall-e-3"))
        XCTAssertEqual(fake.requests(to: "/models").count, 1)

        let (voices, errors) = await Catalog(ttl: 60, bufferBytes: 1 << 20).voices(of: [i], language: nil, gender: nil, refresh: false)
        XCTAssertEqual(errors, [:])
        XCTAssertEqual(Set(voices.map(\.voice.id)), ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin", "cedar"])
        let classic = try await h.run(i, VOX_OP_LIST_VOICES, #"{"model":"tts-1"}"#)
        XCTAssertEqual(classic.events("voices").first?["voices"]?.arrayValue?.count, 9)
    }

    // MARK: errors

    func testUnauthorizedNamesTheSecretNeverTheKey() async throws {
        let wrong = "sk-wrongkey-9876543210zyxw"
        setenv("VOXD_TEST_OPENAI_BADKEY", wrong, 1)
        let i = try await load(keyVar: "VOXD_TEST_OPENAI_BADKEY")
        let e = await h.failure { try await self.chat(i) }
        XCTAssertEqual(e.code, .unauthenticated)
        XCTAssertEqual(e.httpStatus, 401)
        XCTAssertTrue(e.message.contains("[secrets] api_key"), e.message)
        XCTAssertTrue(e.message.contains("Incorrect API key provided"), "the provider's message is kept: \(e.message)")
        XCTAssertFalse(e.message.contains(wrong), e.message)
        XCTAssertFalse(e.message.contains("zyxw"), "not even the masked key the provider quotes: \(e.message)")
        let s = await h.failure { try await self.speak(i, SynthesisRequest(input: "x")) }
        XCTAssertEqual(s.code, .unauthenticated)
    }

    func testCreateNeedsTheSecretAndKnownSettings() async throws {
        let secret = "[secrets]\napi_key = \"env:\(Self.keyVar)\"\n"
        let base = "base_url = \"\(fake.baseURL)\"\n"
        for (text, expected) in [("[settings]\n\(base)", "[secrets] api_key"),
                                 ("[settings]\n\(base)colour = 1\n\(secret)", "settings.colour: unknown setting"),
                                 ("[settings]\n\(base)first_byte_timeout_ms = -5\n\(secret)", "settings.first_byte_timeout_ms"),
                                 ("[settings]\nbase_url = \"ftp://x\"\n\(secret)", "settings.base_url")] {
            do {
                _ = try await h.load(file: "library = \"libvox_openai.so\"\n" + text)
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
                                                  (429, .rateLimited, true), (500, .unavailable, true), (503, .unavailable, true)]
        // Whole answers (fetch) and streams (a relay bound before the head,
        // which hands an error head back) map statuses alike.
        for (status, code, retriable) in cases {
            for body in [Self.whole, Self.streamed] {
                fake.script("/chat/completions", .status(status, retryAfter: status == 429 ? 2 : nil))
                let e = await h.failure { try await self.chat(i, body) }
                XCTAssertEqual(e.code, code, "\(status): \(e.message)")
                XCTAssertEqual(e.httpStatus, status)
                XCTAssertEqual(e.retriable, retriable, "\(status)")
                XCTAssertTrue(e.message.contains("req_fake"), "the request id helps support: \(e.message)")
            }
        }
        for body in [Self.whole, Self.streamed] {
            fake.script("/chat/completions", .status(429, retryAfter: 2))
            let limited = await h.failure { try await self.chat(i, body) }
            XCTAssertEqual(limited.retryAfterMs, 2000)
            XCTAssertTrue(limited.message.contains("Rate limit reached for requests"), limited.message)
        }

        fake.script("/audio/speech", .status(503, retryAfter: nil))
        let speech = await h.failure { try await self.speak(i, SynthesisRequest(input: "x")) }
        XCTAssertEqual(speech.code, .unavailable)
        XCTAssertTrue(speech.retriable)
        fake.script("/audio/transcriptions", .status(404, retryAfter: nil))
        let stt = await h.failure { try await self.h.run(i, VOX_OP_STT_TRANSCRIBE, "{}", input: AudioData(format: AudioFormat(encoding: .mp3), bytes: [1, 2, 3])) }
        XCTAssertEqual(stt.code, .notFound)
    }

    func testBrokenStreamsAreUnavailable() async throws {
        let i = try await load()
        fake.script("/chat/completions", .truncatedSSE(afterChunks: 3))
        let truncated = await h.failure { try await self.chat(i, Self.streamed) }
        XCTAssertEqual(truncated.code, .unavailable)
        XCTAssertTrue(truncated.retriable)
        XCTAssertTrue(truncated.message.contains("truncated stream"), truncated.message)

        fake.script("/chat/completions", .truncatedSSE(afterChunks: 0))
        let empty = await h.failure { try await self.chat(i, Self.streamed) }
        XCTAssertEqual(empty.code, .unavailable)

        fake.script("/chat/completions", .resetMidStream(afterChunks: 2))
        let reset = await h.failure { try await self.chat(i, Self.streamed) }
        XCTAssertEqual(reset.code, .unavailable, reset.message)
        XCTAssertTrue(reset.retriable)

        fake.script("/chat/completions", .malformedJSON)
        let malformed = await h.failure { try await self.chat(i, Self.streamed) }
        XCTAssertEqual(malformed.code, .unavailable)
        XCTAssertTrue(malformed.message.contains(#""delta":{"content":"#), "the provider's snippet: \(malformed.message)")

        // The same faults in a whole (not streamed) answer.
        fake.script("/chat/completions", .truncatedSSE(afterChunks: 0)) // the JSON body ends halfway
        let cut = await h.failure { try await self.chat(i) }
        XCTAssertEqual(cut.code, .unavailable)
        XCTAssertTrue(cut.retriable)
        XCTAssertTrue(cut.message.contains("openai sent malformed JSON: {\"id\":\"chatcmpl-fake\""), cut.message)

        fake.script("/chat/completions", .resetMidStream(afterChunks: 0)) // the connection drops halfway
        let dropped = await h.failure { try await self.chat(i) }
        XCTAssertEqual(dropped.code, .unavailable, dropped.message)
        XCTAssertTrue(dropped.retriable)
        XCTAssertTrue(dropped.message.hasPrefix("openai POST /chat/completions: "), dropped.message)

        fake.script("/chat/completions", .malformedJSON)
        let bad = await h.failure { try await self.chat(i) }
        XCTAssertEqual(bad.code, .unavailable)
        XCTAssertTrue(bad.message.contains("malformed JSON"), bad.message)

        fake.script("/audio/speech", .resetMidStream(afterChunks: 1))
        let speechReset = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello there, a longer text.")) }
        XCTAssertEqual(speechReset.code, .unavailable, speechReset.message)

        fake.script("/audio/transcriptions", .malformedJSON)
        let stt = await h.failure { try await self.h.run(i, VOX_OP_STT_TRANSCRIBE, "{}", input: AudioData(format: AudioFormat(encoding: .mp3), bytes: [1, 2, 3])) }
        XCTAssertEqual(stt.code, .unavailable)

        fake.script("/models", .malformedJSON)
        let models = await h.failure { try await self.h.run(i, VOX_OP_LIST_MODELS, "{}") }
        XCTAssertEqual(models.code, .unavailable)
    }

    func testEmptyAudioIsUnavailable() async throws {
        let i = try await load()
        fake.script("/audio/speech", .emptyAudio)
        let e = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello")) }
        XCTAssertEqual(e.code, .unavailable)
        XCTAssertTrue(e.retriable)
        XCTAssertTrue(e.message.contains("provider returned no audio"), e.message)
    }

    // MARK: time

    func testStallBeforeFirstByteTimesOut() async throws {
        let i = try await load("first_byte_timeout_ms = 300")
        fake.script("/chat/completions", .stallBeforeFirstByte(seconds: 3))
        for body in [Self.whole, Self.streamed] {
            let started = Date()
            let e = await h.failure { try await self.chat(i, body) }
            XCTAssertEqual(e.code, .timeout, e.message)
            XCTAssertTrue(e.retriable)
            XCTAssertLessThan(Date().timeIntervalSince(started), 2.5)
        }
    }

    func testCancelMidStreamClosesTheUpstreamRequest() async throws {
        let i = try await load()
        for (kind, path, request) in [(VOX_OP_LLM_CHAT, "/chat/completions", #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"go on"}]}"#),
                                      (VOX_OP_TTS_SYNTHESIZE, "/audio/speech", VoxJSON.string(SynthesisRequest(input: "long")))] {
            let before = fake.cancelledStreams
            fake.script(path, .slowStream(chunks: 500, intervalMs: 20)) // 10 s if nobody stops it
            let got = try await h.cancelMidStream(i, kind, request)
            XCTAssertEqual(got, 2, "the stream was flowing")
            // The fake notices on its next write (20 ms apart); allow 5 s.
            try await PluginHarness.waitUntil { self.fake.cancelledStreams > before }
            XCTAssertEqual(fake.cancelledStreams, before + 1, "\(path): the upstream stream was closed")
        }
        // A whole answer still on its way: the request is closed too.
        let before = fake.cancelledStreams, asked = fake.requests(to: "/chat/completions").count
        fake.script("/chat/completions", .slowStream(chunks: 500, intervalMs: 20))
        try await h.cancelBeforeTheAnswer(i, VOX_OP_LLM_CHAT, #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"go on"}]}"#) {
            self.fake.requests(to: "/chat/completions").count > asked
        }
        try await PluginHarness.waitUntil { self.fake.cancelledStreams > before }
        XCTAssertEqual(fake.cancelledStreams, before + 1, "the upstream request was closed")
    }
}

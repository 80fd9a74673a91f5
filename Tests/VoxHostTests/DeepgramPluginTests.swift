import CVoxPlugin
import Foundation
import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// The real libvox_deepgram.so (SwiftPM's build of Plugins/Deepgram) through
/// the registry, the loader and the C ABI, against the loopback DeepgramFake.
/// Every test ends by asserting the fake saw no request that departs from
/// the API.
final class DeepgramPluginTests: XCTestCase {
    static let keyVar = "VOXD_TEST_DEEPGRAM_KEY"
    var fake: DeepgramFake!
    let h = PluginHarness(name: "deepgram")

    override func setUp() async throws {
        fake = try await DeepgramFake.start()
        setenv(Self.keyVar, DeepgramFake.defaultAPIKey, 1)
    }

    override func tearDown() async throws { await h.finish(fake, "requests that depart from the Deepgram API") }

    /// Loads plugins.d/deepgram.toml pointing at the fake.
    func load(_ settings: String = "", keyVar: String = keyVar) async throws -> PluginInstance {
        try await h.load(settings: "base_url = \"\(fake.baseURL)\"\n\(settings)", keyVar: keyVar)
    }

    func speak(_ i: PluginInstance, _ r: SynthesisRequest) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_TTS_SYNTHESIZE, VoxJSON.string(r))
    }

    func transcribe(_ i: PluginInstance, _ r: TranscriptionRequest, _ audio: AudioData) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_STT_TRANSCRIBE, VoxJSON.string(r), input: audio)
    }

    /// The query of a recorded request, decoded.
    func query(_ r: RecordedRequest?) -> [String: [String]] {
        guard let r else { return [:] }
        var out: [String: [String]] = [:]
        for (k, v) in DeepgramFake.queryItems(r) { out[k, default: []].append(v) }
        return out
    }

    // MARK: transcription

    func testTranscribeSendsTheFileWithItsQuery() async throws {
        let i = try await load()
        var req = TranscriptionRequest(model: "nova-3", language: "en-US", prompt: "ignored: Deepgram has no prompt")
        req.options = .object(["diarize": .bool(true), "keyterm": .array([.string("voxd")])])
        let audio = PluginHarness.wav(seconds: 2)
        let out = try await transcribe(i, req, audio)
        XCTAssertEqual(out.events.count, 1)
        let t = try XCTUnwrap(out.events("transcript").first)
        XCTAssertEqual(t["text"]?.stringValue, fake.transcriptText)
        XCTAssertEqual(t["language"]?.stringValue, "en-US")
        XCTAssertEqual(t["duration"]?.doubleValue ?? 0, 2, accuracy: 0.001)
        let words = try XCTUnwrap(t["words"]?.arrayValue)
        XCTAssertEqual(words.count, 7)
        XCTAssertEqual(words.first?["word"]?.stringValue, "hello")
        XCTAssertEqual(words.first?["punctuated_word"]?.stringValue, "Hello")
        XCTAssertEqual(words.last?["speaker"]?.intValue, 1, "diarized: the second sentence's speaker")
        XCTAssertEqual(words.last?["end"]?.doubleValue ?? 0, 2, accuracy: 0.001)
        let segments = try XCTUnwrap(t["segments"]?.arrayValue)
        XCTAssertEqual(segments.compactMap { $0["text"]?.stringValue }, ["Hello there.", "This is the fake transcript."])
        XCTAssertEqual(segments.compactMap { $0["speaker"]?.intValue }, [0, 1])
        XCTAssertEqual(segments.last?["end"]?.doubleValue ?? 0, 2, accuracy: 0.001)
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 2, accuracy: 0.001, "metadata.duration is what is billed")

        let sent = try XCTUnwrap(fake.requests(to: "/v1/listen").first)
        XCTAssertEqual(sent.header("authorization"), "Token \(DeepgramFake.defaultAPIKey)")
        XCTAssertEqual(sent.header("content-type"), "audio/wav")
        XCTAssertEqual(sent.bytes, audio.bytes, "the raw file is the body")
        let q = query(sent)
        XCTAssertEqual(q["model"], ["nova-3"])
        XCTAssertEqual(q["language"], ["en-US"])
        XCTAssertEqual(q["diarize"], ["true"])
        XCTAssertEqual(q["smart_format"], ["true"])
        XCTAssertEqual(q["punctuate"], ["true"])
        XCTAssertEqual(q["utterances"], ["true"])
        XCTAssertEqual(q["keyterm"], ["voxd"])
        XCTAssertNil(q["encoding"], "containerized audio needs no encoding")
    }

    func testRawPCMIsWrappedInWAVAndDefaultsApply() async throws {
        let i = try await load()
        let pcm = PluginHarness.tone(seconds: 1.5, rate: 16000)
        let out = try await transcribe(i, TranscriptionRequest(), AudioData(format: AudioFormat(encoding: .pcmS16LE, sampleRate: 16000, channels: 1), bytes: pcm))
        let t = try XCTUnwrap(out.events("transcript").first)
        XCTAssertEqual(t["duration"]?.doubleValue ?? 0, 1.5, accuracy: 0.001)
        XCTAssertEqual(t["language"]?.stringValue, "en", "Deepgram's default language")
        let sent = try XCTUnwrap(fake.requests(to: "/v1/listen").first)
        XCTAssertEqual(Array(sent.bytes.prefix(4)), Array("RIFF".utf8))
        XCTAssertEqual(Array(sent.bytes.dropFirst(44)), pcm)
        XCTAssertEqual(sent.header("content-type"), "audio/wav")
        XCTAssertEqual(query(sent)["model"], ["nova-3"], "the default model")
        XCTAssertNil(query(sent)["language"], "no language asked: none sent")

        // mp3 and an unknown format: the bytes with their content type.
        let mp3: [UInt8] = Array("ID3".utf8) + [4, 0, 0, 0, 0, 0, 0xFF, 0xF3] + [UInt8](repeating: 7, count: 64_000)
        _ = try await transcribe(i, TranscriptionRequest(model: "nova-2"), AudioData(format: AudioFormat(encoding: .mp3), bytes: mp3))
        XCTAssertEqual(fake.requests(to: "/v1/listen").last?.header("content-type"), "audio/mpeg")
        _ = try await transcribe(i, TranscriptionRequest(), AudioData(format: nil, bytes: mp3))
        XCTAssertEqual(fake.requests(to: "/v1/listen").last?.header("content-type"), "application/octet-stream")
    }

    func testTranscribeOptionsLanguagesAndSegments() async throws {
        let i = try await load()
        var detect = TranscriptionRequest(model: "nova-3")
        detect.options = .object(["detect_language": .bool(true), "utterances": .bool(false), "paragraphs": .bool(true)])
        detect.timestampGranularities = ["segment"]
        let d = try await transcribe(i, detect, PluginHarness.wav(seconds: 1))
        let t = try XCTUnwrap(d.events("transcript").first)
        XCTAssertEqual(t["language"]?.stringValue, "en", "detected_language")
        XCTAssertNil(t["words"], "segments only were asked")
        XCTAssertEqual(t["segments"]?.arrayValue?.compactMap { $0["text"]?.stringValue }, ["Hello there.", "This is the fake transcript."],
                       "without utterances, the paragraphs' sentences")
        let q = query(fake.requests(to: "/v1/listen").last)
        XCTAssertEqual(q["utterances"], ["false"], "the client's option wins over the default")
        XCTAssertEqual(q["detect_language"], ["true"])

        let multi = try await transcribe(i, TranscriptionRequest(model: "nova-3", language: "multi"), PluginHarness.wav(seconds: 1))
        XCTAssertEqual(multi.events("transcript").first?["language"]?.stringValue, "en", "the alternative's languages")
        XCTAssertEqual(query(fake.requests(to: "/v1/listen").last)["language"], ["multi"])

        let before = fake.requests(to: "/v1/listen").count
        let multi2 = await h.failure { try await self.transcribe(i, TranscriptionRequest(model: "nova-2", language: "multi"), PluginHarness.wav(seconds: 1)) }
        XCTAssertEqual(multi2.code, .invalidRequest)
        XCTAssertTrue(multi2.message.contains("nova-3"), multi2.message)
        let tag = await h.failure { try await self.transcribe(i, TranscriptionRequest(language: "english please"), PluginHarness.wav(seconds: 1)) }
        XCTAssertTrue(tag.message.contains("BCP-47"), tag.message)
        var unknown = TranscriptionRequest()
        unknown.options = .object(["colour": .string("blue")])
        let u = await h.failure { try await self.transcribe(i, unknown, PluginHarness.wav(seconds: 1)) }
        XCTAssertEqual(u.code, .invalidRequest)
        XCTAssertTrue(u.message.contains("options.colour") && u.message.contains("smart_format"), u.message)
        var typed = TranscriptionRequest()
        typed.options = .object(["diarize": .string("yes")])
        let ty = await h.failure { try await self.transcribe(i, typed, PluginHarness.wav(seconds: 1)) }
        XCTAssertTrue(ty.message.contains("options.diarize: must be true or false"), ty.message)
        var keyterm = TranscriptionRequest(model: "nova-2")
        keyterm.options = .object(["keyterm": .string("voxd")])
        let k = await h.failure { try await self.transcribe(i, keyterm, PluginHarness.wav(seconds: 1)) }
        XCTAssertTrue(k.message.contains("keyterm"), k.message)
        var callback = TranscriptionRequest()
        callback.options = .object(["callback": .string("https://example.com/hook")])
        let c = await h.failure { try await self.transcribe(i, callback, PluginHarness.wav(seconds: 1)) }
        XCTAssertTrue(c.message.contains("callbacks are not supported"), c.message)
        let empty = await h.failure { try await self.transcribe(i, TranscriptionRequest(), AudioData(format: AudioFormat(encoding: .wav), bytes: [])) }
        XCTAssertEqual(empty.code, .invalidRequest)
        let noRate = await h.failure { try await self.transcribe(i, TranscriptionRequest(), AudioData(format: AudioFormat(encoding: .pcmS16LE), bytes: [0, 0])) }
        XCTAssertTrue(noRate.message.contains("sample rate"), noRate.message)
        let f32 = await h.failure { try await self.transcribe(i, TranscriptionRequest(), AudioData(format: AudioFormat(encoding: .pcmF32LE, sampleRate: 16000), bytes: [0, 0, 0, 0])) }
        XCTAssertTrue(f32.message.contains("pcm_f32le") && f32.message.contains("wav"), f32.message)
        XCTAssertEqual(fake.requests(to: "/v1/listen").count, before, "all refused before any request")

        // A model Deepgram does not know: its 400, with its words.
        let model = await h.failure { try await self.transcribe(i, TranscriptionRequest(model: "nova-9"), PluginHarness.wav(seconds: 1)) }
        XCTAssertEqual(model.code, .invalidRequest)
        XCTAssertEqual(model.httpStatus, 400)
        XCTAssertTrue(model.message.contains("No such model/language/tier combination"), model.message)
    }

    func testAnEmptyTranscriptIsStillAnAnswer() async throws {
        let i = try await load()
        fake.script("/v1/listen", .emptyTranscript)
        let out = try await transcribe(i, TranscriptionRequest(), PluginHarness.wav(seconds: 1))
        let t = try XCTUnwrap(out.events("transcript").first)
        XCTAssertEqual(t["text"]?.stringValue, "")
        XCTAssertEqual(t["duration"]?.doubleValue ?? 0, 1, accuracy: 0.001)
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 1, accuracy: 0.001)
    }

    func testBrokenTranscriptionAnswersAreUnavailable() async throws {
        let i = try await load()
        for (behaviour, words) in [(DeepgramFake.Behaviour.noResults, "without results"), (.malformedJSON, "malformed JSON"), (.resetMidStream(afterChunks: 2), "POST /v1/listen")] {
            fake.script("/v1/listen", behaviour)
            let e = await h.failure { try await self.transcribe(i, TranscriptionRequest(), PluginHarness.wav(seconds: 1)) }
            XCTAssertEqual(e.code, .unavailable, "\(behaviour): \(e.message)")
            XCTAssertTrue(e.retriable)
            XCTAssertTrue(e.message.contains(words), e.message)
        }
    }

    // MARK: speech

    func testSpeechPCMIsRawLinear16() async throws {
        let i = try await load()
        let out = try await speak(i, SynthesisRequest(input: "Hello", voice: "thalia", speed: 1.25, format: AudioFormat(encoding: .pcmS16LE)))
        XCTAssertGreaterThan(out.audio.count, 1, "streamed in the provider's chunks")
        for (format, bytes) in out.audio {
            XCTAssertEqual(format, AudioFormat(encoding: .pcmS16LE, sampleRate: 24000, channels: 1))
            XCTAssertEqual(bytes.count % 2, 0, "whole samples per chunk")
        }
        XCTAssertEqual(out.audioBytes, DeepgramFake.expectedPCM(input: "Hello"), "exactly the samples, no header")
        XCTAssertEqual(out.result?.usage?.characters, 5)
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 0.25, accuracy: 0.001)
        XCTAssertEqual(out.events("metadata").first?["voice"]?.stringValue, "aura-2-thalia-en")
        let sent = try XCTUnwrap(fake.requests(to: "/v1/speak").first)
        XCTAssertEqual(sent.header("authorization"), "Token \(DeepgramFake.defaultAPIKey)")
        XCTAssertEqual(sent.json?["text"]?.string, "Hello")
        let q = query(sent)
        XCTAssertEqual(q["model"], ["aura-2-thalia-en"])
        XCTAssertEqual(q["encoding"], ["linear16"])
        XCTAssertEqual(q["container"], ["none"])
        XCTAssertEqual(q["sample_rate"], ["24000"])
        XCTAssertEqual(q["speed"], ["1.25"])

        let at16 = try await speak(i, SynthesisRequest(model: "aura-2-andromeda-en", input: "Hi", format: AudioFormat(encoding: .pcmS16LE, sampleRate: 16000)))
        XCTAssertEqual(at16.audioBytes, DeepgramFake.expectedPCM(input: "Hi", rate: 16000))
        XCTAssertEqual(at16.audio.first?.format.sampleRate, 16000)
        XCTAssertEqual(query(fake.requests(to: "/v1/speak").last)["model"], ["aura-2-andromeda-en"], "no voice: the model is the voice")
    }

    func testSpeechContainersAndEncodings() async throws {
        let i = try await load()
        let wav = try await speak(i, SynthesisRequest(input: "Hello", voice: "aura-2-thalia-en", format: AudioFormat(encoding: .wav)))
        XCTAssertEqual(wav.audioBytes, DeepgramFake.expectedAudio(input: "Hello", encoding: "linear16", container: "wav", sampleRate: 24000))
        XCTAssertTrue(wav.audio.allSatisfy { $0.format.encoding == .wav })
        XCTAssertEqual(query(fake.requests(to: "/v1/speak").last)["container"], ["wav"])
        for (enc, wire, extra) in [(AudioEncoding.mp3, "mp3", [String: [String]]()), (.opus, "opus", ["container": ["ogg"]]),
                                   (.mulaw, "mulaw", ["container": ["none"], "sample_rate": ["8000"]]), (.flac, "flac", [:]), (.aac, "aac", [:])] {
            let out = try await speak(i, SynthesisRequest(input: "Hello there", format: AudioFormat(encoding: enc)))
            let q = query(fake.requests(to: "/v1/speak").last)
            XCTAssertEqual(q["encoding"], [wire])
            for (k, v) in extra { XCTAssertEqual(q[k], v, "\(enc) \(k)") }
            if enc == .mp3 || enc == .opus { XCTAssertNil(q["sample_rate"], "\(enc): the rate is fixed, not sent") }
            XCTAssertEqual(out.audioBytes, DeepgramFake.expectedAudio(input: "Hello there", encoding: wire, container: q["container"]?.first,
                                                                      sampleRate: q["sample_rate"].flatMap { Int($0[0]) }))
            XCTAssertTrue(out.audio.allSatisfy { $0.format.encoding == enc })
        }
        let mp3 = try await speak(i, SynthesisRequest(input: "x", format: AudioFormat(encoding: .mp3), options: .object(["bit_rate": .number(32000), "tag": .string("demo")])))
        XCTAssertFalse(mp3.audio.isEmpty)
        XCTAssertEqual(query(fake.requests(to: "/v1/speak").last)["bit_rate"], ["32000"])
        XCTAssertEqual(query(fake.requests(to: "/v1/speak").last)["tag"], ["demo"])
    }

    func testAStrayWAVHeaderNeverReachesPCM() async throws {
        let i = try await load()
        fake.script("/v1/speak", .headerDespiteContainerNone)
        let out = try await speak(i, SynthesisRequest(input: "Hello", voice: "thalia", format: AudioFormat(encoding: .pcmS16LE, sampleRate: 16000)))
        XCTAssertEqual(out.audioBytes, DeepgramFake.expectedPCM(input: "Hello", rate: 16000))
    }

    func testVoiceNamesShortFullAndNewer() async throws {
        let i = try await load()
        func model(_ r: SynthesisRequest) async throws -> String? {
            _ = try await speak(i, r)
            return query(fake.requests(to: "/v1/speak").last)["model"]?.first
        }
        let a = try await model(SynthesisRequest(input: "x", voice: "asteria"))
        XCTAssertEqual(a, "aura-2-asteria-en", "a short name in both families: Aura-2")
        let a1 = try await model(SynthesisRequest(model: "aura-orion-en", input: "x", voice: "asteria"))
        XCTAssertEqual(a1, "aura-asteria-en", "the requested model's family wins")
        let es = try await model(SynthesisRequest(input: "hola", voice: "Celeste"))
        XCTAssertEqual(es, "aura-2-celeste-es")
        XCTAssertEqual(fake.requests(to: "/v1/models").count, 0, "documented voices need no discovery")
        // A voice newer than the spec: one discovery, then it speaks.
        let z = try await model(SynthesisRequest(input: "x", voice: "zephyr"))
        XCTAssertEqual(z, "aura-2-zephyr-en")
        XCTAssertEqual(fake.requests(to: "/v1/models").count, 1)

        let before = fake.requests(to: "/v1/speak").count
        let unknown = await h.failure { try await self.speak(i, SynthesisRequest(input: "x", voice: "gandalf")) }
        XCTAssertEqual(unknown.code, .notFound)
        XCTAssertTrue(unknown.message.contains("gandalf") && unknown.message.contains("aura-2-thalia-en"), unknown.message)
        let long = await h.failure { try await self.speak(i, SynthesisRequest(input: String(repeating: "a", count: 2001))) }
        XCTAssertEqual(long.code, .invalidRequest)
        XCTAssertTrue(long.message.contains("2000"), long.message)
        let option = await h.failure { try await self.speak(i, SynthesisRequest(input: "x", options: .object(["container": .string("wav")]))) }
        XCTAssertTrue(option.message.contains("options.container"), option.message)
        let bitRate = await h.failure { try await self.speak(i, SynthesisRequest(input: "x", format: AudioFormat(encoding: .pcmS16LE), options: .object(["bit_rate": .number(48000)]))) }
        XCTAssertTrue(bitRate.message.contains("options.bit_rate"), bitRate.message)
        XCTAssertEqual(fake.requests(to: "/v1/speak").count, before, "refused before any request")
    }

    func testEmptyOrNonAudioSpeechIsUnavailable() async throws {
        let i = try await load()
        fake.script("/v1/speak", .emptyAudio)
        for format in [AudioFormat(encoding: .pcmS16LE), AudioFormat(encoding: .wav), AudioFormat(encoding: .mp3)] {
            let e = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello", format: format)) }
            XCTAssertEqual(e.code, .unavailable, "\(format.encoding)")
            XCTAssertTrue(e.retriable)
            XCTAssertTrue(e.message.contains("provider returned no audio"), e.message)
        }
        fake.script("/v1/speak", .jsonInsteadOfAudio)
        let json = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello")) }
        XCTAssertEqual(json.code, .unavailable)
        XCTAssertTrue(json.message.contains("request_id"), json.message)
        fake.script("/v1/speak", .resetMidStream(afterChunks: 1))
        let reset = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello there, a longer text.")) }
        XCTAssertEqual(reset.code, .unavailable, reset.message)
    }

    // MARK: discovery

    func testModelsAndVoicesDiscovery() async throws {
        let i = try await load()
        let caps = i.capabilities
        XCTAssertEqual(caps.defaultModel, "aura-2-thalia-en")
        XCTAssertTrue(caps.supports(.sttTranscribe) && caps.supports(.ttsSynthesize) && caps.supports(.voicesList) && caps.supports(.modelsList))
        XCTAssertEqual(caps[.sttStream]?.formats, [.pcmS16LE, .mulaw, .alaw], "live listen takes raw audio")
        XCTAssertEqual(caps[.ttsSynthesize]?.sampleRates, [8000, 16000, 24000, 32000, 48000])
        XCTAssertEqual(Set(caps[.ttsSynthesize]?.formats ?? []), [.pcmS16LE, .wav, .mp3, .opus, .mulaw, .alaw, .flac, .aac])
        XCTAssertTrue(caps[.sttTranscribe]?.formats?.contains(.pcmS16LE) == true)
        XCTAssertEqual(caps.models?.first(where: { $0.operations == [.sttTranscribe, .sttStream] })?.id, "nova-3", "nova-3 is the STT default")
        XCTAssertEqual(caps.models?.filter { $0.operations == [.ttsSynthesize] }.count, 103, "the spec's Aura model enum")
        let prices = caps.prices ?? []
        XCTAssertEqual(prices.first { $0.model == "nova-3" && $0.operation == .sttTranscribe }?.usdPerUnit ?? 0, 0.0043 / 60, accuracy: 1e-12)
        XCTAssertEqual(prices.first { $0.model == "aura-2-thalia-en" }?.usdPerUnit ?? 0, 0.00003, accuracy: 1e-12)
        XCTAssertEqual(prices.first { $0.model == "aura-zeus-en" }?.usdPerUnit ?? 0, 0.000015, accuracy: 1e-12)
        XCTAssertTrue(prices.allSatisfy { $0.source?.contains("deepgram.md") == true })

        let out = try await h.run(i, VOX_OP_LIST_MODELS, "{}")
        let models = try VoxJSON.decode([ModelInfo].self, from: VoxJSON.encode(try XCTUnwrap(out.events("models").first?["models"])))
        func ops(_ id: String) -> [VoxOperation]? { models.first { $0.id == id }?.operations }
        XCTAssertEqual(ops("nova-3"), [.sttTranscribe, .sttStream])
        XCTAssertEqual(ops("nova-2-meeting"), [.sttTranscribe, .sttStream])
        XCTAssertNil(ops("flux-general-en"), "Flux speaks the v2 socket, out of scope")
        XCTAssertEqual(ops("aura-2-zephyr-en"), [.ttsSynthesize])
        XCTAssertEqual(models.first { $0.id == "aura-2-celeste-es" }?.languages, ["es", "es-CO"])
        let sent = try XCTUnwrap(fake.requests(to: "/v1/models").first)
        XCTAssertEqual(query(sent)["include_outdated"], ["false"])

        let (female, errors) = await Catalog(ttl: 60, bufferBytes: 1 << 20).voices(of: [i], language: nil, gender: "female", refresh: false)
        XCTAssertEqual(errors, [:])
        XCTAssertEqual(Set(female.map(\.voice.id)), ["aura-2-thalia-en", "aura-2-andromeda-en", "aura-2-asteria-en", "aura-asteria-en", "aura-2-celeste-es"])
        let thalia = try XCTUnwrap(female.first { $0.voice.id == "aura-2-thalia-en" }?.voice)
        XCTAssertEqual(thalia.name, "Thalia")
        XCTAssertEqual(thalia.accent, "American")
        XCTAssertEqual(thalia.age, "middle_aged")
        XCTAssertEqual(thalia.languages, ["en", "en-US"])
        XCTAssertEqual(thalia.previewUrl, "https://static.deepgram.com/examples/voices/aura-2-thalia-en.wav")
        XCTAssertEqual(thalia.model, "aura-2-thalia-en")
        XCTAssertEqual(thalia.custom, false)
        let de = try await h.run(i, VOX_OP_LIST_VOICES, #"{"language":"de"}"#)
        let deVoices = try XCTUnwrap(de.events("voices").first?["voices"]?.arrayValue)
        XCTAssertEqual(deVoices.compactMap { $0["id"]?.stringValue }, ["aura-2-fabian-de"])
        XCTAssertEqual(deVoices.first?["gender"]?.stringValue, "male")
        XCTAssertEqual(deVoices.first?["age"]?.stringValue, "old")
        let aura1 = try await h.run(i, VOX_OP_LIST_VOICES, #"{"model":"aura"}"#)
        XCTAssertEqual(aura1.events("voices").first?["voices"]?.arrayValue?.count, 2)
    }

    func testDiscoveryFailuresSurface() async throws {
        let i = try await load()
        fake.script("/v1/models", .status(503, retryAfter: nil))
        let down = await h.failure { try await self.h.run(i, VOX_OP_LIST_VOICES, "{}") }
        XCTAssertEqual(down.code, .unavailable)
        XCTAssertTrue(down.retriable)
        fake.script("/v1/models", .malformedJSON)
        let broken = await h.failure { try await self.h.run(i, VOX_OP_LIST_MODELS, "{}") }
        XCTAssertEqual(broken.code, .unavailable)
        XCTAssertTrue(broken.message.contains("malformed JSON"), broken.message)
    }

    // MARK: errors

    func testUnauthorizedNamesTheSecretNeverTheKey() async throws {
        let wrong = "fedcba9876543210fedcba9876543210fedcba98"
        setenv("VOXD_TEST_DEEPGRAM_BADKEY", wrong, 1)
        let i = try await load(keyVar: "VOXD_TEST_DEEPGRAM_BADKEY")
        for e in [await h.failure { try await self.speak(i, SynthesisRequest(input: "x")) },
                  await h.failure { try await self.transcribe(i, TranscriptionRequest(), PluginHarness.wav(seconds: 1)) },
                  await h.failure { try await self.h.run(i, VOX_OP_LIST_VOICES, "{}") }] {
            XCTAssertEqual(e.code, .unauthenticated)
            XCTAssertEqual(e.httpStatus, 401)
            XCTAssertTrue(e.message.contains("[secrets] api_key"), e.message)
            XCTAssertTrue(e.message.contains("Invalid credentials"), "the provider's message is kept: \(e.message)")
            XCTAssertFalse(e.message.contains(wrong), e.message)
        }
    }

    func testCreateNeedsTheSecretAndKnownSettings() async throws {
        let secret = "[secrets]\napi_key = \"env:\(Self.keyVar)\"\n"
        let base = "base_url = \"\(fake.baseURL)\"\n"
        for (text, expected) in [("[settings]\n\(base)", "[secrets] api_key"),
                                 ("[settings]\n\(base)colour = 1\n\(secret)", "settings.colour: unknown setting"),
                                 ("[settings]\n\(base)ws_base_url = \"ftp://x\"\n\(secret)", "settings.ws_base_url"),
                                 ("[settings]\nbase_url = \"wss://x\"\n\(secret)", "settings.base_url")] {
            do {
                _ = try await h.load(file: "library = \"libvox_deepgram.so\"\n" + text)
                XCTFail("\(text) should refuse to load")
            } catch {
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        _ = try await load("ws_base_url = \"ws://127.0.0.1:9/\"")
        XCTAssertEqual(fake.requests.count, 0)
    }

    func testHTTPStatusesMapToCodes() async throws {
        let i = try await load()
        let cases: [(Int, VoxErrorCode, Bool, String)] = [
            (400, .invalidRequest, false, "Bad Request: Failed to process audio"), (402, .forbidden, false, "payment required"),
            (403, .forbidden, false, "Insufficient permissions"), (404, .notFound, false, "Not Found"), (413, .invalidRequest, false, "Payload too large"),
            (429, .rateLimited, true, "Too many requests"), (500, .unavailable, true, "Internal Server Error"), (503, .unavailable, true, "Service Unavailable"),
        ]
        for (status, code, retriable, words) in cases {
            fake.script("/v1/listen", .status(status, retryAfter: status == 429 ? 2 : nil))
            let e = await h.failure { try await self.transcribe(i, TranscriptionRequest(), PluginHarness.wav(seconds: 0.5)) }
            XCTAssertEqual(e.code, code, "\(status): \(e.message)")
            XCTAssertEqual(e.httpStatus, status)
            XCTAssertEqual(e.retriable, retriable, "\(status)")
            XCTAssertTrue(e.message.contains(words), "\(status): \(e.message)")
            XCTAssertTrue(e.message.contains("(request fa4e0000-"), "the dg-request-id helps support: \(e.message)")
            if status == 429 { XCTAssertEqual(e.retryAfterMs, 2000) }
        }
        fake.script("/v1/speak", .status(402, retryAfter: nil))
        let speech = await h.failure { try await self.speak(i, SynthesisRequest(input: "x")) }
        XCTAssertEqual(speech.code, .forbidden)
        XCTAssertTrue(speech.message.contains("ASR_PAYMENT_REQUIRED"), speech.message)
    }

    // MARK: time

    func testStallBeforeFirstByteTimesOut() async throws {
        let i = try await load("first_byte_timeout_ms = 300")
        fake.script("/v1/speak", .stallBeforeFirstByte(seconds: 3))
        let started = Date()
        let e = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello")) }
        XCTAssertEqual(e.code, .timeout, e.message)
        XCTAssertTrue(e.retriable)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2.5)
    }

    func testCancelMidStreamClosesTheUpstreamRequest() async throws {
        let i = try await load()
        fake.script("/v1/speak", .slowStream(chunks: 500, intervalMs: 20)) // 10 s if nobody stops it
        let got = try await h.cancelMidStream(i, VOX_OP_TTS_SYNTHESIZE, VoxJSON.string(SynthesisRequest(input: "long")))
        XCTAssertEqual(got, 2, "the stream was flowing")
        // The fake notices on its next write (20 ms apart); allow 5 s.
        try await PluginHarness.waitUntil { self.fake.cancelledStreams > 0 }
        XCTAssertEqual(fake.cancelledStreams, 1, "the upstream stream was closed")
    }
}

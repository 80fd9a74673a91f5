import CVoxPlugin
import Foundation
import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// ElevenLabs speech, transcription, error mapping and timing, through the
/// real plugin (see ElevenLabsTestCase).
final class ElevenLabsPluginTests: ElevenLabsTestCase {
    // MARK: speech

    func testSpeechPCMStreamsAtTheRequestedRate() async throws {
        let i = try await load()
        let text = "Hello from voxd"
        let out = try await speak(i, SynthesisRequest(input: text, voice: Self.rachel, format: AudioFormat(encoding: .pcmS16LE, sampleRate: 16000)))
        XCTAssertGreaterThan(out.audio.count, 1, "streamed in the provider's chunks")
        for (format, bytes) in out.audio {
            XCTAssertEqual(format, AudioFormat(encoding: .pcmS16LE, sampleRate: 16000, channels: 1))
            XCTAssertEqual(bytes.count % 2, 0, "whole samples per chunk")
        }
        XCTAssertEqual(out.audioBytes, ElevenLabsFake.expectedAudio(outputFormat: "pcm_16000", input: text))
        XCTAssertEqual(out.result?.usage?.characters, text.count, "x-character-count")
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, Double(text.count) * 0.05, accuracy: 0.001)
        XCTAssertEqual(out.events("metadata").first?["voice"]?.stringValue, Self.rachel)
        XCTAssertEqual(out.events("metadata").first?["model"]?.stringValue, "eleven_multilingual_v2")

        let sent = try XCTUnwrap(fake.requests(to: ElevenLabsFake.speechRoute).first)
        XCTAssertEqual(sent.path, "/v1/text-to-speech/\(Self.rachel)/stream")
        XCTAssertEqual(sent.query, "output_format=pcm_16000")
        XCTAssertEqual(sent.header("xi-api-key"), ElevenLabsFake.defaultAPIKey)
        let body = try XCTUnwrap(sent.json)
        XCTAssertEqual(body["text"]?.string, text)
        XCTAssertEqual(body["model_id"]?.string, "eleven_multilingual_v2")
        XCTAssertNil(body["voice_settings"], "no settings asked: the voice's stored ones apply")
        XCTAssertNil(body["language_code"])
    }

    func testSpeechFormatsChooseTheOutputFormat() async throws {
        let i = try await load("pcm_sample_rate = 22050")
        let cases: [(AudioFormat?, String?, String, AudioFormat)] = [
            (AudioFormat(encoding: .pcmS16LE), nil, "pcm_22050", AudioFormat(encoding: .pcmS16LE, sampleRate: 22050, channels: 1)),
            (nil, nil, "pcm_22050", AudioFormat(encoding: .pcmS16LE, sampleRate: 22050, channels: 1)),
            (AudioFormat(encoding: .pcmS16LE, sampleRate: 11025), nil, "pcm_8000", AudioFormat(encoding: .pcmS16LE, sampleRate: 8000, channels: 1)),
            (AudioFormat(encoding: .pcmS16LE, sampleRate: 44100), nil, "pcm_44100", AudioFormat(encoding: .pcmS16LE, sampleRate: 44100, channels: 1)),
            (AudioFormat(encoding: .wav, sampleRate: 24000), nil, "wav_24000", AudioFormat(encoding: .wav, sampleRate: 24000, channels: 1)),
            (AudioFormat(encoding: .mp3), nil, "mp3_44100_128", AudioFormat(encoding: .mp3, sampleRate: 44100, channels: 1)),
            (AudioFormat(encoding: .mp3), "mp3_22050_32", "mp3_22050_32", AudioFormat(encoding: .mp3, sampleRate: 22050, channels: 1)),
            (AudioFormat(encoding: .opus), nil, "opus_48000_64", AudioFormat(encoding: .opus, sampleRate: 48000, channels: 1)),
            (AudioFormat(encoding: .mulaw), nil, "ulaw_8000", AudioFormat(encoding: .mulaw, sampleRate: 8000, channels: 1)),
            (AudioFormat(encoding: .alaw), nil, "alaw_8000", AudioFormat(encoding: .alaw, sampleRate: 8000, channels: 1)),
            (AudioFormat(encoding: .flac), nil, "pcm_22050", AudioFormat(encoding: .pcmS16LE, sampleRate: 22050, channels: 1)),
        ]
        for (asked, explicit, wire, produced) in cases {
            let options: JSONValue? = explicit.map { .object(["output_format": .string($0)]) }
            let out = try await speak(i, SynthesisRequest(input: "Hi there", voice: Self.rachel, format: asked, options: options))
            XCTAssertEqual(fake.requests(to: ElevenLabsFake.speechRoute).last?.query, "output_format=\(wire)", "\(String(describing: asked))")
            XCTAssertEqual(out.audio.first?.format, produced, wire)
            XCTAssertEqual(out.audioBytes, ElevenLabsFake.expectedAudio(outputFormat: wire, input: "Hi there"), wire)
        }
        let caps = try XCTUnwrap(i.capabilities[.ttsSynthesize])
        XCTAssertEqual(Set(caps.formats ?? []), [.pcmS16LE, .wav, .mp3, .opus, .mulaw, .alaw])
        XCTAssertEqual(caps.sampleRates, [8000, 16000, 22050, 24000, 32000, 44100, 48000])
        XCTAssertEqual(caps.stream, true)
    }

    func testSpeechVoiceSettingsAndOptions() async throws {
        let i = try await load("enable_logging = false")
        let options: JSONValue = .object([
            "stability": .number(0.3), "similarity_boost": .number(0.8), "style": .number(0), "use_speaker_boost": .bool(false),
            "seed": .number(4_294_967_295), "previous_text": .string("Before."), "next_text": .string("After."),
            "previous_request_ids": .array([.string("req1")]), "apply_text_normalization": .string("off"),
            "pronunciation_dictionary_locators": .array([.object(["pronunciation_dictionary_id": .string("dict1"), "version_id": .string("v2")])]),
            "instructions": .string("ignored: another provider's option"),
        ])
        _ = try await speak(i, SynthesisRequest(model: "eleven_flash_v2_5", input: "Guten Tag", voice: Self.rachel, language: "de-DE", speed: 1.1,
                                                format: AudioFormat(encoding: .mp3), options: options))
        let sent = try XCTUnwrap(fake.requests(to: ElevenLabsFake.speechRoute).first)
        XCTAssertEqual(sent.query, "output_format=mp3_44100_128&enable_logging=false")
        let body = try XCTUnwrap(sent.json)
        XCTAssertEqual(body["model_id"]?.string, "eleven_flash_v2_5")
        XCTAssertEqual(body["language_code"]?.string, "de", "the BCP 47 tag's language, for a model that enforces it")
        let vs = try XCTUnwrap(body["voice_settings"])
        XCTAssertEqual(vs["stability"]?.number, 0.3)
        XCTAssertEqual(vs["similarity_boost"]?.number, 0.8)
        XCTAssertEqual(vs["style"]?.number, 0)
        XCTAssertEqual(vs["use_speaker_boost"]?.bool, false)
        XCTAssertEqual(vs["speed"]?.number, 1.1, "the request's speed")
        XCTAssertEqual(body["seed"]?.int, 4_294_967_295)
        XCTAssertEqual(body["previous_text"]?.string, "Before.")
        XCTAssertEqual(body["next_text"]?.string, "After.")
        XCTAssertEqual(body["previous_request_ids"]?.array?.first?.string, "req1")
        XCTAssertEqual(body["apply_text_normalization"]?.string, "off")
        XCTAssertEqual(body["pronunciation_dictionary_locators"]?.array?.first?["version_id"]?.string, "v2")
        XCTAssertNil(body["instructions"])

        // options.speed when the request has none; multilingual_v2 gets no
        // language_code (the spec: an error for models that do not enforce).
        _ = try await speak(i, SynthesisRequest(input: "Bonjour", voice: Self.rachel, language: "fr", options: .object(["speed": .number(0.7)])))
        let second = try XCTUnwrap(fake.requests(to: ElevenLabsFake.speechRoute).last?.json)
        XCTAssertEqual(second["voice_settings"]?["speed"]?.number, 0.7)
        XCTAssertNil(second["language_code"])
    }

    func testSpeechRefusesBadInputBeforeAnyRequest() async throws {
        let i = try await load()
        func refused(_ r: SynthesisRequest, _ expected: String, line: UInt = #line) async {
            let e = await h.failure({ try await self.speak(i, r) }, line: line)
            XCTAssertEqual(e.code, .invalidRequest, e.message, line: line)
            XCTAssertTrue(e.message.contains(expected), "\(e.message) should name \(expected)", line: line)
        }
        func opts(_ o: [String: JSONValue]) -> JSONValue { .object(o) }
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, options: opts(["stability": .number(1.5)])), "options.stability: must be a number in 0…1")
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, options: opts(["style": .number(-0.1)])), "options.style")
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, options: opts(["similarity_boost": .string("high")])), "options.similarity_boost")
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, options: opts(["use_speaker_boost": .string("yes")])), "options.use_speaker_boost: must be true or false")
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, speed: 2.0), "speed: 2.0 is outside what ElevenLabs takes, 0.7…1.2")
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, options: opts(["speed": .number(0.5)])), "options.speed: must be a number in 0.7…1.2")
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, options: opts(["seed": .number(-1)])), "options.seed")
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, options: opts(["apply_text_normalization": .string("maybe")])), "options.apply_text_normalization")
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, options: opts(["previous_request_ids": .array([.string("a"), .string("b"), .string("c"), .string("d")])])),
                      "options.previous_request_ids")
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, options: opts(["output_format": .string("mp3_96000_9")])), "options.output_format")
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, format: AudioFormat(encoding: .pcmS16LE), options: opts(["output_format": .string("mp3_44100_128")])),
                      "makes mp3 audio, but the request asks for pcm_s16le")
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, options: .string("fast")), "options: must be an object")
        await refused(SynthesisRequest(model: "eleven_flash_v2", input: "x", voice: Self.rachel, language: "de"), "eleven_flash_v2 does not speak \"de\"")
        await refused(SynthesisRequest(input: "x", voice: Self.rachel, language: "12"), "language: \"12\"")
        await refused(SynthesisRequest(input: "", voice: Self.rachel), "input: must not be empty")
        // Per-request limits (elevenlabs.md "Models"): 10k for Multilingual v2, 30k for Flash v2.
        await refused(SynthesisRequest(input: String(repeating: "a", count: 10_001), voice: Self.rachel), "eleven_multilingual_v2 takes at most 10000")
        await refused(SynthesisRequest(model: "eleven_flash_v2", input: String(repeating: "a", count: 30_001), voice: Self.rachel), "takes at most 30000")
        XCTAssertEqual(fake.requests.count, 0, "all refused before any request")
        // …and the same length is fine for a model that takes more.
        let long = try await speak(i, SynthesisRequest(model: "eleven_flash_v2_5", input: String(repeating: "a", count: 10_001), voice: Self.rachel,
                                                      format: AudioFormat(encoding: .mp3)))
        XCTAssertFalse(long.audioBytes.isEmpty)
    }

    func testSpeechChunksReachTheHostAsTheyArrive() async throws {
        let i = try await load()
        fake.script(ElevenLabsFake.speechRoute, .slowStream(chunks: 40, intervalMs: 25)) // ≥ 1 s upstream
        let started = Date()
        let op = try i.start(VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(SynthesisRequest(input: "a long story", voice: Self.rachel)),
                             bufferBytes: 1 << 20, timeout: 30)
        var firstAudio: TimeInterval?
        var chunks = 0
        for _ in 0..<10_000 {
            guard let o = try await op.next() else { break }
            if case .audio = o {
                chunks += 1
                if firstAudio == nil { firstAudio = Date().timeIntervalSince(started) }
            }
        }
        let total = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(chunks, 30)
        XCTAssertGreaterThan(total, 0.9)
        XCTAssertLessThan(try XCTUnwrap(firstAudio), total / 2, "the first chunk came long before the last: not buffered")
    }

    func testVoicesByNameAndUnknownVoices() async throws {
        let i = try await load()
        let out = try await speak(i, SynthesisRequest(input: "Hi", voice: "adam", format: AudioFormat(encoding: .mp3)))
        XCTAssertEqual(out.events("metadata").first?["voice"]?.stringValue, "pNInz6obpgDQGcFmaJgB")
        XCTAssertEqual(fake.requests(to: ElevenLabsFake.speechRoute).last?.path, "/v1/text-to-speech/pNInz6obpgDQGcFmaJgB/stream")
        XCTAssertEqual(fake.requests(to: ElevenLabsFake.voicesRoute).count, 1, "the name was looked up once")
        _ = try await speak(i, SynthesisRequest(input: "Hi", voice: "Studio Narrator", format: AudioFormat(encoding: .mp3)))
        XCTAssertEqual(fake.requests(to: ElevenLabsFake.voicesRoute).count, 1, "the list is kept for a minute")

        let name = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hi", voice: "Gandalf")) }
        XCTAssertEqual(name.code, .notFound)
        XCTAssertTrue(name.message.contains("\"Gandalf\"") && name.message.contains("Rachel") && name.message.contains("Studio Narrator"), name.message)

        // An id the account does not have: ElevenLabs answers 400 voice_not_found.
        let unknown = "AAAAAAAAAAAAAAAAAAAA"
        let id = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hi", voice: unknown)) }
        XCTAssertEqual(id.code, .notFound, id.message)
        XCTAssertEqual(id.httpStatus, 400)
        XCTAssertFalse(id.retriable)
        XCTAssertTrue(id.message.contains("no voice \"\(unknown)\""), id.message)
        XCTAssertTrue(id.message.contains("voice_not_found"), "the provider's code is kept: \(id.message)")
        // The same as a 404.
        fake.script(ElevenLabsFake.speechRoute, .status(404, retryAfter: nil))
        let notFound = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hi", voice: Self.rachel)) }
        XCTAssertEqual(notFound.code, .notFound)
        XCTAssertTrue(notFound.message.contains(Self.rachel), notFound.message)
    }

    func testEmptyAudioIsUnavailable() async throws {
        let i = try await load()
        fake.script(ElevenLabsFake.speechRoute, .emptyAudio)
        let e = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello", voice: Self.rachel)) }
        XCTAssertEqual(e.code, .unavailable)
        XCTAssertTrue(e.retriable)
        XCTAssertEqual(e.httpStatus, 200)
        XCTAssertTrue(e.message.contains("provider returned no audio"), e.message)
    }

    // MARK: transcription

    func testTranscriptionWordsLanguageAndDuration() async throws {
        let i = try await load()
        fake.transcriptLanguage = "eng" // ISO 639-3, as Scribe may name it
        var req = TranscriptionRequest(prompt: "no ElevenLabs counterpart")
        req.options = .object(["diarize": .bool(true), "num_speakers": .number(2), "tag_audio_events": .bool(false)])
        req.temperature = 0.2
        let out = try await transcribe(i, req, PluginHarness.wav(seconds: 1.5))
        XCTAssertEqual(out.events("transcript").count, 1)
        let t = try XCTUnwrap(out.events("transcript").first)
        XCTAssertEqual(t["text"]?.stringValue, fake.transcriptText)
        XCTAssertEqual(t["language"]?.stringValue, "en", "BCP 47")
        XCTAssertEqual(t["duration"]?.doubleValue ?? 0, 1.5, accuracy: 0.001)
        let words = try XCTUnwrap(t["words"]?.arrayValue)
        XCTAssertEqual(words.compactMap { $0["word"]?.stringValue }, ["Hello", "there.", "This", "is", "the", "fake", "transcript."], "words only, no spacing")
        XCTAssertTrue(words.allSatisfy { $0["start"]?.doubleValue != nil && $0["end"]?.doubleValue != nil })
        XCTAssertEqual(words.first?["speaker"]?.stringValue, "speaker_0")
        XCTAssertEqual(words.last?["speaker"]?.stringValue, "speaker_1")
        let segments = try XCTUnwrap(t["segments"]?.arrayValue)
        XCTAssertEqual(segments.compactMap { $0["text"]?.stringValue }, ["Hello there.", "This is the fake transcript."])
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 1.5, accuracy: 0.001)

        let sent = try XCTUnwrap(fake.requests(to: ElevenLabsFake.transcriptionRoute).first)
        let f = try PluginHarness.form(sent)
        XCTAssertEqual(f.first("model_id")?.text, "scribe_v1")
        XCTAssertEqual(f.first("file")?.filename, "audio.wav")
        XCTAssertEqual(f.first("file")?.contentType, "audio/wav")
        XCTAssertEqual(f.first("diarize")?.text, "true")
        XCTAssertEqual(f.first("num_speakers")?.text, "2")
        XCTAssertEqual(f.first("tag_audio_events")?.text, "false")
        XCTAssertEqual(f.first("timestamps_granularity")?.text, "word")
        XCTAssertEqual(f.first("temperature")?.text, "0.2")
        XCTAssertNil(f.first("language_code"), "auto-detect")
        XCTAssertNil(f.first("prompt"))
    }

    func testTranscriptionRawPCMAndLanguage() async throws {
        let i = try await load()
        fake.audioEvent = "(laughter)"
        // 16 kHz mono pcm goes as it is, with file_format=pcm_s16le_16.
        let pcm = AudioData(format: AudioFormat(encoding: .pcmS16LE, sampleRate: 16000, channels: 1), bytes: PluginHarness.tone(seconds: 2, rate: 16000))
        let out = try await transcribe(i, TranscriptionRequest(model: "scribe_v1_experimental", language: "de-AT"), pcm)
        let t = try XCTUnwrap(out.events("transcript").first)
        XCTAssertEqual(t["language"]?.stringValue, "de")
        XCTAssertEqual(t["text"]?.stringValue, fake.transcriptText + " (laughter)", "the provider's text, audio events included")
        XCTAssertFalse((t["words"]?.arrayValue ?? []).contains { $0["word"]?.stringValue == "(laughter)" }, "an audio event is not a word")
        XCTAssertEqual(out.result?.usage?.audioSeconds ?? 0, 2, accuracy: 0.001)
        let raw = try PluginHarness.form(try XCTUnwrap(fake.requests(to: ElevenLabsFake.transcriptionRoute).last))
        XCTAssertEqual(raw.first("file_format")?.text, "pcm_s16le_16")
        XCTAssertEqual(raw.first("file")?.data, pcm.bytes)
        XCTAssertEqual(raw.first("language_code")?.text, "de")
        XCTAssertEqual(raw.first("model_id")?.text, "scribe_v1_experimental")

        // Other pcm is wrapped in a WAV header.
        let pcm8k = AudioData(format: AudioFormat(encoding: .pcmS16LE, sampleRate: 8000, channels: 1), bytes: PluginHarness.tone(seconds: 1, rate: 8000))
        let wrapped = try await transcribe(i, TranscriptionRequest(), pcm8k)
        XCTAssertEqual(wrapped.result?.usage?.audioSeconds ?? 0, 1, accuracy: 0.001)
        let w = try PluginHarness.form(try XCTUnwrap(fake.requests(to: ElevenLabsFake.transcriptionRoute).last))
        XCTAssertNil(w.first("file_format"))
        XCTAssertEqual(w.first("file")?.filename, "audio.wav")
        XCTAssertEqual(Array(w.first("file")?.data.prefix(4) ?? []), Array("RIFF".utf8))

        // An mp3 upload keeps its type; the duration then comes from the words.
        let mp3 = AudioData(format: AudioFormat(encoding: .mp3), bytes: Array("ID3".utf8) + [4, 0, 0] + [UInt8](repeating: 0x11, count: 64_000))
        var opts = TranscriptionRequest()
        opts.options = .object(["timestamps_granularity": .string("character"), "diarize": .bool(true), "diarization_threshold": .number(0.3), "seed": .number(7)])
        let m = try await transcribe(i, opts, mp3)
        XCTAssertEqual(m.events("transcript").first?["duration"]?.doubleValue ?? 0, 2, accuracy: 0.01)
        let mf = try PluginHarness.form(try XCTUnwrap(fake.requests(to: ElevenLabsFake.transcriptionRoute).last))
        XCTAssertEqual(mf.first("file")?.filename, "audio.mp3")
        XCTAssertEqual(mf.first("file")?.contentType, "audio/mpeg")
        XCTAssertEqual(mf.first("timestamps_granularity")?.text, "character")
        XCTAssertEqual(mf.first("diarization_threshold")?.text, "0.3")
        XCTAssertEqual(mf.first("seed")?.text, "7")
    }

    func testTranscriptionRefusesBadInput() async throws {
        let i = try await load()
        func refused(_ r: TranscriptionRequest, _ audio: AudioData, _ expected: String, line: UInt = #line) async {
            let e = await h.failure({ try await self.transcribe(i, r, audio) }, line: line)
            XCTAssertEqual(e.code, .invalidRequest, e.message, line: line)
            XCTAssertTrue(e.message.contains(expected), "\(e.message) should name \(expected)", line: line)
        }
        func with(_ o: [String: JSONValue]) -> TranscriptionRequest { var r = TranscriptionRequest(); r.options = .object(o); return r }
        let good = PluginHarness.wav(seconds: 0.2)
        await refused(TranscriptionRequest(), AudioData(format: AudioFormat(encoding: .wav), bytes: []), "input audio: empty")
        await refused(TranscriptionRequest(), AudioData(format: AudioFormat(encoding: .wav), bytes: Array("just some notes, not audio".utf8)), "declared wav, but the bytes are not audio")
        await refused(TranscriptionRequest(), AudioData(format: nil, bytes: Array("just some notes".utf8)), "does not look like audio")
        await refused(TranscriptionRequest(), AudioData(format: AudioFormat(encoding: .mulaw, sampleRate: 8000), bytes: [1, 2, 3, 4]), "elevenlabs does not take mulaw")
        await refused(TranscriptionRequest(), AudioData(format: AudioFormat(encoding: .pcmS16LE), bytes: [0, 0]), "pcm_s16le needs a sample rate")
        await refused(with(["num_speakers": .number(40)]), good, "options.num_speakers: must be an integer in 1…32")
        await refused(with(["timestamps_granularity": .string("paragraph")]), good, "options.timestamps_granularity")
        await refused(with(["diarization_threshold": .number(0.3)]), good, "needs options.diarize = true")
        await refused(with(["tag_audio_events": .number(1)]), good, "options.tag_audio_events: must be true or false")
        var hot = TranscriptionRequest()
        hot.temperature = 3
        await refused(hot, good, "temperature: must be a number in 0…2")
        XCTAssertEqual(fake.requests.count, 0, "all refused before any request")
    }

    // MARK: errors

    func testUnauthorizedNamesTheSecretNeverTheKey() async throws {
        let wrong = "sk_ffffeeeeddddccccbbbbaaaa9999888877776666"
        setenv("VOXD_TEST_ELEVENLABS_BADKEY", wrong, 1)
        let i = try await load(keyVar: "VOXD_TEST_ELEVENLABS_BADKEY")
        let e = await h.failure { try await self.speak(i, SynthesisRequest(input: "x", voice: Self.rachel)) }
        XCTAssertEqual(e.code, .unauthenticated)
        XCTAssertEqual(e.httpStatus, 401)
        XCTAssertFalse(e.retriable)
        XCTAssertTrue(e.message.contains("[secrets] api_key in plugins.d/elevenlabs.toml"), e.message)
        XCTAssertTrue(e.message.contains("Invalid API key"), "the provider's message is kept: \(e.message)")
        XCTAssertFalse(e.message.contains(wrong), e.message)
        XCTAssertEqual(fake.requests.last?.header("xi-api-key"), wrong, "the key went where ElevenLabs reads it")
        for (kind, request, input) in [(VOX_OP_LIST_VOICES, "{}", AudioData?.none), (VOX_OP_LIST_MODELS, "{}", nil),
                                       (VOX_OP_STT_TRANSCRIBE, "{}", PluginHarness.wav(seconds: 0.1)), (VOX_OP_CLONE_VOICE, #"{"name":"x"}"#, PluginHarness.wav(seconds: 0.1))] {
            let other = await h.failure { try await self.h.run(i, kind, request, input: input) }
            XCTAssertEqual(other.code, .unauthenticated, "\(kind)")
        }
    }

    func testQuotaExceededIsForbiddenNotABadKey() async throws {
        let i = try await load()
        fake.script(ElevenLabsFake.speechRoute, .quotaExceeded)
        let e = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello", voice: Self.rachel)) }
        XCTAssertEqual(e.code, .forbidden, e.message)
        XCTAssertEqual(e.httpStatus, 401)
        XCTAssertTrue(e.retriable, "another provider can serve it")
        XCTAssertTrue(e.message.contains("quota ran out"), e.message)
        XCTAssertTrue(e.message.contains("You have 12 credits remaining"), "the provider's message is kept: \(e.message)")
        XCTAssertFalse(e.message.contains("api_key"), "the key is not the problem: \(e.message)")
    }

    func testHTTPStatusesMapToCodes() async throws {
        let i = try await load()
        let cases: [(Int, VoxErrorCode, Bool, String)] = [
            (400, .invalidRequest, false, "max_character_limit_exceeded"), (403, .forbidden, false, "missing_permissions"),
            (422, .invalidRequest, false, "body.text: field required (value_error.missing)"), (429, .rateLimited, true, "too_many_concurrent_requests"),
            (500, .unavailable, true, "internal_error"), (503, .unavailable, true, "system_busy"),
        ]
        for (status, code, retriable, said) in cases {
            fake.script(ElevenLabsFake.transcriptionRoute, .status(status, retryAfter: status == 429 ? 3 : nil))
            let e = await h.failure { try await self.transcribe(i, TranscriptionRequest(), PluginHarness.wav(seconds: 0.1)) }
            XCTAssertEqual(e.code, code, "\(status): \(e.message)")
            XCTAssertEqual(e.httpStatus, status)
            XCTAssertEqual(e.retriable, retriable, "\(status)")
            XCTAssertTrue(e.message.contains(said), "\(status): \(e.message)")
            XCTAssertTrue(e.message.contains("(request fakereq"), "the request id helps support: \(e.message)")
        }
        fake.script(ElevenLabsFake.transcriptionRoute, .status(429, retryAfter: 3))
        let limited = await h.failure { try await self.transcribe(i, TranscriptionRequest(), PluginHarness.wav(seconds: 0.1)) }
        XCTAssertEqual(limited.retryAfterMs, 3000)

        for route in [ElevenLabsFake.voicesRoute, ElevenLabsFake.modelsRoute, ElevenLabsFake.addVoiceRoute, ElevenLabsFake.speechRoute] {
            fake.script(route, .status(503, retryAfter: nil))
        }
        let listing = await h.failure { try await self.h.run(i, VOX_OP_LIST_VOICES, "{}") }
        XCTAssertEqual(listing.code, .unavailable)
        let models = await h.failure { try await self.h.run(i, VOX_OP_LIST_MODELS, "{}") }
        XCTAssertEqual(models.code, .unavailable)
        let cloning = await h.failure { try await self.clone(i, #"{"name":"x"}"#, PluginHarness.wav(seconds: 0.1)) }
        XCTAssertEqual(cloning.code, .unavailable)
        let speech = await h.failure { try await self.speak(i, SynthesisRequest(input: "x", voice: Self.rachel)) }
        XCTAssertEqual(speech.code, .unavailable)
        XCTAssertTrue(speech.retriable)
    }

    func testBrokenAnswersAreUnavailable() async throws {
        let i = try await load()
        fake.script(ElevenLabsFake.speechRoute, .resetMidStream(afterChunks: 1))
        let reset = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello there, a longer text.", voice: Self.rachel)) }
        XCTAssertEqual(reset.code, .unavailable, reset.message)
        XCTAssertTrue(reset.retriable)

        for route in [ElevenLabsFake.transcriptionRoute, ElevenLabsFake.voicesRoute, ElevenLabsFake.modelsRoute, ElevenLabsFake.addVoiceRoute] {
            fake.script(route, .malformedJSON)
        }
        let stt = await h.failure { try await self.transcribe(i, TranscriptionRequest(), PluginHarness.wav(seconds: 0.1)) }
        XCTAssertEqual(stt.code, .unavailable)
        XCTAssertTrue(stt.message.contains("malformed JSON") && stt.message.contains("Hello the"), stt.message)
        let voices = await h.failure { try await self.h.run(i, VOX_OP_LIST_VOICES, "{}") }
        XCTAssertEqual(voices.code, .unavailable)
        XCTAssertTrue(voices.retriable)
        let models = await h.failure { try await self.h.run(i, VOX_OP_LIST_MODELS, "{}") }
        XCTAssertEqual(models.code, .unavailable)
        let cloned = await h.failure { try await self.clone(i, #"{"name":"x"}"#, PluginHarness.wav(seconds: 0.1)) }
        XCTAssertEqual(cloned.code, .unavailable)
        // A name cannot be resolved from a broken list either.
        let byName = await h.failure { try await self.speak(i, SynthesisRequest(input: "x", voice: "Rachel")) }
        XCTAssertEqual(byName.code, .unavailable)
    }

    func testCreateNeedsTheSecretAndKnownSettings() async throws {
        let secret = "[secrets]\napi_key = \"env:\(Self.keyVar)\"\n"
        let base = "base_url = \"\(fake.baseURL)\"\n"
        for (text, expected) in [("[settings]\n\(base)", "[secrets] api_key"),
                                 ("[settings]\n\(base)voice = \"x\"\n\(secret)", "settings.voice: unknown setting"),
                                 ("[settings]\n\(base)pcm_sample_rate = 11025\n\(secret)", "settings.pcm_sample_rate: 11025"),
                                 ("[settings]\n\(base)usd_per_credit = -1\n\(secret)", "settings.usd_per_credit"),
                                 ("[settings]\n\(base)enable_logging = \"no\"\n\(secret)", "settings.enable_logging"),
                                 ("[settings]\nbase_url = \"ws://x\"\n\(secret)", "settings.base_url")] {
            do {
                _ = try await h.load(file: "library = \"libvox_elevenlabs.so\"\n" + text)
                XCTFail("\(text) should refuse to load")
            } catch {
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        // A custom default model and voice are what capabilities declare.
        let i = try await h.load(file: "library = \"libvox_elevenlabs.so\"\n[settings]\n\(base)default_model = \"eleven_flash_v2_5\"\ndefault_voice = \"Adam\"\n\(secret)")
        XCTAssertEqual(i.capabilities.defaultModel, "eleven_flash_v2_5")
        XCTAssertEqual(i.capabilities.defaultVoice, "Adam")
        let out = try await speak(i, SynthesisRequest(input: "Hi", format: AudioFormat(encoding: .mp3)))
        XCTAssertEqual(out.events("metadata").first?["voice"]?.stringValue, "pNInz6obpgDQGcFmaJgB")
        XCTAssertEqual(fake.requests(to: ElevenLabsFake.speechRoute).last?.json?["model_id"]?.string, "eleven_flash_v2_5")
    }

    // MARK: time

    func testStallBeforeFirstByteTimesOut() async throws {
        let i = try await load("first_byte_timeout_ms = 300")
        fake.script(ElevenLabsFake.speechRoute, .stallBeforeFirstByte(seconds: 3))
        let started = Date()
        let e = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hello", voice: Self.rachel)) }
        XCTAssertEqual(e.code, .timeout, e.message)
        XCTAssertTrue(e.retriable)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2.5)
    }

    func testCancelMidStreamClosesTheUpstreamRequest() async throws {
        let i = try await load()
        fake.script(ElevenLabsFake.speechRoute, .slowStream(chunks: 500, intervalMs: 20)) // 10 s if nobody stops it
        let got = try await h.cancelMidStream(i, VOX_OP_TTS_SYNTHESIZE, VoxJSON.string(SynthesisRequest(input: "long", voice: Self.rachel)))
        XCTAssertEqual(got, 2, "the stream was flowing")
        // The fake notices on its next write (20 ms apart); allow 5 s.
        try await PluginHarness.waitUntil { self.fake.cancelledStreams > 0 }
        XCTAssertEqual(fake.cancelledStreams, 1, "the upstream stream was closed")
    }
}

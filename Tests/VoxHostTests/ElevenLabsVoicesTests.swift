import CVoxPlugin
import Foundation
import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// ElevenLabs capabilities, models and voices discovery, and instant voice
/// cloning, through the real plugin (see ElevenLabsTestCase).
final class ElevenLabsVoicesTests: ElevenLabsTestCase {
    // MARK: discovery

    func testCapabilitiesDeclareFactsAndPrices() async throws {
        let i = try await load("usd_per_credit = 0.0002")
        let caps = i.capabilities
        XCTAssertEqual(caps.defaultModel, "eleven_multilingual_v2")
        XCTAssertEqual(caps.defaultVoice, Self.rachel)
        XCTAssertEqual(caps[.voicesList]?.custom, true)
        XCTAssertEqual(caps[.voicesList]?.clone, true)
        XCTAssertTrue(caps.supports(.voicesClone) && caps.supports(.sttTranscribe) && caps.supports(.modelsList))
        XCTAssertFalse(caps.supports(.llmChat))
        func model(_ id: String) -> ModelInfo? { caps.models?.first { $0.id == id } }
        XCTAssertEqual(model("eleven_multilingual_v2")?.languages?.count, 29)
        XCTAssertEqual(model("eleven_flash_v2_5")?.languages?.count, 32)
        XCTAssertEqual(model("eleven_flash_v2")?.languages, ["en"])
        XCTAssertEqual(model("scribe_v1")?.operations, [.sttTranscribe])
        XCTAssertTrue(caps.languages?.contains("fil") == true && caps.languages?.contains("hu") == true)
        func price(_ m: String) -> Price? { caps.prices?.first { $0.model == m && $0.operation == .ttsSynthesize } }
        XCTAssertEqual(price("eleven_multilingual_v2")?.usdPerUnit ?? 0, 0.0002, accuracy: 1e-12, "1 credit per character")
        XCTAssertEqual(price("eleven_flash_v2_5")?.usdPerUnit ?? 0, 0.0001, accuracy: 1e-12, "0.5 credit per character")
        XCTAssertEqual(price("eleven_flash_v2_5")?.unit, "character")
        XCTAssertTrue(price("eleven_turbo_v2")?.source?.contains("elevenlabs.md") == true)
        XCTAssertNotNil(caps.prices?.first { $0.operation == .sttTranscribe && $0.unit == "audio_second" })
    }

    func testModelsDiscoveryReadsTheBareArray() async throws {
        let i = try await load()
        let out = try await h.run(i, VOX_OP_LIST_MODELS, "{}")
        let models = try VoxJSON.decode([ModelInfo].self, from: VoxJSON.encode(try XCTUnwrap(out.events("models").first?["models"])))
        func find(_ id: String) -> ModelInfo? { models.first { $0.id == id } }
        XCTAssertEqual(find("eleven_multilingual_v2")?.operations, [.ttsSynthesize])
        XCTAssertEqual(find("eleven_multilingual_v2")?.languages, ["en", "de", "fr", "ja", "fil"], "the account's languages, as discovered")
        XCTAssertEqual(find("eleven_flash_v2_5")?.languages?.suffix(2), ["hu", "vi"])
        XCTAssertEqual(find("eleven_v3")?.defaultVoice, Self.rachel)
        XCTAssertTrue(find("eleven_v3")?.description?.contains("Eleven v3") == true)
        XCTAssertNil(find("eleven_multilingual_sts_v2"), "voice conversion only: not a speech model")
        XCTAssertEqual(find("scribe_v1")?.operations, [.sttTranscribe], "Scribe is not in /v1/models; the declared ones are added")
        XCTAssertEqual(fake.requests(to: ElevenLabsFake.modelsRoute).count, 1)
    }

    func testVoicesDiscoveryMarksCustomVoices() async throws {
        let i = try await load()
        let list = try await voices(i)
        XCTAssertEqual(list.map(\.id), ElevenLabsFake.accountVoices.map(\.id))
        func find(_ id: String) -> Voice? { list.first { $0.id == id } }
        let rachel = try XCTUnwrap(find(Self.rachel))
        XCTAssertEqual(rachel.custom, false)
        XCTAssertEqual(rachel.name, "Rachel")
        XCTAssertEqual(rachel.gender, "female")
        XCTAssertEqual(rachel.age, "young")
        XCTAssertEqual(rachel.accent, "american")
        XCTAssertEqual(rachel.description, "calm", "from the labels when the voice has none")
        XCTAssertEqual(rachel.previewUrl, ElevenLabsFake.accountVoices[0].previewURL)
        XCTAssertEqual(find("pNInz6obpgDQGcFmaJgB")?.age, "middle_aged")
        let pvc = try XCTUnwrap(find("PVCnarrator000000001"))
        XCTAssertEqual(pvc.custom, true, "professional")
        XCTAssertEqual(pvc.languages, ["en-GB", "fr-FR"], "verified_languages' locales; the label's en is covered")
        XCTAssertEqual(pvc.description, "My professional voice clone")
        XCTAssertNotNil(pvc.previewUrl)
        let sprite = try XCTUnwrap(find("GENforestsprite00001"))
        XCTAssertEqual(sprite.custom, true, "generated")
        XCTAssertEqual(sprite.gender, "neutral")
        XCTAssertEqual(sprite.languages, ["de"])
        XCTAssertEqual(sprite.description, "whispery")
        XCTAssertNil(sprite.previewUrl)
        let sent = try XCTUnwrap(fake.requests(to: ElevenLabsFake.voicesRoute).first)
        XCTAssertEqual(sent.header("xi-api-key"), ElevenLabsFake.defaultAPIKey)

        let premade = try await voices(i, #"{"include_custom":false}"#)
        XCTAssertEqual(premade.map(\.id), [Self.rachel, "pNInz6obpgDQGcFmaJgB"])

        // Through the host's catalog, with its language filter.
        let (german, errors) = await Catalog(ttl: 60, bufferBytes: 1 << 20).voices(of: [i], language: "de", gender: nil, refresh: false)
        XCTAssertEqual(errors, [:])
        XCTAssertEqual(german.map(\.voice.id), ["GENforestsprite00001"])
    }

    // MARK: cloning

    func testCloneThenTheVoiceIsListedAndSpeaks() async throws {
        let i = try await load()
        _ = try await speak(i, SynthesisRequest(input: "Hi", voice: "Rachel", format: AudioFormat(encoding: .mp3))) // names are now known
        let reference = PluginHarness.wav(seconds: 1)
        let out = try await clone(i, #"{"name":"My Voice","description":"recorded at home","labels":{"gender":"female","accent":"irish","language":"en"}}"#, reference)
        XCTAssertEqual(out.events("voice").count, 1)
        let voice = try VoxJSON.decode(Voice.self, from: VoxJSON.encode(try XCTUnwrap(out.events("voice").first?["voice"])))
        XCTAssertEqual(voice.id, "IVC00000000000000001")
        XCTAssertEqual(voice.name, "My Voice")
        XCTAssertEqual(voice.custom, true)
        XCTAssertEqual(voice.gender, "female")
        XCTAssertEqual(voice.accent, "irish")
        XCTAssertEqual(voice.languages, ["en"])
        XCTAssertEqual(voice.description, "recorded at home")

        let sent = try XCTUnwrap(fake.requests(to: ElevenLabsFake.addVoiceRoute).first)
        let f = try PluginHarness.form(sent)
        XCTAssertEqual(f.first("name")?.text, "My Voice")
        XCTAssertEqual(f.all("files").count, 1)
        XCTAssertEqual(f.first("files")?.filename, "reference.wav")
        XCTAssertEqual(f.first("files")?.contentType, "audio/wav")
        XCTAssertEqual(f.first("files")?.data, reference.bytes)
        XCTAssertEqual(f.first("remove_background_noise")?.text, "false")
        XCTAssertEqual(f.first("description")?.text, "recorded at home")
        let labels = try XCTUnwrap(FakeJSON.parse(f.first("labels")?.data ?? []), "labels is a JSON-encoded string")
        XCTAssertEqual(labels["accent"]?.string, "irish")
        XCTAssertEqual(labels["gender"]?.string, "female")

        // It speaks by name, though the names were looked up before the clone…
        let speech = try await speak(i, SynthesisRequest(input: "It is me", voice: "my voice", format: AudioFormat(encoding: .mp3)))
        XCTAssertEqual(speech.events("metadata").first?["voice"]?.stringValue, voice.id)
        // …and discovery shows it, as the user's own.
        let listed = try await voices(i)
        let found = try XCTUnwrap(listed.first { $0.id == voice.id })
        XCTAssertEqual(found.custom, true)
        XCTAssertEqual(found.name, "My Voice")
        XCTAssertEqual(found.accent, "irish")
        XCTAssertEqual(found.description, "recorded at home")
        XCTAssertEqual(fake.allVoices.last?.category, "cloned", "listed by the fake as an instant clone")

        // An mp3 sample is sent as one, raw pcm as WAV.
        let mp3 = AudioData(format: AudioFormat(encoding: .mp3), bytes: Array("ID3".utf8) + [4, 0, 0] + [UInt8](repeating: 0x22, count: 4000))
        _ = try await clone(i, #"{"name":"Second"}"#, mp3)
        let second = try PluginHarness.form(try XCTUnwrap(fake.requests(to: ElevenLabsFake.addVoiceRoute).last))
        XCTAssertEqual(second.first("files")?.filename, "reference.mp3")
        XCTAssertEqual(second.first("files")?.contentType, "audio/mpeg")
        XCTAssertNil(second.first("labels"))
        XCTAssertNil(second.first("description"))
        let pcm = AudioData(format: AudioFormat(encoding: .pcmS16LE, sampleRate: 22050, channels: 1), bytes: PluginHarness.tone(seconds: 0.5, rate: 22050))
        _ = try await clone(i, #"{"name":"Third"}"#, pcm)
        XCTAssertEqual(try PluginHarness.form(try XCTUnwrap(fake.requests(to: ElevenLabsFake.addVoiceRoute).last)).first("files")?.filename, "reference.wav")

        // Two voices called the same: a name no longer picks one.
        _ = try await clone(i, #"{"name":"Rachel"}"#, mp3)
        let ambiguous = await h.failure { try await self.speak(i, SynthesisRequest(input: "Hi", voice: "Rachel")) }
        XCTAssertEqual(ambiguous.code, .invalidRequest)
        XCTAssertTrue(ambiguous.message.contains(Self.rachel), ambiguous.message)
    }

    func testCloneRefusesEmptyOrNonAudioReferences() async throws {
        let i = try await load()
        func refused(_ request: String, _ audio: AudioData, _ expected: String, line: UInt = #line) async {
            let e = await h.failure({ try await self.clone(i, request, audio) }, line: line)
            XCTAssertEqual(e.code, .invalidRequest, e.message, line: line)
            XCTAssertTrue(e.message.contains(expected), "\(e.message) should name \(expected)", line: line)
        }
        let name = #"{"name":"Mine"}"#
        await refused(name, AudioData(format: nil, bytes: []), "reference audio: empty")
        await refused(name, AudioData(format: AudioFormat(encoding: .wav), bytes: []), "reference audio: empty")
        await refused(name, AudioData(format: nil, bytes: Array("%PDF-1.7 not audio at all".utf8)), "reference audio: does not look like audio")
        await refused(name, AudioData(format: AudioFormat(encoding: .wav), bytes: Array("{\"json\": true}".utf8)), "declared wav, but the bytes are not audio")
        await refused(name, AudioData(format: AudioFormat(encoding: .mp3), bytes: PluginHarness.wav(seconds: 0.1).bytes), "declared mp3, but the bytes are a wav file")
        await refused(name, AudioData(format: AudioFormat(encoding: .pcmS16LE, sampleRate: 16000), bytes: [1, 2, 3]), "odd number of bytes")
        await refused(#"{"name":"  "}"#, PluginHarness.wav(seconds: 0.1), "name: the new voice needs a name")
        let noName = await h.failure { try await self.clone(i, #"{"description":"x"}"#, PluginHarness.wav(seconds: 0.1)) }
        XCTAssertEqual(noName.code, .invalidRequest)
        XCTAssertEqual(fake.requests.count, 0, "all refused before any request")
    }
}

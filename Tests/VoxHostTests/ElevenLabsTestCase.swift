import CVoxPlugin
import Foundation
import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// Shared by the ElevenLabs plugin tests: the real libvox_elevenlabs.so
/// (SwiftPM's build of Plugins/ElevenLabs) through the registry, the loader
/// and the C ABI, against the loopback ElevenLabsFake. Every test ends by
/// asserting the fake saw no request that departs from the API.
class ElevenLabsTestCase: XCTestCase {
    static let keyVar = "VOXD_TEST_ELEVENLABS_KEY"
    var fake: ElevenLabsFake!
    let h = PluginHarness(name: "elevenlabs")

    override func setUp() async throws {
        fake = try await ElevenLabsFake.start()
        setenv(Self.keyVar, ElevenLabsFake.defaultAPIKey, 1)
    }

    override func tearDown() async throws { await h.finish(fake, "requests that depart from the ElevenLabs API") }

    /// Loads plugins.d/elevenlabs.toml pointing at the fake.
    func load(_ settings: String = "", keyVar: String = keyVar) async throws -> PluginInstance {
        try await h.load(settings: "base_url = \"\(fake.baseURL)\"\n\(settings)", keyVar: keyVar)
    }

    func speak(_ i: PluginInstance, _ r: SynthesisRequest) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_TTS_SYNTHESIZE, VoxJSON.string(r))
    }

    func transcribe(_ i: PluginInstance, _ r: TranscriptionRequest, _ audio: AudioData) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_STT_TRANSCRIBE, VoxJSON.string(r), input: audio)
    }

    /// VOX_OP_CLONE_VOICE with `{"name", "description", "labels"}` and the audio.
    func clone(_ i: PluginInstance, _ request: String, _ audio: AudioData) async throws -> PluginHarness.Outcome {
        try await h.run(i, VOX_OP_CLONE_VOICE, request, input: audio)
    }

    func voices(_ i: PluginInstance, _ request: String = #"{"include_custom":true}"#) async throws -> [Voice] {
        let out = try await h.run(i, VOX_OP_LIST_VOICES, request)
        return try VoxJSON.decode([Voice].self, from: VoxJSON.encode(try XCTUnwrap(out.events("voices").first?["voices"])))
    }

    static let rachel = "21m00Tcm4TlvDq8ikWAM"
}

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
    var registry: PluginRegistry?

    override func setUp() async throws {
        fake = try await ElevenLabsFake.start()
        setenv(Self.keyVar, ElevenLabsFake.defaultAPIKey, 1)
    }

    override func tearDown() async throws {
        await registry?.shutdown()
        XCTAssertEqual(fake.violations, [], "requests that depart from the ElevenLabs API")
        await fake.stop()
    }

    /// Loads plugins.d/elevenlabs.toml pointing at the fake.
    func load(_ settings: String = "", keyVar: String = keyVar) async throws -> PluginInstance {
        try await load(file: "library = \"libvox_elevenlabs.so\"\n[settings]\nbase_url = \"\(fake.baseURL)\"\n\(settings)\n[secrets]\napi_key = \"env:\(keyVar)\"\n")
    }

    func load(file text: String) async throws -> PluginInstance {
        await registry?.shutdown()
        let dir = TestSupport.pluginsDir(["elevenlabs": text])
        let r = PluginRegistry(daemon: TestSupport.daemonConfig(pluginsDir: dir), logger: TestSupport.logger, binaryDir: TestSupport.products)
        registry = r
        let report = try await r.reload()
        if let f = report.failed.first { throw VoxPluginError.internalError(f.error) }
        return await r.entry("elevenlabs")!.instance!
    }

    struct Outcome {
        var events: [JSONValue] = []
        var audio: [(format: AudioFormat, bytes: [UInt8])] = []
        var result: OperationResult?
        func events(_ type: String) -> [JSONValue] { events.filter { $0["type"]?.stringValue == type } }
        var audioBytes: [UInt8] { audio.flatMap(\.bytes) }
    }

    /// Runs one operation to its end (bounded: 100 000 outputs, the host's 30 s limit).
    func run(_ i: PluginInstance, _ kind: vox_type_op_kind, _ request: String, input: AudioData? = nil) async throws -> Outcome {
        let op = try i.start(kind, request: request, input: input, bufferBytes: 1 << 20, timeout: 30)
        var out = Outcome()
        for _ in 0..<100_000 {
            guard let o = try await op.next() else { out.result = op.result; return out }
            switch o {
            case .audio(let f, let b): out.audio.append((f, b))
            case .event(let json): out.events.append(try VoxJSON.decode(JSONValue.self, from: Data(json.utf8)))
            }
        }
        op.cancel()
        XCTFail("the operation never ended")
        return out
    }

    func speak(_ i: PluginInstance, _ r: SynthesisRequest) async throws -> Outcome {
        try await run(i, VOX_OP_TTS_SYNTHESIZE, VoxJSON.string(r))
    }

    func transcribe(_ i: PluginInstance, _ r: TranscriptionRequest, _ audio: AudioData) async throws -> Outcome {
        try await run(i, VOX_OP_STT_TRANSCRIBE, VoxJSON.string(r), input: audio)
    }

    /// VOX_OP_CLONE_VOICE with `{"name", "description", "labels"}` and the audio.
    func clone(_ i: PluginInstance, _ request: String, _ audio: AudioData) async throws -> Outcome {
        try await run(i, VOX_OP_CLONE_VOICE, request, input: audio)
    }

    func voices(_ i: PluginInstance, _ request: String = #"{"include_custom":true}"#) async throws -> [Voice] {
        let out = try await run(i, VOX_OP_LIST_VOICES, request)
        return try VoxJSON.decode([Voice].self, from: VoxJSON.encode(try XCTUnwrap(out.events("voices").first?["voices"])))
    }

    /// The error an operation ends with (a failure if it succeeds).
    func failure(_ body: () async throws -> Outcome, file: StaticString = #filePath, line: UInt = #line) async -> VoxPluginError {
        do {
            _ = try await body()
            XCTFail("expected an error", file: file, line: line)
        } catch let e as VoxPluginError {
            return e
        } catch {
            XCTFail("not a VoxPluginError: \(error)", file: file, line: line)
        }
        return VoxPluginError.internalError("none")
    }

    /// 16-bit mono pcm: a 300 Hz tone.
    func tone(seconds: Double, rate: Int) -> [UInt8] {
        (0..<Int(seconds * Double(rate))).flatMap { i -> [UInt8] in
            let s = Int16(sin(2 * Double.pi * 300 * Double(i) / Double(rate)) * 6000)
            return [UInt8(truncatingIfNeeded: s), UInt8(truncatingIfNeeded: s >> 8)]
        }
    }

    func wav(seconds: Double, rate: Int = 16000) -> AudioData {
        let pcm = tone(seconds: seconds, rate: rate)
        return AudioData(format: AudioFormat(encoding: .wav), bytes: OpenAIFake.wavHeader(dataBytes: pcm.count, rate: rate) + pcm)
    }

    func form(_ r: RecordedRequest) throws -> FakeMultipart {
        FakeMultipart(body: r.bytes, boundary: try XCTUnwrap(FakeMultipart.boundary(ofContentType: r.header("content-type"))))
    }

    static let rachel = "21m00Tcm4TlvDq8ikWAM"
}

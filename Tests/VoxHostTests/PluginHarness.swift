import CVoxPlugin
import Foundation
import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// Loads one real plugin .so through the registry and runs operations on
/// it to their end, as the remote plugins' tests need (OpenAI, Groq,
/// Sarvam, Deepgram, ElevenLabs, and the `stt.stream` suites).
final class PluginHarness {
    let name: String
    private(set) var registry: PluginRegistry?

    init(name: String) { self.name = name }

    /// Loads plugins.d/NAME.toml with exactly this text.
    func load(file text: String) async throws -> PluginInstance {
        await registry?.shutdown()
        let dir = TestSupport.pluginsDir([name: text])
        let r = PluginRegistry(daemon: TestSupport.daemonConfig(pluginsDir: dir), logger: TestSupport.logger, binaryDir: TestSupport.products)
        registry = r
        let report = try await r.reload()
        if let f = report.failed.first { throw VoxPluginError.internalError(f.error) }
        return await r.entry(name)!.instance!
    }

    /// Loads plugins.d/NAME.toml for `libvox_NAME.so`: `settings` under
    /// `[settings]`, and `[secrets] api_key` read from the environment
    /// variable `keyVar` (no `[secrets]` when nil).
    func load(settings: String, keyVar: String?) async throws -> PluginInstance {
        var text = "library = \"libvox_\(name).so\"\n[settings]\n\(settings)\n"
        if let keyVar { text += "[secrets]\napi_key = \"env:\(keyVar)\"\n" }
        return try await load(file: text)
    }

    func shutdown() async { await registry?.shutdown() }

    /// A test's end: shuts the plugin down, checks `fake` saw nothing that
    /// departs from the provider's documented API (`what`: the message),
    /// and stops it.
    func finish(_ fake: CheckedFake, _ what: String, file: StaticString = #filePath, line: UInt = #line) async {
        await shutdown()
        XCTAssertEqual(fake.violations, [], what, file: file, line: line)
        await fake.stop()
    }

    struct Outcome {
        var events: [JSONValue] = []
        var audio: [(format: AudioFormat, bytes: [UInt8])] = []
        var result: OperationResult?
        func events(_ type: String) -> [JSONValue] { events.filter { $0["type"]?.stringValue == type } }
        var audioBytes: [UInt8] { audio.flatMap(\.bytes) }
        /// The `text` of every event of that type (stream partials and finals).
        func texts(_ type: String) -> [String] { events(type).compactMap { $0["text"]?.stringValue } }
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

    /// 16 kHz 16-bit mono pcm, what the `stt.stream` tests push.
    static let pcm16k = AudioFormat(encoding: .pcmS16LE, sampleRate: 16000, channels: 1)

    /// Runs `stt.stream`: pushes `seconds` of `format` audio in 100 ms
    /// chunks (`pause` seconds apart), waits `silenceBeforeFinish` seconds,
    /// finishes the input, and collects the outputs to the end (bounded:
    /// 10 000 outputs, the host's 30 s limit).
    func stream(_ i: PluginInstance, _ request: String, seconds: Double, format: AudioFormat = pcm16k, pause: Double = 0,
                silenceBeforeFinish: Double = 0) async throws -> Outcome {
        let op = try i.start(VOX_OP_STT_STREAM, request: request, bufferBytes: 1 << 20, timeout: 30)
        let chunk = (format.sampleRate ?? 16000) * (format.channels ?? 1) * 2 / 10
        let feeder = Task {
            for _ in 0..<Int(seconds * 10) {
                try op.push(AudioData(format: format, bytes: [UInt8](repeating: 1, count: chunk)))
                if pause > 0 { try await Task.sleep(nanoseconds: UInt64(pause * 1e9)) }
            }
            if silenceBeforeFinish > 0 { try await Task.sleep(nanoseconds: UInt64(silenceBeforeFinish * 1e9)) }
            try op.finishInput()
        }
        defer { feeder.cancel() }
        var out = Outcome()
        for _ in 0..<10_000 {
            guard let o = try await op.next() else { _ = try? await feeder.value; out.result = op.result; return out }
            switch o {
            case .audio(let f, let b): out.audio.append((f, b))
            case .event(let json): out.events.append(try VoxJSON.decode(JSONValue.self, from: Data(json.utf8)))
            }
        }
        op.cancel()
        XCTFail("the stream never ended")
        return out
    }

    /// The error an operation ends with (a test failure if it succeeds).
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
    static func tone(seconds: Double, rate: Int) -> [UInt8] {
        (0..<Int(seconds * Double(rate))).flatMap { i -> [UInt8] in
            let s = Int16(sin(2 * Double.pi * 300 * Double(i) / Double(rate)) * 6000)
            return [UInt8(truncatingIfNeeded: s), UInt8(truncatingIfNeeded: s >> 8)]
        }
    }

    static func wav(seconds: Double, rate: Int = 16000) -> AudioData {
        let pcm = tone(seconds: seconds, rate: rate)
        return AudioData(format: AudioFormat(encoding: .wav), bytes: OpenAIFake.wavHeader(dataBytes: pcm.count, rate: rate) + pcm)
    }

    /// The multipart form a request carried (a test failure without a boundary).
    static func form(_ r: RecordedRequest) throws -> FakeMultipart {
        FakeMultipart(body: r.bytes, boundary: try XCTUnwrap(FakeMultipart.boundary(ofContentType: r.header("content-type"))))
    }

    /// Starts an operation, waits until `enough` outputs flowed, cancels it,
    /// and checks the cancel ended it quickly. Returns the outputs seen.
    func cancelMidStream(_ i: PluginInstance, _ kind: vox_type_op_kind, _ request: String, enough: Int = 2) async throws -> Int {
        let op = try i.start(kind, request: request, bufferBytes: 1 << 20, timeout: 30)
        var got = 0
        for _ in 0..<1000 {
            guard let o = try await op.next() else { break }
            if case .audio = o { got += 1 }
            if case .event(let json) = o, json.contains("\"delta\"") { got += 1 }
            if got >= enough { break }
        }
        let started = Date()
        op.cancel()
        do { for _ in 0..<1000 { guard try await op.next() != nil else { break } } } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .cancelled)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
        return got
    }

    /// Starts an operation whose answer comes whole (a chat without
    /// `stream`), waits until `ready` says the provider is on it, cancels
    /// it, and checks the cancel ends it at once.
    func cancelBeforeTheAnswer(_ i: PluginInstance, _ kind: vox_type_op_kind, _ request: String, ready: () -> Bool) async throws {
        let op = try i.start(kind, request: request, bufferBytes: 1 << 20, timeout: 30)
        try await Self.waitUntil(ready)
        XCTAssertTrue(ready(), "the provider never got the request")
        let started = Date()
        op.cancel()
        do { for _ in 0..<1000 { guard try await op.next() != nil else { break } } } catch let e as VoxPluginError {
            XCTAssertEqual(e.code, .cancelled)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
    }

    /// Waits until `condition` holds, polling every 20 ms for at most
    /// `seconds` (a fake counting a cancelled stream notices on its next write).
    static func waitUntil(seconds: Double = 5, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition(), Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
    }
}

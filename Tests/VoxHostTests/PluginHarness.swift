import CVoxPlugin
import Foundation
import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// Loads one real plugin .so through the registry and runs operations on
/// it to their end, as the remote plugins' tests need (the same steps as
/// OpenAIPluginTests, shared by the Groq and Sarvam tests).
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

    func shutdown() async { await registry?.shutdown() }

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

    static func wav(seconds: Double, rate: Int) -> AudioData {
        let pcm = tone(seconds: seconds, rate: rate)
        return AudioData(format: AudioFormat(encoding: .wav), bytes: OpenAIFake.wavHeader(dataBytes: pcm.count, rate: rate) + pcm)
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
}

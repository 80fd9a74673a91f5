import Foundation
import Hummingbird

/// How a fake answers a path (GroqFake, SarvamFake).
public enum FakeBehaviour: Sendable {
    /// The documented answer.
    case normal
    /// An error in the provider's shape; `retryAfter` (seconds) also sets `retry-after`.
    case status(Int, retryAfter: Int?)
    /// Holds the response head back, then answers normally.
    case stallBeforeFirstByte(seconds: Double)
    /// Sends that many chunks (SSE frames, audio chunks, or pieces of a JSON
    /// body), then drops the connection without ending the body.
    case resetMidStream(afterChunks: Int)
    /// Chat: ends the SSE body cleanly after that many frames, without `data: [DONE]`.
    case truncatedSSE(afterChunks: Int)
    /// Chat: a frame whose JSON is cut; others: a 200 with broken JSON.
    case malformedJSON
    /// Speech: a 200 with no audio (no bytes, or an empty `audios` list).
    case emptyAudio
    /// Speech: a 200 whose audio decodes to bytes that are not audio.
    case undecodableAudio
    /// Chat: the answer is these tool calls, streamed as fragments.
    case toolCalls([FakeToolCall])
    /// Chat and streamed speech: `chunks` pieces, `intervalMs` apart (for cancelling mid-stream).
    case slowStream(chunks: Int, intervalMs: Int)
}

public struct FakeToolCall: Sendable {
    public var name: String
    public var arguments: String
    public init(name: String, arguments: String) { self.name = name; self.arguments = arguments }
}

/// The bookkeeping of a provider fake: requests seen, violations, scripted
/// behaviours per path, streams whose client left. Thread-safe.
public final class FakeCore: @unchecked Sendable {
    private let lock = NSLock()
    private var _violations: [String] = []
    private var _requests: [RecordedRequest] = []
    private var _cancelledStreams = 0
    private var behaviours: [String: FakeBehaviour] = [:]
    private var counter = 0

    public init() {}

    public var violations: [String] { lock.withLock { _violations } }
    public var requests: [RecordedRequest] { lock.withLock { _requests } }
    public var cancelledStreams: Int { lock.withLock { _cancelledStreams } }

    public func script(_ path: String, _ b: FakeBehaviour) { lock.withLock { behaviours[path] = b } }
    public func behaviour(_ path: String) -> FakeBehaviour { lock.withLock { behaviours[path] ?? .normal } }
    public func violation(_ text: String) { lock.withLock { _violations.append(text) } }
    public func record(_ r: RecordedRequest) { lock.withLock { _requests.append(r) } }
    func countCancelled() { lock.withLock { _cancelledStreams += 1 } }
    /// 1, 2, 3… for request ids.
    public func next() -> Int { lock.withLock { counter += 1; return counter } }

    /// Thrown to drop a connection mid-body (Hummingbird closes it).
    struct Reset: Error {}

    /// A streamed body that counts a client going away (a write failing)
    /// and can drop the connection on purpose (throw `Reset`).
    func stream(_ status: Int, contentType: String, headers: [(String, String)],
                _ produce: @escaping @Sendable (_ send: @Sendable ([UInt8]) async throws -> Void) async throws -> Void) -> Response {
        .fakeStream(status, contentType: contentType, headers: headers) { send in
            do {
                try await produce(send)
            } catch is Reset {
                throw Reset()
            } catch {
                self.countCancelled()
                throw error
            }
        }
    }

    /// An OpenAI-style chat SSE body of `frames` (JSON texts), ended by
    /// `data: [DONE]`, shaped by the path's behaviour.
    func sse(_ frames: [String], behaviour: FakeBehaviour, headers: [(String, String)]) -> Response {
        stream(200, contentType: "text/event-stream", headers: headers + [("cache-control", "no-cache")]) { send in
            func frame(_ data: String) async throws { try await send(Array("data: \(data)\n\n".utf8)) }
            switch behaviour {
            case .malformedJSON:
                try await frame(frames[0])
                try await frame("{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":")
                try await frame("[DONE]")
            case .truncatedSSE(let n):
                for f in frames.prefix(n) { try await frame(f) }
            case .resetMidStream(let n):
                for f in frames.prefix(n) { try await frame(f) }
                throw Reset()
            case .slowStream(_, let interval):
                for f in frames {
                    try await frame(f)
                    try await Task.sleep(nanoseconds: UInt64(interval) * 1_000_000)
                }
                try await frame("[DONE]")
            default:
                for f in frames { try await frame(f) }
                try await frame("[DONE]")
            }
        }
    }

    /// The request's JSON object, or a violation and nil.
    func jsonObject(_ r: RecordedRequest) -> FakeJSON? {
        if r.header("content-type")?.lowercased().hasPrefix("application/json") != true {
            violation("\(r.path): Content-Type is \(r.header("content-type") ?? "missing"), not application/json")
        }
        guard let json = FakeJSON.parse(r.bytes), json.keys != nil else {
            violation("\(r.path): body is not a JSON object: \(r.bodyText.prefix(80))")
            return nil
        }
        return json
    }

    /// The multipart form of a request, its format problems recorded.
    func multipart(_ r: RecordedRequest) -> FakeMultipart? {
        guard let boundary = FakeMultipart.boundary(ofContentType: r.header("content-type")) else {
            violation("\(r.path): Content-Type is \(r.header("content-type") ?? "missing"), not multipart/form-data with a boundary")
            return nil
        }
        let form = FakeMultipart(body: r.bytes, boundary: boundary)
        for p in form.problems { violation("\(r.path): multipart: \(p)") }
        return form
    }

    /// Checks a multipart form's part names: only `allowed`, none twice
    /// (but `[]` arrays), and only `files` carry a filename.
    func checkParts(_ form: FakeMultipart, path: String, allowed: Set<String>, files: Set<String>) {
        var seen: Set<String> = []
        for part in form.parts {
            if !allowed.contains(part.name) { violation("\(path): unknown field \"\(part.name)\"") }
            if !part.name.hasSuffix("[]"), !seen.insert(part.name).inserted { violation("\(path): field \"\(part.name)\" sent twice") }
            if !files.contains(part.name), part.filename != nil { violation("\(path): field \"\(part.name)\" sent as a file") }
        }
    }
}

/// Chat fragments and audio both fakes produce.
enum FakeContent {
    /// "Hello from the fake." → ["Hello", " from", " the", " fake", "."] (OpenAIFake's rule).
    static func fragments(_ text: String) -> [String] { OpenAIFake.fragments(of: text) }

    /// 16-bit mono pcm: a 440 Hz sine at `rate`, `seconds` long.
    static func pcm(seconds: Double, rate: Int) -> [UInt8] {
        let n = Int(seconds * Double(rate))
        return (0..<n).flatMap { i -> [UInt8] in
            let s = Int16((sin(2 * Double.pi * 440 * Double(i) / Double(rate)) * 8000).rounded())
            return [UInt8(truncatingIfNeeded: s), UInt8(truncatingIfNeeded: s >> 8)]
        }
    }

    static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    static func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    /// A WAV file of 16-bit mono `pcm`; `list` puts a LIST/INFO chunk
    /// between fmt and data, as encoders such as ffmpeg write.
    static func wav(_ pcm: [UInt8], rate: Int, list: Bool = false) -> [UInt8] {
        let info: [UInt8] = list ? Array("LIST".utf8) + le32(18) + Array("INFOISFT".utf8) + le32(6) + Array("voxd\0\0".utf8) : []
        return Array("RIFF".utf8) + le32(36 + info.count + pcm.count) + Array("WAVEfmt ".utf8) + le32(16) + le16(1) + le16(1)
            + le32(rate) + le32(rate * 2) + le16(2) + le16(16) + info + Array("data".utf8) + le32(pcm.count) + pcm
    }

    /// Bytes that start like a file of that codec, for pass-through checks.
    static func filler(_ codec: String, count: Int) -> [UInt8] {
        let magic: [UInt8]
        switch codec {
        case "mp3": magic = Array("ID3".utf8) + [4, 0, 0, 0, 0, 0, 0xFF, 0xF3]
        case "ogg", "opus": magic = Array("OggS".utf8) + [0, 2]
        case "aac": magic = [0xFF, 0xF1, 0x50, 0x80]
        case "flac": magic = Array("fLaC".utf8)
        default: magic = [0x7F, 0xFF] // mulaw / alaw samples
        }
        return magic + (0..<max(0, count - magic.count)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }

    /// Seconds of a WAV upload, or nil when it is not one.
    static func wavSeconds(_ b: [UInt8]) -> Double? {
        guard b.count >= 44, b[0..<4].elementsEqual("RIFF".utf8), b[8..<12].elementsEqual("WAVE".utf8) else { return nil }
        return OpenAIFake.uploadDuration(b)
    }
}

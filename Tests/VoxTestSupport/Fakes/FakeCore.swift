import Foundation
import HTTPTypes
import Hummingbird

/// How a fake answers a path (every HTTP fake: OpenAI, Groq, Sarvam,
/// Deepgram, ElevenLabs). A case a fake has no use for answers normally.
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
    /// ElevenLabs: 401 with `quota_exceeded`: the key is good, the credits ran out.
    case quotaExceeded
    /// Deepgram listen: a 200 JSON without `results` (what a callback request gets).
    case noResults
    /// Deepgram listen: a valid answer whose transcript is "" (silence).
    case emptyTranscript
    /// Deepgram speak: linear16 with a WAV header even when container=none was asked.
    case headerDespiteContainerNone
    /// Deepgram speak: a 200 `application/json` body instead of audio.
    case jsonInsteadOfAudio

    /// Chat: one tool call.
    public static func toolCall(name: String, arguments: String) -> FakeBehaviour { .toolCalls([FakeToolCall(name: name, arguments: arguments)]) }
}

public struct FakeToolCall: Sendable {
    public var name: String
    public var arguments: String
    public init(name: String, arguments: String) { self.name = name; self.arguments = arguments }
}

/// A value tests set while a fake serves (a reply text, a switch), behind
/// a lock: `@FakeSetting public var chatReply = "…"`.
@propertyWrapper
public final class FakeSetting<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    public init(wrappedValue: Value) { value = wrappedValue }
    public var wrappedValue: Value {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

/// A fake a test checks and stops at its end (every provider fake).
public protocol CheckedFake: AnyObject {
    /// Every way the traffic departed from the provider's documented API.
    var violations: [String] { get }
    func stop() async
}

/// What every HTTP provider fake shares: its FakeCore, its loopback server
/// (started by the fake's `start`), and what tests read from them.
public class LoopbackFake: CheckedFake, @unchecked Sendable {
    let core: FakeCore
    var server: FakeHTTPServer?

    init(core: FakeCore = FakeCore()) { self.core = core }

    /// Every way a request departed from the API; tests assert it is empty.
    public var violations: [String] { core.violations }
    /// Every request the fake got, in order.
    public var requests: [RecordedRequest] { core.requests }
    /// Streams whose client went away before the end.
    public var cancelledStreams: Int { core.cancelledStreams }
    /// A think time before every answer's head, whatever the path's
    /// behaviour (a provider's usual first-byte delay, for load tests).
    public var firstByteDelay: Double {
        get { core.firstByteDelay }
        set { core.firstByteDelay = newValue }
    }

    public func stop() async { await server?.stop() }

    /// `http://127.0.0.1:PORT`, the root the fake's baseURL starts with.
    var root: String { "http://127.0.0.1:\(server?.port ?? 0)" }
}

/// The bookkeeping of a provider fake: requests seen, violations, scripted
/// behaviours per path, streams whose client left; and the steps every
/// fake's endpoints share (the request prelude, streamed bodies, SSE,
/// chunked audio, JSON and multipart bodies). Thread-safe.
public final class FakeCore: @unchecked Sendable {
    private let lock = NSLock()
    /// The key a path's behaviour is scripted under (ElevenLabs: every
    /// voice's speech path is one route).
    private let route: @Sendable (String) -> String
    private var _violations: [String] = []
    private var _requests: [RecordedRequest] = []
    private var _cancelledStreams = 0
    private var behaviours: [String: FakeBehaviour] = [:]
    private var counter = 0

    public init(route: @escaping @Sendable (String) -> String = { $0 }) { self.route = route }

    public var violations: [String] { lock.withLock { _violations } }
    public var requests: [RecordedRequest] { lock.withLock { _requests } }
    public var cancelledStreams: Int { lock.withLock { _cancelledStreams } }
    /// Seconds every request waits before its endpoint answers (0: none).
    @FakeSetting public var firstByteDelay: Double = 0

    public func script(_ path: String, _ b: FakeBehaviour) { lock.withLock { behaviours[route(path)] = b } }
    public func behaviour(_ path: String) -> FakeBehaviour { lock.withLock { behaviours[route(path)] ?? .normal } }
    public func violation(_ text: String) { lock.withLock { _violations.append(text) } }
    public func record(_ r: RecordedRequest) { lock.withLock { _requests.append(r) } }
    func countCancelled() { lock.withLock { _cancelledStreams += 1 } }
    /// 1, 2, 3… for request ids.
    public func next() -> Int { lock.withLock { counter += 1; return counter } }

    /// Thrown to drop a connection mid-body (Hummingbird closes it).
    struct Reset: Error {}

    /// Routes every request no endpoint takes to a violation and `answer`
    /// (the provider's own 404).
    func catchAll(_ router: Router<BasicRequestContext>, _ answer: @escaping @Sendable (RecordedRequest) -> Response) {
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch] {
            router.on("**", method: method) { request, _ in
                let r = try await FakeHTTPServer.record(request)
                self.record(r)
                self.violation("unexpected request \(r.method) \(r.path)")
                return answer(r)
            }
        }
    }

    /// What every endpoint does first: records the request, lets `check`
    /// refuse it (auth, headers, query: the provider's answer, or nil to go
    /// on), answers a scripted `.status` with `scriptedError(status,
    /// retryAfter)`, holds a `.stallBeforeFirstByte` back, then lets the
    /// endpoint answer.
    func handle(_ request: Request, check: (RecordedRequest) -> Response?, scriptedError: (Int, Int?) -> Response,
                _ endpoint: (RecordedRequest) -> Response) async throws -> Response {
        let r = try await FakeHTTPServer.record(request)
        record(r)
        if let refused = check(r) { return refused }
        let delay = firstByteDelay
        if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000)) }
        switch behaviour(r.path) {
        case .status(let code, let retryAfter):
            return scriptedError(code, retryAfter)
        case .stallBeforeFirstByte(let seconds):
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
        default:
            break
        }
        return endpoint(r)
    }

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

    /// Audio in `chunkSize` pieces, shaped by the path's behaviour:
    /// `.emptyAudio` sends `empty` (nothing by default), `.resetMidStream`
    /// drops the connection after that many pieces, `.slowStream` sends
    /// that many pieces `intervalMs` apart (round and round the audio).
    func audio(_ audio: [UInt8], chunkSize: Int, behaviour: FakeBehaviour, contentType: String, headers: [(String, String)],
               empty: [UInt8] = []) -> Response {
        let chunks = stride(from: 0, to: audio.count, by: chunkSize).map { Array(audio[$0..<min($0 + chunkSize, audio.count)]) }
        return stream(200, contentType: contentType, headers: headers) { send in
            switch behaviour {
            case .emptyAudio:
                if !empty.isEmpty { try await send(empty) }
            case .resetMidStream(let n):
                for c in chunks.prefix(n) { try await send(c) }
                throw Reset()
            case .slowStream(let n, let interval):
                for i in 0..<n {
                    try await send(chunks.isEmpty ? [0, 0] : chunks[i % chunks.count])
                    try await Task.sleep(nanoseconds: UInt64(interval) * 1_000_000)
                }
            default:
                for c in chunks { try await send(c) }
            }
        }
    }

    /// A whole JSON answer (a chat completion asked for without `stream`),
    /// shaped by the path's behaviour: `.malformedJSON` sends its first
    /// third, `.truncatedSSE` its first half and ends the body there,
    /// `.resetMidStream` its first half then drops the connection, and
    /// `.slowStream(n, interval)` sends it in n pieces `intervalMs` apart
    /// (a provider slow to answer, whose client can still be seen leaving).
    func json(_ body: [UInt8], behaviour: FakeBehaviour, headers: [(String, String)]) -> Response {
        let contentType = "application/json"
        switch behaviour {
        case .malformedJSON:
            return .fake(200, contentType: contentType, Array(body.prefix(body.count / 3)), headers: headers)
        case .truncatedSSE:
            return stream(200, contentType: contentType, headers: headers) { send in try await send(Array(body.prefix(body.count / 2))) }
        case .resetMidStream:
            return stream(200, contentType: contentType, headers: headers) { send in
                try await send(Array(body.prefix(body.count / 2)))
                throw Reset()
            }
        case .slowStream(let n, let interval):
            let size = max(1, (body.count + n - 1) / max(n, 1))
            return stream(200, contentType: contentType, headers: headers) { send in
                for start in stride(from: 0, to: body.count, by: size) {
                    try await Task.sleep(nanoseconds: UInt64(interval) * 1_000_000)
                    try await send(Array(body[start..<min(start + size, body.count)]))
                }
            }
        default:
            return .fake(200, contentType: contentType, body, headers: headers)
        }
    }

    /// An OpenAI-style chat SSE body of `frames` (JSON texts), ended by
    /// `data: [DONE]`, shaped by the path's behaviour. With `quirks`, SSE
    /// as a parser must still read it: CRLF line ends, a comment line, data
    /// over two `data:` lines, each frame cut across two writes.
    func sse(_ frames: [String], behaviour: FakeBehaviour, headers: [(String, String)], contentType: String = "text/event-stream",
             quirks: Bool = false) -> Response {
        stream(200, contentType: contentType, headers: headers + [("cache-control", "no-cache")]) { send in
            func frame(_ data: String) async throws {
                guard quirks else { return try await send(Array("data: \(data)\n\n".utf8)) }
                var text = ": keep-alive\r\n"
                if data.hasPrefix("{"), data.count > 1 { text += "data: {\r\ndata: \(data.dropFirst())\r\n\r\n" } else { text += "data: \(data)\r\n\r\n" }
                let bytes = Array(text.utf8)
                let cut = bytes.count / 2 + 1
                try await send(Array(bytes[..<cut]))
                try await Task.sleep(nanoseconds: 2_000_000)
                try await send(Array(bytes[cut...]))
            }
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

    /// Checks an uploaded `file` part as OpenAI-style transcription
    /// endpoints want it (OpenAI, Groq): a filename with one of `types` as
    /// its extension, a Content-Type, some bytes, and a .wav that is RIFF.
    func checkUpload(_ file: FakeMultipart.Part, path: String, types: [String]) {
        func bad(_ s: String) { violation("\(path): \(s)") }
        let ext = (file.filename ?? "").split(separator: ".").last.map { String($0).lowercased() } ?? ""
        if file.filename?.isEmpty != false { bad("file part without a filename") }
        else if !types.contains(ext) { bad("file name \"\(file.filename!)\" has no supported extension \(types)") }
        if file.contentType?.isEmpty != false { bad("file part without a Content-Type") }
        if file.data.isEmpty { bad("file part is empty") }
        if ext == "wav", !file.data.starts(with: Array("RIFF".utf8)) { bad("a .wav file that does not start with RIFF") }
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

    /// Seconds in a RIFF/WAVE file's data chunk at its fmt chunk's byte
    /// rate, walking the chunks after the 12-byte header; nil without both.
    static func riffDataSeconds(_ bytes: [UInt8]) -> Double? {
        func u32(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24 }
        var i = 12, byteRate = 0
        while i + 8 <= bytes.count {
            let size = u32(i + 4)
            if bytes[i..<(i + 4)].elementsEqual("fmt ".utf8), i + 20 <= bytes.count { byteRate = u32(i + 16) }
            if bytes[i..<(i + 4)].elementsEqual("data".utf8), byteRate > 0 { return Double(min(size, bytes.count - i - 8)) / Double(byteRate) }
            i += 8 + size + (size & 1)
        }
        return nil
    }

    /// Seconds of a WAV upload, or nil when it is not one.
    static func wavSeconds(_ b: [UInt8]) -> Double? {
        guard b.count >= 44, b[0..<4].elementsEqual("RIFF".utf8), b[8..<12].elementsEqual("WAVE".utf8) else { return nil }
        return OpenAIFake.uploadDuration(b)
    }
}

import Foundation
import Hummingbird

/// POST /v1/audio/speech (openai.md "POST /audio/speech").
extension OpenAIFake {
    static let speechFields: Set<String> = ["model", "input", "voice", "instructions", "response_format", "speed", "stream_format"]
    static let voices: Set<String> = ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin", "cedar"]
    static let speechFormats = ["mp3": "audio/mpeg", "opus": "audio/opus", "aac": "audio/aac", "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm"]
    /// pcm is sent in chunks of this many bytes: odd on purpose, so a client
    /// must carry half a sample over to the next chunk.
    public static let pcmChunkBytes = 4801

    /// The fake's speech as raw pcm: a 440 Hz sine at 24 kHz, 50 ms per
    /// input character.
    public static func expectedPCM(input: String) -> [Int16] {
        let n = input.count * 1200
        return (0..<n).map { Int16((sin(2 * Double.pi * 440 * Double($0) / 24_000) * 8000).rounded()) }
    }

    /// The exact bytes the fake returns for `input` in `format` (a response_format).
    public static func expectedAudio(format: String, input: String) -> [UInt8] {
        let pcm = expectedPCM(input: input).flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
        func filler(_ magic: [UInt8]) -> [UInt8] { magic + (0..<(input.count * 200)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }
        switch format {
        case "pcm": return pcm
        case "wav": return wavHeader(dataBytes: pcm.count, rate: 24_000) + pcm
        case "mp3": return filler(Array("ID3".utf8) + [4, 0, 0, 0, 0, 0, 0xFF, 0xF3])
        case "opus": return filler(Array("OggS".utf8) + [0, 2])
        case "aac": return filler([0xFF, 0xF1, 0x50, 0x80])
        default: return filler(Array("fLaC".utf8))
        }
    }

    /// A 44-byte header for 16-bit mono pcm.
    public static func wavHeader(dataBytes: Int, rate: Int) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        return Array("RIFF".utf8) + le32(36 + dataBytes) + Array("WAVEfmt ".utf8) + le32(16) + le16(1) + le16(1)
            + le32(rate) + le32(rate * 2) + le16(2) + le16(16) + Array("data".utf8) + le32(dataBytes)
    }

    func checkSpeech(_ body: FakeJSON, path: String) -> Bool {
        var ok = true
        func bad(_ s: String) { core.violation("\(path): \(s)"); ok = false }
        for key in body.keys ?? [] where !Self.speechFields.contains(key) { bad("unknown field \"\(key)\"") }
        let model = body["model"]?.string
        if model?.isEmpty != false { bad("model must be a non-empty string") }
        if let input = body["input"]?.string {
            if input.isEmpty || input.count > 4096 { bad("input must be 1…4096 characters, got \(input.count)") }
        } else { bad("input must be a string") }
        switch body["voice"] {
        case .string(let v)?: if !Self.voices.contains(v) { bad("voice \"\(v)\" is not a built-in") }
        case .object?: if body["voice"]?["id"]?.string?.hasPrefix("voice_") != true { bad("custom voice must be {\"id\": \"voice_…\"}") }
        default: bad("voice must be a string or {\"id\"}")
        }
        if let f = body["response_format"], Self.speechFormats[f.string ?? ""] == nil { bad("response_format \(f) is not one of \(Self.speechFormats.keys.sorted())") }
        if let s = body["speed"], !(0.25...4).contains(s.number ?? 0) { bad("speed must be a number in 0.25…4") }
        if let i = body["instructions"] {
            if i.string == nil { bad("instructions is \(i.typeName)") }
            if let model, model == "tts-1" || model == "tts-1-hd" { bad("instructions sent to \(model), which does not support them") }
        }
        if let sf = body["stream_format"], !["audio", "sse"].contains(sf.string ?? "") { bad("stream_format must be audio or sse") }
        return ok
    }

    func speech(_ r: RecordedRequest) -> Response {
        let (json, failure) = jsonObject(r)
        guard let body = json else { return failure! }
        guard checkSpeech(body, path: r.path) else {
            return errorResponse(400, "Invalid speech request (see the fake's violations).", type: "invalid_request_error", code: nil)
        }
        let format = body["response_format"]?.string ?? "mp3"
        let audio = Self.expectedAudio(format: format, input: body["input"]?.string ?? "")
        let chunkSize = format == "pcm" ? Self.pcmChunkBytes : 1000
        return core.audio(audio, chunkSize: chunkSize, behaviour: core.behaviour(r.path), contentType: Self.speechFormats[format]!,
                          headers: commonHeaders() + [("cache-control", "no-cache")])
    }
}

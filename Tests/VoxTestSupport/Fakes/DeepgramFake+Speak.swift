import Foundation
import Hummingbird

/// POST /v1/speak (deepgram.md "TTS (Aura)"; openapi.yml `/v1/speak`,
/// body `SpeakV1Request`).
extension DeepgramFake {
    /// openapi.yml `V1SpeakPostParametersModel`, plus the voices the fake's
    /// GET /v1/models adds beyond it (newer than the spec).
    public static var speakModels: Set<String> {
        let aura1 = ["angus", "arcas", "asteria", "athena", "helios", "hera", "luna", "orion", "orpheus", "perseus", "stella", "zeus"].map { "aura-\($0)-en" }
        let aura2: [(String, [String])] = [
            ("en", ["amalthea", "andromeda", "apollo", "arcas", "aries", "asteria", "athena", "atlas", "aurora", "callista", "cora", "cordelia",
                    "delia", "draco", "electra", "harmonia", "helena", "hera", "hermes", "hyperion", "iris", "janus", "juno", "jupiter", "luna",
                    "mars", "minerva", "neptune", "odysseus", "ophelia", "orion", "orpheus", "pandora", "phoebe", "pluto", "saturn", "selene",
                    "thalia", "theia", "vesta", "zeus"]),
            ("es", ["agustina", "alvaro", "antonia", "aquila", "carina", "celeste", "diana", "estrella", "gloria", "javier", "luciano", "nestor",
                    "olivia", "selena", "silvia", "sirio", "valerio"]),
            ("de", ["aurelia", "elara", "fabian", "julius", "kara", "lara", "viktoria"]),
            ("nl", ["beatrix", "cornelia", "daphne", "hestia", "lars", "leda", "rhea", "roman", "sander"]),
            ("fr", ["agathe", "hector"]),
            ("it", ["cesare", "cinzia", "demetra", "dionisio", "elio", "flavio", "livia", "maia", "melia", "perseo"]),
            ("ja", ["ama", "ebisu", "fujin", "izanami", "uzume"]),
        ]
        return Set(aura1 + aura2.flatMap { l, names in names.map { "aura-2-\($0)-\(l)" } } + extraVoices.map(\.canonical))
    }
    /// openapi.yml `V1SpeakPostParametersEncoding`.
    static let speakEncodings: Set<String> = ["linear16", "flac", "mulaw", "alaw", "mp3", "opus", "aac"]
    /// openapi.yml `V1SpeakPostParametersSampleRate0…4`, per encoding.
    static let speakRates: [String: Set<Int>] = ["linear16": [8000, 16000, 24000, 32000, 48000], "mulaw": [8000, 16000], "alaw": [8000, 16000],
                                                 "mp3": [22050], "opus": [48000]]
    /// openapi.yml `V1SpeakPostParametersContainer0…4`, per encoding.
    static let speakContainers: [String: Set<String>] = ["linear16": ["none", "wav"], "mulaw": ["none", "wav"], "alaw": ["none", "wav"], "opus": ["ogg"]]
    /// pcm is sent in chunks of this many bytes: odd on purpose, so a client
    /// must carry half a sample over to the next chunk.
    public static let pcmChunkBytes = 4801

    /// The fake's speech as 16-bit samples: a 440 Hz sine, 50 ms per input character.
    public static func expectedPCM(input: String, rate: Int = 24_000) -> [UInt8] {
        let n = input.count * rate / 20
        return (0..<n).flatMap { i -> [UInt8] in
            let s = Int16((sin(2 * Double.pi * 440 * Double(i) / Double(rate)) * 8000).rounded())
            return [UInt8(truncatingIfNeeded: s), UInt8(truncatingIfNeeded: s >> 8)]
        }
    }

    /// A 44-byte WAV header: PCM (format 1, 16 bits) or G.711 (6 A-law, 7 mu-law, 8 bits).
    public static func wavHeader(dataBytes: Int, rate: Int, format: Int = 1) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let bytesPerSample = format == 1 ? 2 : 1
        return Array("RIFF".utf8) + le32(36 + dataBytes) + Array("WAVEfmt ".utf8) + le32(16) + le16(format) + le16(1)
            + le32(rate) + le32(rate * bytesPerSample) + le16(bytesPerSample) + le16(8 * bytesPerSample) + Array("data".utf8) + le32(dataBytes)
    }

    /// The exact bytes the fake returns for `input` with these query values.
    public static func expectedAudio(input: String, encoding: String = "mp3", container: String? = nil, sampleRate: Int? = nil) -> [UInt8] {
        func filler(_ magic: [UInt8]) -> [UInt8] { magic + (0..<(input.count * 200)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }
        switch encoding {
        case "linear16":
            let rate = sampleRate ?? 24_000
            let pcm = expectedPCM(input: input, rate: rate)
            return (container ?? "wav") == "wav" ? wavHeader(dataBytes: pcm.count, rate: rate) + pcm : pcm
        case "mulaw", "alaw":
            let rate = sampleRate ?? 8000
            let g711 = (0..<(input.count * rate / 20)).map { UInt8(truncatingIfNeeded: 0x55 &+ $0 % 40) }
            return (container ?? "wav") == "wav" ? wavHeader(dataBytes: g711.count, rate: rate, format: encoding == "mulaw" ? 7 : 6) + g711 : g711
        case "opus": return filler(Array("OggS".utf8) + [0, 2])
        case "flac": return filler(Array("fLaC".utf8))
        case "aac": return filler([0xFF, 0xF1, 0x50, 0x80])
        default: return filler(Array("ID3".utf8) + [4, 0, 0, 0, 0, 0, 0xFF, 0xF3])
        }
    }

    func speak(_ r: RecordedRequest) -> Response {
        func bad(_ s: String) { core.violation("\(r.path): \(s)") }
        let q = checkQuery(r, booleans: ["mip_opt_out"],
                           others: ["callback", "callback_method", "tag", "bit_rate", "container", "encoding", "model", "sample_rate", "speed"],
                           lists: ["tag"])
        let model = q["model"] ?? "aura-asteria-en" // the spec's default
        let encoding = q["encoding"] ?? "mp3"
        if !Self.speakEncodings.contains(encoding) { bad("encoding \(encoding) is not one of \(Self.speakEncodings.sorted())") }
        var rate: Int?
        if let s = q["sample_rate"] {
            rate = Int(s)
            if let allowed = Self.speakRates[encoding] {
                if rate == nil || !allowed.contains(rate!) { bad("sample_rate \(s) with \(encoding); allowed: \(allowed.sorted())") }
            } else if rate == nil {
                bad("sample_rate \(s) is not an integer")
            }
        }
        if let c = q["container"] {
            if let allowed = Self.speakContainers[encoding] {
                if !allowed.contains(c) { bad("container \(c) with \(encoding); allowed: \(allowed.sorted())") }
            } else {
                bad("container \(c) with \(encoding), which takes none")
            }
        }
        if let b = q["bit_rate"] {
            if encoding == "mp3", !["32000", "48000"].contains(b) { bad("bit_rate \(b) with mp3; allowed: 32000, 48000") }
            if !["mp3", "opus", "aac"].contains(encoding) { bad("bit_rate with \(encoding)") }
            if Double(b) == nil { bad("bit_rate \(b) is not a number") }
        }
        if let s = q["speed"], (Double(s) ?? 0) <= 0 { bad("speed \(s) is not a positive number") }
        if q["callback"] == nil, q["callback_method"] != nil { bad("callback_method without callback") }

        // SpeakV1Request: {"text": string}, required; ≤2000 chars (deepgram.md, "uncertain").
        if r.header("content-type")?.lowercased().hasPrefix("application/json") != true {
            bad("Content-Type is \(r.header("content-type") ?? "missing"), not application/json")
        }
        guard let body = r.json, let keys = body.keys else {
            bad("body is not a JSON object: \(r.bodyText.prefix(80))")
            return errorResponse(400, modern: ("INVALID_REQUEST_BODY", "Bad Request", "Invalid JSON"))
        }
        for k in keys where k != "text" { bad("unknown body field \"\(k)\"") }
        guard let text = body["text"]?.string, !text.isEmpty, text.count <= 2000 else {
            bad("text must be a string of 1…2000 characters")
            return errorResponse(400, modern: ("INVALID_REQUEST_BODY", "Bad Request", "Text must be 1-2000 characters"))
        }
        guard Self.speakModels.contains(model) else {
            bad("model \(model) is not a Deepgram TTS model")
            return errorResponse(400, legacy: ("INVALID_QUERY_PARAMETER", "Invalid model: \(model)"))
        }

        let behaviour = core.behaviour(r.path)
        var container = q["container"]
        if case .headerDespiteContainerNone = behaviour, container == "none" { container = "wav" }
        let audio = Self.expectedAudio(input: text, encoding: encoding, container: container, sampleRate: rate)
        let contentType: String
        switch encoding {
        case "linear16", "mulaw", "alaw": contentType = (q["container"] ?? "wav") == "wav" ? "audio/wav" : (encoding == "mulaw" ? "audio/basic" : "application/octet-stream")
        case "mp3": contentType = "audio/mpeg"
        case "opus": contentType = "audio/ogg"
        case "flac": contentType = "audio/flac"
        default: contentType = "audio/aac"
        }
        let id = nextRequestID()
        let headers = [("dg-request-id", id), ("dg-model-name", model), ("dg-model-uuid", "4f1a6bd2-0000-4000-8000-000000000000"),
                       ("dg-char-count", String(text.count))]
        if case .jsonInsteadOfAudio = behaviour {
            return .fake(200, contentType: "application/json", FakeJSON.object([("request_id", .string(id))]).bytes, headers: headers)
        }
        let chunkSize = encoding == "linear16" ? Self.pcmChunkBytes : 1000
        let headerOnly = (container ?? "wav") == "wav" && ["linear16", "mulaw", "alaw"].contains(encoding)
        return core.audio(audio, chunkSize: chunkSize, behaviour: behaviour, contentType: contentType, headers: headers,
                          empty: headerOnly ? Array(audio.prefix(44)) : [])
    }
}

import Foundation
import ProviderSupport
import VoxPluginKit

/// The audio Aura can return (deepgram.md "TTS (Aura)": `encoding`,
/// `sample_rate`, `container`), as voxd encodings.
enum SpeechFormat {
    static let declared: [AudioEncoding] = [.pcmS16LE, .wav, .mp3, .opus, .mulaw, .alaw, .flac, .aac]
    /// linear16: 8000/16000/24000/32000/48000 (default 24000).
    static let linear16Rates = [8000, 16000, 24000, 32000, 48000]

    struct Wire: Equatable {
        /// encoding, container, sample_rate, in that order (those that apply).
        var query: URLQuery
        /// What the bytes that come back are.
        var format: AudioFormat
    }

    /// The query for a requested format. linear16 comes with a WAV header
    /// unless `container=none`, so raw pcm asks for none and wav for wav.
    /// No format asked, or one Aura cannot make (pcm_f32le, webm): raw
    /// 24 kHz linear16, which the host converts.
    static func wire(for f: AudioFormat?) -> Wire {
        var q = URLQuery()
        func linear16(_ container: String) -> Int {
            let rate = f?.sampleRate.flatMap { linear16Rates.contains($0) ? $0 : nil } ?? 24_000
            q.add("encoding", "linear16"); q.add("container", container); q.add("sample_rate", rate)
            return rate
        }
        switch f?.encoding {
        case .wav:
            let rate = linear16("wav")
            return Wire(query: q, format: AudioFormat(encoding: .wav, sampleRate: rate, channels: 1))
        case .mp3: // "mp3 fixed 22050": sample_rate is not sent
            q.add("encoding", "mp3")
            return Wire(query: q, format: AudioFormat(encoding: .mp3, sampleRate: 22_050, channels: 1))
        case .opus: // "opus fixed 48000", "opus: ogg"
            q.add("encoding", "opus"); q.add("container", "ogg")
            return Wire(query: q, format: AudioFormat(encoding: .opus, sampleRate: 48_000, channels: 1))
        case .mulaw, .alaw: // "mulaw/alaw 8000/16000", raw like voxd's mulaw/alaw
            let rate = f?.sampleRate == 16_000 ? 16_000 : 8_000
            q.add("encoding", f!.encoding.rawValue); q.add("container", "none"); q.add("sample_rate", rate)
            return Wire(query: q, format: AudioFormat(encoding: f!.encoding, sampleRate: rate, channels: 1))
        case .flac:
            q.add("encoding", "flac")
            return Wire(query: q, format: AudioFormat(encoding: .flac))
        case .aac:
            q.add("encoding", "aac")
            return Wire(query: q, format: AudioFormat(encoding: .aac))
        default:
            let rate = linear16("none")
            return Wire(query: q, format: AudioFormat(encoding: .pcmS16LE, sampleRate: rate, channels: 1))
        }
    }

    static var contentTypes: [AudioEncoding: String] {
        [.pcmS16LE: "application/octet-stream", .wav: "audio/wav", .mp3: "audio/mpeg", .opus: "audio/ogg", .mulaw: "audio/basic",
         .alaw: "application/octet-stream", .flac: "audio/flac", .aac: "audio/aac"]
    }
}

/// `tts.synthesize`: `POST /v1/speak?model=<voice>&…` with `{"text"}`, the
/// audio streamed to the host in the chunks Deepgram sends ("streamed as
/// generated").
struct SpeechOperation {
    let client: ProviderClient
    let voices: VoiceBook

    /// "≤2000 chars per docs" (deepgram.md "TTS (Aura)").
    static let maxCharacters = 2000

    /// Options: `bit_rate` (mp3 32000/48000, opus/aac numeric),
    /// `mip_opt_out`, `tag`; the rest is set from the request.
    static func options(_ options: JSONValue?, into q: inout URLQuery, encoding: AudioEncoding) throws {
        guard let options, options != .null else { return }
        guard let o = options.objectValue else { throw VoxPluginError.invalidRequest("options: must be an object") }
        for (key, v) in o.sorted(by: { $0.key < $1.key }) where v != .null {
            switch key {
            case "bit_rate":
                guard let b = v.intValue, b > 0 else { throw VoxPluginError.invalidRequest("options.bit_rate: must be a positive integer (bits per second)") }
                if encoding == .mp3, ![32_000, 48_000].contains(b) { throw VoxPluginError.invalidRequest("options.bit_rate: mp3 takes 32000 or 48000") }
                guard [.mp3, .opus, .aac].contains(encoding) else {
                    throw VoxPluginError.invalidRequest("options.bit_rate: only for mp3, opus and aac, not \(encoding.rawValue)")
                }
                q.add("bit_rate", b)
            case "mip_opt_out":
                guard let b = v.boolValue else { throw VoxPluginError.invalidRequest("options.mip_opt_out: must be true or false") }
                q.add("mip_opt_out", b)
            case "tag":
                let tags = v.stringValue.map { [$0] } ?? v.arrayValue?.compactMap(\.stringValue) ?? []
                guard !tags.isEmpty, tags.count == (v.arrayValue?.count ?? 1) else { throw VoxPluginError.invalidRequest("options.tag: must be a string or a list of strings") }
                for t in tags { q.add("tag", t) }
            case "model", "encoding", "container", "sample_rate", "speed":
                throw VoxPluginError.invalidRequest("options.\(key): not accepted (set from the request's voice, format and speed)")
            case "callback", "callback_method":
                throw VoxPluginError.invalidRequest("options.\(key): not accepted (voxd streams the audio; callbacks are not supported)")
            default:
                throw VoxPluginError.invalidRequest("options.\(key): unknown; deepgram speech takes bit_rate, mip_opt_out, tag")
            }
        }
    }

    func run(_ r: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
        guard !r.input.isEmpty else { throw VoxPluginError.invalidRequest("input: must not be empty") }
        guard r.input.count <= Self.maxCharacters else {
            throw VoxPluginError.invalidRequest("input: \(r.input.count) characters; deepgram speaks at most \(Self.maxCharacters) per request")
        }
        if let s = r.speed, !(s > 0 && s <= 4) { throw VoxPluginError.invalidRequest("speed: must be a multiplier in (0, 4]") }
        let wire = SpeechFormat.wire(for: r.format)
        var tuning = URLQuery()
        if let s = r.speed { tuning.add("speed", s) }
        try Self.options(r.options, into: &tuning, encoding: wire.format.encoding)
        // Last, as it may ask the provider (a voice newer than this plugin).
        let voice = try await voices.resolve(voice: r.voice, model: r.model, language: r.language)
        var query = URLQuery()
        query.add("model", voice.canonical)
        for (n, v) in wire.query.items + tuning.items { query.add(n, v) }

        let path = "/v1/speak"
        let what = "POST \(path)"
        let response = try await client.postJSON(path + query.suffix, .object(["text": .string(r.input)]),
                                                  accept: SpeechFormat.contentTypes[wire.format.encoding])
        // A JSON 200 is not audio (e.g. a callback's {"request_id"}).
        if let type = response.header("content-type")?.lowercased(), type.hasPrefix("application/json") {
            let bytes = (try? await client.collect(response, what: what, limit: 65_536)) ?? []
            throw VoxPluginError(.unavailable, "deepgram answered speech with JSON instead of audio: \(ProviderErrors.snippet(bytes))",
                                 httpStatus: response.status, retriable: true)
        }
        try await output.metadata(model: response.header("dg-model-name") ?? voice.canonical, voice: voice.canonical)

        let pcm = wire.format.encoding == .pcmS16LE ? PCMStream(format: wire.format) : nil
        let format = wire.format
        let received = try await client.relayAudio(response, to: output, what: what) { chunk in
            guard let pcm else { return (chunk[...], format) }
            return (pcm.feed(chunk), pcm.format)
        }
        var audioBytes = pcm?.bytesOut ?? received
        if let p = pcm, p.headerOnly { audioBytes = 0 }
        // A WAV container is 44 bytes of header before any sample.
        let noAudio = wire.format.encoding == .wav ? audioBytes <= 44 : audioBytes == 0
        guard !noAudio else {
            throw VoxPluginError(.unavailable, "deepgram: provider returned no audio (HTTP \(response.status), \(audioBytes) bytes)",
                                 httpStatus: response.status, retriable: true)
        }
        // Billing is per character: dg-char-count says how many were counted.
        let characters = response.header("dg-char-count").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? r.input.count
        let seconds = pcm.map { Double(audioBytes / 2) / Double($0.format.sampleRate ?? 24_000) }
        return OperationResult(usage: Usage(characters: characters, audioSeconds: seconds))
    }
}

/// Raw linear16 as it arrives: whole samples only (an odd byte waits for
/// its other half), and a WAV header dropped if one comes anyway (linear16
/// "comes WITH a WAV header unless container=none"; a gateway that ignores
/// `container` must not put a second header into voxd's wav). One chunk at
/// a time (a relay's order).
final class PCMStream: @unchecked Sendable {
    private(set) var format: AudioFormat
    /// Sample bytes handed out so far.
    private(set) var bytesOut = 0
    private var pending: [UInt8] = []
    private var decided = false
    private let samples = WholeSamples()
    /// The body was a WAV header and nothing else.
    var headerOnly: Bool { !decided && pending.starts(with: Array("RIFF".utf8)) }

    init(format: AudioFormat) { self.format = format }

    func feed(_ chunk: [UInt8]) -> ArraySlice<UInt8> {
        var bytes = chunk
        if !decided {
            pending += chunk
            if pending.count < 4, Array("RIFF".utf8).starts(with: pending) { return [] }
            if pending.starts(with: Array("RIFF".utf8)) {
                guard let h = WAVFile.header(pending) else {
                    if pending.count < 4096 { return [] } // the data chunk has not come yet
                    decided = true // no header after 4 KiB: take it as samples
                    bytes = pending
                    pending = []
                    return whole(bytes)
                }
                if h.sampleRate > 0 { format.sampleRate = h.sampleRate }
                if h.channels > 0 { format.channels = h.channels }
                bytes = Array(pending[min(h.dataOffset, pending.count)...])
            } else {
                bytes = pending
            }
            decided = true
            pending = []
        }
        return whole(bytes)
    }

    private func whole(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        let out = samples.cut(bytes)
        bytesOut += out.count
        return out
    }
}

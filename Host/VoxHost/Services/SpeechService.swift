import CVoxPlugin
import Foundation
import VoxPluginKit

/// `POST /v1/audio/speech` in the OpenAI request shape.
public struct SpeechRequest: Decodable, Sendable {
    public var model: String?
    public var input: String
    public var voice: String?
    public var responseFormat: String?
    public var speed: Double?
    public var language: String?
    /// Output sample rate; only providers that offer it are candidates.
    public var sampleRate: Int?
    public var options: JSONValue?

    enum CodingKeys: String, CodingKey {
        case model, input, voice, speed, language, options
        case responseFormat = "response_format"
        case sampleRate = "sample_rate"
    }
}

/// A started synthesis whose first audio chunk has arrived: everything the
/// response head needs is known, so errors up to here are still clean JSON.
public struct StartedSpeech: Sendable {
    public let provider: String
    public let model: String?
    public let voice: String?
    public let output: SpeechOutputFormat
    public let firstChunk: [UInt8]
    public let operation: HostOperation
    /// Candidates tried (1: the first served).
    public var attempts = 1
    /// Converts the provider's PCM to the asked-for sample rate (already
    /// applied to `firstChunk`).
    public var resampler: PCMResampler?
}

public enum SpeechOutputFormat: Sendable, Equatable {
    case wav(sampleRate: Int, channels: Int)
    case pcm(sampleRate: Int, channels: Int)
    case passthrough(AudioEncoding)

    public var contentType: String {
        switch self {
        case .wav: return "audio/wav"
        case .pcm: return "audio/pcm"
        case .passthrough(let e):
            switch e {
            case .mp3: return "audio/mpeg"
            case .opus: return "audio/ogg"
            case .flac: return "audio/flac"
            case .aac: return "audio/aac"
            case .webm: return "audio/webm"
            case .mulaw: return "audio/basic"
            default: return "application/octet-stream"
            }
        }
    }

    public var sampleRate: Int? {
        switch self {
        case .wav(let r, _), .pcm(let r, _): return r
        case .passthrough: return nil
        }
    }
}

extension VoxDaemon {
    static let speedRange = 0.25...4.0

    /// Validates, picks the provider, starts the operation and waits for its
    /// first audio chunk (or its error).
    public func startSpeech(_ r: SpeechRequest) async throws -> StartedSpeech {
        let text = r.input
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw VoxError(.invalidRequest, "input is empty: give the text to speak")
        }
        guard text.count <= config.maxInputChars else {
            throw VoxError(.invalidRequest, "input is \(text.count) characters; the limit is \(config.maxInputChars) (limits.max_input_chars)")
        }
        if let s = r.speed, !Self.speedRange.contains(s) {
            throw VoxError(.invalidRequest, "speed \(s) is outside \(Self.speedRange.lowerBound)…\(Self.speedRange.upperBound)")
        }
        if let rate = r.sampleRate, !(8000...192_000).contains(rate) {
            throw VoxError(.invalidRequest, "sample_rate \(rate) is outside 8000…192000 Hz")
        }
        let format = (r.responseFormat ?? "wav").lowercased()
        let requested: AudioEncoding
        switch format {
        case "wav", "pcm": requested = .pcmS16LE
        default:
            guard let e = AudioEncoding(rawValue: format), ![.pcmS16LE, .pcmF32LE].contains(e) else {
                throw VoxError(.invalidRequest, "response_format \"\(format)\" is not supported; use wav or pcm, or a format the provider produces (mp3, opus, flac, aac…)")
            }
            requested = e
        }
        var routed = RouteRequest(operation: .ttsSynthesize, model: r.model, language: r.language, voice: r.voice,
                                  format: requested, formatName: format, sampleRate: r.sampleRate)
        routed.estimate = Usage(characters: text.count)
        let plan = try await router.plan(routed, daemon: self)
        let (first, attempt) = try await route(plan) { a in try await self.attemptSpeech(a, r, requested: requested, format: format) }
        var started = first
        started.attempts = attempt.index + 1
        return started
    }

    /// One candidate: the voice mapped for it, the operation started, and
    /// its first audio chunk awaited (zero audio is a retriable failure).
    private func attemptSpeech(_ a: RouteAttempt, _ r: SpeechRequest, requested: AudioEncoding, format: String) async throws -> StartedSpeech {
        let instance = a.instance
        let model = a.candidate.model
        let voice = await VoiceMapper(daemon: self).voice(for: r.voice, on: instance, model: model, language: r.language, primary: a.primary).voice
        let askRate = r.sampleRate.flatMap { VoxRouter.nativeRate(instance.capabilities[.ttsSynthesize]?.sampleRates, $0) }
        let request = SynthesisRequest(model: model, input: r.input, voice: voice, language: r.language, speed: r.speed,
                                       format: AudioFormat(encoding: requested, sampleRate: askRate), options: r.options)
        let op = try start(instance, VOX_OP_TTS_SYNTHESIZE, request: VoxJSON.string(request), timeout: a.limits.totalTimeoutSeconds)
        a.bind(op)
        let watch = a.watchFirstOutput(op)
        var servedVoice = voice
        var servedModel = model
        do {
            while let out = try await op.next() {
                switch out {
                case .event(let json):
                    if let v = try? VoxJSON.decode(JSONValue.self, from: Data(json.utf8)), v["type"]?.stringValue == "metadata" {
                        servedVoice = v["voice"]?.stringValue ?? servedVoice
                        servedModel = v["model"]?.stringValue ?? servedModel
                    }
                case .audio(let f, let bytes):
                    if bytes.isEmpty { continue }
                    watch.disarm()
                    var output: SpeechOutputFormat
                    do { output = try outputFormat(requested: format, produced: f, provider: instance.name) } catch { op.cancel(); throw error }
                    var resampler: PCMResampler?
                    if let want = r.sampleRate, f.encoding == .pcmS16LE, let have = f.sampleRate ?? askRate, have != want {
                        resampler = PCMResampler(from: have, to: want, channels: f.channels ?? 1)
                        switch output {
                        case .wav(_, let ch): output = .wav(sampleRate: want, channels: ch)
                        case .pcm(_, let ch): output = .pcm(sampleRate: want, channels: ch)
                        case .passthrough: break
                        }
                    }
                    a.voice = servedVoice
                    a.fallbackUsage = Usage(characters: r.input.count)
                    var started = StartedSpeech(provider: instance.name, model: servedModel, voice: servedVoice, output: output,
                                                firstChunk: resampler?.process(bytes) ?? bytes, operation: op)
                    started.resampler = resampler
                    return started
                }
            }
        } catch {
            watch.disarm()
            op.cancel()
            throw a.firstOutputError(error, watch)
        }
        watch.disarm()
        throw VoxError(.unavailable, "\(instance.name) finished without producing any audio", provider: instance.name, retriable: true)
    }

    private func outputFormat(requested: String, produced f: AudioFormat, provider: String) throws -> SpeechOutputFormat {
        switch (requested, f.encoding) {
        case ("wav", .pcmS16LE): return .wav(sampleRate: f.sampleRate ?? 24000, channels: f.channels ?? 1)
        case ("pcm", .pcmS16LE): return .pcm(sampleRate: f.sampleRate ?? 24000, channels: f.channels ?? 1)
        case ("wav", .wav): return .passthrough(.wav)
        case (let r, let e) where r == e.rawValue: return .passthrough(e)
        default:
            throw VoxError(.unsupported, "\(provider) produced \(f.encoding.rawValue) audio, which voxd cannot convert to \(requested)", provider: provider)
        }
    }
}

import Foundation
import Hummingbird

/// POST /v1/text-to-speech/{voice_id}/stream (elevenlabs.md
/// "Text-to-speech"; the spec's
/// Body_Text_to_speech_streaming_v1_text_to_speech__voice_id__stream_post).
extension ElevenLabsFake {
    /// The spec's body fields.
    static let speechFields: Set<String> = [
        "text", "model_id", "language_code", "voice_settings", "pronunciation_dictionary_locators", "seed", "previous_text", "next_text",
        "previous_request_ids", "next_request_ids", "use_pvc_as_ivc", "apply_text_normalization", "apply_language_text_normalization",
    ]
    /// VoiceSettingsResponseModel's fields, with the ranges elevenlabs.md gives.
    static let voiceSettingRanges: [String: ClosedRange<Double>] = ["stability": 0...1, "similarity_boost": 0...1, "style": 0...1, "speed": 0.7...1.2]
    /// The spec's output_format enum, plus what SDK 2.78 added (elevenlabs.md).
    public static let outputFormats: Set<String> = [
        "mp3_22050_32", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128", "mp3_44100_192",
        "pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_44100", "pcm_48000", "ulaw_8000", "alaw_8000",
        "opus_48000_32", "opus_48000_64", "opus_48000_96", "opus_48000_128", "opus_48000_192",
        // SDK 2.78:
        "mp3_24000_48", "pcm_32000", "wav_8000", "wav_16000", "wav_22050", "wav_24000", "wav_32000", "wav_44100", "wav_48000",
    ]
    /// Per-request text limits (elevenlabs.md "Models").
    static let textLimits = ["eleven_flash_v2_5": 40_000, "eleven_turbo_v2_5": 40_000, "eleven_flash_v2": 30_000, "eleven_turbo_v2": 30_000,
                             "eleven_multilingual_v2": 10_000]
    /// The spec: "only Turbo v2.5 and Flash v2.5 support language enforcement".
    static let languageModels: Set<String> = ["eleven_turbo_v2_5", "eleven_flash_v2_5"]
    /// pcm is sent in chunks of this many bytes: odd on purpose, so a client
    /// must carry half a sample over to the next chunk.
    public static let pcmChunkBytes = 4801

    /// The fake's speech as 16-bit samples: a 440 Hz sine, 50 ms per character.
    public static func expectedPCM(input: String, rate: Int) -> [Int16] {
        let n = input.count * rate / 20
        return (0..<n).map { Int16((sin(2 * Double.pi * 440 * Double($0) / Double(rate)) * 8000).rounded()) }
    }

    /// The exact bytes the fake returns for `input` in `outputFormat`.
    public static func expectedAudio(outputFormat: String, input: String) -> [UInt8] {
        let parts = outputFormat.split(separator: "_")
        let rate = parts.count > 1 ? Int(parts[1]) ?? 44_100 : 44_100
        var pcm: [UInt8] {
            var out = [UInt8]()
            for s in expectedPCM(input: input, rate: rate) { out.append(UInt8(truncatingIfNeeded: s)); out.append(UInt8(truncatingIfNeeded: s >> 8)) }
            return out
        }
        func filler(_ magic: [UInt8]) -> [UInt8] { magic + (0..<(input.count * 200)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }
        switch parts.first {
        case "pcm": return pcm
        case "wav":
            let samples = pcm
            return OpenAIFake.wavHeader(dataBytes: samples.count, rate: rate) + samples
        case "ulaw", "alaw": return (0..<(input.count * 400)).map { UInt8(truncatingIfNeeded: 0x55 &+ $0 % 7) } // 50 ms at 8 kHz
        case "opus": return filler(Array("OggS".utf8) + [0, 2])
        default: return filler(Array("ID3".utf8) + [4, 0, 0, 0, 0, 0, 0xFF, 0xF3])
        }
    }

    func checkSpeech(_ body: FakeJSON, path: String) -> (model: String, ok: Bool) {
        var ok = true
        func bad(_ s: String) { core.violation("\(path): \(s)"); ok = false }
        for key in body.keys ?? [] where !Self.speechFields.contains(key) { bad("unknown field \"\(key)\"") }
        guard let text = body["text"]?.string, !text.isEmpty else { bad("text must be a non-empty string"); return ("", false) }
        var model = "eleven_multilingual_v2" // the spec's default
        if let m = body["model_id"] {
            if let s = m.string, !s.isEmpty { model = s } else { bad("model_id must be a non-empty string") }
        }
        if let limit = Self.textLimits[model], text.count > limit { bad("text of \(text.count) characters for \(model), which takes \(limit)") }
        if let l = body["language_code"], !l.isNull {
            if let s = l.string, (2...3).contains(s.count), s == s.lowercased() {
                if !Self.languageModels.contains(model) { bad("language_code sent to \(model), which returns an error for it (only Turbo/Flash v2.5)") }
            } else { bad("language_code \(l) is not an ISO 639-1 code") }
        }
        if let vs = body["voice_settings"], !vs.isNull {
            if let keys = vs.keys {
                for k in keys {
                    let v = vs[k]!
                    if v.isNull { continue }
                    if k == "use_speaker_boost" { if v.bool == nil { bad("voice_settings.use_speaker_boost is \(v.typeName)") }; continue }
                    guard let range = Self.voiceSettingRanges[k] else { bad("unknown voice_settings field \"\(k)\""); continue }
                    guard let n = v.number, range.contains(n) else { bad("voice_settings.\(k) = \(v) is outside \(range)"); continue }
                }
            } else { bad("voice_settings is \(vs.typeName)") }
        }
        if let s = body["seed"], !s.isNull, !(s.int.map { (0...4_294_967_295).contains($0) } ?? false) { bad("seed \(s) is not an integer in 0…4294967295") }
        for k in ["previous_text", "next_text"] { if let v = body[k], !v.isNull, v.string == nil { bad("\(k) is \(v.typeName)") } }
        for k in ["previous_request_ids", "next_request_ids"] {
            if let v = body[k], !v.isNull, !(v.array.map { $0.count <= 3 && $0.allSatisfy { $0.string != nil } } ?? false) { bad("\(k) must be ≤3 strings") }
        }
        if let v = body["pronunciation_dictionary_locators"], !v.isNull {
            let good = v.array.map { $0.count <= 3 && $0.allSatisfy { l in
                l["pronunciation_dictionary_id"]?.string != nil && (l.keys ?? []).allSatisfy { ["pronunciation_dictionary_id", "version_id"].contains($0) }
            } } ?? false
            if !good { bad("pronunciation_dictionary_locators must be ≤3 {pronunciation_dictionary_id, version_id}") }
        }
        if let v = body["apply_text_normalization"], !["auto", "on", "off"].contains(v.string ?? "") { bad("apply_text_normalization \(v) is not auto/on/off") }
        for k in ["apply_language_text_normalization", "use_pvc_as_ivc"] { if let v = body[k], v.bool == nil { bad("\(k) is \(v.typeName)") } }
        return (model, ok)
    }

    func speech(_ r: RecordedRequest) -> Response {
        let voice = r.path.split(separator: "/").dropFirst(2).first.map(String.init) ?? ""
        var outputFormat = "mp3_44100_128" // the spec's default
        checkQuery(r, allowed: [
            "output_format": { Self.outputFormats.contains($0) },
            "enable_logging": Self.isBool,
            "optimize_streaming_latency": { Int($0).map { (0...4).contains($0) } ?? false },
        ])
        for pair in (r.query ?? "").split(separator: "&") where pair.hasPrefix("output_format=") {
            outputFormat = String(pair.dropFirst("output_format=".count))
        }
        let (json, failure) = jsonObject(r)
        guard let body = json else { return failure! }
        let (model, ok) = checkSpeech(body, path: r.path)
        guard ok else { return validationError(["body"], "invalid speech request (see the fake's violations)", type: "value_error") }
        guard Self.outputFormats.contains(outputFormat) else {
            return validationError(["query", "output_format"], "value is not a valid enumeration member", type: "type_error.enum")
        }
        guard Self.ttsModels.contains(model) else {
            return errorResponse(400, status: "model_not_found", "A model with model ID \(model) does not exist.")
        }
        guard allVoices.contains(where: { $0.id == voice }) else {
            return errorResponse(400, status: "voice_not_found", "A voice with the voice_id \(voice) was not found.")
        }
        let text = body["text"]?.string ?? ""
        let audio = Self.expectedAudio(outputFormat: outputFormat, input: text)
        let chunkSize = outputFormat.hasPrefix("pcm") ? Self.pcmChunkBytes : 1000
        // The spec's 200 is audio/mpeg whatever the format.
        return core.audio(audio, chunkSize: chunkSize, behaviour: core.behaviour(r.path), contentType: "audio/mpeg",
                          headers: commonHeaders() + [("x-character-count", String(text.count)), ("history-item-id", "hist\(text.count)")])
    }
}

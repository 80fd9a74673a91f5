import Foundation
import ProviderSupport
import VoxPluginKit

/// `tts.synthesize`: POST {base}/v1/text-to-speech/{voice_id}/stream
/// (elevenlabs.md "Text-to-speech"): the audio is chunked as it is
/// generated, and each chunk goes to the host as it arrives.
struct SpeechOperation {
    let client: ProviderClient
    let settings: ElevenLabsSettings
    let voices: VoiceDirectory

    func run(_ r: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
        let spec = try SpeechBody(r, defaultModel: settings.defaultModel, defaultPCMRate: settings.pcmSampleRate)
        let asked = r.voice.flatMap { $0.isEmpty ? nil : $0 } ?? settings.defaultVoice
        let voice = try await voices.resolve(asked)
        var query = "output_format=\(spec.outputFormat.name)"
        if !settings.enableLogging { query += "&enable_logging=false" }
        let path = "/v1/text-to-speech/\(VoiceDirectory.pathSegment(voice))/stream"
        let response: VoxHTTPResponse
        do {
            response = try await client.postJSON("\(path)?\(query)", .object(spec.body))
        } catch var e as VoxPluginError where e.code == .notFound {
            // The voice is the only thing in the path (voice_not_found, 400 or 404).
            e.message = "elevenlabs has no voice \"\(asked)\"\(asked == voice ? "" : " (\(voice))") in this account; "
                + "GET /v1/voices?provider=elevenlabs lists them. \(e.message)"
            throw e
        }
        try await output.metadata(model: spec.model, voice: voice)

        let format = spec.outputFormat.format
        let samples = format.encoding == .pcmS16LE ? WholeSamples() : nil // pcm: whole samples only
        let total = try await client.relayAudio(response, to: output, what: "POST \(path)") { chunk in
            (samples?.cut(chunk) ?? chunk[...], format)
        }
        // ElevenLabs has answered 200 with no audio when a quota ran out.
        guard total > 0 else {
            throw VoxPluginError(.unavailable, "elevenlabs: provider returned no audio (HTTP \(response.status) with an empty body; a quota may have run out)",
                                 httpStatus: response.status, retriable: true)
        }
        // x-character-count: the characters billed (elevenlabs.md "Basics").
        let billed = response.header("x-character-count").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return OperationResult(usage: Usage(characters: billed ?? r.input.count, audioSeconds: spec.outputFormat.seconds(total)))
    }
}

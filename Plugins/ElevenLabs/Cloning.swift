import Foundation
import ProviderSupport
import VoxPluginKit

/// `voices.clone`: instant voice cloning, POST {base}/v1/voices/add as
/// multipart/form-data (elevenlabs.md "Instant voice cloning"): `name`, one
/// `files` part with the reference audio, `remove_background_noise`
/// (false), `description`, and `labels` as a JSON-encoded string. The answer
/// `{"voice_id", "requires_verification"}` becomes the voice; it is listed
/// by GET /v1/voices from then on, with category "cloned".
struct CloneOperation {
    let client: ProviderClient
    let voices: VoiceDirectory

    static func form(_ r: VoiceCloneRequest, audio: AudioData) throws -> (form: MultipartForm, name: String) {
        let name = r.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw VoxPluginError.invalidRequest("name: the new voice needs a name") }
        let file = try Upload.file(audio, stem: "reference", what: "reference audio")
        var form = MultipartForm()
        form.field("name", name)
        form.file("files", filename: file.filename, contentType: file.contentType, file.bytes)
        form.field("remove_background_noise", "false")
        if let d = r.description?.trimmingCharacters(in: .whitespacesAndNewlines), !d.isEmpty { form.field("description", d) }
        if let labels = r.labels, !labels.isEmpty {
            form.field("labels", VoxJSON.string(JSONValue.object(labels.mapValues(JSONValue.string))))
        }
        return (form, name)
    }

    func run(_ r: VoiceCloneRequest, audio: AudioData) async throws -> Voice {
        let (form, name) = try Self.form(r, audio: audio)
        let path = "/v1/voices/add"
        let response = try await client.send("POST", path, body: form.finished(), contentType: form.contentType, accept: "application/json")
        let answer = try client.parse(try await client.collect(response, what: "POST \(path)"), what: "POST \(path)")
        guard let id = answer["voice_id"]?.stringValue, !id.isEmpty else {
            throw VoxPluginError(.unavailable, "elevenlabs answered a voice clone without a voice_id: \(ProviderErrors.snippet(VoxJSON.string(answer)))", retriable: true)
        }
        voices.forget() // the next list shows the new voice
        var description = r.description.flatMap { $0.isEmpty ? nil : $0 }
        if answer["requires_verification"]?.boolValue == true {
            description = (description.map { $0 + " " } ?? "") + "(ElevenLabs requires verification before this voice can be used)"
        }
        let labels = r.labels ?? [:]
        return Voice(id: id, name: name, languages: labels["language"].flatMap(VoiceDirectory.bcp47).map { [$0] },
                     gender: labels["gender"].map(VoiceDirectory.gender), age: labels["age"].map(VoiceDirectory.age),
                     accent: labels["accent"], description: description, custom: true)
    }
}

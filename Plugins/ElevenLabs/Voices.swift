import Foundation
import ProviderSupport
import VoxPluginKit

/// The account's voices: GET /v1/voices (elevenlabs.md "Voices"), mapped
/// to voxd voices, and voice names resolved to ids for synthesis. The list
/// is kept for a minute so naming a voice costs at most one request a minute.
final class VoiceDirectory: @unchecked Sendable {
    let client: ProviderClient
    private let lock = NSLock()
    private var cached: (voices: [Voice], at: Date)?
    static let ttl: TimeInterval = 60

    init(client: ProviderClient) { self.client = client }

    /// GET /v1/voices → `{"voices": [Voice]}`: every voice of the account,
    /// no paging (the v1 route; show_legacy keeps its default, false).
    func list() async throws -> [Voice] {
        let answer = try await client.json("GET", "/v1/voices")
        guard let items = answer["voices"]?.arrayValue else {
            throw VoxPluginError(.unavailable, "elevenlabs sent a voice list without \"voices\": \(ProviderErrors.snippet(VoxJSON.string(answer)))", retriable: true)
        }
        let voices = items.compactMap(Self.voice)
        lock.withLock { cached = (voices, Date()) }
        return voices
    }

    func forget() { lock.withLock { cached = nil } }

    /// A voice id as it is; a name (any case) as the id of the one voice
    /// called that. Ids are 20 letters and digits ("21m00Tcm4TlvDq8ikWAM").
    func resolve(_ voice: String) async throws -> String {
        if Self.looksLikeID(voice) { return voice }
        let fresh = lock.withLock { cached.flatMap { Date().timeIntervalSince($0.at) < Self.ttl ? $0.voices : nil } }
        var voices = fresh ?? []
        var matches = voices.filter { $0.name?.caseInsensitiveCompare(voice) == .orderedSame }
        if matches.isEmpty {
            voices = try await list()
            matches = voices.filter { $0.name?.caseInsensitiveCompare(voice) == .orderedSame }
        }
        switch matches.count {
        case 1: return matches[0].id
        case 0:
            let names = voices.compactMap(\.name).sorted()
            throw VoxPluginError.notFound("elevenlabs has no voice \"\(voice)\" (neither an id nor a name in this account); its voices: "
                + names.prefix(30).joined(separator: ", ") + (names.count > 30 ? ", …" : ""))
        default:
            throw VoxPluginError.invalidRequest("voice: \"\(voice)\" names \(matches.count) voices (\(matches.map(\.id).joined(separator: ", "))); give the id")
        }
    }

    static func looksLikeID(_ s: String) -> Bool {
        s.utf8.count == 20 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
    }

    /// A voice id as one path segment.
    static func pathSegment(_ id: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return id.addingPercentEncoding(withAllowedCharacters: allowed) ?? id
    }

    /// One Voice object. Every category but `premade` is the user's own
    /// (cloned, professional, generated…: elevenlabs.md "Voices"); labels
    /// give gender, age, accent and sometimes language; verified_languages
    /// name the languages the voice was checked in.
    static func voice(_ v: JSONValue) -> Voice? {
        guard let id = v["voice_id"]?.stringValue, !id.isEmpty else { return nil }
        let labels = (v["labels"]?.objectValue ?? [:]).compactMapValues { $0.stringValue?.isEmpty == false ? $0.stringValue : nil }
        var languages: [String] = []
        for l in v["verified_languages"]?.arrayValue ?? [] {
            if let tag = (l["locale"]?.stringValue ?? l["language"]?.stringValue).flatMap(bcp47), !languages.contains(tag) { languages.append(tag) }
        }
        if let tag = labels["language"].flatMap(bcp47), !languages.contains(where: { $0 == tag || $0.hasPrefix(tag + "-") }) { languages.append(tag) }
        let description = v["description"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? labels["description"] ?? labels["descriptive"]
        return Voice(id: id, name: v["name"]?.stringValue, languages: languages.isEmpty ? nil : languages,
                     gender: labels["gender"].map(gender), age: labels["age"].map(age), accent: labels["accent"],
                     description: description, custom: v["category"]?.stringValue != "premade",
                     previewUrl: v["preview_url"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// SCHEMAS.md: "female" | "male" | "neutral".
    static func gender(_ s: String) -> String {
        switch s.lowercased() {
        case "female", "woman": return "female"
        case "male", "man": return "male"
        case "neutral", "non-binary", "non_binary", "nonbinary", "androgynous": return "neutral"
        default: return s.lowercased()
        }
    }

    /// SCHEMAS.md: "young" | "middle_aged" | "old".
    static func age(_ s: String) -> String {
        switch s.lowercased() {
        case "middle aged", "middle-aged", "middle_aged": return "middle_aged"
        default: return s.lowercased()
        }
    }

    /// "en_US" / "en-us" / "EN" as BCP 47 ("en-US", "en"); nil when it is no tag.
    static func bcp47(_ s: String) -> String? {
        let parts = s.split(whereSeparator: { $0 == "-" || $0 == "_" }).map(String.init)
        guard let lang = parts.first?.lowercased(), (2...3).contains(lang.count), lang.allSatisfy({ $0 >= "a" && $0 <= "z" }) else { return nil }
        guard parts.count > 1 else { return lang }
        let region = parts[1]
        return region.count == 2 ? "\(lang)-\(region.uppercased())" : "\(lang)-\(region)"
    }
}

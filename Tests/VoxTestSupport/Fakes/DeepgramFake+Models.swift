import Foundation
import Hummingbird

/// GET /v1/models (deepgram.md "Models"; openapi.yml `ListModelsV1Response`).
extension DeepgramFake {
    public struct FakeVoice: Sendable {
        public var canonical: String
        public var name: String
        public var architecture: String
        public var languages: [String]
        public var tags: [String]
        public var accent: String
        public var age: String
    }

    /// The TTS models (= voices) the fake's account lists: a few of the
    /// spec's, the same short name in Aura-1 and Aura-2 (asteria), and
    /// `extraVoices`.
    public static let listedVoices: [FakeVoice] = [
        FakeVoice(canonical: "aura-2-thalia-en", name: "thalia", architecture: "aura-2", languages: ["en", "en-US"], tags: ["feminine"], accent: "American", age: "Adult"),
        FakeVoice(canonical: "aura-2-andromeda-en", name: "andromeda", architecture: "aura-2", languages: ["en", "en-US"], tags: ["feminine"], accent: "American", age: "Adult"),
        FakeVoice(canonical: "aura-2-apollo-en", name: "apollo", architecture: "aura-2", languages: ["en", "en-US"], tags: ["masculine"], accent: "American", age: "Young Adult"),
        FakeVoice(canonical: "aura-2-asteria-en", name: "asteria", architecture: "aura-2", languages: ["en", "en-US"], tags: ["feminine"], accent: "American", age: "Adult"),
        FakeVoice(canonical: "aura-asteria-en", name: "asteria", architecture: "aura", languages: ["en", "en-US"], tags: ["feminine"], accent: "American", age: "Young Adult"),
        FakeVoice(canonical: "aura-orion-en", name: "orion", architecture: "aura", languages: ["en", "en-US"], tags: ["masculine"], accent: "American", age: "Adult"),
        FakeVoice(canonical: "aura-2-celeste-es", name: "celeste", architecture: "aura-2", languages: ["es", "es-CO"], tags: ["feminine"], accent: "Colombian", age: "Young Adult"),
        FakeVoice(canonical: "aura-2-fabian-de", name: "fabian", architecture: "aura-2", languages: ["de"], tags: ["masculine"], accent: "German", age: "Mature"),
    ] + extraVoices

    /// Voices newer than the spec's model enum (the fake's /v1/speak takes them).
    public static let extraVoices: [FakeVoice] = [
        FakeVoice(canonical: "aura-2-zephyr-en", name: "zephyr", architecture: "aura-2", languages: ["en", "en-GB"], tags: ["masculine"], accent: "British", age: "Adult"),
    ]

    /// The STT models listed: (canonical name, batch, streaming).
    public static let listedSTT: [(String, Bool, Bool)] = [
        ("nova-3", true, true), ("nova-3-medical", true, true), ("nova-2", true, true), ("nova-2-meeting", true, true),
        ("enhanced", true, true), ("flux-general-en", false, true),
    ]

    func models(_ r: RecordedRequest) -> Response {
        if !r.body.isEmpty { core.violation("\(r.path): GET with a body (\(r.body.count) bytes)") }
        _ = checkQuery(r, booleans: ["include_outdated"], others: [], lists: [])
        let id = nextRequestID()
        if case .malformedJSON = core.behaviour(r.path) {
            return .fake(200, contentType: "application/json", Array("{\"stt\":[{\"name\":\"nova-3\",".utf8), headers: [("dg-request-id", id)])
        }
        let stt = Self.listedSTT.enumerated().map { i, m in
            FakeJSON.object([("name", .string(m.0)), ("canonical_name", .string(m.0)), ("architecture", .string(m.0.hasPrefix("nova-3") ? "nova-3" : "base")),
                             ("languages", .array(["en", "en-US", "es"].map { .string($0) })), ("version", .string("2024-12-20.0")),
                             ("uuid", .string(String(format: "00000000-0000-4000-8000-%012d", i))), ("batch", .bool(m.1)), ("streaming", .bool(m.2)),
                             ("formatted_output", .bool(true))])
        }
        let tts = Self.listedVoices.enumerated().map { i, v in
            FakeJSON.object([("name", .string(v.name)), ("canonical_name", .string(v.canonical)), ("architecture", .string(v.architecture)),
                             ("languages", .array(v.languages.map { .string($0) })), ("version", .string("2025-04-07.0")),
                             ("uuid", .string(String(format: "11111111-0000-4000-8000-%012d", i))),
                             ("metadata", .object([("accent", .string(v.accent)), ("age", .string(v.age)), ("color", .string("#C58DFF")),
                                                   ("image", .string("https://static.deepgram.com/examples/avatars/\(v.name).jpg")),
                                                   ("sample", .string("https://static.deepgram.com/examples/voices/\(v.canonical).wav")),
                                                   ("tags", .array(v.tags.map { .string($0) })), ("use_cases", .array([.string("IVR"), .string("Customer service")]))]))])
        }
        let body = FakeJSON.object([("stt", .array(stt)), ("tts", .array(tts))])
        return .fake(200, contentType: "application/json", body.bytes, headers: [("dg-request-id", id)])
    }
}

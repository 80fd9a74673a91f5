import Foundation
import VoxTestSupport
import XCTest

/// The real voxd with the real libvox_groq.so and libvox_sarvam.so pointed
/// at their loopback fakes, driven with curl over the unix socket.
final class GroqSarvamThroughVoxdTests: XCTestCase {
    var groq: GroqFake!
    var sarvam: SarvamFake!
    var d: Daemon!

    static func plugins(groq: String, sarvam: String, sarvamKeyVar: String = "VOXD_TEST_SARVAM_KEY") -> [String: String] {
        ["groq": Daemon.remotePlugin("groq", settings: "base_url = \"\(groq)\"", keyVar: "VOXD_TEST_GROQ_KEY"),
         "sarvam": Daemon.remotePlugin("sarvam", settings: "base_url = \"\(sarvam)\"", keyVar: sarvamKeyVar)]
    }

    override func setUp() async throws {
        groq = try await GroqFake.start()
        sarvam = try await SarvamFake.start()
        d = Daemon(plugins: Self.plugins(groq: groq.baseURL, sarvam: sarvam.baseURL),
                   environment: ["VOXD_TEST_GROQ_KEY": GroqFake.defaultAPIKey, "VOXD_TEST_SARVAM_KEY": SarvamFake.defaultAPIKey])
        try d.start()
    }

    override func tearDown() async throws {
        d.stop()
        XCTAssertEqual(groq.violations, [], "every request voxd's groq plugin sent matched Groq's documented shape")
        XCTAssertEqual(sarvam.violations, [], "every request voxd's sarvam plugin sent matched Sarvam's documented shape")
        await groq.stop()
        await sarvam.stop()
    }

    func testGroqChatStreamEndsInDoneWithUsage() throws {
        let r = try d.post("/v1/chat/completions", #"{"model":"groq/llama-3.3-70b-versatile","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.headers["content-type"], "text/event-stream")
        let frames = r.text.components(separatedBy: "\n\n").compactMap { $0.hasPrefix("data: ") ? String($0.dropFirst(6)) : nil }
        XCTAssertEqual(frames.last, "[DONE]")
        var text = ""
        var usage: [String: Any]?
        for f in frames.dropLast() {
            let chunk = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(f.utf8)) as? [String: Any])
            XCTAssertEqual(chunk["model"] as? String, "groq/llama-3.3-70b-versatile")
            if let u = chunk["usage"] as? [String: Any] { usage = u }
            for c in chunk["choices"] as? [[String: Any]] ?? [] { text += ((c["delta"] as? [String: Any])?["content"] as? String) ?? "" }
        }
        XCTAssertEqual(text, groq.chatReply)
        XCTAssertEqual(usage?["prompt_tokens"] as? Int, 8)
        XCTAssertEqual(usage?["completion_tokens"] as? Int, OpenAIFake.fragments(of: groq.chatReply).count)
        let sent = try XCTUnwrap(groq.requests(to: "/chat/completions").last?.json)
        XCTAssertEqual(sent["model"]?.string, "llama-3.3-70b-versatile")
        XCTAssertEqual(sent["stream"]?.bool, true)
    }

    func testSpeechFromSarvamAndGroq() throws {
        let s = try d.post("/v1/audio/speech", #"{"model":"sarvam/bulbul:v3","input":"नमस्ते दुनिया","language":"hi-IN"}"#)
        XCTAssertEqual(s.status, 200, s.text)
        XCTAssertEqual(s.headers["x-vox-provider"], "sarvam")
        XCTAssertEqual(s.headers["x-vox-voice"], "shubh")
        XCTAssertEqual(s.headers["x-vox-sample-rate"], "22050")
        XCTAssertEqual(Array(s.body.prefix(4)), Array("RIFF".utf8))
        XCTAssertEqual(Array(s.body.dropFirst(44)), SarvamFake.expectedPCM(text: "नमस्ते दुनिया"), "Sarvam's samples, re-wrapped by voxd")
        XCTAssertEqual(sarvam.requests(to: "/text-to-speech").last?.json?["language_code"]?.string, "hi-IN")

        let g = try d.post("/v1/audio/speech", #"{"model":"groq/canopylabs/orpheus-v1-english","input":"Hello there","voice":"troy"}"#)
        XCTAssertEqual(g.status, 200, g.text)
        XCTAssertEqual(g.headers["x-vox-provider"], "groq")
        XCTAssertEqual(g.headers["x-vox-sample-rate"], "48000")
        XCTAssertEqual(Array(g.body.dropFirst(44)), GroqFake.expectedPCM(input: "Hello there"))
        let mp3 = try d.post("/v1/audio/speech", #"{"model":"groq","input":"Hello there","voice":"diana","response_format":"mp3"}"#)
        XCTAssertEqual(mp3.headers["content-type"], "audio/mpeg", mp3.text)
        XCTAssertEqual(Array(mp3.body), GroqFake.expectedAudio(format: "mp3", input: "Hello there"))

        let badVoice = try d.post("/v1/audio/speech", #"{"model":"groq/canopylabs/orpheus-arabic-saudi","input":"hi","voice":"troy"}"#)
        XCTAssertEqual(badVoice.status, 404)
        XCTAssertEqual(badVoice.error?["provider"] as? String, "groq")
        XCTAssertTrue((badVoice.error?["message"] as? String ?? "").contains("abdullah"), badVoice.text)
        let refused = try d.post("/v1/audio/speech", #"{"model":"sarvam/bulbul:v3","input":"hi","options":{"pitch":0.3}}"#)
        XCTAssertEqual(refused.status, 400)
        XCTAssertEqual(refused.error?["provider"] as? String, "sarvam")
    }

    func testTranscriptionsFromSarvamAndGroq() throws {
        let file = wavFile(seconds: 1.5)
        let (s1, sarvamJSON) = try d.upload(["model=sarvam/saaras:v3", "language=hi"], file: file)
        XCTAssertEqual(s1, 200, sarvamJSON)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(sarvamJSON.utf8)) as? [String: Any])?["text"] as? String, sarvam.transcriptText)
        let form = try XCTUnwrap(sarvam.requests(to: "/speech-to-text").last)
        XCTAssertTrue(form.bodyText.contains("name=\"language_code\"\r\n\r\nhi-IN\r\n"), form.bodyText.prefix(300).description)

        let (s2, verbose) = try d.upload(["model=groq/whisper-large-v3-turbo", "response_format=verbose_json", "timestamp_granularities[]=word"], file: file)
        XCTAssertEqual(s2, 200, verbose)
        let v = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(verbose.utf8)) as? [String: Any])
        XCTAssertEqual(v["text"] as? String, groq.transcriptText)
        XCTAssertEqual(v["language"] as? String, "en")
        XCTAssertEqual(v["duration"] as? Double ?? 0, 1.5, accuracy: 0.001)
        XCTAssertEqual((v["segments"] as? [Any])?.count, 2)
        XCTAssertNotNil(v["words"] as? [Any])
        // voxd renders srt itself from Groq's segments (Groq has no srt).
        let (s3, srt) = try d.upload(["model=groq/whisper-large-v3-turbo", "response_format=srt"], file: file)
        XCTAssertEqual(s3, 200, srt)
        XCTAssertTrue(srt.hasPrefix("1\n00:00:00,000 --> 00:00:00,750\nHello there."), srt)

        let (s4, long) = try d.upload(["model=sarvam/saaras:v3"], file: wavFile(seconds: 31, rate: 8000))
        XCTAssertEqual(s4, 400, long)
        XCTAssertTrue(long.contains("at most 30 s"), long)
    }

    func testSarvamBadKeyNamesTheProviderAndTheSecretNotTheKey() async throws {
        let wrong = "sk_wrongkey_9876543210zyxw"
        let bad = Daemon(plugins: Self.plugins(groq: groq.baseURL, sarvam: sarvam.baseURL, sarvamKeyVar: "VOXD_TEST_SARVAM_BADKEY"),
                         environment: ["VOXD_TEST_GROQ_KEY": GroqFake.defaultAPIKey, "VOXD_TEST_SARVAM_BADKEY": wrong])
        try bad.start()
        defer { bad.stop() }
        let r = try bad.post("/v1/audio/speech", #"{"model":"sarvam/bulbul:v3","input":"नमस्ते"}"#)
        XCTAssertEqual(r.status, 401, r.text)
        XCTAssertEqual(r.error?["code"] as? String, "unauthenticated")
        XCTAssertEqual(r.error?["provider"] as? String, "sarvam")
        XCTAssertEqual(r.error?["retriable"] as? Bool, false)
        let message = r.error?["message"] as? String ?? ""
        XCTAssertTrue(message.contains("[secrets] api_key in plugins.d/sarvam.toml"), message)
        XCTAssertFalse(r.text.contains(wrong) || r.text.contains("9876543210"), "the key never appears: \(r.text)")
        XCTAssertEqual(sarvam.requests(to: "/text-to-speech").last?.header("api-subscription-key"), wrong, "the request did reach Sarvam")
    }
}


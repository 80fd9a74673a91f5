import Foundation
import VoxTestSupport
import XCTest

/// The real voxd with the real libvox_elevenlabs.so pointed at the loopback
/// ElevenLabs fake, driven with curl over the unix socket.
final class ElevenLabsThroughVoxdTests: XCTestCase {
    var fake: ElevenLabsFake!
    var d: Daemon!
    static let rachel = "21m00Tcm4TlvDq8ikWAM"

    override func setUp() async throws {
        fake = try await ElevenLabsFake.start()
        d = Daemon(plugins: [
            "elevenlabs": Daemon.remotePlugin("elevenlabs", settings: "base_url = \"\(fake.baseURL)\"", keyVar: "VOXD_TEST_ELEVENLABS_KEY"),
        ], config: "[limits]\nmax_upload_bytes = 200000\n", environment: ["VOXD_TEST_ELEVENLABS_KEY": ElevenLabsFake.defaultAPIKey])
        try d.start()
    }

    override func tearDown() async throws {
        d.stop()
        XCTAssertEqual(fake.violations, [], "every request voxd's plugin sent matched ElevenLabs' documented shape")
        await fake.stop()
    }

    func post(_ path: String, _ json: String) throws -> Daemon.Reply { try d.post(path, json) }

    func testSpeechAsWavPCMAndMP3() throws {
        let text = "Hello there"
        let wav = try post("/v1/audio/speech", #"{"model":"elevenlabs/eleven_multilingual_v2","input":"Hello there","voice":"\#(Self.rachel)"}"#)
        XCTAssertEqual(wav.status, 200, wav.text)
        XCTAssertEqual(wav.headers["content-type"], "audio/wav")
        XCTAssertEqual(wav.headers["x-vox-provider"], "elevenlabs")
        XCTAssertEqual(wav.headers["x-vox-model"], "eleven_multilingual_v2")
        XCTAssertEqual(wav.headers["x-vox-voice"], Self.rachel)
        XCTAssertEqual(wav.headers["x-vox-sample-rate"], "24000", "voxd asks for pcm; the plugin's default rate")
        XCTAssertEqual(Array(wav.body.prefix(4)), Array("RIFF".utf8))
        XCTAssertEqual(Array(wav.body.dropFirst(44)), ElevenLabsFake.expectedAudio(outputFormat: "pcm_24000", input: text))
        XCTAssertEqual(fake.requests(to: ElevenLabsFake.speechRoute).last?.query, "output_format=pcm_24000")

        let pcm = try post("/v1/audio/speech", #"{"model":"elevenlabs/eleven_multilingual_v2","input":"Hello there","voice":"\#(Self.rachel)","response_format":"pcm"}"#)
        XCTAssertEqual(pcm.status, 200, pcm.text)
        XCTAssertEqual(pcm.headers["content-type"], "audio/pcm")
        XCTAssertEqual(Array(pcm.body), ElevenLabsFake.expectedAudio(outputFormat: "pcm_24000", input: text))

        let mp3 = try post("/v1/audio/speech", #"{"model":"elevenlabs","input":"Hello there","voice":"Adam","response_format":"mp3","speed":1.1}"#)
        XCTAssertEqual(mp3.status, 200, mp3.text)
        XCTAssertEqual(mp3.headers["content-type"], "audio/mpeg")
        XCTAssertEqual(mp3.headers["x-vox-voice"], "pNInz6obpgDQGcFmaJgB", "the name became the id")
        XCTAssertEqual(Array(mp3.body), ElevenLabsFake.expectedAudio(outputFormat: "mp3_44100_128", input: text))
        let sent = try XCTUnwrap(fake.requests(to: ElevenLabsFake.speechRoute).last?.json)
        XCTAssertEqual(sent["voice_settings"]?["speed"]?.number, 1.1)

        let badVoice = try post("/v1/audio/speech", #"{"model":"elevenlabs","input":"hi","voice":"Gandalf"}"#)
        XCTAssertEqual(badVoice.status, 404, badVoice.text)
        XCTAssertEqual(badVoice.error?["provider"] as? String, "elevenlabs")
        XCTAssertTrue((badVoice.error?["message"] as? String ?? "").contains("Gandalf"), badVoice.text)
        let fast = try post("/v1/audio/speech", #"{"model":"elevenlabs","input":"hi","voice":"Adam","speed":2.5}"#)
        XCTAssertEqual(fast.status, 400, fast.text)
        XCTAssertTrue(fast.text.contains("0.7…1.2"), fast.text)
    }

    func testVoicesShowCustomFlagsAndPreviews() throws {
        let r = try d.curl("/v1/voices?provider=elevenlabs")
        XCTAssertEqual(r.status, 200, r.text)
        let voices = try XCTUnwrap(r.json["voices"] as? [[String: Any]])
        XCTAssertEqual(voices.count, ElevenLabsFake.accountVoices.count)
        XCTAssertTrue(voices.allSatisfy { $0["provider"] as? String == "elevenlabs" })
        func find(_ id: String) -> [String: Any]? { voices.first { $0["id"] as? String == id } }
        let rachel = try XCTUnwrap(find(Self.rachel))
        XCTAssertEqual(rachel["custom"] as? Bool, false)
        XCTAssertEqual(rachel["preview_url"] as? String, ElevenLabsFake.accountVoices[0].previewURL)
        XCTAssertEqual(rachel["gender"] as? String, "female")
        let pvc = try XCTUnwrap(find("PVCnarrator000000001"))
        XCTAssertEqual(pvc["custom"] as? Bool, true)
        XCTAssertNotNil(pvc["preview_url"] as? String)
        XCTAssertEqual(find("GENforestsprite00001")?["custom"] as? Bool, true)

        let male = try d.curl("/v1/voices?provider=elevenlabs&gender=male")
        XCTAssertEqual(Set((male.json["voices"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }), ["pNInz6obpgDQGcFmaJgB", "PVCnarrator000000001"])

        let models = try d.curl("/v1/models")
        let ids = (models.json["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        XCTAssertTrue(ids.contains("elevenlabs/eleven_flash_v2_5") && ids.contains("elevenlabs/scribe_v1"), "\(ids)")
        XCTAssertFalse(ids.contains("elevenlabs/eleven_multilingual_sts_v2"), "\(ids)")
    }

    func testTranscriptionThroughScribe() throws {
        func upload(_ extra: [String]) throws -> (Int32, String) {
            try d.upload(["model=elevenlabs/scribe_v1"] + extra, file: wavFile(seconds: 1))
        }
        let (s1, json) = try upload([])
        XCTAssertEqual(s1, 200, json)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["text"] as? String, fake.transcriptText)
        let (s2, verbose) = try upload(["response_format=verbose_json", "language=en"])
        XCTAssertEqual(s2, 200, verbose)
        let v = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(verbose.utf8)) as? [String: Any])
        XCTAssertEqual(v["language"] as? String, "en")
        XCTAssertEqual(v["duration"] as? Double ?? 0, 1, accuracy: 0.001)
        XCTAssertEqual((v["words"] as? [[String: Any]])?.first?["word"] as? String, "Hello")
        XCTAssertEqual((v["segments"] as? [[String: Any]])?.count, 2)
        let (_, srt) = try upload(["response_format=srt"])
        XCTAssertTrue(srt.hasPrefix("1\n00:00:00,000 --> "), srt)
        let sent = try XCTUnwrap(fake.requests(to: ElevenLabsFake.transcriptionRoute).last)
        let form = FakeMultipart(body: sent.bytes, boundary: try XCTUnwrap(FakeMultipart.boundary(ofContentType: sent.header("content-type"))))
        XCTAssertEqual(form.first("model_id")?.text, "scribe_v1")
        XCTAssertEqual(form.first("file")?.filename, "audio.wav")
    }

    func testProviderErrorsKeepTheOneShapeAndHideTheKey() throws {
        let speak = #"{"model":"elevenlabs/eleven_multilingual_v2","input":"hi","voice":"\#(Self.rachel)"}"#
        fake.script(ElevenLabsFake.speechRoute, .status(401, retryAfter: nil))
        let denied = try post("/v1/audio/speech", speak)
        XCTAssertEqual(denied.status, 401, denied.text)
        XCTAssertEqual(denied.error?["code"] as? String, "unauthenticated")
        XCTAssertEqual(denied.error?["provider"] as? String, "elevenlabs")
        XCTAssertTrue((denied.error?["message"] as? String ?? "").contains("[secrets] api_key in plugins.d/elevenlabs.toml"), denied.text)
        XCTAssertFalse(denied.text.contains(ElevenLabsFake.defaultAPIKey), "the key never appears")
        XCTAssertFalse(d.log.contains(ElevenLabsFake.defaultAPIKey), "not in the log either")

        fake.script(ElevenLabsFake.speechRoute, .quotaExceeded)
        let quota = try post("/v1/audio/speech", speak)
        XCTAssertEqual(quota.status, 403, quota.text)
        XCTAssertEqual(quota.error?["code"] as? String, "forbidden")
        XCTAssertTrue((quota.error?["message"] as? String ?? "").contains("quota ran out"), quota.text)

        fake.script(ElevenLabsFake.speechRoute, .status(429, retryAfter: 4))
        let limited = try post("/v1/audio/speech", speak)
        XCTAssertEqual(limited.status, 429, limited.text)
        XCTAssertEqual(limited.headers["retry-after"], "4")
        XCTAssertEqual(limited.error?["retriable"] as? Bool, true)

        fake.script(ElevenLabsFake.speechRoute, .emptyAudio)
        let empty = try post("/v1/audio/speech", speak)
        XCTAssertEqual(empty.status, 503, "zero audio is a failure, not a success: \(empty.text)")
        XCTAssertEqual(empty.error?["provider"] as? String, "elevenlabs")
    }

    func testAClientThatLeavesCancelsTheUpstreamRequest() throws {
        fake.script(ElevenLabsFake.speechRoute, .slowStream(chunks: 100, intervalMs: 50))
        _ = try runProcess("/usr/bin/curl", ["-s", "--unix-socket", d.socket, "--max-time", "0.6", "-o", "/dev/null",
                                             "-H", "Content-Type: application/json",
                                             "-d", #"{"model":"elevenlabs","input":"a long story","voice":"\#(Self.rachel)"}"#,
                                             "http://voxd/v1/audio/speech"])
        let deadline = Date().addingTimeInterval(5)
        while fake.cancelledStreams == 0, Date() < deadline { usleep(50_000) }
        XCTAssertEqual(fake.cancelledStreams, 1, "the upstream stream was closed when the client left; voxd log: \(d.log)")
    }
}

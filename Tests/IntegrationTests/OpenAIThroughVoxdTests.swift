import Foundation
import VoxTestSupport
import XCTest

/// The real voxd with the real libvox_openai.so pointed at the loopback OpenAI
/// fake, driven with curl and with the unchanged OpenAI Python SDK.
final class OpenAIThroughVoxdTests: XCTestCase {
    var fake: OpenAIFake!
    var d: Daemon!

    override func setUp() async throws {
        fake = try await OpenAIFake.start()
        d = Daemon(plugins: [
            "localtts": "library = \"libvox_localtts.so\"",
            "openai": Daemon.remotePlugin("openai", settings: "base_url = \"\(fake.baseURL)\"", keyVar: "VOXD_TEST_OPENAI_KEY"),
        ], config: "[limits]\nmax_upload_bytes = 200000\n", environment: ["VOXD_TEST_OPENAI_KEY": OpenAIFake.defaultAPIKey])
        try d.start()
    }

    override func tearDown() async throws {
        d.stop()
        XCTAssertEqual(fake.violations, [], "every request voxd's plugin sent matched OpenAI's documented shape")
        await fake.stop()
    }

    func post(_ path: String, _ json: String) throws -> Daemon.Reply { try d.post(path, json) }

    func sseData(_ body: Data) -> [String] {
        String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n").compactMap { frame in
            frame.hasPrefix("data: ") ? String(frame.dropFirst(6)) : nil
        }
    }

    func testChatWholeAndStreamed() throws {
        let whole = try post("/v1/chat/completions", #"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#)
        XCTAssertEqual(whole.status, 200, whole.text)
        let choice = (whole.json["choices"] as! [[String: Any]])[0]
        XCTAssertEqual((choice["message"] as! [String: Any])["content"] as? String, fake.chatReply)
        XCTAssertEqual(choice["finish_reason"] as? String, "stop")
        XCTAssertEqual(whole.json["object"] as? String, "chat.completion")
        XCTAssertGreaterThan((whole.json["usage"] as! [String: Any])["total_tokens"] as! Int, 0)
        XCTAssertEqual(whole.headers["x-vox-provider"], "openai")
        let metrics = try d.curl("/v1/plugins/openai").json["metrics"] as? [String: Any]
        XCTAssertGreaterThanOrEqual(metrics?["http_requests_total"] as? Int ?? 0, 1, "the host counts the plugin's HTTP exchanges: \(String(describing: metrics))")

        let streamed = try post("/v1/chat/completions", #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#)
        XCTAssertEqual(streamed.headers["content-type"], "text/event-stream")
        let frames = sseData(streamed.body)
        XCTAssertEqual(frames.last, "[DONE]")
        var text = ""
        var usage: [String: Any]?
        for f in frames.dropLast() {
            let chunk = try JSONSerialization.jsonObject(with: Data(f.utf8)) as! [String: Any]
            XCTAssertEqual(chunk["object"] as? String, "chat.completion.chunk")
            if let u = chunk["usage"] as? [String: Any] { usage = u }
            for c in chunk["choices"] as! [[String: Any]] { text += ((c["delta"] as? [String: Any])?["content"] as? String) ?? "" }
        }
        XCTAssertEqual(text, fake.chatReply)
        XCTAssertNotNil(usage)
        // Upstream, the plugin always streamed and asked for usage.
        let sent = fake.requests(to: "/v1/chat/completions").last!
        let body = try JSONSerialization.jsonObject(with: sent.body) as! [String: Any]
        XCTAssertEqual(body["stream"] as? Bool, true)
        XCTAssertEqual(body["model"] as? String, "gpt-4o-mini")
    }

    func testToolCallsAreReassembled() throws {
        fake.script("/v1/chat/completions", .toolCall(name: "get_time", arguments: #"{"tz":"UTC","precise":true}"#))
        let r = try post("/v1/chat/completions", #"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"time?"}],"tools":[{"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}}]}"#)
        let choice = (r.json["choices"] as! [[String: Any]])[0]
        XCTAssertEqual(choice["finish_reason"] as? String, "tool_calls")
        let call = ((choice["message"] as! [String: Any])["tool_calls"] as! [[String: Any]])[0]
        let function = call["function"] as! [String: Any]
        XCTAssertEqual(function["name"] as? String, "get_time")
        XCTAssertEqual(function["arguments"] as? String, #"{"tz":"UTC","precise":true}"#)
        XCTAssertNotNil(call["id"] as? String)
    }

    func testSpeechThroughOpenAI() throws {
        let wav = try post("/v1/audio/speech", #"{"model":"openai/gpt-4o-mini-tts","input":"Hello there","voice":"alloy"}"#)
        XCTAssertEqual(wav.status, 200, wav.text)
        XCTAssertEqual(wav.headers["x-vox-sample-rate"], "24000")
        XCTAssertEqual(Array(wav.body.prefix(4)), Array("RIFF".utf8))
        XCTAssertGreaterThan(wav.body.count, 1000)
        let mp3 = try post("/v1/audio/speech", #"{"model":"openai","input":"Hello there","voice":"alloy","response_format":"mp3"}"#)
        XCTAssertEqual(mp3.headers["content-type"], "audio/mpeg", mp3.text)
        let badVoice = try post("/v1/audio/speech", #"{"model":"openai","input":"hi","voice":"gandalf"}"#)
        XCTAssertEqual(badVoice.status, 404)
        XCTAssertEqual(badVoice.error?["provider"] as? String, "openai")
    }

    func testTranscriptionFormatsAndBadUploads() throws {
        let file = wavFile()
        func upload(_ extra: [String], file path: String? = nil) throws -> (Int32, String) {
            try d.upload(["model=openai/whisper-1"] + extra, file: path ?? file)
        }
        let (s1, json) = try upload([])
        XCTAssertEqual(s1, 200, json)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any])["text"] as? String, fake.transcriptText)
        let (_, text) = try upload(["response_format=text"])
        XCTAssertEqual(text, fake.transcriptText)
        let (_, srt) = try upload(["response_format=srt"])
        XCTAssertTrue(srt.hasPrefix("1\n00:00:00,000 --> "), srt)
        let (_, vtt) = try upload(["response_format=vtt"])
        XCTAssertTrue(vtt.hasPrefix("WEBVTT\n\n00:00:00.000 --> "), vtt)
        let (_, verbose) = try upload(["response_format=verbose_json"])
        let v = try JSONSerialization.jsonObject(with: Data(verbose.utf8)) as! [String: Any]
        XCTAssertNotNil(v["segments"] as? [Any])
        XCTAssertNotNil(v["duration"] as? Double)

        let notAudio = TestPaths.tempDir() + "/notes.wav"
        _ = FileManager.default.createFile(atPath: notAudio, contents: Data("these are my notes, not audio".utf8))
        let (s2, e2) = try upload([], file: notAudio)
        XCTAssertEqual(s2, 400)
        XCTAssertTrue(e2.contains("does not look like audio"), e2)
        let (s3, e3) = try upload([], file: wavFile(seconds: 10))
        XCTAssertEqual(s3, 413, e3)
        XCTAssertTrue(e3.contains("limits.max_upload_bytes"), e3)
        let (s4, e4) = try upload(["colour=blue"])
        XCTAssertEqual(s4, 400)
        XCTAssertTrue(e4.contains("unknown form field \\\"colour\\\""), e4)
    }

    func testProviderErrorsKeepTheOneShape() throws {
        fake.script("/v1/chat/completions", .status(429, retryAfter: 7))
        let limited = try post("/v1/chat/completions", #"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#)
        XCTAssertEqual(limited.status, 429, limited.text)
        XCTAssertEqual(limited.headers["retry-after"], "7")
        XCTAssertEqual(limited.error?["code"] as? String, "rate_limited")
        XCTAssertEqual(limited.error?["retriable"] as? Bool, true)
        XCTAssertEqual(limited.error?["provider"] as? String, "openai")

        fake.script("/v1/chat/completions", .status(401, retryAfter: nil))
        let denied = try post("/v1/chat/completions", #"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#)
        XCTAssertEqual(denied.status, 401)
        XCTAssertFalse(denied.text.contains(OpenAIFake.defaultAPIKey), "the key never appears")
        XCTAssertTrue(denied.text.contains("api_key"), denied.text)

        fake.script("/v1/chat/completions", .status(503, retryAfter: nil))
        XCTAssertEqual(try post("/v1/chat/completions", #"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#).status, 503)

        fake.script("/v1/audio/speech", .emptyAudio)
        let empty = try post("/v1/audio/speech", #"{"model":"openai","input":"hi","voice":"alloy"}"#)
        XCTAssertEqual(empty.status, 503, "zero audio is a failure, not a success")

        fake.script("/v1/chat/completions", .normal)
        XCTAssertEqual(try post("/v1/chat/completions", #"{"messages":[]}"#).status, 400)
        XCTAssertEqual(try post("/v1/chat/completions", #"{"model":"openai/gpt-9","messages":[{"role":"user","content":"hi"}]}"#).status, 404)
    }

    func testAClientThatLeavesCancelsTheUpstreamRequest() throws {
        fake.script("/v1/chat/completions", .slowStream(chunks: 100, intervalMs: 50))
        _ = try runProcess("/usr/bin/curl", ["-s", "--unix-socket", d.socket, "--max-time", "0.6", "-o", "/dev/null",
                                             "-d", #"{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
                                             "http://voxd/v1/chat/completions"])
        let deadline = Date().addingTimeInterval(5)
        while fake.cancelledStreams == 0, Date() < deadline { usleep(50_000) }
        XCTAssertEqual(fake.cancelledStreams, 1, "the upstream stream was closed when the client left; voxd log: \(d.log)")
    }

    func testTheOpenAIPythonSDKWorksUnchanged() throws {
        let script = "\(TestPaths.root)/Tests/IntegrationTests/openai_sdk_check.py"
        let r = try runProcess("/usr/bin/env", ["python3", script, d.socket, wavFile()], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        guard let seen = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            return XCTFail("no JSON from the SDK check: \(r.stdout) \(r.stderr)")
        }
        XCTAssertEqual(seen["chat"] as? String, fake.chatReply)
        XCTAssertEqual(seen["chat_finish"] as? String, "stop")
        XCTAssertEqual(seen["chat_model"] as? String, "openai/gpt-4o-mini")
        XCTAssertEqual(seen["stream"] as? String, fake.chatReply)
        XCTAssertNotNil(seen["stream_usage"] as? Int)
        XCTAssertEqual(seen["speech_riff"] as? String, "RIFF")
        XCTAssertGreaterThan(seen["speech_bytes"] as? Int ?? 0, 1000)
        XCTAssertEqual(seen["transcript"] as? String, fake.transcriptText)
        XCTAssertEqual(seen["srt_first_line"] as? String, "1")
        XCTAssertEqual(seen["not_found"] as? Int, 404)
        XCTAssertFalse((seen["models"] as? [String] ?? []).isEmpty)
    }
}

import Foundation
import VoxTestSupport
import XCTest

/// The real voxd with the real libvox_deepgram.so pointed at the loopback
/// Deepgram fake, driven with curl through the OpenAI-shaped routes.
final class DeepgramThroughVoxdTests: XCTestCase {
    var fake: DeepgramFake!
    var live: DeepgramLiveFake!
    var d: Daemon!

    override func setUp() async throws {
        fake = try await DeepgramFake.start()
        live = try await DeepgramLiveFake.start(apiKey: DeepgramFake.defaultAPIKey)
        d = Daemon(plugins: [
            "deepgram": Daemon.remotePlugin("deepgram", settings: "base_url = \"\(fake.baseURL)\"\nws_base_url = \"\(live.baseURL)\"",
                                            keyVar: "VOXD_TEST_DEEPGRAM_KEY"),
        ], environment: ["VOXD_TEST_DEEPGRAM_KEY": DeepgramFake.defaultAPIKey])
        try d.start()
    }

    override func tearDown() async throws {
        d.stop()
        XCTAssertEqual(fake.violations, [], "every request voxd's plugin sent matched Deepgram's documented shape")
        XCTAssertEqual(live.violations, [], "the live socket traffic matched Deepgram's documented shape")
        await fake.stop()
        await live.stop()
    }

    func post(_ path: String, _ json: String) throws -> Daemon.Reply { try d.post(path, json) }

    func count(_ needle: String, in data: Data) -> Int {
        let n = Array(needle.utf8), b = [UInt8](data)
        guard b.count >= n.count else { return 0 }
        return (0...(b.count - n.count)).filter { b[$0..<($0 + n.count)].elementsEqual(n) }.count
    }

    func testSpeechPCMAndWAV() throws {
        let pcm = try post("/v1/audio/speech", #"{"model":"deepgram/aura-2-thalia-en","input":"Hello there","response_format":"pcm"}"#)
        XCTAssertEqual(pcm.status, 200, pcm.text)
        XCTAssertEqual(pcm.headers["x-vox-provider"], "deepgram")
        XCTAssertEqual(pcm.headers["x-vox-voice"], "aura-2-thalia-en")
        XCTAssertEqual(pcm.headers["x-vox-sample-rate"], "24000")
        XCTAssertEqual([UInt8](pcm.body), DeepgramFake.expectedPCM(input: "Hello there"), "the raw samples, no header")
        let q = DeepgramFake.queryItems(fake.requests(to: "/v1/speak").last!)
        XCTAssertTrue(q.contains { $0 == ("container", "none") } && q.contains { $0 == ("encoding", "linear16") }, "\(q)")

        let wav = try post("/v1/audio/speech", #"{"model":"deepgram/aura-2-thalia-en","input":"Hello there","response_format":"wav"}"#)
        XCTAssertEqual(wav.status, 200, wav.text)
        XCTAssertEqual(wav.headers["content-type"], "audio/wav")
        XCTAssertEqual(Array(wav.body.prefix(4)), Array("RIFF".utf8))
        XCTAssertEqual(count("RIFF", in: wav.body), 1, "exactly one WAV header")
        XCTAssertEqual(count("WAVEfmt ", in: wav.body), 1)
        XCTAssertEqual([UInt8](wav.body.dropFirst(44)), DeepgramFake.expectedPCM(input: "Hello there"))

        let short = try post("/v1/audio/speech", #"{"model":"deepgram","input":"Hi","voice":"apollo","response_format":"mp3"}"#)
        XCTAssertEqual(short.status, 200, short.text)
        XCTAssertEqual(short.headers["content-type"], "audio/mpeg")
        XCTAssertEqual(short.headers["x-vox-voice"], "aura-2-apollo-en", "the short name, resolved")
        XCTAssertEqual([UInt8](short.body), DeepgramFake.expectedAudio(input: "Hi", encoding: "mp3"))

        let badVoice = try post("/v1/audio/speech", #"{"model":"deepgram","input":"hi","voice":"alloy"}"#)
        XCTAssertEqual(badVoice.status, 404, badVoice.text)
        XCTAssertEqual(badVoice.error?["provider"] as? String, "deepgram")
        XCTAssertTrue((badVoice.error?["message"] as? String ?? "").contains("thalia"), badVoice.text)

        fake.script("/v1/speak", .emptyAudio)
        XCTAssertEqual(try post("/v1/audio/speech", #"{"model":"deepgram","input":"hi"}"#).status, 503, "zero audio is a failure, not a success")
    }

    func testTranscriptionJSONAndVerbose() throws {
        let file = wavFile(seconds: 2)
        let wavBytes = try XCTUnwrap(FileManager.default.contents(atPath: file)).map { $0 }
        func upload(_ extra: [String]) throws -> (Int32, String) { try d.upload(["model=deepgram/nova-3"] + extra, file: file) }
        let (s1, json) = try upload([])
        XCTAssertEqual(s1, 200, json)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any])["text"] as? String, fake.transcriptText)
        let sent = try XCTUnwrap(fake.requests(to: "/v1/listen").last)
        XCTAssertEqual(sent.bytes, wavBytes, "the uploaded file, as it came")
        XCTAssertEqual(sent.header("authorization"), "Token \(DeepgramFake.defaultAPIKey)")

        let (s2, verbose) = try upload(["response_format=verbose_json", "language=en"])
        XCTAssertEqual(s2, 200, verbose)
        let v = try JSONSerialization.jsonObject(with: Data(verbose.utf8)) as! [String: Any]
        XCTAssertEqual(v["text"] as? String, fake.transcriptText)
        XCTAssertEqual(v["language"] as? String, "en")
        XCTAssertEqual(v["duration"] as? Double ?? 0, 2, accuracy: 0.001)
        let segments = try XCTUnwrap(v["segments"] as? [[String: Any]])
        XCTAssertEqual(segments.compactMap { $0["text"] as? String }, ["Hello there.", "This is the fake transcript."])
        XCTAssertEqual((v["words"] as? [[String: Any]])?.count, 7)
        let (s3, srt) = try upload(["response_format=srt"])
        XCTAssertEqual(s3, 200)
        XCTAssertTrue(srt.hasPrefix("1\n00:00:00,000 --> "), srt)
    }

    func testFemaleVoicesOfDeepgram() throws {
        let r = try d.curl("/v1/voices?provider=deepgram&gender=female")
        XCTAssertEqual(r.status, 200, r.text)
        let voices = try XCTUnwrap(r.json["voices"] as? [[String: Any]])
        XCTAssertEqual(Set(voices.compactMap { $0["id"] as? String }), ["aura-2-thalia-en", "aura-2-andromeda-en", "aura-2-asteria-en", "aura-asteria-en", "aura-2-celeste-es"])
        XCTAssertTrue(voices.allSatisfy { $0["provider"] as? String == "deepgram" && $0["gender"] as? String == "female" })
        XCTAssertNotNil(voices.first?["preview_url"] as? String)
        XCTAssertNil(r.json["errors"])
    }

    func testUnauthorizedIsJSONNamingTheProviderAndSecret() throws {
        fake.script("/v1/speak", .status(401, retryAfter: nil))
        let denied = try post("/v1/audio/speech", #"{"model":"deepgram/aura-2-thalia-en","input":"hi"}"#)
        XCTAssertEqual(denied.status, 401, denied.text)
        XCTAssertEqual(denied.error?["code"] as? String, "unauthenticated")
        XCTAssertEqual(denied.error?["provider"] as? String, "deepgram")
        XCTAssertTrue(denied.text.contains("[secrets] api_key"), denied.text)
        XCTAssertTrue(denied.text.contains("Invalid credentials"), denied.text)
        XCTAssertFalse(denied.text.contains(DeepgramFake.defaultAPIKey), "the key never appears")
    }

    /// Live transcription as a client does it: a WebSocket on voxd's unix
    /// socket (Python's websockets), 16 kHz pcm in 100 ms messages, then
    /// "finish"; partial and final events, then "done" with the usage.
    func testLiveTranscriptionOverTheSocket() throws {
        let script = """
        import asyncio, json, sys, websockets
        async def main():
            url = "ws://voxd/v1/audio/transcriptions/stream?model=deepgram/nova-3&language=en&sample_rate=16000"
            async with websockets.unix_connect(sys.argv[1], url) as ws:
                for _ in range(15):
                    await ws.send(bytes(3200))
                    await asyncio.sleep(0.02)
                await ws.send(json.dumps({"type": "finish"}))
                events = []
                async for m in ws:
                    events.append(json.loads(m))
                print(json.dumps({"events": events, "code": ws.close_code}))
        asyncio.run(main())
        """
        let out = try runProcess("/usr/bin/env", ["python3", "-c", script, d.socket], timeout: 60)
        XCTAssertEqual(out.status, 0, out.stderr)
        let v = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [String: Any]
        let events = v["events"] as! [[String: Any]]
        let finals = events.filter { $0["type"] as? String == "final" }.compactMap { $0["text"] as? String }
        XCTAssertEqual(finals, ["hello there this", "is the live"], "\(events)")
        XCTAssertTrue(events.contains { $0["type"] as? String == "partial" })
        let done = events.last!
        XCTAssertEqual(done["type"] as? String, "done")
        XCTAssertEqual(done["provider"] as? String, "deepgram")
        XCTAssertEqual((done["usage"] as? [String: Any])?["audio_seconds"] as? Double ?? 0, 1.5, accuracy: 0.001)
        XCTAssertEqual(v["code"] as? Int, 1000)
        XCTAssertEqual(live.closeStreams, 1)
    }

    /// A live session holds a minute of audio at the provider's price
    /// against its key's budget: over it, the socket carries the budget
    /// error (the 402's message) and closes before any audio goes upstream,
    /// and the refusal is booked.
    func testLiveSessionOverItsKeysBudgetIsRefusedInTheSocket() throws {
        let created = try d.post("/v1/keys", #"{"name":"live","scopes":["stt"],"budget":{"day_usd":0.001}}"#)
        XCTAssertEqual(created.status, 201, created.text)
        let secret = created.json["secret"] as? String ?? ""
        let script = """
        import asyncio, json, sys, websockets
        async def main():
            url = "ws://voxd/v1/audio/transcriptions/stream?model=deepgram/nova-3&sample_rate=16000"
            async with websockets.unix_connect(sys.argv[1], url, additional_headers={"Authorization": "Bearer " + sys.argv[2]}) as ws:
                try:
                    await ws.send(bytes(3200))
                except websockets.ConnectionClosed:
                    pass
                events = []
                try:
                    async for m in ws:
                        events.append(json.loads(m))
                except websockets.ConnectionClosed:  # 1008 is not a normal close
                    pass
                print(json.dumps({"events": events, "code": ws.close_code, "reason": ws.close_reason}))
        asyncio.run(main())
        """
        let out = try runProcess("/usr/bin/env", ["python3", "-c", script, d.socket, secret], timeout: 30)
        XCTAssertEqual(out.status, 0, out.stderr)
        let v = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [String: Any]
        let events = v["events"] as? [[String: Any]] ?? []
        XCTAssertEqual(events.count, 1, "\(events)")
        let error = events.first?["error"] as? [String: Any] ?? [:]
        XCTAssertEqual(events.first?["type"] as? String, "error")
        XCTAssertEqual(error["code"] as? String, "rate_limited")
        let message = error["message"] as? String ?? ""
        XCTAssertTrue(message.contains("daily budget of $0.001000 would be exceeded"), message)
        XCTAssertTrue(message.contains("this request may cost up to $0.007700"), "a minute at Deepgram's streaming price: \(message)")
        XCTAssertEqual(v["code"] as? Int, 1008, "a spent budget is a refusal (policy violation), not a server error")
        XCTAssertEqual(v["reason"] as? String, "rate_limited")
        XCTAssertEqual(live.sessions, 0, "nothing went upstream")
        // Booked as refused, to the key.
        var calls: [[String: Any]] = []
        for _ in 0..<40 where calls.isEmpty {
            calls = try d.curl("/v1/usage/calls?limit=10").json["calls"] as? [[String: Any]] ?? []
            if calls.isEmpty { usleep(100_000) }
        }
        XCTAssertEqual(calls.first?["outcome"] as? String, "budget_exceeded", "\(calls)")
        XCTAssertEqual(calls.first?["kind"] as? String, "stt_stream")
        XCTAssertEqual(calls.first?["cost_usd"] as? Double, 0)
    }

    /// A client that goes away mid-stream: voxd drops the upstream socket.
    func testLiveClientDisconnectCancelsUpstream() throws {
        let script = """
        import asyncio, sys, websockets
        async def main():
            async with websockets.unix_connect(sys.argv[1], "ws://voxd/v1/audio/transcriptions/stream?model=deepgram") as ws:
                await ws.send(bytes(3200))
                await asyncio.sleep(0.3)
        asyncio.run(main())
        """
        let out = try runProcess("/usr/bin/env", ["python3", "-c", script, d.socket], timeout: 30)
        XCTAssertEqual(out.status, 0, out.stderr)
        for _ in 0..<150 where live.disconnects == 0 { usleep(20_000) }
        XCTAssertEqual(live.sessions, 1)
        XCTAssertEqual(live.disconnects, 1, "the upstream socket closed")
        XCTAssertEqual(live.closeStreams, 0, "no CloseStream: the session was abandoned, not finished")
    }
}

import Foundation
import VoxTestSupport
import XCTest

/// The real voxd with the real plugins (libvox_localtts.so, ExampleC built with
/// plain cc, and a broken fixture) on a temp socket, driven with curl.
final class SocketAPITests: XCTestCase {
    static var daemon: Daemon!

    override class func setUp() {
        let d = Daemon(plugins: [
            "localtts": "library = \"libvox_localtts.so\"",
            "examplec": "library = \"\(try! TestPaths.exampleC())\"\n[settings]\nsample_rate = 8000",
            "slow_plugin": "library = \"\(try! TestPaths.fixture("slow_plugin"))\"",
            "broken": "library = \"\(try! TestPaths.fixture("abi_major_mismatch"))\"",
        ], config: "[limits]\nmax_input_chars = 200\nmax_body_bytes = 4096\n[router]\npriority = [\"localtts\"]\n")
        try! d.start()
        daemon = d
    }

    override class func tearDown() {
        XCTAssertEqual(daemon.stop(), 0, "voxd stops cleanly on SIGTERM")
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.socket), "the socket is removed on exit")
    }

    var d: Daemon { Self.daemon }

    func assertError(_ r: Daemon.Reply, _ status: Int, _ code: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.text, file: file, line: line)
        XCTAssertEqual(r.headers["content-type"], "application/json", file: file, line: line)
        guard let e = r.error else { return XCTFail("no error object: \(r.text)", file: file, line: line) }
        XCTAssertEqual(e["code"] as? String, code, r.text, file: file, line: line)
        XCTAssertTrue((e["message"] as? String ?? "").contains(fragment), "\(r.text) lacks \(fragment)", file: file, line: line)
        XCTAssertNotNil(e["retriable"] as? Bool, file: file, line: line)
        XCTAssertTrue(e.keys.contains("provider"), file: file, line: line)
    }

    func testHealthAndStatus() throws {
        let h = try d.curl("/v1/health")
        XCTAssertEqual(h.status, 200)
        XCTAssertEqual(h.json["status"] as? String, "ok")
        XCTAssertEqual(h.json["plugins"] as? [String: Int], ["loaded": 3, "failed": 1, "disabled": 0])
        XCTAssertNotNil(h.headers["x-request-id"])
        // Answers to clients that close after one request (HTTP/1.0, Connection: close)
        // arrive whole: the close does not overtake the held write.
        for extra in [["--http1.0"], ["-H", "Connection: close"]] {
            for _ in 0..<5 {
                let once = try d.curl("/v1/models", extra: extra)
                XCTAssertEqual(once.status, 200, "\(extra)")
                XCTAssertNotNil(once.json["data"] as? [Any], "\(extra): \(once.text)")
            }
        }
        let s = try d.curl("/v1/status").json
        XCTAssertEqual(s["socket"] as? String, d.socket)
        XCTAssertEqual((s["plugins"] as? [Any])?.count, 4)
        // The socket is mode 0660.
        var st = stat()
        stat(d.socket, &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o660)
    }

    /// Clients that connect while voxd cannot accept (a burst, busy loops)
    /// wait in the accept queue: a unix socket with a full queue refuses a
    /// connect outright. voxd is stopped while 600 connect, then let go;
    /// with Hummingbird's default queue of 256, 343 were refused.
    func testABurstOfConnectsIsQueuedNotRefused() throws {
        let count = 600
        var fds: [Int32] = []
        defer { fds.forEach { close($0) } }
        d.signal(SIGSTOP)
        var refused = 0
        for _ in 0..<count {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            XCTAssertGreaterThanOrEqual(fd, 0)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(d.socket.utf8)) }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if rc != 0 { refused += 1 }
            fds.append(fd)
        }
        d.signal(SIGCONT)
        XCTAssertEqual(refused, 0, "\(refused) of \(count) connects refused while voxd was not accepting")
        fds.forEach { close($0) }
        fds = []
        XCTAssertEqual(try d.curl("/v1/health").status, 200, "voxd serves again after the burst")
    }

    func testPluginsListShowsTheFailureAndItsReason() throws {
        let plugins = try d.curl("/v1/plugins").json["plugins"] as! [[String: Any]]
        let byName = Dictionary(uniqueKeysWithValues: plugins.map { ($0["name"] as! String, $0) })
        XCTAssertEqual(byName["localtts"]?["state"] as? String, "loaded")
        XCTAssertEqual(byName["examplec"]?["state"] as? String, "loaded")
        XCTAssertEqual(byName["broken"]?["state"] as? String, "failed")
        XCTAssertTrue((byName["broken"]?["error"] as? String ?? "").contains("major versions must match"), "\(byName["broken"]!)")
        let detail = try d.curl("/v1/plugins/examplec").json
        XCTAssertNotNil(detail["capabilities"] as? [String: Any])
        assertError(try d.curl("/v1/plugins/nope"), 404, "not_found", "no plugin named \"nope\"")
    }

    func testCapabilitiesProvidersModels() throws {
        let caps = try d.curl("/v1/capabilities").json
        let byOp = caps["operations"] as! [String: [String]]
        XCTAssertEqual(byOp["tts.synthesize"], ["localtts", "examplec", "slow_plugin"])
        XCTAssertEqual((caps["providers"] as! [[String: Any]]).count, 3)
        let tts = try d.curl("/v1/providers?kind=tts").json["providers"] as! [[String: Any]]
        XCTAssertEqual(tts.first?["name"] as? String, "localtts")
        XCTAssertEqual((try d.curl("/v1/providers?kind=llm.chat").json["providers"] as! [Any]).count, 0)
        assertError(try d.curl("/v1/providers?kind=juggling"), 400, "invalid_request", "unknown kind")
        let models = try d.curl("/v1/models").json
        XCTAssertEqual(models["object"] as? String, "list")
        let ids = (models["data"] as! [[String: Any]]).map { $0["id"] as! String }
        XCTAssertTrue(ids.contains("localtts/espeak-ng") && ids.contains("examplec/morse"), "\(ids)")
    }

    func testVoicesFilters() throws {
        let en = try d.curl("/v1/voices?provider=localtts&language=en").json["voices"] as! [[String: Any]]
        XCTAssertTrue(en.contains { $0["id"] as? String == "en-us" })
        XCTAssertTrue(en.allSatisfy { ($0["languages"] as! [String]).contains { $0.hasPrefix("en") } })
        let all = try d.curl("/v1/voices").json["voices"] as! [[String: Any]]
        XCTAssertTrue(all.contains { $0["provider"] as? String == "examplec" && $0["id"] as? String == "square" })
        let neutral = try d.curl("/v1/voices?gender=neutral").json["voices"] as! [[String: Any]]
        XCTAssertEqual(Set(neutral.map { $0["provider"] as! String }), ["examplec"])
        assertError(try d.curl("/v1/voices?provider=zzz"), 404, "not_found", "no loaded provider named \"zzz\"")
        assertError(try d.curl("/v1/voices?gender=robot"), 400, "invalid_request", "gender must be")
    }

    func testSpeechWAVFromLocalTTS() throws {
        let r = try d.post("/v1/audio/speech", #"{"input":"Hello from voxd.","response_format":"wav"}"#)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.headers["content-type"], "audio/wav")
        XCTAssertEqual(r.headers["x-vox-provider"], "localtts")
        XCTAssertEqual(r.headers["x-vox-voice"], "en-us")
        XCTAssertEqual(r.headers["x-vox-sample-rate"], "22050")
        let b = [UInt8](r.body)
        XCTAssertEqual(Array(b[0..<4]), Array("RIFF".utf8))
        XCTAssertEqual(Array(b[8..<16]), Array("WAVEfmt ".utf8))
        let rate = Int(b[24]) | Int(b[25]) << 8 | Int(b[26]) << 16
        XCTAssertEqual(rate, 22050)
        let seconds = Double(b.count - 44) / 2 / 22050
        XCTAssertTrue((0.6...3).contains(seconds), "\(seconds)")
    }

    func testSpeechPCMAndModelForms() throws {
        for model in ["examplec", "examplec/morse", "morse"] {
            let r = try d.post("/v1/audio/speech", #"{"model":"\#(model)","input":"SOS","response_format":"pcm"}"#)
            XCTAssertEqual(r.status, 200, "\(model): \(r.text)")
            XCTAssertEqual(r.headers["x-vox-provider"], "examplec")
            XCTAssertEqual(r.headers["content-type"], "audio/pcm")
            XCTAssertEqual(MorseDecoder.decode(samples: samples(r.body), sampleRate: 8000), "SOS", model)
            XCTAssertEqual(r.body.count, MorseDecoder.expectedSampleCount(text: "SOS", wpm: 20, sampleRate: 8000) * 2)
        }
        let wav = try d.post("/v1/audio/speech", #"{"model":"examplec","input":"PARIS","voice":"square","speed":2}"#)
        XCTAssertEqual(wav.headers["x-vox-voice"], "square")
        XCTAssertEqual(MorseDecoder.decode(samples: samples(wav.body, skip: 44), sampleRate: 8000), "PARIS")
    }

    func testSpeechStreamsBeforeTheEnd() throws {
        // slow_plugin makes 10 ms of audio every 10 ms for 1 s: the first byte
        // must reach the client long before the last.
        let out = try runProcess("/usr/bin/curl", ["-s", "--unix-socket", d.socket, "-o", "/dev/null", "-w", "%{http_code} %{time_starttransfer} %{time_total} %{size_download}",
                                             "-d", #"{"model":"slow_plugin","input":"x","options":{"seconds":1},"response_format":"pcm"}"#,
                                             "http://voxd/v1/audio/speech"])
        let f = out.stdout.split(separator: " ").map(String.init)
        XCTAssertEqual(f[0], "200")
        let (first, total) = (Double(f[1])!, Double(f[2])!)
        XCTAssertLessThan(first, 0.3, "first byte after \(first) s")
        XCTAssertGreaterThan(total, 0.9)
        XCTAssertGreaterThan(Int(f[3])!, 25_000)
    }

    func testBadInputGetsClearErrors() throws {
        assertError(try d.post("/v1/audio/speech", #"{"input":"hi","voice":"vulcan"}"#), 404, "not_found", "localtts has no voice \"vulcan\"")
        assertError(try d.post("/v1/audio/speech", #"{"model":"localtts/tacotron","input":"hi"}"#), 404, "not_found", "localtts has no text-to-speech model tacotron")
        assertError(try d.post("/v1/audio/speech", #"{"model":"wavenet","input":"hi"}"#), 404, "not_found", "no provider offers the text-to-speech model \"wavenet\"")
        assertError(try d.post("/v1/audio/speech", #"{"model":"nobody/x","input":"hi"}"#), 404, "not_found", "no provider named nobody")
        assertError(try d.post("/v1/audio/speech", #"{"model":"broken","input":"hi"}"#), 503, "unavailable", "provider broken failed to load")
        assertError(try d.post("/v1/audio/speech", #"{"input":"   "}"#), 400, "invalid_request", "input is empty")
        assertError(try d.post("/v1/audio/speech", #"{"input":"\#(String(repeating: "a", count: 201))"}"#), 400, "invalid_request", "the limit is 200")
        assertError(try d.post("/v1/audio/speech", #"{"input":"hi","speed":9}"#), 400, "invalid_request", "speed 9.0 is outside")
        assertError(try d.post("/v1/audio/speech", #"{"input":"hi","response_format":"midi"}"#), 400, "invalid_request", "response_format \"midi\"")
        assertError(try d.post("/v1/audio/speech", #"{"input":"hi","response_format":"mp3"}"#), 400, "invalid_request", "cannot produce mp3")
        assertError(try d.post("/v1/audio/speech", #"{"input": 5}"#), 400, "invalid_request", "wrong type at input")
        assertError(try d.post("/v1/audio/speech", #"{"voice":"x"}"#), 400, "invalid_request", "missing field \"input\"")
        assertError(try d.post("/v1/audio/speech", #"{"input": "#), 400, "invalid_request", "not valid JSON")
        assertError(try d.post("/v1/audio/speech", ""), 400, "invalid_request", "needs a JSON body")
        assertError(try d.post("/v1/audio/speech", #"{"input":"\#(String(repeating: "a", count: 5000))"}"#), 413, "invalid_request", "larger than the limit of 4096 bytes")
        assertError(try d.curl("/v1/unknown"), 404, "not_found", "no route GET /v1/unknown")
        assertError(try d.curl("/v1/health", method: "DELETE"), 404, "not_found", "no route DELETE /v1/health")
        // Still serving.
        XCTAssertEqual(try d.curl("/v1/health").status, 200)
    }

    func testDisconnectedClientCancelsTheOperation() throws {
        // curl gives up after 0.3 s of a 20 s stream; the plugin's operation must end.
        _ = try d.curl("/v1/audio/speech", method: "POST", body: Data(#"{"model":"slow_plugin","input":"x","options":{"seconds":20}}"#.utf8), extra: ["--max-time", "0.3"])
        let deadline = Date().addingTimeInterval(5)
        var inFlight = -1
        while Date() < deadline {
            let p = try d.curl("/v1/plugins/slow_plugin").json
            inFlight = p["in_flight"] as? Int ?? -1
            if inFlight == 0 { break }
            usleep(50_000)
        }
        XCTAssertEqual(inFlight, 0)
        XCTAssertEqual(try d.curl("/v1/plugins/slow_plugin").json["misbehaviours"] as? Int, 0)
    }

    func testAdminRoutesNeedAnAdminPeer() throws {
        // The socket is 0660 root-owned: uid 65534 cannot even connect.
        let denied = try d.curl("/v1/health", asUser: 65534)
        XCTAssertEqual(denied.curlExit, 7, "connect refused by the socket's mode")
        XCTAssertEqual(denied.status, 0)
    }
}

extension SocketAPITests {
    func testVoicePreviewSpeaksASampleSentenceInTheVoice() throws {
        let r = try d.post("/v1/voices/preview", #"{"provider":"localtts","voice":"de"}"#)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.headers["x-vox-provider"], "localtts")
        XCTAssertEqual(r.headers["x-vox-voice"], "de")
        XCTAssertEqual(String(decoding: r.body.prefix(4), as: UTF8.self), "RIFF")
        let loud = samples(r.body, skip: 44).filter { abs(Int($0)) > 1000 }.count
        XCTAssertGreaterThan(loud, 2000, "the preview has speech in it")

        let custom = try d.post("/v1/voices/preview", #"{"voice":"localtts/en-us","text":"Short and custom.","response_format":"pcm"}"#)
        XCTAssertEqual(custom.status, 200, custom.text)
        XCTAssertEqual(custom.headers["content-type"], "audio/pcm")
    }

    func testVoicePreviewErrors() throws {
        assertError(try d.post("/v1/voices/preview", #"{"provider":"localtts","voice":"xx-nope"}"#), 404, "not_found", "has no voice \"xx-nope\"")
        assertError(try d.post("/v1/voices/preview", #"{"voice":"en-us"}"#), 400, "invalid_request", "name the provider")
        let long = String(repeating: "a", count: 501)
        assertError(try d.post("/v1/voices/preview", #"{"provider":"localtts","voice":"en-us","text":"\#(long)"}"#), 400, "invalid_request", "at most 500 characters")
        assertError(try d.post("/v1/voices/preview", #"{"provider":"nosuch","voice":"x"}"#), 404, "not_found", "no loaded provider named")
    }

    func testVoicesIncludeCustomAndCloneRefusals() throws {
        let all = try d.curl("/v1/voices?provider=localtts").json["voices"] as! [[String: Any]]
        let stock = try d.curl("/v1/voices?provider=localtts&include_custom=false").json["voices"] as! [[String: Any]]
        XCTAssertEqual(all.count, stock.count, "LocalTTS has no custom voices")
        XCTAssertTrue(all.allSatisfy { $0["custom"] as? Bool != true })
        assertError(try d.curl("/v1/voices?include_custom=maybe"), 400, "invalid_request", "include_custom must be true or false")
        // Cloning: LocalTTS does not clone; a form without audio is refused first.
        let wav = TestPaths.tempDir("clone") + "/ref.wav"
        _ = FileManager.default.createFile(atPath: wav, contents: Data("RIFF\u{24}\0\0\0WAVEfmt ".utf8) + Data(count: 64))
        let r = try d.curl("/v1/voices", method: "POST", extra: ["-F", "provider=localtts", "-F", "name=Me", "-F", "file=@\(wav)"])
        assertError(r, 501, "unsupported", "does not clone voices")
        let noFile = try d.curl("/v1/voices", method: "POST", extra: ["-F", "provider=localtts", "-F", "name=Me"])
        assertError(noFile, 400, "invalid_request", "no file part")
    }

    func testStreamingTranscriptionRouteRefusesPlainHTTPAndUnknownModels() throws {
        assertError(try d.curl("/v1/audio/transcriptions/stream"), 400, "invalid_request", "speaks WebSocket")
        // Over a real WebSocket client: the error arrives in the socket, in the one error shape.
        let script = """
        import asyncio, json, sys, websockets
        async def main(query):
            async with websockets.unix_connect(sys.argv[1], "ws://localhost/v1/audio/transcriptions/stream" + query) as ws:
                msg = json.loads(await ws.recv())
                await ws.wait_closed()
                print(json.dumps({"msg": msg, "code": ws.close_code}))
        asyncio.run(main(sys.argv[2]))
        """
        for (query, code, fragment) in [("?model=localtts/x", "invalid_request", "does not offer"),
                                        ("?encoding=wma", "invalid_request", "encoding \"wma\" is not one of")] {
            let out = try runProcess("/usr/bin/env", ["python3", "-c", script, d.socket, query], timeout: 30)
            XCTAssertEqual(out.status, 0, out.stderr)
            let v = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [String: Any]
            let msg = v["msg"] as! [String: Any]
            XCTAssertEqual(msg["type"] as? String, "error")
            let e = msg["error"] as! [String: Any]
            XCTAssertEqual(e["code"] as? String, code, "\(msg)")
            XCTAssertTrue((e["message"] as? String ?? "").contains(fragment), "\(msg)")
            XCTAssertEqual(v["code"] as? Int, 1008, "a client mistake closes with policy violation")
        }
    }
}

import Foundation
import VoxTestSupport
import XCTest

/// The router in the real voxd: the real libvox_openai.so and libvox_groq.so
/// pointed at their loopback fakes, both serving chat and speech, one of
/// them made to fail in each of the ways providers fail.
final class RouterThroughVoxdTests: XCTestCase {
    var openai: OpenAIFake!
    var groq: GroqFake!
    var d: Daemon!

    static let chatPath = "/v1/chat/completions"

    override func setUp() async throws {
        openai = try await OpenAIFake.start()
        groq = try await GroqFake.start()
    }

    override func tearDown() async throws {
        d?.stop()
        XCTAssertEqual(openai.violations, [], "every request to OpenAI matched its documented shape")
        XCTAssertEqual(groq.violations, [], "every request to Groq matched its documented shape")
        await openai.stop()
        await groq.stop()
    }

    /// voxd with both providers; `extra` is appended to etc/voxd.toml.
    func startDaemon(_ extra: String = "", openaiFirstOutputMs: Int = 2000, cooldownSeconds: Double = 1) throws {
        let config = """
        [router]
        priority = ["openai", "groq"]
        max_attempts = 3
        backoff_base_ms = 5
        backoff_max_ms = 20
        max_retry_after_wait_ms = 0
        [router.breaker]
        consecutive_failures = 3
        cooldown_seconds = \(cooldownSeconds)
        [aliases]
        chat = ["openai/gpt-4o-mini", "groq/llama-3.3-70b-versatile"]
        speech = ["openai/gpt-4o-mini-tts", "groq/canopylabs/orpheus-v1-english"]
        [voice_map]
        narrator = { openai = "onyx", groq = "troy" }
        \(extra.hasPrefix("[") ? extra : "")
        [providers.openai]
        first_output_timeout_ms = \(openaiFirstOutputMs)
        \(extra.hasPrefix("[") ? "" : extra)
        """
        d = Daemon(plugins: [
            "openai": Daemon.remotePlugin("openai", settings: "base_url = \"\(openai.baseURL)\"", keyVar: "VOXD_TEST_OPENAI_KEY", firstByteTimeoutMs: 5000),
            "groq": Daemon.remotePlugin("groq", settings: "base_url = \"\(groq.baseURL)\"", keyVar: "VOXD_TEST_GROQ_KEY", firstByteTimeoutMs: 5000),
        ], config: config, environment: ["VOXD_TEST_OPENAI_KEY": OpenAIFake.defaultAPIKey, "VOXD_TEST_GROQ_KEY": GroqFake.defaultAPIKey])
        try d.start()
    }

    func chat(stream: Bool, model: String = "chat") throws -> Daemon.Reply {
        try d.post(Self.chatPath, #"{"model":"\#(model)","stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#)
    }

    /// The answer's text, from a completion or an SSE body (nil: an error event in the stream).
    func answer(_ r: Daemon.Reply) -> String? {
        if r.headers["content-type"] == "text/event-stream" {
            var text = ""
            for frame in r.text.components(separatedBy: "\n\n") where frame.hasPrefix("data: ") {
                let data = String(frame.dropFirst(6))
                if data == "[DONE]" { return text }
                guard let o = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else { return nil }
                if o["error"] != nil { return nil }
                for c in o["choices"] as? [[String: Any]] ?? [] { text += ((c["delta"] as? [String: Any])?["content"] as? String) ?? "" }
            }
            return nil
        }
        return ((r.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
    }

    /// `count` chat requests, `width` at a time, half of them streamed.
    func burst(_ count: Int, width: Int = 4) -> [Daemon.Reply] {
        let lock = NSLock()
        var replies: [Daemon.Reply] = []
        DispatchQueue.concurrentPerform(iterations: width) { lane in
            for n in stride(from: lane, to: count, by: width) {
                let r = (try? chat(stream: n % 2 == 0)) ?? Daemon.Reply(status: 0, curlExit: -1, headers: [:], body: Data())
                lock.withLock { replies.append(r) }
            }
        }
        return replies
    }

    func health(_ provider: String) throws -> [String: Any] {
        let r = try d.curl("/v1/providers?kind=chat")
        let p = (r.json["providers"] as? [[String: Any]])?.first { $0["name"] as? String == provider }
        return p?["health"] as? [String: Any] ?? [:]
    }

    /// Each fault in turn: no client sees it, the circuit opens, and closes
    /// again once the fake recovers. 5 faults × (40 + ≤ 20) requests.
    func testFaultsAreInvisibleAndTheCircuitOpensThenCloses() throws {
        try startDaemon()
        let faults: [(String, OpenAIFake.Behaviour)] = [
            ("503", .status(503, retryAfter: nil)), ("429", .status(429, retryAfter: 1)), ("stall", .stallBeforeFirstByte(seconds: 4)),
            ("reset", .resetMidStream(afterChunks: 0)), ("500", .status(500, retryAfter: nil)),
        ]
        var total = 0
        var timesOpened = 0
        let began = Date()
        for (name, fault) in faults {
            openai.script(Self.chatPath, fault)
            let replies = burst(40)
            total += replies.count
            for r in replies {
                XCTAssertEqual(r.status, 200, "\(name): \(r.text)")
                XCTAssertEqual(answer(r), groq.chatReply, "\(name): the healthy provider answered in full: \(r.text)")
                XCTAssertEqual(r.headers["x-vox-provider"], "groq", name)
            }
            let h = try health("openai")
            let opened = h["opened"] as? Int ?? 0
            if name == "429" {
                // retry-after: 1 takes it out of rotation at the first 429, so the breaker may not have needed to trip.
                XCTAssertTrue(opened > timesOpened || h["retry_after_until"] is String, "\(name): \(h)")
            } else {
                XCTAssertGreaterThan(opened, timesOpened, "\(name): the circuit opened: \(h)")
                // Open, or half-open once the 1 s cool-down has passed without a probe yet.
                XCTAssertNotEqual(h["circuit"] as? String, "closed", "\(name): \(h)")
            }
            timesOpened = opened
            XCTAssertNotNil(h["last_error"] as? String, name)
            // Recovery: after the cool-down one probe goes to openai and closes the circuit.
            openai.script(Self.chatPath, .normal)
            var recovered = false
            for _ in 0..<20 where !recovered {
                usleep(150_000)
                let r = try chat(stream: false)
                total += 1
                XCTAssertEqual(r.status, 200, "\(name) recovery: \(r.text)")
                recovered = r.headers["x-vox-provider"] == "openai"
            }
            XCTAssertTrue(recovered, "\(name): openai served again after the cool-down")
            XCTAssertEqual(try health("openai")["circuit"] as? String, "closed", name)
        }
        XCTAssertLessThanOrEqual(total, 300)
        XCTAssertLessThan(Date().timeIntervalSince(began), 120)
        let reply = try d.curl("/metrics")
        XCTAssertEqual(reply.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        let metrics = reply.text
        checkExposition(metrics)
        XCTAssertTrue(metrics.contains("voxd_circuit_state{provider=\"openai\"} 0"), metrics)
        XCTAssertTrue(metrics.contains("voxd_failovers_total{kind=\"chat\"}"), metrics)
        XCTAssertTrue(metrics.contains("voxd_provider_errors_total{provider=\"openai\",kind=\"chat\",code=\"rate_limited\"}"), metrics)
        XCTAssertTrue(metrics.contains("voxd_provider_errors_total{provider=\"openai\",kind=\"chat\",code=\"timeout\"}"), metrics)
    }

    /// The Prometheus text format 0.0.4, strictly: HELP and TYPE before a
    /// family's samples, names and labels well formed, numeric values,
    /// histogram buckets cumulative and ending in +Inf = _count.
    func checkExposition(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let sample = try! NSRegularExpression(pattern: #"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*)?\})? (-?[0-9.e+-]+|\+Inf|NaN)$"#)
        var typed: [String: String] = [:]
        var buckets: [String: [Double]] = [:]
        var counts: [String: Double] = [:]
        XCTAssertTrue(text.hasSuffix("\n"), "ends in a newline", file: file, line: line)
        for l in text.split(separator: "\n").map(String.init) {
            if l.hasPrefix("# HELP ") { continue }
            if l.hasPrefix("# TYPE ") {
                let parts = l.split(separator: " ")
                XCTAssertEqual(parts.count, 4, l, file: file, line: line)
                XCTAssertNil(typed[String(parts[2])], "one TYPE per family: \(l)", file: file, line: line)
                typed[String(parts[2])] = String(parts[3])
                continue
            }
            guard let m = sample.firstMatch(in: l, range: NSRange(l.startIndex..., in: l)), let r = Range(m.range(at: 1), in: l) else {
                XCTFail("not a sample line: \(l)", file: file, line: line); continue
            }
            let name = String(l[r])
            let family = ["_bucket", "_sum", "_count"].reduce(name) { n, suffix in
                n.hasSuffix(suffix) && typed[String(n.dropLast(suffix.count))] != nil ? String(n.dropLast(suffix.count)) : n
            }
            XCTAssertNotNil(typed[family], "TYPE before samples of \(family)", file: file, line: line)
            let value = Double(l.split(separator: " ").last!) ?? .nan
            let series = l.replacingOccurrences(of: #",?le="[^"]*""#, with: "", options: .regularExpression).components(separatedBy: " ")[0]
                .replacingOccurrences(of: "_bucket{", with: "{").replacingOccurrences(of: "_count{", with: "{").replacingOccurrences(of: "{}", with: "")
            if typed[family] == "histogram", name.hasSuffix("_bucket") { buckets[series, default: []].append(value) }
            if typed[family] == "histogram", name.hasSuffix("_count") { counts[series] = value }
        }
        XCTAssertFalse(buckets.isEmpty, "some histogram", file: file, line: line)
        for (series, b) in buckets {
            XCTAssertEqual(b, b.sorted(), "cumulative: \(series)", file: file, line: line)
            XCTAssertEqual(b.last, counts[series], "+Inf equals _count: \(series)", file: file, line: line)
        }
    }

    func testNoFailoverOnceBytesReachedTheClient() throws {
        try startDaemon(openaiFirstOutputMs: 10000)
        // Three frames, then the body ends without [DONE] (a clean close:
        // a reset could discard the frames before voxd read them, and then
        // nothing would have reached the client and failing over is right).
        openai.script(Self.chatPath, .truncatedSSE(afterChunks: 3))
        let r = try chat(stream: true)
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.headers["x-vox-provider"], "openai")
        XCTAssertTrue(r.text.contains("\"error\""), "the failure is an error event in the stream: \(r.text)")
        XCTAssertFalse(r.text.contains("data: [DONE]"), "the stream does not pretend to have ended well")
        XCTAssertEqual(groq.requests(to: "/chat/completions").count, 0, "nothing was retried elsewhere")
    }

    func testAWholeAnswerFailsOverEvenMidway() throws {
        try startDaemon()
        openai.script(Self.chatPath, .truncatedSSE(afterChunks: 3)) // words arrive, then the stream breaks off
        let r = try chat(stream: false)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.headers["x-vox-provider"], "groq", "nothing had reached the client, so it failed over")
        XCTAssertEqual(r.headers["x-vox-attempts"], "2")
        XCTAssertEqual(answer(r), groq.chatReply)
    }

    func testFailoverHeadersAndRetryBudgetOfOne() throws {
        try startDaemon()
        openai.script(Self.chatPath, .status(503, retryAfter: nil))
        let r = try chat(stream: false)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.headers["x-vox-provider"], "groq")
        XCTAssertEqual(r.headers["x-vox-attempts"], "2")
        XCTAssertEqual(r.headers["x-vox-model"], "groq/llama-3.3-70b-versatile")
        // A pinned provider is never swapped for another.
        let pinned = try chat(stream: false, model: "openai/gpt-4o-mini")
        XCTAssertEqual(pinned.status, 503, pinned.text)
        XCTAssertEqual(pinned.error?["provider"] as? String, "openai")
    }

    func testAllProvidersDownIsAQuickClear503() throws {
        try startDaemon(cooldownSeconds: 60)
        openai.script(Self.chatPath, .status(503, retryAfter: nil))
        groq.script("/chat/completions", .status(500, retryAfter: nil))
        for n in 0..<5 {
            let t0 = Date()
            let r = try chat(stream: n % 2 == 0)
            XCTAssertLessThan(Date().timeIntervalSince(t0), 3, "answered without hanging")
            XCTAssertEqual(r.status, 503, r.text)
            XCTAssertEqual(r.error?["code"] as? String, "unavailable")
            XCTAssertEqual(r.error?["retriable"] as? Bool, true)
            let message = r.error?["message"] as? String ?? ""
            XCTAssertTrue(message.contains("all 2 chat providers failed"), message)
            XCTAssertTrue(message.contains("openai: "), message)
            XCTAssertTrue(message.contains("groq: "), message)
            if n >= 3 { XCTAssertTrue(message.contains("circuit open"), "open circuits are named with their last error: \(message)") }
        }
    }

    func testExplainCallsNoProvider() throws {
        try startDaemon()
        let before = (openai.requests.count, groq.requests.count)
        let r = try d.curl("/v1/route/explain?kind=chat&model=chat&stream=true")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.json["policy"] as? String, "priority")
        XCTAssertEqual(r.json["alias"] as? String, "chat")
        let c = try XCTUnwrap(r.json["candidates"] as? [[String: Any]])
        XCTAssertEqual(c.map { $0["provider"] as? String }, ["openai", "groq"])
        XCTAssertEqual(c.map { $0["model"] as? String }, ["gpt-4o-mini", "llama-3.3-70b-versatile"])
        XCTAssertTrue((c[0]["reasons"] as? [String])?.first?.contains("alias chat target #1") == true, "\(c[0])")
        XCTAssertEqual(c[0]["circuit"] as? String, "closed")

        let speech = try d.curl("/v1/route/explain?kind=tts&model=speech&voice=narrator&format=mp3")
        XCTAssertEqual(speech.status, 200, speech.text)
        let sc = try XCTUnwrap(speech.json["candidates"] as? [[String: Any]])
        XCTAssertEqual(sc.map { $0["voice"] as? String }, ["onyx", "troy"], "voices from [voice_map]")

        let noFormat = try d.curl("/v1/route/explain?kind=tts&format=alaw")
        XCTAssertEqual(noFormat.status, 400, noFormat.text)
        let m = noFormat.error?["message"] as? String ?? ""
        XCTAssertTrue(m.contains("no text-to-speech provider can serve this request (failed: format); closest: "), m)
        XCTAssertTrue(m.contains("openai (openai cannot produce alaw") && m.contains("groq (groq cannot produce alaw"), m)

        let rate = try d.curl("/v1/route/explain?kind=tts&model=groq/canopylabs/orpheus-v1-english&sample_rate=11025&format=mp3")
        XCTAssertEqual(rate.status, 400, rate.text)
        XCTAssertTrue((rate.error?["message"] as? String ?? "").contains("groq does not offer 11025 Hz"), rate.text)
        XCTAssertTrue((rate.error?["message"] as? String ?? "").contains("(voxd resamples wav and pcm output only)"), rate.text)
        let resampled = try d.curl("/v1/route/explain?kind=tts&model=groq/canopylabs/orpheus-v1-english&sample_rate=11025")
        XCTAssertEqual(resampled.status, 200, resampled.text)
        XCTAssertTrue(resampled.text.contains("voxd resamples its 16000 Hz output to 11025 Hz"), resampled.text)

        let unknown = try d.curl("/v1/route/explain?kind=chat&model=nope-9")
        XCTAssertEqual(unknown.status, 404, unknown.text)
        XCTAssertTrue((unknown.error?["message"] as? String ?? "").contains("aliases: chat, speech"), unknown.text)
        XCTAssertEqual(try d.curl("/v1/route/explain?kind=dance").status, 400)
        XCTAssertEqual(try d.curl("/v1/route/explain").status, 400)
        let cli = try runProcess(Daemon.voxctl, ["--socket", d.socket, "route", "explain", "chat", "--model", "chat", "--stream"])
        XCTAssertEqual(cli.status, 0, cli.stderr)
        XCTAssertTrue(cli.stdout.contains("policy priority, alias chat; up to 3 attempt(s)"), cli.stdout)
        XCTAssertTrue(cli.stdout.contains("openai") && cli.stdout.contains("groq") && cli.stdout.contains("alias chat target #2"), cli.stdout)
        let cliBad = try runProcess(Daemon.voxctl, ["--socket", d.socket, "route", "explain", "tts", "--format", "alaw"])
        XCTAssertNotEqual(cliBad.status, 0)
        XCTAssertTrue(cliBad.stderr.contains("cannot produce alaw"), cliBad.stderr)
        XCTAssertEqual(openai.requests.count - before.0, 0, "explain called no provider")
        XCTAssertEqual(groq.requests.count - before.1, 0, "explain called no provider")
    }

    /// A request's shape is resolved once and reused (VoxRouter's compiled
    /// routes) until the plugins change: disabling and enabling a provider
    /// shows at once, in explain and in what is served.
    func testCompiledRoutesFollowPluginChanges() throws {
        try startDaemon()
        func providers() throws -> [String] {
            let r = try d.curl("/v1/route/explain?kind=chat&model=chat&stream=true")
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(r.text.utf8)), "explain is JSON")
            return (r.json["candidates"] as? [[String: Any]] ?? []).compactMap { $0["provider"] as? String }
        }
        XCTAssertEqual(try providers(), ["openai", "groq"])
        XCTAssertEqual(try providers(), ["openai", "groq"], "the second answer from the compiled route")
        XCTAssertEqual(try d.curl("/v1/plugins/openai/disable", method: "POST").status, 200)
        XCTAssertEqual(try providers(), ["groq"])
        let r = try d.curl("/v1/route/explain?kind=chat&model=chat&stream=true")
        let excluded = r.json["excluded"] as? [[String: Any]] ?? []
        XCTAssertEqual(excluded.first?["provider"] as? String, "openai/gpt-4o-mini", r.text)
        XCTAssertTrue((excluded.first?["reason"] as? String ?? "").contains("disabled"), r.text)
        let before = openai.requests.count
        XCTAssertEqual(try chat(stream: false).status, 200)
        XCTAssertEqual(openai.requests.count, before, "a disabled provider is not called")
        XCTAssertEqual(try d.curl("/v1/plugins/openai/enable", method: "POST").status, 200)
        XCTAssertEqual(try providers(), ["openai", "groq"])
        XCTAssertEqual(try chat(stream: false).status, 200)
        XCTAssertEqual(openai.requests.count, before + 1, "enabled again, it serves first")
    }

    func testPoliciesOrderTheCandidates() throws {
        try startDaemon("""
        [aliases.rr]
        targets = ["openai/gpt-4o-mini", "groq/llama-3.3-70b-versatile"]
        policy = "round_robin"
        [aliases.quick]
        targets = ["openai/gpt-4o-mini", "groq/llama-3.3-70b-versatile"]
        policy = "latency"
        [aliases.cheap]
        targets = ["openai/whisper-1", "groq/whisper-large-v3-turbo"]
        policy = "price"
        [providers.groq]
        weight = 2
        """)
        var firsts: [String] = []
        for _ in 0..<6 {
            let r = try d.curl("/v1/route/explain?kind=chat&model=rr")
            firsts.append(((r.json["candidates"] as? [[String: Any]])?.first?["provider"] as? String) ?? "?")
        }
        XCTAssertEqual(firsts.filter { $0 == "groq" }.count, 4, "weight 2 against 1: \(firsts)")
        XCTAssertEqual(firsts.filter { $0 == "openai" }.count, 2, "\(firsts)")
        // Declared prices: Whisper at OpenAI $0.006/min, Groq's turbo $0.04/hour.
        let cheap = try d.curl("/v1/route/explain?kind=stt&model=cheap")
        let c = try XCTUnwrap(cheap.json["candidates"] as? [[String: Any]], cheap.text)
        XCTAssertEqual(c.map { $0["provider"] as? String }, ["groq", "openai"], "cheapest first: \(c)")
        XCTAssertEqual(c[0]["reference_cost_usd"] as! Double, 0.04 / 60, accuracy: 1e-9)
        XCTAssertEqual(c[1]["reference_cost_usd"] as! Double, 0.006, accuracy: 1e-9)
        XCTAssertTrue((c[0]["reasons"] as? [String] ?? []).contains { $0.contains("reference request costs $") }, "\(c[0])")
        // The latency policy: unmeasured providers first (so they get
        // measured), then the lowest first-output EWMA.
        let unmeasured = try d.curl("/v1/route/explain?kind=chat&model=quick")
        XCTAssertTrue(((unmeasured.json["candidates"] as? [[String: Any]])?.first?["reasons"] as? [String] ?? []).contains { $0.contains("no latency samples yet") }, unmeasured.text)
        openai.script(Self.chatPath, .stallBeforeFirstByte(seconds: 0.3))
        for _ in 0..<2 {
            XCTAssertEqual(try chat(stream: false, model: "openai/gpt-4o-mini").status, 200)
            XCTAssertEqual(try chat(stream: false, model: "groq/llama-3.3-70b-versatile").status, 200)
        }
        let measured = try d.curl("/v1/route/explain?kind=chat&model=quick")
        let mc = try XCTUnwrap(measured.json["candidates"] as? [[String: Any]], measured.text)
        XCTAssertEqual(mc.map { $0["provider"] as? String }, ["groq", "openai"], "the faster first: \(mc)")
        XCTAssertGreaterThan(mc[1]["latency_ewma_ms"] as? Double ?? 0, 250)
        XCTAssertTrue((mc[0]["reasons"] as? [String] ?? []).contains { $0.hasPrefix("first-output EWMA ") }, "\(mc[0])")
    }

    func testSpeechFailsOverWithTheVoiceMapped() throws {
        try startDaemon()
        openai.script("/v1/audio/speech", .emptyAudio)
        let r = try d.post("/v1/audio/speech", #"{"model":"speech","voice":"narrator","input":"hello","response_format":"wav"}"#)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.headers["x-vox-provider"], "groq")
        XCTAssertEqual(r.headers["x-vox-voice"], "troy")
        XCTAssertEqual(r.headers["x-vox-attempts"], "2")
        XCTAssertGreaterThan(r.body.count, 44, "audio came")
        XCTAssertEqual(openai.requests(to: "/v1/audio/speech").first?.json?["voice"]?.string, "onyx", "the first provider got its mapped voice")
        XCTAssertEqual(groq.requests(to: "/audio/speech").first?.json?["voice"]?.string, "troy")
    }

    func testSpeechFailsOverToTheClosestVoiceByLanguage() throws {
        try startDaemon()
        openai.script("/v1/audio/speech", .status(503, retryAfter: nil))
        let r = try d.post("/v1/audio/speech", #"{"model":"speech","voice":"alloy","language":"en","input":"hello","response_format":"wav"}"#)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.headers["x-vox-provider"], "groq")
        let english = GroqFake.speechVoices["canopylabs/orpheus-v1-english"]!
        XCTAssertTrue(english.contains(r.headers["x-vox-voice"] ?? ""), "an English Orpheus voice, not \(r.headers["x-vox-voice"] ?? "none")")
        XCTAssertEqual(groq.requests(to: "/audio/speech").first?.json?["voice"]?.string, r.headers["x-vox-voice"])
    }

    func testTranscriptionFailsOverWithTheSameUpload() throws {
        try startDaemon("""
        [aliases.hear]
        targets = ["openai/whisper-1", "groq/whisper-large-v3-turbo"]
        """)
        openai.script("/v1/audio/transcriptions", .status(500, retryAfter: nil))
        let file = wavFile()
        let r = try runProcess("/usr/bin/curl", ["-s", "--unix-socket", d.socket, "-D", "-", "-F", "file=@\(file)", "-F", "model=hear",
                                                 "-F", "response_format=text", "http://voxd/v1/audio/transcriptions"])
        XCTAssertTrue(r.stdout.hasPrefix("HTTP/1.1 200"), r.stdout)
        XCTAssertTrue(r.stdout.lowercased().contains("x-vox-provider: groq"), r.stdout)
        XCTAssertTrue(r.stdout.lowercased().contains("x-vox-attempts: 2"), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix(groq.transcriptText) || r.stdout.contains(groq.transcriptText), r.stdout)
        XCTAssertEqual(openai.requests(to: "/v1/audio/transcriptions").count, 1)
        XCTAssertEqual(groq.requests(to: "/audio/transcriptions").count, 1)
    }

    func testTheSampleRateTravelsResampledWhereNeeded() throws {
        try startDaemon()
        // OpenAI speaks at 24 kHz only: 16 kHz is voxd's resampling.
        let native = try d.post("/v1/audio/speech", #"{"model":"openai/gpt-4o-mini-tts","input":"hello there","response_format":"pcm"}"#)
        let converted = try d.post("/v1/audio/speech", #"{"model":"openai/gpt-4o-mini-tts","input":"hello there","response_format":"pcm","sample_rate":16000}"#)
        XCTAssertEqual(native.status, 200, native.text)
        XCTAssertEqual(converted.status, 200, converted.text)
        XCTAssertEqual(native.headers["x-vox-sample-rate"], "24000")
        XCTAssertEqual(converted.headers["x-vox-sample-rate"], "16000")
        XCTAssertEqual(Double(converted.body.count), Double(native.body.count) * 2 / 3, accuracy: 8, "two thirds of the samples")
        XCTAssertNil(openai.requests(to: "/v1/audio/speech").last?.json?["sample_rate"], "OpenAI takes no sample_rate")
        // Failing over to Groq, which offers 16 kHz itself: asked for as is.
        openai.script("/v1/audio/speech", .status(503, retryAfter: nil))
        let moved = try d.post("/v1/audio/speech", #"{"model":"speech","input":"hello","response_format":"wav","sample_rate":16000}"#)
        XCTAssertEqual(moved.status, 200, moved.text)
        XCTAssertEqual(moved.headers["x-vox-provider"], "groq")
        XCTAssertEqual(moved.headers["x-vox-sample-rate"], "16000")
        XCTAssertEqual(groq.requests(to: "/audio/speech").last?.json?["sample_rate"]?.int, 16000)
        XCTAssertEqual(try d.post("/v1/audio/speech", #"{"input":"hi","sample_rate":100}"#).status, 400)
    }

    func testConcurrencyLimitSendsTheOverflowElsewhere() throws {
        try startDaemon("""
        max_concurrency = 1
        queue_size = 0
        """, openaiFirstOutputMs: 10000)
        openai.script(Self.chatPath, .slowStream(chunks: 8, intervalMs: 100))
        // Streamed, so each openai request holds its slot for ~0.8 s.
        let lock = NSLock()
        var replies: [Daemon.Reply] = []
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let r = (try? chat(stream: true)) ?? Daemon.Reply(status: 0, curlExit: -1, headers: [:], body: Data())
            lock.withLock { replies.append(r) }
        }
        XCTAssertEqual(replies.map(\.status), [200, 200, 200, 200], replies.map(\.text).joined(separator: "\n"))
        XCTAssertEqual(replies.filter { answer($0) != nil }.count, 4, "every answer complete")
        let served = replies.compactMap { $0.headers["x-vox-provider"] }
        let atGroq = served.filter { $0 == "groq" }.count
        XCTAssertGreaterThanOrEqual(served.filter { $0 == "openai" }.count, 1, "\(served)")
        XCTAssertGreaterThanOrEqual(atGroq, 2, "one slot at openai, no queue: the overflow went to groq: \(served)")
        let metrics = try d.curl("/metrics").text
        XCTAssertTrue(metrics.contains("voxd_provider_attempts_total{provider=\"openai\",kind=\"chat\",outcome=\"queue_full\"} \(atGroq)"), metrics)
        XCTAssertFalse(metrics.contains("outcome=\"failed\""), metrics)
        XCTAssertTrue(metrics.contains("voxd_queue_depth{provider=\"openai\"} 0"), metrics)
        XCTAssertTrue(metrics.contains("# TYPE voxd_first_output_seconds histogram"), metrics)
        XCTAssertTrue(metrics.contains("voxd_first_output_seconds_bucket{provider=\"groq\",model=\"llama-3.3-70b-versatile\",kind=\"chat\",le=\"+Inf\"} \(atGroq)"), metrics)
        XCTAssertTrue(metrics.contains("voxd_plugin_op_total{plugin=\"groq\",kind=\"chat\"} \(atGroq)"), metrics)
        XCTAssertTrue(metrics.contains("voxd_requests_total{kind=\"chat\",code=\"ok\"} 4"), metrics)
        let status = try d.curl("/v1/status")
        XCTAssertNotNil((status.json["router"] as? [String: Any])?["providers"] as? [String: Any])
    }
}

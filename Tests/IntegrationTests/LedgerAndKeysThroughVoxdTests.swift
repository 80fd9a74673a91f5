import Foundation
import VoxTestSupport
import XCTest

/// The usage ledger and API keys in the real voxd: calls booked in the
/// provider's own units at the declared (or configured) prices, budgets
/// that concurrent calls cannot overspend, scopes, rate and stream limits,
/// revocation and expiry, and the ledger surviving kill -9.
final class LedgerAndKeysThroughVoxdTests: XCTestCase {
    var openai: OpenAIFake!
    var d: Daemon!

    override func setUp() async throws {
        openai = try await OpenAIFake.start()
    }

    override func tearDown() async throws {
        d?.stop()
        XCTAssertEqual(openai.violations, [], "every request to OpenAI matched its documented shape")
        await openai.stop()
    }

    /// LocalTTS at a configured price per character (it declares none:
    /// it runs offline), the OpenAI plugin at its declared speech and
    /// transcription prices and a configured chat price.
    func start(_ extra: String = "") throws {
        d = Daemon(plugins: [
            "localtts": "library = \"libvox_localtts.so\"",
            "openai": """
            library = "libvox_openai.so"
            [settings]
            base_url = "\(openai.baseURL)"
            [secrets]
            api_key = "env:VOXD_TEST_OPENAI_KEY"
            """,
        ], config: """
        [server]
        socket_mode = "0666"
        \(extra)
        [providers.localtts.prices]
        "*" = { character = 0.0001 }
        [providers.openai.prices]
        "gpt-4o-mini" = { input_token = 0.00000015, output_token = 0.0000006 }
        """, environment: ["VOXD_TEST_OPENAI_KEY": OpenAIFake.defaultAPIKey])
        try d.start()
    }

    func call(_ requestID: String) throws -> [String: Any] {
        let calls = try d.curl("/v1/usage/calls?request_id=\(requestID)").json["calls"] as? [[String: Any]] ?? []
        XCTAssertEqual(calls.count, 1, "one ledger row for request \(requestID)")
        return calls.first ?? [:]
    }

    func key(_ body: String) throws -> (id: String, bearer: [String]) {
        let r = try d.post("/v1/keys", body)
        XCTAssertEqual(r.status, 201, r.text)
        let secret = r.json["secret"] as? String ?? ""
        return ((r.json["key"] as? [String: Any])?["id"] as? String ?? "", ["-H", "Authorization: Bearer \(secret)"])
    }

    func testEveryCallIsBookedInTheProvidersUnits() throws {
        try start()
        // Chat: tokens as the provider counted them, at the configured price.
        let chat = try d.post("/v1/chat/completions", #"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#)
        XCTAssertEqual(chat.status, 200, chat.text)
        let usage = chat.json["usage"] as? [String: Any] ?? [:]
        let (pin, pout) = (usage["prompt_tokens"] as? Int ?? 0, usage["completion_tokens"] as? Int ?? 0)
        XCTAssertGreaterThan(pin, 0)
        let c = try call(chat.headers["x-request-id"] ?? "")
        XCTAssertEqual(c["kind"] as? String, "chat")
        XCTAssertEqual(c["provider"] as? String, "openai")
        XCTAssertEqual(c["model"] as? String, "gpt-4o-mini")
        XCTAssertEqual((c["units"] as? [String: Any])?["input_tokens"] as? Int, pin)
        XCTAssertEqual((c["units"] as? [String: Any])?["output_tokens"] as? Int, pout)
        XCTAssertEqual(c["cost_usd"] as? Double ?? 0, Double(pin) * 0.00000015 + Double(pout) * 0.0000006, accuracy: 1e-12)
        XCTAssertEqual(c["outcome"] as? String, "ok")
        XCTAssertEqual(c["client"] as? String, "uid:\(getuid())")
        XCTAssertNotNil(c["ttfb_ms"] as? Double)

        // Speech: characters, never $0 — the remote one at its declared price, the local one at the configured one.
        let speech = try d.post("/v1/audio/speech", #"{"model":"openai/tts-1","input":"Hello world","voice":"alloy","response_format":"mp3"}"#)
        XCTAssertEqual(speech.status, 200, speech.text)
        let s = try call(speech.headers["x-request-id"] ?? "")
        XCTAssertEqual((s["units"] as? [String: Any])?["characters"] as? Int, 11)
        XCTAssertEqual(s["cost_usd"] as? Double ?? 0, 11 * 15.0 / 1_000_000, accuracy: 1e-12)
        XCTAssertEqual(s["voice"] as? String, "alloy")
        let local = try d.post("/v1/audio/speech", #"{"model":"localtts","input":"Good morning"}"#)
        XCTAssertEqual(local.status, 200, local.text)
        let l = try call(local.headers["x-request-id"] ?? "")
        XCTAssertEqual((l["units"] as? [String: Any])?["characters"] as? Int, 12)
        XCTAssertEqual(l["cost_usd"] as? Double ?? 0, 12 * 0.0001, accuracy: 1e-12)
        XCTAssertGreaterThan((l["units"] as? [String: Any])?["audio_seconds"] as? Double ?? 0, 0.3)

        // Transcription: audio seconds.
        let (code, out) = try d.upload(["model=openai/whisper-1"], file: wavFile(seconds: 1.0))
        XCTAssertEqual(code, 200, out)
        let calls = try d.curl("/v1/usage/calls?limit=1").json["calls"] as? [[String: Any]] ?? []
        let t = calls.first ?? [:]
        XCTAssertEqual(t["kind"] as? String, "stt", "\(t)")
        let seconds = (t["units"] as? [String: Any])?["audio_seconds"] as? Double ?? 0
        XCTAssertGreaterThan(seconds, 0, "\(t)")
        XCTAssertEqual(t["cost_usd"] as? Double ?? 0, seconds * 0.006 / 60, accuracy: 1e-12)

        // A refused request is booked with its error and no cost.
        let bad = try d.post("/v1/audio/speech", #"{"model":"openai/tts-1","input":"Hi","voice":"no-such-voice"}"#)
        XCTAssertEqual(bad.status, 404, bad.text)

        // Totals by provider and by model add up; voxctl shows the same.
        let byProvider = try d.curl("/v1/usage?group_by=provider").json
        let groups = byProvider["groups"] as? [[String: Any]] ?? []
        let openaiTotal = groups.first { $0["group"] as? String == "openai" } ?? [:]
        XCTAssertEqual(openaiTotal["calls"] as? Int, 4, "\(groups)")
        XCTAssertEqual(openaiTotal["errors"] as? Int, 1)
        XCTAssertEqual(openaiTotal["characters"] as? Int, 11)
        let total = (byProvider["total"] as? [String: Any])?["cost_usd"] as? Double ?? 0
        XCTAssertEqual(total, (c["cost_usd"] as! Double) + (s["cost_usd"] as! Double) + (l["cost_usd"] as! Double) + (t["cost_usd"] as! Double), accuracy: 1e-9)
        let byModel = try d.curl("/v1/usage?group_by=model").json["groups"] as? [[String: Any]] ?? []
        XCTAssertTrue(byModel.contains { $0["group"] as? String == "localtts/espeak-ng" }, "\(byModel)")
        let cli = try runProcess(Daemon.voxctl, ["--socket", d.socket, "usage", "--group-by", "kind", "--json"])
        XCTAssertEqual(cli.status, 0, cli.stderr)
        XCTAssertTrue(cli.stdout.contains("\"group\": \"tts\""), cli.stdout)
        let table = try runProcess(Daemon.voxctl, ["--socket", d.socket, "usage"])
        XCTAssertTrue(table.stdout.contains("localtts") && table.stdout.contains("total"), table.stdout)
        XCTAssertEqual(try d.curl("/v1/usage?group_by=planet").status, 400)
        XCTAssertEqual(try d.curl("/v1/usage?from=yesterday").status, 400)

        // Cost per minute of a conversation with an STT + LLM + TTS combination.
        let estimate = try d.curl("/v1/usage/estimate?stt=openai/whisper-1&llm=openai/gpt-4o-mini&tts=openai/tts-1").json
        XCTAssertGreaterThan(estimate["usd_per_minute"] as? Double ?? 0, 0, "\(estimate)")
        XCTAssertEqual(estimate["complete"] as? Bool, true, "\(estimate)")
        XCTAssertNotNil((estimate["assumptions"] as? [String: Any])?["words_per_minute"])
        XCTAssertEqual(try d.curl("/v1/usage/estimate?tts=nobody").status, 400)

        // A max price leaves out what would cost more (the explain route and a real request agree).
        let cheap = try d.curl("/v1/route/explain?kind=tts&model=openai/tts-1-hd&max_price=0.000001")
        XCTAssertEqual(cheap.status, 400, cheap.text)
        XCTAssertTrue((cheap.error?["message"] as? String ?? "").contains("above the max price"), cheap.text)
        let capped = try d.curl("/v1/audio/speech", method: "POST", body: Data(#"{"model":"openai/tts-1-hd","input":"Hello world","voice":"alloy"}"#.utf8),
                                extra: ["-H", "X-Vox-Max-Price: 0.0001"])
        XCTAssertEqual(capped.status, 400, capped.text)
        XCTAssertTrue((capped.error?["message"] as? String ?? "").contains("would cost about $0.000330"), capped.text)
        XCTAssertEqual(try d.curl("/v1/audio/speech", method: "POST", body: Data(#"{"model":"openai/tts-1-hd","input":"Hello world","voice":"alloy"}"#.utf8),
                                  extra: ["-H", "X-Vox-Max-Price: 0.001"]).status, 200)
        XCTAssertEqual(try d.curl("/v1/route/explain?kind=chat&latency_class=warp").status, 400)
        let realtime = try d.curl("/v1/route/explain?kind=chat&model=openai/gpt-4o-mini&latency_class=realtime").json
        XCTAssertEqual((realtime["request"] as? [String: Any])?["latency_class"] as? String, "realtime", "\(realtime)")

        // The ledger's lag is in /metrics.
        XCTAssertTrue(try d.curl("/metrics").text.contains("voxd_ledger_lag_seconds 0"))
    }

    /// Calls that would overspend a budget are refused with 402 before they
    /// start, even when they arrive together: each reserves its estimate.
    func testConcurrentCallsCannotOverspendABudget() throws {
        try start()
        // "Hello" is 5 characters, $0.0005 here: two fit in a $0.001 day.
        let k = try key(#"{"name":"budgeted","scopes":["tts"],"budget":{"day_usd":0.001}}"#)
        final class Results: @unchecked Sendable { let lock = NSLock(); var codes: [Int] = []; var messages: [String] = [] }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            guard let r = try? d.curl("/v1/audio/speech", method: "POST", body: Data(#"{"model":"localtts","input":"Hello"}"#.utf8), extra: k.bearer) else { return }
            results.lock.withLock {
                results.codes.append(r.status)
                if r.status != 200 { results.messages.append(r.error?["message"] as? String ?? r.text) }
            }
        }
        XCTAssertEqual(results.codes.filter { $0 == 200 }.count, 2, "\(results.codes) \(results.messages)")
        XCTAssertEqual(results.codes.filter { $0 == 402 }.count, 4, "\(results.codes)")
        XCTAssertTrue(results.messages.allSatisfy { $0.contains("daily budget of $0.001") || $0.contains("daily budget of $0.00") }, "\(results.messages)")
        let usage = try d.curl("/v1/usage", extra: k.bearer).json
        let budget = usage["budget"] as? [String: Any] ?? [:]
        XCTAssertEqual(budget["spent_today_usd"] as? Double ?? 1, 0.001, accuracy: 1e-12)
        XCTAssertEqual((usage["total"] as? [String: Any])?["calls"] as? Int, 6, "the key sees its own calls, refusals included")
        XCTAssertEqual((usage["total"] as? [String: Any])?["errors"] as? Int, 4)
        let refused = try d.curl("/v1/audio/speech", method: "POST", body: Data(#"{"model":"localtts","input":"Hi"}"#.utf8), extra: k.bearer)
        XCTAssertEqual(refused.status, 402)
        XCTAssertNotNil(refused.headers["retry-after"], "says when the budget resets")
        // An admin raises the budget; the key works again.
        let raised = try d.curl("/v1/keys/\(k.id)", method: "PATCH", body: Data(#"{"budget":{"day_usd":1},"version":1}"#.utf8))
        XCTAssertEqual(raised.status, 200, raised.text)
        XCTAssertEqual(try d.curl("/v1/audio/speech", method: "POST", body: Data(#"{"model":"localtts","input":"Hi"}"#.utf8), extra: k.bearer).status, 200)
    }

    /// `[ledger] budget_day_usd` holds every call, an admin's (no key)
    /// included, and what was spent is reloaded after a restart.
    func testGlobalBudgetHoldsEveryCallerAcrossARestart() throws {
        try start("[ledger]\nbudget_day_usd = 0.001\nflush_ms = 100")
        let hello = Data(#"{"model":"localtts","input":"Hello"}"#.utf8) // $0.0005 at this config's price
        XCTAssertEqual(try d.curl("/v1/audio/speech", method: "POST", body: hello).status, 200)
        let k = try key(#"{"name":"unlimited","scopes":["tts"]}"#)
        XCTAssertEqual(try d.curl("/v1/audio/speech", method: "POST", body: hello, extra: k.bearer).status, 200, "a key without its own budget")
        let over = try d.curl("/v1/audio/speech", method: "POST", body: hello)
        XCTAssertEqual(over.status, 402, over.text)
        XCTAssertTrue((over.error?["message"] as? String ?? "").contains("voxd's daily budget of $0.001000 would be exceeded: $0.001000 spent"), over.text)
        XCTAssertNotNil(over.headers["retry-after"])
        XCTAssertEqual(try d.curl("/v1/audio/speech", method: "POST", body: hello, extra: k.bearer).status, 402, "keys are held by it too")
        Thread.sleep(forTimeInterval: 0.4) // the rows reach the store
        d.stop()
        try d.start()
        let again = try d.curl("/v1/audio/speech", method: "POST", body: hello)
        XCTAssertEqual(again.status, 402, "spending reloaded from the ledger: \(again.text)")
        let status = try d.curl("/metrics").text
        XCTAssertTrue(status.contains("voxd_spend_usd{period=\"day\"} 0.001"), status.split(separator: "\n").filter { $0.contains("spend") }.joined(separator: "\n"))
    }

    func testKeyLifecycleScopesAndLimits() throws {
        try start()
        // Bad bodies: every problem at once, nothing written.
        let bad = try d.post("/v1/keys", #"{"name":"../x","scopes":["chat","sudo"],"budget":{"day_usd":-1},"rate_limit":{"requests_per_minute":0},"colour":"red"}"#)
        XCTAssertEqual(bad.status, 400, bad.text)
        let paths = Set((bad.error?["problems"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String })
        XCTAssertEqual(paths, ["name", "scopes[1]", "budget.day_usd", "rate_limit.requests_per_minute", "colour"], bad.text)
        XCTAssertEqual((try d.curl("/v1/keys").json["keys"] as? [Any])?.count, 0)

        // Created with voxctl: the secret is printed once, stored nowhere.
        let made = try runProcess(Daemon.voxctl, ["--socket", d.socket, "keys", "create", "chat app", "--scope", "chat", "--rpm", "2"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let secret = String(made.stdout.split(separator: " ").last { $0.hasPrefix("vx_") } ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(secret.count, 3 + 16 + 1 + 43, made.stdout)
        let listed = try d.curl("/v1/keys")
        XCTAssertFalse(listed.text.contains(secret) || listed.text.contains("\"hash\"") || listed.text.contains("\"salt\""), listed.text)
        let id = (listed.json["keys"] as? [[String: Any]])?.first?["id"] as? String ?? ""
        XCTAssertTrue(try d.curl("/v1/audit?object_id=\(id)").text.contains("key.create"))
        XCTAssertFalse(try d.curl("/v1/audit?object_id=\(id)").text.contains("\"hash\""), "the audit log keeps no hash")
        for file in ["voxd.sqlite", "voxd.sqlite-wal"] {
            let bytes = FileManager.default.contents(atPath: "\(d.stateDir)/\(file)") ?? Data()
            XCTAssertNil(bytes.range(of: Data(secret.utf8)), "the secret is not in \(file)")
        }
        let bearer = ["-H", "Authorization: Bearer \(secret)"]

        // Scopes: chat yes, speech no. A non-admin peer with the key is served.
        let window = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60)
        if window > 55 { Thread.sleep(forTimeInterval: 61 - window) } // keep the three requests in one minute
        let ok = try d.curl("/v1/chat/completions", method: "POST", body: Data(#"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#.utf8),
                            asUser: 65534, extra: bearer)
        XCTAssertEqual(ok.status, 200, ok.text)
        XCTAssertEqual(ok.headers["x-ratelimit-limit"], "2")
        XCTAssertEqual(ok.headers["x-ratelimit-remaining"], "1")
        XCTAssertNotNil(ok.headers["x-ratelimit-reset"].flatMap(Int.init))
        XCTAssertEqual(try call(ok.headers["x-request-id"] ?? "")["client"] as? String, "key:\(id)")
        let noScope = try d.curl("/v1/audio/speech", method: "POST", body: Data(#"{"model":"localtts","input":"Hi"}"#.utf8), extra: bearer)
        XCTAssertEqual(noScope.status, 403, noScope.text)
        XCTAssertTrue((noScope.error?["message"] as? String ?? "").contains("lacks the scope \"tts\""), noScope.text)
        // The third request in the minute (the refused one counted) is over the limit.
        let limited = try d.curl("/v1/models", extra: bearer)
        XCTAssertEqual(limited.status, 429, limited.text)
        XCTAssertEqual(limited.headers["x-ratelimit-remaining"], "0")
        XCTAssertNotNil(limited.headers["retry-after"])
        XCTAssertTrue((limited.error?["message"] as? String ?? "").contains("requests_per_minute"), limited.text)

        // Revoked: 401 at once, and it stays listed as revoked.
        let revoke = try runProcess(Daemon.voxctl, ["--socket", d.socket, "keys", "revoke", id])
        XCTAssertEqual(revoke.status, 0, revoke.stderr)
        let after = try d.curl("/v1/models", extra: bearer)
        XCTAssertEqual(after.status, 401)
        XCTAssertTrue((after.error?["message"] as? String ?? "").contains("was revoked"), after.text)
        XCTAssertEqual(try d.curl("/v1/keys/\(id)").json["status"] as? String, "revoked")
        XCTAssertEqual(try d.curl("/v1/keys/\(id)", method: "PATCH", body: Data(#"{"scopes":["admin"],"version":2}"#.utf8)).status, 409)

        // A key's default template cannot be deleted from under it.
        let clone = try d.post("/v1/templates/preset-budget/clone", #"{"name":"Key default"}"#)
        XCTAssertEqual(clone.status, 201, clone.text)
        let tid = clone.json["id"] as? String ?? ""
        let withTemplate = try key(#"{"name":"templated","scopes":["chat"],"template":"\#(tid)"}"#)
        let del = try d.curl("/v1/templates/\(tid)", method: "DELETE")
        XCTAssertEqual(del.status, 409, del.text)
        XCTAssertTrue(del.text.contains("key:\(withTemplate.id)"), del.text)
        XCTAssertEqual(try d.curl("/v1/defaults", extra: withTemplate.bearer).status, 403, "defaults need config:read")
        XCTAssertEqual(try d.curl("/v1/status", extra: withTemplate.bearer).status, 403, "status (paths, pid) needs config:read")
        XCTAssertEqual(try d.curl("/v1/providers", extra: withTemplate.bearer).status, 200, "the catalog is any key's")

        // Expiry, and secrets that are not keys.
        let short = try key(#"{"name":"short","scopes":["chat"],"expires_in_days":0.00002}"#)
        Thread.sleep(forTimeInterval: 2.2)
        let expired = try d.curl("/v1/models", extra: short.bearer)
        XCTAssertEqual(expired.status, 401)
        XCTAssertTrue((expired.error?["message"] as? String ?? "").contains("expired at"), expired.text)
        let forged = "vx_" + id.dropFirst(4) + "_" + String(repeating: "A", count: 43)
        XCTAssertEqual(try d.curl("/v1/models", extra: ["-H", "Authorization: Bearer \(forged)"]).status, 401)
        XCTAssertEqual(try d.curl("/v1/models", asUser: 65534, extra: ["-H", "Authorization: Bearer sk-not-ours"]).status, 401)
        XCTAssertEqual(try d.curl("/v1/models", asUser: 65534).status, 401, "a non-admin peer needs a key")
        XCTAssertEqual(try d.curl("/v1/models", extra: ["-H", "Authorization: Bearer sk-not-ours"]).status, 200,
                       "an admin peer's foreign bearer token (the OpenAI SDK always sends one) is ignored")
    }

    /// A key's concurrent-stream limit holds a slot until the stream ends.
    func testConcurrentStreamLimit() throws {
        try start()
        let k = try key(#"{"name":"one stream","scopes":["chat"],"rate_limit":{"concurrent_streams":1}}"#)
        openai.script("/v1/chat/completions", .slowStream(chunks: 15, intervalMs: 100))
        let body = Data(#"{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#.utf8)
        let first = DispatchQueue(label: "first stream")
        final class Box: @unchecked Sendable { var reply: Daemon.Reply? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        first.async { box.reply = try? self.d.curl("/v1/chat/completions", method: "POST", body: body, extra: k.bearer); done.signal() }
        let deadline = Date().addingTimeInterval(5)
        while (try? d.curl("/v1/keys/\(k.id)").json["streams_in_flight"] as? Int) != 1, Date() < deadline { usleep(20_000) }
        let second = try d.curl("/v1/chat/completions", method: "POST", body: body, extra: k.bearer)
        XCTAssertEqual(second.status, 429, second.text)
        XCTAssertTrue((second.error?["message"] as? String ?? "").contains("concurrent_streams = 1"), second.text)
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success)
        XCTAssertEqual(box.reply?.status, 200)
        XCTAssertTrue(box.reply?.text.contains("data: [DONE]") ?? false)
        openai.script("/v1/chat/completions", .normal)
        XCTAssertEqual(try d.curl("/v1/keys/\(k.id)").json["streams_in_flight"] as? Int, 0, "the slot is freed when the stream ends")
        XCTAssertEqual(try d.curl("/v1/chat/completions", method: "POST", body: body, extra: k.bearer).status, 200)
    }

    /// A store that refuses writes (another process holds SQLite's write
    /// lock past voxd's 5 s busy timeout) neither slows calls nor loses
    /// their rows: the batch stays pending, counted in /metrics, and lands
    /// once the store takes writes again.
    func testLedgerKeepsRowsWhileTheStoreRefusesWrites() throws {
        try start("[ledger]\nflush_ms = 100")
        func metric(_ name: String) throws -> Double {
            let line = try d.curl("/metrics").text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
        }
        // The lock holder: BEGIN IMMEDIATE takes SQLite's write lock (WAL: readers go on), held until stdin closes.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            sys.stdin.read()
            db.execute("ROLLBACK")
            """, "\(d.stateDir)/voxd.sqlite"]
        let stdin = Pipe(), stdout = Pipe()
        holder.standardInput = stdin
        holder.standardOutput = stdout
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        XCTAssertEqual(String(decoding: stdout.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), "locked")

        var ids: [String] = []
        for i in 0..<3 {
            let t0 = Date()
            let r = try d.post("/v1/audio/speech", #"{"model":"localtts","input":"Locked \#(i)"}"#)
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssertLessThan(Date().timeIntervalSince(t0), 3, "a call never waits for the store")
            ids.append(r.headers["x-request-id"] ?? "")
        }
        let deadline = Date().addingTimeInterval(20)
        while try metric("voxd_ledger_write_errors_total") < 1, Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        XCTAssertGreaterThanOrEqual(try metric("voxd_ledger_write_errors_total"), 1, "the refused batch is counted")
        XCTAssertEqual(try metric("voxd_ledger_pending_rows"), 3, "and its rows are kept")
        XCTAssertEqual(try metric("voxd_ledger_rows_dropped_total"), 0)

        stdin.fileHandleForWriting.closeFile() // the holder rolls back and exits
        holder.waitUntilExit()
        var landed = Set<String>()
        while landed.count < 3, Date() < deadline.addingTimeInterval(10) {
            let calls = try d.curl("/v1/usage/calls?limit=100").json["calls"] as? [[String: Any]] ?? []
            landed = Set(calls.compactMap { $0["request_id"] as? String })
            if landed.count < 3 { Thread.sleep(forTimeInterval: 0.2) }
        }
        XCTAssertEqual(landed, Set(ids), "every row written once the store takes writes again")
        XCTAssertEqual(try metric("voxd_ledger_pending_rows"), 0)
    }

    /// Rows reach the store within the batch window: after a kill -9, every
    /// call that ended more than one window earlier is in the ledger.
    func testLedgerSurvivesKill9() throws {
        try start("[ledger]\nflush_ms = 200")
        var ids: [String] = []
        for i in 0..<12 {
            let r = try d.post("/v1/audio/speech", #"{"model":"localtts","input":"Number \#(i)"}"#)
            XCTAssertEqual(r.status, 200, r.text)
            ids.append(r.headers["x-request-id"] ?? "")
        }
        Thread.sleep(forTimeInterval: 0.6) // three windows
        d.signal(SIGKILL)
        d.process?.waitUntilExit()
        XCTAssertEqual(d.process?.terminationReason, .uncaughtSignal)
        try d.start()
        let calls = try d.curl("/v1/usage/calls?limit=100").json["calls"] as? [[String: Any]] ?? []
        XCTAssertEqual(Set(calls.compactMap { $0["request_id"] as? String }), Set(ids), "no call lost")
        // Spending is reloaded: today's total is what the rows say.
        let total = (try d.curl("/v1/usage").json["total"] as? [String: Any])?["cost_usd"] as? Double ?? 0
        XCTAssertEqual(total, calls.reduce(0) { $0 + ($1["cost_usd"] as? Double ?? 0) }, accuracy: 1e-9)
        XCTAssertGreaterThan(total, 0)
    }
}

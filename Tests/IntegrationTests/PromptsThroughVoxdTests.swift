import Foundation
import VoxTestSupport
import XCTest

/// System prompts and the audit log through a real voxd (curl over its
/// socket), and the store surviving kill -9 in the middle of writes.
final class PromptsThroughVoxdTests: XCTestCase {
    func daemon(config: String = "") throws -> Daemon {
        let d = Daemon(plugins: ["localtts": "library = \"libvox_localtts.so\""], config: config)
        try d.start()
        return d
    }

    func testPromptLifecycleOverTheSocket() throws {
        let d = try daemon(config: "[server]\nsocket_mode = \"0666\"\n") // so uid 65534 can connect
        defer { d.stop() }

        // Built-ins are listed, flagged, and read-only.
        let list = try d.curl("/v1/prompts?builtin=true").json["prompts"] as! [[String: Any]]
        XCTAssertEqual(list.count, 5)
        XCTAssertTrue(list.allSatisfy { $0["builtin"] as? Bool == true })
        let builtinPut = try d.curl("/v1/prompts/builtin-sales-assistant", method: "PUT", body: Data(#"{"text":"x","version":1}"#.utf8))
        XCTAssertEqual(builtinPut.status, 403, builtinPut.text)
        let rendered = try d.post("/v1/prompts/builtin-appointment-scheduler/render", #"{"values":{"company_name":"Bright Dental"}}"#)
        XCTAssertEqual(rendered.status, 200, rendered.text)
        XCTAssertTrue((rendered.json["text"] as? String ?? "").contains("scheduling assistant for Bright Dental"), rendered.text)

        // Create, with every problem of a bad body reported at once.
        let bad = try d.post("/v1/prompts", #"{"name":"../etc/passwd","category":"pirates","text":"Hi {{who}} {{ bad name }}","variables":[{"name":"who","required":"yes"}],"colour":"red"}"#)
        XCTAssertEqual(bad.status, 400, bad.text)
        let problems = (bad.error?["problems"] as? [[String: Any]] ?? []).map { $0["path"] as? String ?? "" }
        XCTAssertEqual(Set(problems), ["colour", "name", "category", "variables[0].required", "text"], bad.text)
        let sqlName = try d.post("/v1/prompts", #"{"name":"x'; DROP TABLE prompts; --","text":"hi"}"#)
        XCTAssertEqual(sqlName.status, 400, sqlName.text)
        let malformed = try d.post("/v1/prompts", #"{"name":"Broken","text":"Hello\n{{ bad name }}"}"#)
        XCTAssertEqual(malformed.status, 400)
        let m = (malformed.error?["problems"] as? [[String: Any]])?.first
        XCTAssertEqual(m?["line"] as? Int, 2, malformed.text)
        XCTAssertEqual(m?["column"] as? Int, 1, malformed.text)
        XCTAssertEqual(m?["position"] as? Int, 6, malformed.text)

        let created = try d.post("/v1/prompts", #"{"name":"Front desk","category":"scheduling","text":"You are {{agent}} at {{clinic}}.","variables":[{"name":"agent","default":"Sam"},{"name":"clinic","required":true,"description":"Clinic name"}]}"#)
        XCTAssertEqual(created.status, 201, created.text)
        let id = created.json["id"] as! String
        XCTAssertEqual(created.headers["etag"], "\"1\"")
        XCTAssertEqual(created.json["builtin"] as? Bool, false)
        XCTAssertEqual(try d.post("/v1/prompts", #"{"name":"FRONT DESK","text":"x"}"#).status, 409, "names are unique, case-insensitively")

        // Render: missing, unknown, and then the text.
        let missing = try d.post("/v1/prompts/\(id)/render", #"{"values":{"colour":"red"}}"#)
        XCTAssertEqual(missing.status, 400)
        let mp = Set((missing.error?["problems"] as? [[String: Any]] ?? []).map { $0["path"] as? String ?? "" })
        XCTAssertEqual(mp, ["values.colour", "values.clinic"], missing.text)
        let ok = try d.post("/v1/prompts/\(id)/render", #"{"values":{"clinic":"Elm Street Clinic"}}"#)
        XCTAssertEqual(ok.json["text"] as? String, "You are Sam at Elm Street Clinic.", ok.text)
        XCTAssertTrue(ok.json["warning"] is NSNull)
        let realtime = try d.post("/v1/prompts/\(id)/render", #"{"mode":"realtime","values":{"clinic":"Elm"},"sections":{"tools":"You can book with the calendar tool."}}"#)
        XCTAssertTrue((realtime.json["text"] as? String ?? "").contains("# Tools\nYou can book with the calendar tool."), realtime.text)
        XCTAssertEqual((realtime.json["sections"] as? [String: String])?["tools"], "request")

        // Update needs the version; a stale one is 409 and changes nothing.
        XCTAssertEqual(try d.curl("/v1/prompts/\(id)", method: "PUT", body: Data(#"{"text":"x"}"#.utf8)).status, 428)
        let v2 = try d.curl("/v1/prompts/\(id)", method: "PUT", body: Data(#"{"text":"You are {{agent}}, at {{clinic}}.","version":1}"#.utf8))
        XCTAssertEqual(v2.status, 200, v2.text)
        XCTAssertEqual(v2.json["version"] as? Int, 2)
        let stale = try d.curl("/v1/prompts/\(id)", method: "PATCH", body: Data(#"{"text":"lost"}"#.utf8), extra: ["-H", "If-Match: \"1\""])
        XCTAssertEqual(stale.status, 409, stale.text)
        XCTAssertEqual(try d.curl("/v1/prompts/\(id)").json["text"] as? String, "You are {{agent}}, at {{clinic}}.")

        // Another uid needs a key: without one, 401; with a config:read key it may
        // read and render, not write (403, nothing changed), nor read the audit log.
        let nobody = try d.post("/v1/prompts", #"{"name":"Sneaky","text":"hi"}"#, asUser: 65534)
        XCTAssertEqual(nobody.status, 401, nobody.text)
        XCTAssertEqual(try d.curl("/v1/prompts/\(id)/render", method: "POST", body: Data(#"{"values":{"clinic":"A"}}"#.utf8), asUser: 65534).status, 401)
        let key = try d.post("/v1/keys", #"{"name":"reader","scopes":["config:read"]}"#)
        XCTAssertEqual(key.status, 201, key.text)
        let bearer = ["-H", "Authorization: Bearer \(key.json["secret"] as? String ?? "")"]
        XCTAssertEqual(try d.curl("/v1/prompts/\(id)/render", method: "POST", body: Data(#"{"values":{"clinic":"A"}}"#.utf8), asUser: 65534, extra: bearer).status, 200,
                       "reading and rendering need config:read")
        let sneaky = try d.curl("/v1/prompts", method: "POST", body: Data(#"{"name":"Sneaky","text":"hi"}"#.utf8), asUser: 65534, extra: bearer)
        XCTAssertEqual(sneaky.status, 403, sneaky.text)
        XCTAssertTrue((sneaky.error?["message"] as? String ?? "").contains("lacks the scope \"config:write\""), sneaky.text)
        XCTAssertEqual(try d.curl("/v1/audit", asUser: 65534, extra: bearer).status, 403)
        XCTAssertEqual((try d.curl("/v1/prompts").json["prompts"] as? [[String: Any]] ?? []).filter { $0["name"] as? String == "Sneaky" }.count, 0)

        // The audit log has who, what, before and after.
        let audit = try d.curl("/v1/audit?object_id=\(id)").json["entries"] as! [[String: Any]]
        XCTAssertEqual(audit.map { $0["action"] as? String }, ["prompt.update", "prompt.create"])
        XCTAssertTrue((audit[0]["actor"] as? String ?? "").hasPrefix("uid:\(getuid())"), "\(audit[0])")
        XCTAssertEqual((audit[0]["before"] as? [String: Any])?["version"] as? Int, 1)
        XCTAssertEqual((audit[0]["after"] as? [String: Any])?["version"] as? Int, 2)
        // Paging keeps the filter.
        let first = try d.curl("/v1/audit?object_id=\(id)&limit=1").json
        let next = try XCTUnwrap(first["next"] as? String)
        XCTAssertTrue(next.contains("object_id=\(id)"), next)
        let second = try d.curl(next).json["entries"] as? [[String: Any]] ?? []
        XCTAssertEqual(second.map { $0["action"] as? String }, ["prompt.create"])

        XCTAssertEqual(try d.curl("/v1/prompts/\(id)", method: "DELETE", extra: ["-H", "If-Match: \"1\""]).status, 409)
        XCTAssertEqual(try d.curl("/v1/prompts/\(id)", method: "DELETE").status, 200)
        XCTAssertEqual(try d.curl("/v1/prompts/\(id)").status, 404)

        let status = try d.curl("/v1/status").json["store"] as? [String: Any]
        XCTAssertEqual(status?["journal_mode"] as? String, "wal")
        XCTAssertEqual(status?["path"] as? String, "\(d.stateDir)/voxd.sqlite")
    }

    func testLengthLimitsComeFromTheConfig() throws {
        let d = try daemon(config: "[prompts]\nmax_chars = 200\nwarn_chars = 50\n")
        defer { d.stop() }
        let long = String(repeating: "a", count: 201)
        let refused = try d.post("/v1/prompts", #"{"name":"Long","text":"\#(long)"}"#)
        XCTAssertEqual(refused.status, 400)
        XCTAssertTrue((refused.error?["message"] as? String ?? "").contains("over the limit of 200"), refused.text)
        let made = try d.post("/v1/prompts", #"{"name":"Medium","text":"\#(String(repeating: "b", count: 60))"}"#)
        let rendered = try d.post("/v1/prompts/\(made.json["id"] as! String)/render", "{}")
        XCTAssertTrue((rendered.json["warning"] as? String ?? "").contains("60 characters"), rendered.text)
    }

    /// Writers create prompts as fast as they can; voxd is SIGKILLed in the
    /// middle; a new voxd on the same state dir opens the store cleanly and
    /// has every write that was acknowledged (201) before the kill.
    func testEveryAcknowledgedWriteSurvivesKill9() throws {
        let d = try daemon()
        defer { d.stop() }
        final class Acked: @unchecked Sendable {
            let lock = NSLock()
            var ids: [String] = []
            var attempts = 0
            func add(_ id: String) { lock.withLock { ids.append(id) } }
        }
        let acked = Acked()
        let group = DispatchGroup()
        // One writer updates a single prompt, version after version.
        let counter = try d.post("/v1/prompts", #"{"name":"Counter","text":"v1"}"#).json["id"] as! String
        final class Version: @unchecked Sendable { let lock = NSLock(); var acked = 1 }
        let version = Version()
        group.enter()
        DispatchQueue.global().async {
            defer { group.leave() }
            for _ in 0..<2000 {
                let next = version.lock.withLock { version.acked } + 1
                guard let r = try? d.curl("/v1/prompts/\(counter)", method: "PATCH", body: Data(#"{"text":"v\#(next)","version":\#(next - 1)}"#.utf8)),
                      r.status == 200 else { return }
                version.lock.withLock { version.acked = next }
            }
        }
        let writers = 3
        for w in 0..<writers {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                for i in 0..<400 { // bounded: the kill ends it long before
                    guard let r = try? d.post("/v1/prompts", #"{"name":"W\#(w) P\#(i)","text":"Hello {{who}}","variables":[{"name":"who","default":"you"}]}"#) else { return }
                    if r.status == 201, let id = r.json["id"] as? String { acked.add(id) }
                    if r.curlExit != 0 { return } // voxd is gone
                }
            }
        }
        // Let writes land, then kill mid-stream.
        let deadline = Date().addingTimeInterval(20)
        while acked.lock.withLock({ acked.ids.count }) < 30, Date() < deadline { usleep(10_000) }
        d.signal(SIGKILL)
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        d.process?.waitUntilExit()
        XCTAssertEqual(d.process?.terminationReason, .uncaughtSignal)
        let ids = acked.lock.withLock { acked.ids }
        XCTAssertGreaterThanOrEqual(ids.count, 30)

        // voxd removes a stale socket at start; a new daemon, same state dir.
        try d.start()
        let stored = try d.curl("/v1/prompts?builtin=false").json["prompts"] as! [[String: Any]]
        let storedIDs = Set(stored.compactMap { $0["id"] as? String })
        let lost = Set(ids).subtracting(storedIDs)
        XCTAssertEqual(lost, [], "acknowledged writes lost after kill -9")
        // The updated prompt is at the last acknowledged version or the one in flight, text and version together.
        let c = try d.curl("/v1/prompts/\(counter)").json
        let storedVersion = c["version"] as? Int ?? 0
        let ackedVersion = version.lock.withLock { version.acked }
        XCTAssertTrue(storedVersion == ackedVersion || storedVersion == ackedVersion + 1, "stored \(storedVersion), acknowledged \(ackedVersion)")
        XCTAssertEqual(c["text"] as? String, "v\(storedVersion)")
        XCTAssertGreaterThan(ackedVersion, 1)
        // Each stored prompt has its audit row (they commit together).
        var audit: [[String: Any]] = []
        var page: String? = "/v1/audit?object_type=prompt&limit=1000"
        for _ in 0..<20 { // bounded paging
            guard let p = page else { break }
            let r = try d.curl(p).json
            audit += r["entries"] as? [[String: Any]] ?? []
            page = r["next"] as? String
        }
        XCTAssertEqual(Set(audit.compactMap { $0["object_id"] as? String }), storedIDs)
        XCTAssertEqual(audit.filter { $0["object_id"] as? String == counter }.count, (c["version"] as? Int) ?? 0,
                       "one audit row per committed version of the updated prompt")
        // And the store is usable: a new write after the crash.
        XCTAssertEqual(try d.post("/v1/prompts", #"{"name":"After the crash","text":"hi"}"#).status, 201)
        XCTAssertEqual((try d.curl("/v1/status").json["store"] as? [String: Any])?["journal_mode"] as? String, "wal")
    }

    /// Plugin enable/disable/reload and configuration reloads are admin changes too.
    func testPluginChangesAndReloadsAreAudited() throws {
        let d = try daemon()
        defer { d.stop() }
        XCTAssertEqual(try d.post("/v1/plugins/localtts/disable", "").status, 200)
        XCTAssertEqual(try d.post("/v1/plugins/localtts/enable", "").status, 200)
        XCTAssertEqual(try d.post("/v1/reload", "").status, 200)
        d.signal(SIGHUP)
        var entries: [[String: Any]] = []
        for _ in 0..<100 { // bounded wait for the SIGHUP reload's row
            entries = try d.curl("/v1/audit").json["entries"] as? [[String: Any]] ?? []
            if entries.count >= 4 { break }
            usleep(50_000)
        }
        XCTAssertEqual(entries.compactMap { $0["action"] as? String }, ["plugins.reload", "plugins.reload", "plugin.enable", "plugin.disable"])
        XCTAssertEqual(entries[0]["actor"] as? String, "signal:SIGHUP")
        XCTAssertTrue((entries[1]["actor"] as? String ?? "").hasPrefix("uid:\(getuid())"))
        XCTAssertEqual(((entries[1]["after"] as? [String: Any])?["unchanged"] as? [String]), ["localtts"])
        XCTAssertEqual((entries[3]["before"] as? [String: Any])?["state"] as? String, "loaded")
        XCTAssertEqual((entries[3]["after"] as? [String: Any])?["state"] as? String, "disabled")
        XCTAssertEqual(entries[3]["object_id"] as? String, "localtts")
    }

    /// A store that cannot be opened stops voxd at start, naming the file.
    func testADamagedStoreIsAStartupError() throws {
        let dir = TestPaths.tempDir("badstore")
        try FileManager.default.createDirectory(atPath: "\(dir)/state", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(dir)/plugins.d", withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(dir)/state/voxd.sqlite", contents: Data(repeating: 0x7a, count: 16384)))
        let r = try runProcess(Daemon.voxd, ["--state-dir", "\(dir)/state", "--plugins-dir", "\(dir)/plugins.d", "--socket", "\(dir)/voxd.sock"], timeout: 30)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(dir)/state/voxd.sqlite"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/voxd.sock"), "it never served")
        let check = try runProcess(Daemon.voxd, ["--check-config", "--state-dir", "\(dir)/state", "--plugins-dir", "\(dir)/plugins.d"], timeout: 30)
        XCTAssertEqual(check.status, 1, check.stdout)
        XCTAssertTrue(check.stderr.contains("\(dir)/state/voxd.sqlite"), check.stderr)
    }
}

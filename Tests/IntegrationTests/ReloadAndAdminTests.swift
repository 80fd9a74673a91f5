import Foundation
import VoxTestSupport
import XCTest

/// Reload (POST and SIGHUP), enable/disable, content-addressed library
/// reload, admin checks by peer uid, and --check-config.
final class ReloadAndAdminTests: XCTestCase {
    func plugins(_ d: Daemon) throws -> [String: [String: Any]] {
        let list = try d.curl("/v1/plugins").json["plugins"] as! [[String: Any]]
        return Dictionary(uniqueKeysWithValues: list.map { ($0["name"] as! String, $0) })
    }

    func testReloadAppliesChangesAndRefusesBadFiles() throws {
        let d = Daemon(plugins: ["localtts": "library = \"libvox_localtts.so\""])
        try d.start()
        defer { d.stop() }
        let before = try plugins(d)["localtts"]!["loaded_from"] as! String

        d.write(plugin: "examplec", "library = \"\(try TestPaths.exampleC())\"")
        let r = try d.post("/v1/reload", "")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.json["loaded"] as? [String], ["examplec"])
        XCTAssertEqual(r.json["unchanged"] as? [String], ["localtts"])
        XCTAssertEqual(try plugins(d)["localtts"]!["loaded_from"] as? String, before, "unchanged plugins keep running untouched")

        // A bad file: nothing changes, and the answer says why.
        d.write(plugin: "examplec", "library = \"x.so\"\nwpm = 30")
        let bad = try d.post("/v1/reload", "")
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue((bad.error?["message"] as? String ?? "").contains("examplec.toml: wpm: unknown key"), bad.text)
        XCTAssertEqual(try plugins(d)["examplec"]!["state"] as? String, "loaded")

        // SIGHUP applies a disable.
        d.write(plugin: "examplec", "enabled = false\nlibrary = \"\(try TestPaths.exampleC())\"")
        d.signal(SIGHUP)
        try waitFor { try self.plugins(d)["examplec"]?["state"] as? String == "disabled" }

        // A rotated secret re-creates the plugin; a forced reload does too.
        let secret = "\(d.dir)/token"
        _ = FileManager.default.createFile(atPath: secret, contents: Data("one".utf8))
        d.write(plugin: "examplec", "library = \"\(try TestPaths.exampleC())\"\n[secrets]\ntoken = \"file:\(secret)\"")
        XCTAssertEqual(try d.post("/v1/reload", "").json["loaded"] as? [String], ["examplec"])
        XCTAssertEqual(try d.post("/v1/reload", "").json["unchanged"] as? [String], ["examplec", "localtts"])
        _ = FileManager.default.createFile(atPath: secret, contents: Data("two".utf8))
        XCTAssertEqual(try d.post("/v1/reload", "").json["reloaded"] as? [String], ["examplec"])
        let forced = try d.post("/v1/plugins/examplec/reload", "")
        XCTAssertEqual(forced.json["reloaded"] as? [String], ["examplec"], forced.text)
        XCTAssertEqual(try d.post("/v1/plugins/nope/reload", "").status, 404)
        let cli = try runProcess(Daemon.voxctl, ["--socket", d.socket, "plugins", "reload", "examplec"])
        XCTAssertEqual(cli.status, 0, cli.stderr)
        XCTAssertTrue(cli.stdout.contains("reloaded"), cli.stdout)

        // Removing the file unloads it.
        d.remove(plugin: "examplec")
        XCTAssertEqual(try d.post("/v1/reload", "").status, 200)
        XCTAssertNil(try plugins(d)["examplec"])
    }

    func testChangedLibraryLoadsBesideTheOld() throws {
        let lib = TestPaths.tempDir("lib") + "/libvox_examplec.so"
        try FileManager.default.copyItem(atPath: try TestPaths.exampleC(), toPath: lib)
        let d = Daemon(plugins: ["examplec": "library = \"\(lib)\""])
        try d.start()
        defer { d.stop() }
        let first = try plugins(d)["examplec"]!
        // Rebuild differently (another optimisation level): a new file, a new hash.
        try FileManager.default.removeItem(atPath: lib)
        try FileManager.default.copyItem(atPath: try TestPaths.exampleC(extraFlags: ["-O0"]), toPath: lib)
        let r = try d.post("/v1/reload", "")
        XCTAssertEqual(r.json["reloaded"] as? [String], ["examplec"], r.text)
        let second = try plugins(d)["examplec"]!
        XCTAssertNotEqual(first["sha256"] as? String, second["sha256"] as? String)
        XCTAssertNotEqual(first["loaded_from"] as? String, second["loaded_from"] as? String)
        XCTAssertTrue((second["loaded_from"] as! String).contains(second["sha256"] as! String))
        // And it serves.
        let s = try d.post("/v1/audio/speech", #"{"model":"examplec","input":"E","response_format":"pcm"}"#)
        XCTAssertEqual(s.status, 200)
    }

    func testEnableDisableByAdminSurvivesRestart() throws {
        let d = Daemon(plugins: ["examplec": "library = \"\(try TestPaths.exampleC())\""], config: "[server]\nsocket_mode = \"0666\"\n")
        try d.start()
        let off = try d.post("/v1/plugins/examplec/disable", "")
        XCTAssertEqual(off.json["state"] as? String, "disabled", off.text)
        XCTAssertEqual(try d.post("/v1/audio/speech", #"{"model":"examplec","input":"E"}"#).status, 503)

        // Not an admin: uid 65534 may check health; anything else needs a key, and
        // a key without the admin scope may not change plugins.
        XCTAssertEqual(try d.curl("/v1/health", asUser: 65534).status, 200)
        let anonymous = try d.post("/v1/plugins/examplec/enable", "", asUser: 65534)
        XCTAssertEqual(anonymous.status, 401, anonymous.text)
        XCTAssertTrue((anonymous.error?["message"] as? String ?? "").contains("uid 65534 is not a voxd admin, so it needs an API key"), anonymous.text)
        let key = try d.post("/v1/keys", #"{"name":"tts app","scopes":["tts"]}"#)
        let bearer = ["-H", "Authorization: Bearer \(key.json["secret"] as? String ?? "")"]
        let denied = try d.curl("/v1/plugins/examplec/enable", method: "POST", asUser: 65534, extra: bearer)
        XCTAssertEqual(denied.status, 403, denied.text)
        XCTAssertTrue((denied.error?["message"] as? String ?? "").contains("lacks the scope \"admin\""), denied.text)
        XCTAssertEqual(try d.curl("/v1/reload", method: "POST", asUser: 65534, extra: bearer).status, 403)

        d.stop()
        try d.start()
        XCTAssertEqual(try plugins(d)["examplec"]!["state"] as? String, "disabled", "the override persisted")
        XCTAssertEqual(try d.post("/v1/plugins/examplec/enable", "").json["state"] as? String, "loaded")
        d.stop()
    }

    func testCheckConfig() throws {
        let good = Daemon(plugins: ["examplec": "library = \"\(try TestPaths.exampleC())\""])
        let ok = try runProcess(Daemon.voxd, ["--check-config", "--config", good.configFile, "--plugins-dir", good.pluginsDir, "--state-dir", good.stateDir])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("1 plugin(s) load: examplec"), ok.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: good.stateDir), "checking writes nothing to the state dir")

        let bad = Daemon(plugins: [
            "examplec": "library = \"\(try TestPaths.exampleC())\"\ncolour = 1",
            "broken": "library = \"\(try TestPaths.fixture("missing_entry"))\"",
        ], config: "[server]\nsocket = 5\n")
        let r1 = try runProcess(Daemon.voxd, ["--check-config", "--config", bad.configFile, "--plugins-dir", bad.pluginsDir])
        XCTAssertEqual(r1.status, 1)
        XCTAssertEqual(r1.stderr.split(separator: "\n"), ["\(bad.configFile): server.socket: must be a string, not integer"])

        bad.write(plugin: "zz", "")
        let r2 = try runProcess(Daemon.voxd, ["--check-config", "--plugins-dir", bad.pluginsDir])
        XCTAssertEqual(r2.status, 1)
        let lines = r2.stderr.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("\(bad.pluginsDir)/examplec.toml: colour: unknown key") }, "\(lines)")
        XCTAssertTrue(lines.contains("\(bad.pluginsDir)/zz.toml: library: missing: the plugin's shared library (a file name or an absolute path)"), "\(lines)")

        bad.write(plugin: "examplec", "library = \"\(try TestPaths.exampleC())\"")
        bad.remove(plugin: "zz")
        let r3 = try runProcess(Daemon.voxd, ["--check-config", "--plugins-dir", bad.pluginsDir])
        XCTAssertEqual(r3.status, 1)
        XCTAssertTrue(r3.stderr.contains("broken.toml: library: "), r3.stderr)
        XCTAssertTrue(r3.stderr.contains("no vox_plugin_entry symbol"), r3.stderr)
    }

    func testSecondDaemonOnTheSameSocketIsRefused() throws {
        let d = Daemon(plugins: [:])
        try d.start()
        defer { d.stop() }
        let r = try runProcess(Daemon.voxd, ["--plugins-dir", d.pluginsDir, "--state-dir", d.stateDir, "--socket", d.socket], timeout: 20)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("another voxd is already serving on \(d.socket)"), r.stderr)
        XCTAssertEqual(try d.curl("/v1/health").status, 200)
    }

    func waitFor(_ condition: () throws -> Bool, seconds: Double = 10) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try !condition() {
            if Date() > deadline { return XCTFail("not met in \(seconds) s") }
            usleep(50_000)
        }
    }
}

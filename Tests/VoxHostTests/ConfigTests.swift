import XCTest
@testable import VoxHost
import VoxPluginKit

final class ConfigTests: XCTestCase {
    func testDefaultsWhenEmpty() throws {
        let c = try DaemonConfig.parse("", file: "voxd.toml", base: "/srv")
        XCTAssertEqual(c, DaemonConfig())
    }

    func testReadsEveryKey() throws {
        let c = try DaemonConfig.parse("""
        [daemon]
        state_dir = "st"
        log_level = "debug"
        [server]
        socket = "/run/v.sock"
        socket_mode = "0600"
        [plugins]
        dir = "pd"
        search_path = ["/opt/p"]
        [limits]
        max_body_bytes = 4096
        max_input_chars = 10
        drain_timeout_seconds = 1.5
        [router]
        priority = ["examplec"]
        """, file: "voxd.toml", base: "/srv")
        XCTAssertEqual(c.stateDir, "/srv/st")
        XCTAssertEqual(c.logLevel, "debug")
        XCTAssertEqual(c.resolvedSocketPath, "/run/v.sock")
        XCTAssertEqual(c.socketMode, 0o600)
        XCTAssertEqual(c.pluginsDir, "/srv/pd")
        XCTAssertTrue(c.pluginsDirExplicit)
        XCTAssertEqual(c.pluginSearchPath, ["/opt/p"])
        XCTAssertEqual(c.maxBodyBytes, 4096)
        XCTAssertEqual(c.maxInputChars, 10)
        XCTAssertEqual(c.drainTimeoutSeconds, 1.5)
        XCTAssertEqual(c.routerPriority, ["examplec"])
    }

    func testUnknownKeysAndWrongTypesNameFileAndKey() {
        XCTAssertThrowsError(try DaemonConfig.parse("""
        colour = "blue"
        [server]
        socket = 12
        sockett = "x"
        [limits]
        max_input_chars = 0
        """, file: "etc/voxd.toml", base: "/")) { error in
            let lines = (error as! ConfigErrors).problems.map(\.description)
            XCTAssertTrue(lines.contains { $0.hasPrefix("etc/voxd.toml: colour: unknown key") }, "\(lines)")
            XCTAssertTrue(lines.contains("etc/voxd.toml: server.socket: must be a string, not integer"), "\(lines)")
            XCTAssertTrue(lines.contains { $0.hasPrefix("etc/voxd.toml: server.sockett: unknown key") }, "\(lines)")
            XCTAssertTrue(lines.contains("etc/voxd.toml: limits.max_input_chars: must be in 1…1000000, not 0"), "\(lines)")
            XCTAssertEqual(lines.count, 4)
        }
    }

    func testMalformedTOMLGivesLine() {
        XCTAssertThrowsError(try DaemonConfig.parse("[daemon]\nstate_dir = \n", file: "v.toml", base: "/")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("v.toml: malformed TOML at line 2"), text)
        }
    }

    func testPluginConfig() throws {
        let p = try PluginConfig.parse("""
        enabled = false
        library = "libx.so"
        sha256 = "\(String(repeating: "AB", count: 32))"
        [settings]
        rate = 16000
        nested = { a = [1, "two", true] }
        [secrets]
        api_key = "env:X_KEY"
        token = "file:/etc/token"
        """, file: "/etc/voxd/plugins.d/x.toml")
        XCTAssertEqual(p.name, "x")
        XCTAssertFalse(p.enabled)
        XCTAssertEqual(p.sha256, String(repeating: "ab", count: 32))
        XCTAssertEqual(p.settings["rate"], .number(16000))
        XCTAssertEqual(p.settings["nested"]?["a"], .array([.number(1), .string("two"), .bool(true)]))
        XCTAssertEqual(p.secrets["api_key"], .env("X_KEY"))
        XCTAssertEqual(p.secrets["token"], .file("/etc/token"))
    }

    func testPluginConfigProblems() {
        XCTAssertThrowsError(try PluginConfig.parse("""
        enable = true
        sha256 = "xyz"
        [secrets]
        api_key = "sk-live-123"
        """, file: "pd/Bad Name.toml")) { error in
            let lines = (error as! ConfigErrors).problems.map(\.description)
            XCTAssertTrue(lines.contains { $0.contains("the file name must be the plugin's name") }, "\(lines)")
            XCTAssertTrue(lines.contains { $0.hasPrefix("pd/Bad Name.toml: enable: unknown key") }, "\(lines)")
            XCTAssertTrue(lines.contains("pd/Bad Name.toml: library: missing: the plugin's shared library (a file name or an absolute path)"), "\(lines)")
            XCTAssertTrue(lines.contains("pd/Bad Name.toml: sha256: must be 64 hex digits"), "\(lines)")
            XCTAssertTrue(lines.contains { $0.hasPrefix("pd/Bad Name.toml: secrets.api_key: must be \"env:VARIABLE\"") }, "\(lines)")
            // The inline secret is never echoed back.
            XCTAssertFalse(lines.joined().contains("sk-live-123"))
        }
    }

    func testSecretResolution() {
        XCTAssertEqual(try SecretReference("env:K").resolve(environment: ["K": "v"]).get(), "v")
        guard case .failure(let e) = try! SecretReference("env:K").resolve(environment: [:]) else { return XCTFail() }
        XCTAssertEqual(e.reason, "environment variable K is not set")
        let dir = TestSupport.tempDir()
        _ = FileManager.default.createFile(atPath: "\(dir)/s", contents: Data("secret\n".utf8))
        XCTAssertEqual(try SecretReference("file:\(dir)/s").resolve().get(), "secret")
        guard case .failure(let f) = try! SecretReference("file:\(dir)/none").resolve() else { return XCTFail() }
        XCTAssertEqual(f.reason, "cannot read \(dir)/none")
    }

    func testReadAllReportsEveryFile() {
        let dir = TestSupport.pluginsDir(["a": "library = 1", "b": "library = \"ok.so\"\nextra = 1", "c": "library = \"c.so\""])
        XCTAssertThrowsError(try PluginConfig.readAll(dir: dir)) { error in
            let lines = (error as! ConfigErrors).problems.map(\.description)
            XCTAssertEqual(lines.count, 2, "\(lines)")
            XCTAssertTrue(lines[0].hasSuffix("a.toml: library: must be a string, not integer"), "\(lines)")
            XCTAssertTrue(lines[1].contains("b.toml: extra: unknown key"), "\(lines)")
        }
    }
}

final class AdminPolicyTests: XCTestCase {
    func testWhoIsAnAdmin() {
        let none = AdminPolicy(adminGroup: nil)
        XCTAssertTrue(none.allows(PeerCredentials(pid: 1, uid: 0, gid: 0)), "root")
        XCTAssertTrue(none.allows(PeerCredentials(pid: 1, uid: getuid(), gid: 12345)), "voxd's own uid")
        XCTAssertFalse(none.allows(PeerCredentials(pid: 1, uid: 65534, gid: 65534)))
        // nobody's primary group on Debian is nogroup (65534).
        let group = AdminPolicy(adminGroup: "nogroup")
        XCTAssertTrue(group.allows(PeerCredentials(pid: 1, uid: 65534, gid: 65534)), "a member of the admin group")
        XCTAssertFalse(AdminPolicy(adminGroup: "root").allows(PeerCredentials(pid: 1, uid: 65534, gid: 65534)))
    }
}

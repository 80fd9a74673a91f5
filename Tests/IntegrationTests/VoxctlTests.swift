import Foundation
import VoxTestSupport
import XCTest

/// voxctl against the real daemon: tables, --json, speak to a file and to a
/// pipe, exit codes, and the message when voxd is not running.
final class VoxctlTests: XCTestCase {
    static var daemon: Daemon!

    override class func setUp() {
        daemon = Daemon(plugins: [
            "localtts": "library = \"libvox_localtts.so\"",
            "examplec": "library = \"\(try! TestPaths.exampleC())\"",
        ])
        try! daemon.start()
    }

    override class func tearDown() { daemon.stop() }

    func voxctl(_ args: [String], env: [String: String]? = nil) throws -> RunResult {
        try runProcess(Daemon.voxctl, ["--socket", Self.daemon.socket] + args, env: env)
    }

    func testStatusPluginsCapsVoices() throws {
        let status = try voxctl(["status"])
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains("plugins:     2 loaded"), status.stdout)
        let plugins = try voxctl(["plugins"])
        XCTAssertTrue(plugins.stdout.split(separator: "\n").first!.hasPrefix("NAME"), plugins.stdout)
        XCTAssertTrue(plugins.stdout.contains("localtts  loaded"), plugins.stdout)
        let caps = try voxctl(["caps"])
        XCTAssertTrue(caps.stdout.contains("espeak-ng"), caps.stdout)
        let voices = try voxctl(["voices", "--provider", "localtts", "--language", "en-gb"])
        XCTAssertTrue(voices.stdout.contains("en-gb"), voices.stdout)
        XCTAssertFalse(voices.stdout.contains("en-us "), voices.stdout)
    }

    func testJSONIsTheDaemonsJSON() throws {
        let r = try voxctl(["--json", "plugins"])
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual((json["plugins"] as! [[String: Any]]).map { $0["name"] as! String }.sorted(), ["examplec", "localtts"])
    }

    func testSpeakToAFileAndToAPipe() throws {
        let out = TestPaths.tempDir("speak") + "/hello.wav"
        let r = try voxctl(["speak", "Hello from the command line.", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let b = [UInt8](FileManager.default.contents(atPath: out)!)
        XCTAssertEqual(Array(b[0..<4]), Array("RIFF".utf8))
        // Written to a file, the header carries the real sizes.
        let dataSize = Int(b[40]) | Int(b[41]) << 8 | Int(b[42]) << 16 | Int(b[43]) << 24
        XCTAssertEqual(dataSize, b.count - 44)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".partial"))
        let pcm = try voxctl(["speak", "E", "--model", "examplec", "--format", "pcm"])
        XCTAssertEqual(pcm.status, 0, pcm.stderr)
        XCTAssertEqual(MorseDecoder.decode(samples: samples(Data(pcm.stdout.utf8)), sampleRate: 16000), "E")
    }

    func testErrorsAndExitCodes() throws {
        let missing = try voxctl(["speak", "hi", "--voice", "vulcan", "-o", TestPaths.tempDir() + "/x.wav"])
        XCTAssertEqual(missing.status, 66)
        XCTAssertTrue(missing.stderr.contains("voxctl: localtts has no voice \"vulcan\""), missing.stderr)
        let usage = try voxctl(["speak"])
        XCTAssertEqual(usage.status, 64)
        let down = try runProcess(Daemon.voxctl, ["--socket", "/tmp/voxd-none-\(getpid()).sock", "status"])
        XCTAssertEqual(down.status, 69)
        XCTAssertTrue(down.stderr.contains("cannot reach voxd at /tmp/voxd-none-\(getpid()).sock"), down.stderr)
        XCTAssertTrue(down.stderr.contains("is voxd running?"), down.stderr)
    }

    func testSocketFromTheEnvironment() throws {
        var env = ProcessInfo.processInfo.environment
        env["VOXD_SOCKET"] = Self.daemon.socket
        let r = try runProcess(Daemon.voxctl, ["status"], env: env)
        XCTAssertEqual(r.status, 0, r.stderr)
    }
}

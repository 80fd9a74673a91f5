import CVoxPlugin
import XCTest
@testable import VoxHost
import VoxPluginKit

/// Every way a plugin file can be wrong, each refused with its reason, and
/// the daemon's registry carrying on with the others.
final class LoaderTests: XCTestCase {
    let imageDir = TestSupport.tempDir("images")

    func load(_ path: String, name: String? = nil, pin: String? = nil) throws -> PluginImage {
        try PluginImage.load(path: path, expectedName: name, pin: pin, imageDir: imageDir, host: HostServices.table)
    }

    func assertRefused(_ path: String, stage: PluginImage.LoadError.Stage, _ fragment: String, name: String? = nil, pin: String? = nil,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(path, name: name, pin: pin), file: file, line: line) { error in
            guard let e = error as? PluginImage.LoadError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.stage, stage, e.message, file: file, line: line)
            XCTAssertTrue(e.message.contains(fragment), "\"\(e.message)\" lacks \"\(fragment)\"", file: file, line: line)
            XCTAssertTrue(e.message.contains(path), "message names the file: \(e.message)", file: file, line: line)
        }
    }

    func testExampleCBuiltWithPlainCCLoads() throws {
        let image = try load(try TestSupport.exampleC(), name: "examplec")
        XCTAssertEqual(image.name, "examplec")
        XCTAssertEqual(image.abiMinor, UInt32(VOX_ABI_MINOR))
        XCTAssertTrue(image.loadedPath.contains(image.sha256), "loaded from a content-addressed copy")
        XCTAssertNotEqual(image.loadedPath, image.originalPath)
    }

    func testNonELFFile() throws {
        let p = TestSupport.tempDir() + "/libnot.so"
        _ = FileManager.default.createFile(atPath: p, contents: Data("#!/bin/sh\necho not a library\n".utf8))
        assertRefused(p, stage: .dlopen, "dlopen failed")
    }

    func testABIMajorMismatch() throws {
        assertRefused(try TestSupport.fixture("abi_major_mismatch"), stage: .descriptor, "major versions must match")
    }

    func testABIMinorTooNew() throws {
        assertRefused(try TestSupport.fixture("abi_minor_too_new"), stage: .descriptor, "upgrade voxd")
    }

    func testMissingEntry() throws {
        assertRefused(try TestSupport.fixture("missing_entry"), stage: .entry, "no vox_plugin_entry symbol")
    }

    func testEntryReturnsNull() throws {
        assertRefused(try TestSupport.fixture("entry_returns_null"), stage: .entry, "fixture refuses to load")
    }

    func testDescriptorTooSmall() throws {
        assertRefused(try TestSupport.fixture("small_struct_size"), stage: .descriptor, "struct_size 8 is smaller")
    }

    func testDescriptorLargerThanHostKnows() throws {
        assertRefused(try TestSupport.fixture("oversized_struct"), stage: .descriptor, "needs a newer voxd")
    }

    func testMissingRequiredSlot() throws {
        assertRefused(try TestSupport.fixture("missing_required_slot"), stage: .descriptor, "lacks required function(s): op_start")
    }

    func testBadName() throws {
        assertRefused(try TestSupport.fixture("bad_name"), stage: .descriptor, "is not [a-z0-9_-]{1,64}")
    }

    func testNameMustMatchConfigFile() throws {
        assertRefused(try TestSupport.exampleC(), stage: .descriptor, "does not match its config file \"other.toml\"", name: "other")
    }

    func testWorldWritableFileAndFolder() throws {
        let dir = TestSupport.tempDir()
        let p = "\(dir)/libvox_examplec.so"
        try FileManager.default.copyItem(atPath: try TestSupport.exampleC(), toPath: p)
        chmod(p, 0o666)
        assertRefused(p, stage: .trust, "is writable by others")
        chmod(p, 0o755)
        chmod(dir, 0o777)
        assertRefused(p, stage: .trust, "folder \(dir) is writable by others")
        chmod(dir, 0o775)
        assertRefused(p, stage: .trust, "writable by its group")
        chmod(dir, 0o755)
        XCTAssertNoThrow(try load(p))
    }

    func testPinMismatchAndMatch() throws {
        let p = try TestSupport.exampleC()
        assertRefused(p, stage: .pin, "but the config pins \(String(repeating: "0", count: 64))", pin: String(repeating: "0", count: 64))
        let digest = try TrustCheck.sha256(of: p)
        XCTAssertEqual(try load(p, pin: digest).sha256, digest)
    }

    func testCreateFailureAndBadCapabilitiesAreReportedPerPlugin() async throws {
        let dir = TestSupport.pluginsDir([
            "create_fails": "library = \"\(try TestSupport.fixture("create_fails"))\"",
            "bad_capabilities": "library = \"\(try TestSupport.fixture("bad_capabilities"))\"",
            "examplec": "library = \"\(try TestSupport.exampleC())\"",
            "missing_secret": "library = \"\(try TestSupport.exampleC())\"\n[secrets]\napi_key = \"env:VOXD_TEST_UNSET_KEY\"",
            "nowhere": "library = \"libvox_nowhere.so\"",
            "off": "enabled = false\nlibrary = \"libvox_off.so\"",
        ])
        let registry = PluginRegistry(daemon: TestSupport.daemonConfig(pluginsDir: dir), logger: TestSupport.logger, binaryDir: "/nonexistent")
        let report = try await registry.reload()
        XCTAssertEqual(report.loaded, ["examplec"])
        let failed = Dictionary(uniqueKeysWithValues: report.failed.map { ($0.name, $0.error) })
        XCTAssertEqual(failed.count, 4, "\(failed)")
        XCTAssertTrue(failed["create_fails"]!.contains("create failed: unauthenticated: fixture: no credentials"), failed["create_fails"]!)
        XCTAssertTrue(failed["bad_capabilities"]!.contains("capabilities are not valid JSON"), failed["bad_capabilities"]!)
        XCTAssertEqual(failed["missing_secret"], "secrets.api_key (env:VOXD_TEST_UNSET_KEY): environment variable VOXD_TEST_UNSET_KEY is not set")
        XCTAssertTrue(failed["nowhere"]!.hasPrefix("library libvox_nowhere.so not found in \(dir)"), failed["nowhere"]!)
        guard case .disabled = await registry.entry("off")!.state else { return XCTFail("off should be disabled") }
        await registry.shutdown()
    }
}

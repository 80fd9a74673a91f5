import Foundation
import Logging
import VoxTestSupport
import XCTest
@testable import VoxHost

/// Paths and builders shared by the tests.
enum TestSupport {
    static let root = TestPaths.root
    static let products = TestPaths.products
    static func tempDir(_ name: String = "t") -> String { TestPaths.tempDir(name) }
    static func fixture(_ name: String) throws -> String { try TestPaths.fixture(name) }
    static func exampleC() throws -> String { try TestPaths.exampleC() }

    static let logger: Logger = {
        var l = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        l.logLevel = .critical
        return l
    }()

    /// A daemon config whose state lives in a temp folder.
    static func daemonConfig(pluginsDir: String) -> DaemonConfig {
        var c = DaemonConfig()
        c.stateDir = tempDir("state")
        c.pluginsDir = pluginsDir
        c.pluginsDirExplicit = true
        c.drainTimeoutSeconds = 5
        return c
    }

    /// A plugins.d folder holding the given NAME → file text.
    static func pluginsDir(_ files: [String: String]) -> String {
        let dir = tempDir("plugins")
        for (name, text) in files {
            _ = FileManager.default.createFile(atPath: "\(dir)/\(name).toml", contents: Data(text.utf8))
        }
        return dir
    }
}

extension XCTestCase {
    /// Awaits an async expression that must throw; returns the error.
    func assertThrowsAsync<T>(_ body: @autoclosure () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async -> Error? {
        do { _ = try await body(); XCTFail("expected an error", file: file, line: line); return nil } catch { return error }
    }
}

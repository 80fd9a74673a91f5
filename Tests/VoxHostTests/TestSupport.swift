import Foundation
import Logging
import XCTest
@testable import VoxHost

/// Paths and builders shared by the tests.
enum TestSupport {
    /// The package root (this file is Tests/VoxHostTests/TestSupport.swift).
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Where SwiftPM put the products (the test runner lives there too).
    static let products: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent
    }()

    static let logger: Logger = {
        var l = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        l.logLevel = .critical
        return l
    }()

    /// A fresh private temp folder (mode 0755 so trust checks pass).
    static func tempDir(_ name: String = "t") -> String {
        let p = NSTemporaryDirectory() + "voxd-\(name)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return p
    }

    private static let buildLock = NSLock()
    nonisolated(unsafe) private static var built: [String: String] = [:]
    nonisolated(unsafe) private static var fixtureDir: String?

    /// Compiles a C plugin with plain `cc -shared` (no SwiftPM, no Swift
    /// runtime): Tests/Fixtures/NAME.c, or Plugins/ExampleC/examplec.c.
    static func compile(_ source: String, name: String, extraFlags: [String] = []) throws -> String {
        try buildLock.withLock {
            let key = ([source, name] + extraFlags).joined(separator: "|")
            if let p = built[key] { return p }
            if fixtureDir == nil { fixtureDir = tempDir("fixtures") }
            let out = "\(fixtureDir!)/\(name).so"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
            p.arguments = ["-std=c11", "-shared", "-fPIC", "-O1", "-fvisibility=hidden", "-Wall", "-Werror",
                           "-I", "\(root)/PluginSDK/CVoxPlugin/include", "-I", "\(root)/Tests/Fixtures"] + extraFlags +
                          [source, "-o", out, "-lpthread", "-lm"]
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw NSError(domain: "cc", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "cc failed for \(source)"]) }
            built[key] = out
            return out
        }
    }

    static func fixture(_ name: String) throws -> String {
        try compile("\(root)/Tests/Fixtures/\(name).c", name: name)
    }

    static func exampleC() throws -> String {
        try compile("\(root)/Plugins/ExampleC/examplec.c", name: "examplec")
    }

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

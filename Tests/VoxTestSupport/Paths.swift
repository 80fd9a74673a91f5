import Foundation

/// Paths and builders shared by the unit and integration tests.
public enum TestPaths {
    /// The package root (this file is Tests/VoxTestSupport/Paths.swift).
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Where SwiftPM put the products: voxd, voxctl, the plugins and the test runner.
    public static let products: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent
    }()

    /// A fresh temp folder, mode 0755 (plugin trust checks refuse group/other-writable ones),
    /// removed when the test process exits (see `ScratchDirs`).
    public static func tempDir(_ name: String = "t") -> String {
        let p = NSTemporaryDirectory() + "voxd-\(name)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        ScratchDirs.removeAtExit(p)
        return p
    }

    private static let buildLock = NSLock()
    nonisolated(unsafe) private static var built: [String: String] = [:]
    nonisolated(unsafe) private static var fixtureDir: String?

    /// Compiles a C plugin with plain `cc -shared` (no SwiftPM, no Swift runtime).
    public static func compile(_ source: String, name: String, extraFlags: [String] = []) throws -> String {
        try buildLock.withLock {
            let key = ([source, name] + extraFlags).joined(separator: "|")
            if let p = built[key] { return p }
            if fixtureDir == nil { fixtureDir = tempDir("fixtures") }
            let out = "\(fixtureDir!)/\(name)-\(built.count).so"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
            p.arguments = ["-std=c11", "-shared", "-fPIC", "-O1", "-fvisibility=hidden", "-Wall", "-Werror",
                           "-I", "\(root)/PluginSDK/CVoxPlugin/include", "-I", "\(root)/Tests/Fixtures"] + extraFlags +
                          [source, "-o", out, "-lpthread", "-lm"]
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                throw NSError(domain: "cc", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "cc failed for \(source)"])
            }
            built[key] = out
            return out
        }
    }

    /// Tests/Fixtures/NAME.c built with cc.
    public static func fixture(_ name: String) throws -> String {
        try compile("\(root)/Tests/Fixtures/\(name).c", name: name)
    }

    /// Plugins/ExampleC/examplec.c built with plain cc, from the header alone.
    public static func exampleC(extraFlags: [String] = []) throws -> String {
        try compile("\(root)/Plugins/ExampleC/examplec.c", name: "examplec", extraFlags: extraFlags)
    }
}

/// Temp folders removed when the process exits.
///
/// A whole test run made ~1,000 of them (state folders with copies of the
/// plugins, daemon folders, stores): about 1 GB left in /tmp per run, which
/// filled this machine's disk after a few dozen runs. Set
/// `VOXD_KEEP_TEST_DIRS=1` to keep them for a post-mortem.
public enum ScratchDirs {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var dirs: [String] = []
    nonisolated(unsafe) private static var registered = false

    public static func removeAtExit(_ path: String) {
        lock.withLock {
            dirs.append(path)
            if !registered {
                registered = true
                atexit { ScratchDirs.removeAll() }
            }
        }
    }

    /// Removes every registered folder now (the exit handler).
    public static func removeAll() {
        guard ProcessInfo.processInfo.environment["VOXD_KEEP_TEST_DIRS"] == nil else { return }
        let all: [String] = lock.withLock { defer { dirs = [] }; return dirs }
        for p in all { try? FileManager.default.removeItem(atPath: p) }
    }
}

import Foundation
import VoxTestSupport
import XCTest

/// A real voxd process on a temp socket and state dir, with its own
/// plugins.d, driven the way a client would: curl over the unix socket.
final class Daemon {
    let dir: String
    let socket: String
    let pluginsDir: String
    let stateDir: String
    let configFile: String
    private(set) var process: Process?
    private(set) var log: String { get { (try? String(contentsOfFile: "\(dir)/voxd.log", encoding: .utf8)) ?? "" } set {} }

    /// Extra environment for voxd (e.g. the variables its secrets name).
    let environment: [String: String]

    /// plugins: NAME → plugins.d file text. config: extra etc/voxd.toml text.
    init(plugins: [String: String], config: String = "", environment: [String: String] = [:]) {
        self.environment = environment
        dir = TestPaths.tempDir("it")
        socket = "\(dir)/voxd.sock"
        pluginsDir = "\(dir)/plugins.d"
        stateDir = "\(dir)/state"
        configFile = "\(dir)/voxd.toml"
        try! FileManager.default.createDirectory(atPath: pluginsDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        for (name, text) in plugins { write(plugin: name, text) }
        _ = FileManager.default.createFile(atPath: configFile, contents: Data(config.utf8))
    }

    func write(plugin name: String, _ text: String) {
        _ = FileManager.default.createFile(atPath: "\(pluginsDir)/\(name).toml", contents: Data(text.utf8))
    }

    func remove(plugin name: String) {
        try? FileManager.default.removeItem(atPath: "\(pluginsDir)/\(name).toml")
    }

    static var voxd: String { "\(TestPaths.products)/voxd" }
    static var voxctl: String { "\(TestPaths.products)/voxctl" }

    /// Starts voxd and waits (bounded) until /v1/health answers.
    func start(file: StaticString = #filePath, line: UInt = #line) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.voxd)
        p.arguments = ["--config", configFile, "--plugins-dir", pluginsDir, "--state-dir", stateDir, "--socket", socket]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        _ = FileManager.default.createFile(atPath: "\(dir)/voxd.log", contents: nil)
        let logHandle = FileHandle(forWritingAtPath: "\(dir)/voxd.log")!
        logHandle.seekToEndOfFile()
        p.standardOutput = logHandle
        p.standardError = logHandle
        var env = ProcessInfo.processInfo.environment
        env["VOXD_SOCKET"] = nil
        env.merge(environment) { $1 }
        p.environment = env
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if !p.isRunning { XCTFail("voxd exited: \(log)", file: file, line: line); return }
            if (try? curl("/v1/health").status) == 200 { return }
            usleep(50_000)
        }
        XCTFail("voxd did not become ready in 20 s: \(log)", file: file, line: line)
    }

    func signal(_ sig: Int32) { if let p = process { kill(p.processIdentifier, sig) } }

    /// SIGTERM, then wait (bounded) for a clean exit.
    @discardableResult
    func stop() -> Int32? {
        guard let p = process, p.isRunning else { return process?.terminationStatus }
        kill(p.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while p.isRunning, Date() < deadline { usleep(20_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        return p.terminationStatus
    }

    deinit { stop() }

    struct Reply {
        var status: Int
        /// curl's own exit status (7: could not connect).
        var curlExit: Int32
        var headers: [String: String]
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
        var error: [String: Any]? { json["error"] as? [String: Any] }
    }

    /// One request with curl --unix-socket. `body` is sent as-is.
    func curl(_ path: String, method: String = "GET", body: Data? = nil, asUser uid: Int? = nil, extra: [String] = []) throws -> Reply {
        // Another uid must be able to write curl's files: a world-writable scratch folder.
        let io = "\(dir)/io"
        if !FileManager.default.fileExists(atPath: io) {
            try FileManager.default.createDirectory(atPath: io, withIntermediateDirectories: true)
            chmod(io, 0o1777)
        }
        let headersFile = "\(io)/h-\(UUID().uuidString)"
        let bodyFile = "\(io)/b-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: headersFile); try? FileManager.default.removeItem(atPath: bodyFile) }
        var args = ["-s", "--unix-socket", socket, "-X", method, "-D", headersFile, "-o", bodyFile, "-w", "%{http_code}", "--max-time", "30"] + extra
        if let body {
            let input = "\(io)/in-\(UUID().uuidString)"
            _ = FileManager.default.createFile(atPath: input, contents: body)
            args += ["-H", "Content-Type: application/json", "--data-binary", "@\(input)"]
        }
        args.append("http://voxd\(path)")
        var exe = "/usr/bin/curl"
        if let uid {
            args = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", exe] + args
            exe = "/usr/bin/setpriv"
        }
        let out = try runProcess(exe, args)
        var headers: [String: String] = [:]
        for line in ((try? String(contentsOfFile: headersFile, encoding: .utf8)) ?? "").split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Reply(status: Int(out.stdout) ?? 0, curlExit: out.status, headers: headers, body: FileManager.default.contents(atPath: bodyFile) ?? Data())
    }

    func post(_ path: String, _ json: String, asUser uid: Int? = nil) throws -> Reply {
        try curl(path, method: "POST", body: Data(json.utf8), asUser: uid)
    }
}

extension Daemon {
    /// plugins.d text for a remote plugin: `libvox_NAME.so`, the `settings`
    /// lines (base URLs), a 2 s first-byte timeout, and `[secrets] api_key`
    /// read from the environment variable `keyVar`.
    static func remotePlugin(_ name: String, settings: String, keyVar: String, firstByteTimeoutMs: Int = 2000) -> String {
        "library = \"libvox_\(name).so\"\n[settings]\n\(settings)\nfirst_byte_timeout_ms = \(firstByteTimeoutMs)\n[secrets]\napi_key = \"env:\(keyVar)\""
    }

    /// A multipart upload of `file` and `fields` to /v1/audio/transcriptions
    /// with curl; (HTTP status, body).
    func upload(_ fields: [String], file: String) throws -> (Int32, String) {
        let r = try runProcess("/usr/bin/curl", ["-s", "--unix-socket", socket, "-w", "\n%{http_code}", "-F", "file=@\(file)"]
                               + fields.flatMap { ["-F", $0] } + ["http://voxd/v1/audio/transcriptions"])
        let lines = r.stdout.components(separatedBy: "\n")
        return (Int32(lines.last!) ?? 0, lines.dropLast().joined(separator: "\n"))
    }
}

/// A mono 16-bit WAV file of a 300 Hz tone in a new temp folder, for the
/// uploads (the fakes do not listen to it); its path.
func wavFile(seconds: Double = 0.5, rate: Int = 16000) -> String {
    let pcm = (0..<Int(seconds * Double(rate))).flatMap { i -> [UInt8] in
        let s = Int16(sin(2 * Double.pi * 300 * Double(i) / Double(rate)) * 6000)
        return [UInt8(truncatingIfNeeded: s), UInt8(truncatingIfNeeded: s >> 8)]
    }
    let p = TestPaths.tempDir("wav") + "/speech.wav"
    _ = FileManager.default.createFile(atPath: p, contents: Data(OpenAIFake.wavHeader(dataBytes: pcm.count, rate: rate) + pcm))
    return p
}

struct RunResult { var status: Int32; var stdout: String; var stderr: String }

/// Runs a program to completion (bounded by `timeout`), capturing its output.
@discardableResult
func runProcess(_ exe: String, _ args: [String], stdin: Data? = nil, env: [String: String]? = nil, timeout: Double = 60) throws -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    if let env { p.environment = env }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try? input.fileHandleForWriting.close()
    final class Box: @unchecked Sendable { var data = Data() }
    let stdoutData = Box(), stderrData = Box()
    let group = DispatchGroup()
    group.enter(); DispatchQueue.global().async { stdoutData.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter(); DispatchQueue.global().async { stderrData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    if group.wait(timeout: .now() + timeout) == .timedOut { p.terminate() }
    p.waitUntilExit()
    return RunResult(status: p.terminationStatus, stdout: String(decoding: stdoutData.data, as: UTF8.self),
                     stderr: String(decoding: stderrData.data, as: UTF8.self))
}

/// Little-endian 16-bit samples of a WAV or raw PCM body.
func samples(_ d: Data, skip: Int = 0) -> [Int16] {
    d.dropFirst(skip).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
}

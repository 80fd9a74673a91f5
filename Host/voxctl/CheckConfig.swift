import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// check-config: hands over to `voxd --check-config` (exec, so its output and exit status are
// voxctl's). Needs no running daemon.

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate voxd's config and plugins without a running daemon (runs 'voxd --check-config').",
        discussion: """
            Runs the voxd binary next to voxctl (else the first voxd in PATH) with --check-config \
            and the options below; its output and exit status are passed through (non-zero when \
            it finds problems; 69 when no voxd binary is found). --socket and --timeout do not \
            apply here.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The config file to check (default: voxd's default).", valueName: "file"))
    var config: String?

    @Option(name: .customLong("plugins-dir"), help: ArgumentHelp("The plugins directory to check (default: voxd's default).", valueName: "dir"))
    var pluginsDir: String?

    func validate() throws {
        if let config, config.isEmpty { throw ValidationError("--config must not be empty") }
        if let pluginsDir, pluginsDir.isEmpty { throw ValidationError("--plugins-dir must not be empty") }
    }

    func run() throws {
        guard let voxd = Self.locateVoxd() else {
            throw global.report(VoxCtlError(
                "cannot find the voxd binary (looked next to voxctl and in PATH)", status: .unavailable))
        }
        var arguments = [voxd, "--check-config"]
        if let config { arguments += ["--config", config] }
        if let pluginsDir { arguments += ["--plugins-dir", pluginsDir] }

        fflush(stdout)
        fflush(stderr)
        // Replace voxctl with voxd: stdio, signals and the exit status are voxd's own.
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv(voxd, argv)
        let reason = String(cString: strerror(errno))
        throw global.report(VoxCtlError("cannot run \(voxd): \(reason)", status: .unavailable))
    }

    /// The voxd next to voxctl's own executable (/proc/self/exe), else the first in PATH.
    static func locateVoxd() -> String? {
        let fileManager = FileManager.default
        if let exe = try? fileManager.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let sibling = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("voxd").path
            if fileManager.isExecutableFile(atPath: sibling) { return sibling }
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = "\(directory)/voxd"
            var isDirectory: ObjCBool = false
            if fileManager.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
               fileManager.isExecutableFile(atPath: candidate)
            {
                return candidate
            }
        }
        return nil
    }
}

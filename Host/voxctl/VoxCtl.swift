import ArgumentParser
import Foundation

// voxctl: the command-line client of voxd. It speaks HTTP/1.1 over voxd's unix socket.
//
// Files: VoxCtl.swift (root command, global options), Commands.swift (query and admin
// subcommands), KeyCommands.swift (keys, usage), Speak.swift, Route.swift (route explain), CheckConfig.swift, DaemonClient.swift (the socket client),
// API.swift (the daemon's JSON documents), Table.swift (human output), Errors.swift
// (error reporting and exit codes, listed there).

let voxctlVersion = "0.1.0"

/// The socket used when neither --socket nor $VOXD_SOCKET is given: voxd's development
/// default state directory ("state", relative to the current directory).
let defaultSocketPath = "./state/voxd.sock"

@main
struct VoxCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voxctl",
        abstract: "Query and control voxd, the voice-AI provider daemon.",
        discussion: """
            voxctl talks to voxd over HTTP on its unix socket, chosen by, in order: \
            --socket PATH, the VOXD_SOCKET environment variable, \(defaultSocketPath) \
            (voxd's development state directory, relative to the current directory).

            Socket peers voxd takes as admins (root, its own user, its admin group) need no key; \
            anyone else sets VOXD_API_KEY to an API key (vx_…) that an admin made with voxctl keys create.

            --socket, --json and --timeout go before or after the subcommand. --json prints \
            voxd's JSON answer, pretty-printed, for scripts; for an error, voxd's error document \
            (the message still goes to stderr and the exit code tells what happened).

            EXAMPLES
              voxctl status
              voxctl plugins localtts
              voxctl voices --language en
              voxctl speak "Hello there" -o hello.wav
              voxctl speak - --voice en-gb < notes.txt | aplay

            \(exitCodesHelp)
            """,
        version: voxctlVersion,
        subcommands: [
            Status.self, Plugins.self, Caps.self, Voices.self, Models.self,
            Speak.self, Route.self, Reload.self, CheckConfig.self,
            Prompts.self, Templates.self, Configs.self, Audit.self, Keys.self, UsageCommand.self,
        ]
    )

    /// Lets the global options come before the subcommand too; the subcommand's own
    /// `@OptionGroup` receives the values.
    @OptionGroup var global: GlobalOptions
}

/// Options every subcommand accepts (`voxctl status --json` or `voxctl --json status`).
struct GlobalOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "voxd's unix socket (default: $VOXD_SOCKET, else \(defaultSocketPath), relative to the current directory).",
            valueName: "path"))
    var socket: String?

    @Flag(help: "Print voxd's JSON answer, pretty-printed, instead of human output (for scripts).")
    var json = false

    @Option(
        help: ArgumentHelp(
            "Seconds to wait for voxd to connect and answer, and the longest pause allowed while streaming audio.",
            valueName: "seconds"))
    var timeout: Double = 30

    func validate() throws {
        guard timeout.isFinite, timeout > 0, timeout <= 86_400 else {
            throw ValidationError("--timeout must be a positive number of seconds, at most 86400")
        }
        if let socket, socket.isEmpty {
            throw ValidationError("--socket must not be empty")
        }
    }

    /// --socket, else $VOXD_SOCKET, else ./state/voxd.sock.
    var socketPath: String {
        if let socket { return socket }
        if let env = ProcessInfo.processInfo.environment["VOXD_SOCKET"], !env.isEmpty { return env }
        return defaultSocketPath
    }
}

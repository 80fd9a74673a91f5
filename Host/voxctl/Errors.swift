import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// voxctl's exit codes (sysexits(3) values, so scripts can tell failures apart).
/// Kept in sync with the "EXIT CODES" section of `voxctl --help` (`exitCodesHelp`).
///
///   0   ok
///   1   voxd answered with an error not covered below (e.g. 501 unsupported),
///       `reload` reported plugins that failed, `check-config` found problems,
///       or a local I/O error (writing the audio file, reading stdin)
///   64  usage error (bad flags or arguments, audio to a terminal)       EX_USAGE
///   65  voxd rejected the request: 4xx other than 403/404/429           EX_DATAERR
///   66  not found: 404 (unknown plugin, voice, model…)                  EX_NOINPUT
///   69  voxd is not reachable: socket missing, connection refused,
///       connection dropped; `check-config`: no voxd binary found        EX_UNAVAILABLE
///   70  voxd internal error: 500                                        EX_SOFTWARE
///   75  temporary failure: 429, 503, 504, or no answer within --timeout EX_TEMPFAIL
///   77  permission denied: 403, or EACCES/EPERM on the socket           EX_NOPERM
enum ExitStatus: Int32 {
    case ok = 0
    case failure = 1
    case usage = 64
    case rejected = 65
    case notFound = 66
    case unavailable = 69
    case daemonInternal = 70
    case temporary = 75
    case permission = 77

    /// Maps an HTTP status of a failed daemon answer to an exit status.
    static func forHTTPStatus(_ code: Int) -> ExitStatus {
        switch code {
        case 403: return .permission
        case 404: return .notFound
        case 429, 503, 504: return .temporary
        case 400..<500: return .rejected
        case 500: return .daemonInternal
        default: return .failure
        }
    }
}

/// The "EXIT CODES" block shown by `voxctl --help`.
let exitCodesHelp = """
    EXIT CODES
      0   success
      1   voxd answered with another error (e.g. 501 unsupported); `reload`
          reported failed plugins; `check-config` found problems; local I/O error
      64  usage error (bad arguments; refusing to write audio to a terminal)
      65  voxd rejected the request (HTTP 4xx other than 403/404/429)
      66  not found (HTTP 404: unknown plugin, voice, model…)
      69  voxd not reachable (no socket, connection refused or dropped);
          `check-config`: no voxd binary found
      70  voxd internal error (HTTP 500)
      75  temporary failure, retry later (HTTP 429/503/504, or --timeout hit)
      77  permission denied (HTTP 403, or no access to the socket)
    """

/// A failure voxctl reports as `voxctl: <message>` on stderr before exiting with `status`.
struct VoxCtlError: Error {
    var message: String
    var status: ExitStatus
    /// The daemon's error document, when the failure is an error answer; printed on stdout with --json.
    var daemonBody: Data?

    init(_ message: String, status: ExitStatus = .failure, daemonBody: Data? = nil) {
        self.message = message
        self.status = status
        self.daemonBody = daemonBody
    }
}

/// The daemon's single error shape: `{"error":{"code","message","provider","retriable"}}`.
struct DaemonErrorDocument: Decodable {
    struct Detail: Decodable {
        var code: String?
        var message: String?
        var provider: String?
        var retriable: Bool?
    }
    var error: Detail
}

extension VoxCtlError {
    /// Builds the error for a non-2xx answer from its status, body and Retry-After header.
    static func daemonAnswer(status: Int, reason: String, body: Data, retryAfter: String? = nil) -> VoxCtlError {
        let exit = ExitStatus.forHTTPStatus(status)
        guard let doc = try? JSONDecoder().decode(DaemonErrorDocument.self, from: body) else {
            // Not the daemon's error shape (an old daemon, a proxy, an empty body): say what we got.
            var text = "voxd answered HTTP \(status) \(reason)"
            let snippet = String(decoding: body.prefix(300), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if !snippet.isEmpty { text += ": \(snippet)" }
            return VoxCtlError(text, status: exit)
        }
        var text = doc.error.message.flatMap { $0.isEmpty ? nil : $0 }
            ?? doc.error.code.map { "\($0) (HTTP \(status))" }
            ?? "HTTP \(status) \(reason)"
        if let provider = doc.error.provider, !provider.isEmpty {
            text += " (provider: \(provider))"
        }
        if let seconds = retryAfter.flatMap(Int.init), seconds > 0 {
            text += "; retry in \(seconds) s"
        }
        return VoxCtlError(text, status: exit, daemonBody: body)
    }

    /// Translates a transport failure (connect, timeout, dropped connection) into a user-facing error.
    static func transport(_ error: Error, socket: String, timeout: Double) -> VoxCtlError {
        let hint = "(is voxd running? start it with 'voxd' or 'make run')"
        func unreachable(_ reason: String) -> VoxCtlError {
            VoxCtlError("cannot reach voxd at \(socket): \(reason) \(hint)", status: .unavailable)
        }
        if let errno = errnoCode(of: error) {
            switch errno {
            case ECONNREFUSED:
                // connect(2) also says "refused" for a path that is not a socket at all.
                var info = stat()
                if stat(socket, &info) == 0, info.st_mode & S_IFMT != S_IFSOCK {
                    return unreachable("not a socket")
                }
                return unreachable("connection refused")
            case ENOENT, ENOTDIR: return unreachable("no such socket")
            case ENOTSOCK: return unreachable("not a socket")
            case EACCES, EPERM:
                return VoxCtlError(
                    "cannot reach voxd at \(socket): permission denied "
                        + "(check the socket's owner/group and mode, and that this user may use it)",
                    status: .permission)
            case ECONNRESET, EPIPE: return unreachable("connection reset")
            default: return unreachable(String(cString: strerror(errno)).lowercased())
            }
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .getConnectionFromPoolTimeout, .writeTimeout:
                return VoxCtlError(
                    "voxd at \(socket) did not answer within \(formatSeconds(timeout)) s (try a larger --timeout)",
                    status: .temporary)
            case .remoteConnectionClosed:
                return VoxCtlError(
                    "voxd at \(socket) closed the connection before finishing its answer (did it crash? see its log)",
                    status: .unavailable)
            case .cancelled:
                return VoxCtlError("request cancelled", status: .failure)
            default:
                break
            }
        }
        if let error = error as? HTTPParserError {
            switch error {
            case .invalidEOFState, .closedConnection:
                return VoxCtlError(
                    "voxd at \(socket) closed the connection before finishing its answer (did it crash? see its log)",
                    status: .unavailable)
            default:
                return VoxCtlError("voxd at \(socket) sent a malformed HTTP answer (\(error.debugDescription))")
            }
        }
        if let error = error as? SocketAddressError {
            if case .unixDomainSocketPathTooLong = error {
                return VoxCtlError(
                    "socket path \(socket) is too long for a unix socket (max 107 bytes); use a shorter or relative --socket",
                    status: .usage)
            }
        }
        return VoxCtlError("cannot talk to voxd at \(socket): \(error)", status: .failure)
    }

    /// The errno behind a NIO error, looking into connection-error wrappers.
    private static func errnoCode(of error: Error) -> Int32? {
        if let io = error as? IOError { return io.errnoCode }
        if let wrapped = error as? NIOConnectionError {
            for attempt in wrapped.connectionErrors {
                if let code = errnoCode(of: attempt.error) { return code }
            }
        }
        return nil
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
}

/// Writes `voxctl: <message>` to stderr.
func printError(_ message: String) {
    fflush(stdout)  // keep the order of stdout and stderr lines when both go to one place
    FileHandle.standardError.write(Data("voxctl: \(message)\n".utf8))
}

extension GlobalOptions {
    /// Prints an error the voxctl way and returns the `ExitCode` to throw.
    func report(_ error: Error, errorJSONOnStdout: Bool = true) -> Error {
        switch error {
        case let error as VoxCtlError:
            if json, errorJSONOnStdout, let body = error.daemonBody {
                printJSON(body)
            }
            printError(error.message)
            return ExitCode(error.status.rawValue)
        case is ExitCode:
            return error
        default:
            printError("\(error)")
            return ExitCode(ExitStatus.failure.rawValue)
        }
    }
}

import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle

/// The socket API: routes, middleware, and the unix socket it listens on.
public enum APIServer {
    public static func router(daemon: VoxDaemon) -> Router<VoxRequestContext> {
        let router = Router(context: VoxRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AccessMiddleware(daemon: daemon))
        SystemRoutes(daemon: daemon).register(on: router)
        PluginRoutes(daemon: daemon).register(on: router)
        CatalogRoutes(daemon: daemon).register(on: router)
        SpeechRoutes(daemon: daemon).register(on: router)
        ChatRoutes(daemon: daemon).register(on: router)
        TranscriptionRoutes(daemon: daemon).register(on: router)
        StreamingTranscriptionRoutes(daemon: daemon).register(on: router)
        VoiceRoutes(daemon: daemon).register(on: router)
        PromptRoutes(daemon: daemon).register(on: router)
        TemplateRoutes(daemon: daemon).register(on: router)
        SessionConfigRoutes(daemon: daemon).register(on: router)
        AuditRoutes(daemon: daemon).register(on: router)
        RouteRoutes(daemon: daemon).register(on: router)
        UsageRoutes(daemon: daemon).register(on: router)
        KeyRoutes(daemon: daemon).register(on: router)
        return router
    }

    /// The Hummingbird application on the daemon's unix socket. The socket
    /// gets its configured mode once bound (it is created with the umask).
    public static func application(daemon: VoxDaemon, services: [any Service]) throws -> any Service {
        let path = daemon.config.resolvedSocketPath
        try prepareSocketPath(path)
        APILimits.maxBodyBytes = daemon.config.maxBodyBytes
        let mode = mode_t(daemon.config.socketMode)
        let logger = daemon.logger
        let router = router(daemon: daemon)
        return Application(
            router: router,
            // WebSocket upgrades for /v1/audio/transcriptions/stream; every
            // other request is plain HTTP/1.1.
            server: .voxd(webSocketResponder: router.buildResponder(),
                          configuration: .init(maxFrameSize: 1 << 20, autoPing: .enabled(timePeriod: .seconds(30)))),
            // A unix socket whose accept queue is full refuses a connect at
            // once (EAGAIN) instead of queueing it: with Hummingbird's 256, a
            // burst of clients arriving while the loops were busy (500 in the
            // load test) saw refusals. The kernel caps it at somaxconn.
            configuration: .init(address: .unixDomainSocket(path: path), serverName: "voxd/\(VoxDaemon.version)", backlog: 4096),
            services: services,
            onServerRunning: { _ in
                chmod(path, mode)
                logger.info("voxd ready", metadata: ["socket": .string(path), "version": .string(VoxDaemon.version)])
            },
            logger: logger
        )
    }

    public struct SocketInUse: Error, CustomStringConvertible { public let description: String }

    /// Creates the socket's folder, and removes a stale socket file left by a
    /// daemon that died, but never one another voxd is serving on.
    static func prepareSocketPath(_ path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir.isEmpty ? "." : dir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o750])
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw SocketInUse(description: "\(path) exists and is not a socket; remove it or choose another --socket")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw SocketInUse(description: "socket path \(path) is longer than the \(MemoryLayout.size(ofValue: addr.sun_path) - 1) bytes a unix socket allows")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected == 0 { throw SocketInUse(description: "another voxd is already serving on \(path)") }
        unlink(path)
    }
}

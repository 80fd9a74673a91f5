import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// Per-request context: Hummingbird's core storage plus the connection, so
/// admin routes can read the peer's credentials (SO_PEERCRED).
public struct VoxRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel
    public let maxUploadSize: Int
    /// Set by a WebSocket route that accepts the upgrade.
    public let webSocket = WebSocketHandlerReference<VoxRequestContext>()
    /// Set by ErrorMiddleware (the `X-Request-Id` echoed back).
    public var requestID = ""
    /// Set by AccessMiddleware: an admin peer or a key holder (nil only on
    /// open routes called without a key by a non-admin peer).
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        maxUploadSize = APILimits.maxBodyBytes
    }

    /// The uid/gid/pid of the process on the other end of the unix socket,
    /// or nil on a TCP connection.
    /// Asked once per connection (the peer cannot change), then remembered
    /// until the connection closes: asking costs a hop onto its event loop.
    func peerCredentials() async -> PeerCredentials? {
        if let known = PeerCredentialCache.shared.get(channel) { return known }
        guard let provider = channel as? SocketOptionProvider else { return nil }
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SO_PEERCRED)
        guard let peer = try? await future.get() else { return nil }
        PeerCredentialCache.shared.put(channel, peer)
        return peer
    }
}

/// Each open connection's peer, read with SO_PEERCRED on its first request.
final class PeerCredentialCache: @unchecked Sendable {
    static let shared = PeerCredentialCache()
    private let lock = NSLock()
    private var peers: [ObjectIdentifier: PeerCredentials] = [:]

    func get(_ channel: any Channel) -> PeerCredentials? { lock.withLock { peers[ObjectIdentifier(channel)] } }

    func put(_ channel: any Channel, _ peer: PeerCredentials) {
        let id = ObjectIdentifier(channel)
        let fresh = lock.withLock { peers.updateValue(peer, forKey: id) == nil }
        // Forgotten when the connection closes (before its identity can be reused).
        if fresh { channel.closeFuture.whenComplete { [self] _ in lock.withLock { _ = peers.removeValue(forKey: id) } } }
    }

    var count: Int { lock.withLock { peers.count } }
}

/// Glibc's `struct ucred` (hidden from Swift behind _GNU_SOURCE).
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Limits the context reads; set once at start-up.
enum APILimits {
    nonisolated(unsafe) static var maxBodyBytes = 1 << 20
}

/// Who may use admin routes: root, voxd's own uid, or a member of the
/// configured admin group.
struct AdminPolicy: Sendable {
    let adminGroup: String?

    func allows(_ peer: PeerCredentials) -> Bool {
        if peer.uid == 0 || peer.uid == getuid() { return true }
        guard let adminGroup, let group = getgrnam(adminGroup) else { return false }
        let gid = group.pointee.gr_gid
        if peer.gid == gid { return true }
        guard let pw = getpwuid(peer.uid) else { return false }
        if pw.pointee.pw_gid == gid { return true }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(pw.pointee.pw_name, pw.pointee.pw_gid, &groups, &count) >= 0 {
            return groups.prefix(Int(count)).contains(gid)
        }
        return false
    }

    /// Who made a change, for the audit log. AccessMiddleware has already
    /// checked the caller's right to the route (see its `requirement`).
    @discardableResult
    func require(_ context: VoxRequestContext, action: String) async throws -> AuditActor {
        guard let p = context.principal else {
            throw VoxError(.unauthenticated, "\(action) needs an admin socket peer or an API key with the right scope")
        }
        return p.actor
    }
}

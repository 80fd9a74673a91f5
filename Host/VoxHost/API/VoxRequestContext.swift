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

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        maxUploadSize = APILimits.maxBodyBytes
    }

    /// The uid/gid/pid of the process on the other end of the unix socket,
    /// or nil on a TCP connection.
    func peerCredentials() async -> PeerCredentials? {
        guard let provider = channel as? SocketOptionProvider else { return nil }
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SO_PEERCRED)
        return try? await future.get()
    }
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

    /// Throws 403 unless the peer is an admin; else who it is, for the audit log.
    @discardableResult
    func require(_ context: VoxRequestContext, action: String) async throws -> AuditActor {
        guard let peer = await context.peerCredentials() else {
            throw VoxError(.forbidden, "\(action) is an admin action, allowed only over the unix socket")
        }
        guard allows(peer) else {
            let who = adminGroup.map { "root, voxd's user (uid \(getuid())) or members of group \"\($0)\"" } ?? "root or voxd's user (uid \(getuid()))"
            throw VoxError(.forbidden, "\(action) is an admin action; uid \(peer.uid) may not do it (allowed: \(who))")
        }
        return AuditActor(uid: peer.uid, pid: peer.pid)
    }
}

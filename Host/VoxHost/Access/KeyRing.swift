import Foundation
import HTTPTypes
import VoxPluginKit

/// The API keys in memory (loaded from the store at start, replaced on
/// every change), checked on each request without a query; and each key's
/// live limits: requests per fixed one-minute window, streams in flight.
public final class KeyRing: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String: APIKey] = [:]
    private var windows: [String: (minute: Int64, count: Int)] = [:]
    private var streams: [String: Int] = [:]

    public init() {}

    func load(_ all: [APIKey]) { lock.withLock { keys = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) }) } }
    func put(_ k: APIKey) { lock.withLock { keys[k.id] = k } }
    func key(_ id: String) -> APIKey? { lock.withLock { keys[id] } }

    /// The key a bearer secret belongs to; 401 for anything else, saying
    /// why (never echoing the secret).
    func authenticate(_ secret: String, now: Date = Date()) throws -> APIKey {
        guard let id = APIKey.keyID(ofSecret: secret) else {
            throw VoxError(.unauthenticated, "the bearer token is not a voxd API key (they look like vx_<16 hex>_<43 characters>; create one with POST /v1/keys or voxctl keys create)")
        }
        guard let k = key(id), k.matches(secret: secret) else {
            throw VoxError(.unauthenticated, "unknown API key \(APIKey.prefix(id)): it was never issued here, or was deleted")
        }
        switch k.status(at: now) {
        case .active: return k
        case .revoked: throw VoxError(.unauthenticated, "API key \(k.id) (\(k.name)) was revoked at \(APIKey.iso(k.revokedAt!))")
        case .expired: throw VoxError(.unauthenticated, "API key \(k.id) (\(k.name)) expired at \(APIKey.iso(k.expiresAt!))")
        }
    }

    /// The `X-RateLimit-*` answer for one request.
    struct RateLimit {
        var limit: Int
        var remaining: Int
        var resetSeconds: Int
        var headers: HTTPFields {
            [.xRateLimitLimit: String(limit), .xRateLimitRemaining: String(remaining), .xRateLimitReset: String(resetSeconds)]
        }
    }

    /// Counts a request against the key's requests-per-minute (a fixed
    /// window on the minute); nil when the key has no such limit. The
    /// answer says whether it was admitted.
    func admit(_ k: APIKey, now: Date = Date()) -> (admitted: Bool, limit: RateLimit)? {
        guard let rpm = k.requestsPerMinute else { return nil }
        let t = now.timeIntervalSince1970
        let minute = Int64(t / 60)
        let reset = max(1, Int((Double(minute + 1) * 60 - t).rounded(.up)))
        return lock.withLock {
            var w = windows[k.id] ?? (minute, 0)
            if w.minute != minute { w = (minute, 0) }
            guard w.count < rpm else {
                windows[k.id] = w
                return (false, RateLimit(limit: rpm, remaining: 0, resetSeconds: reset))
            }
            w.count += 1
            windows[k.id] = w
            return (true, RateLimit(limit: rpm, remaining: rpm - w.count, resetSeconds: reset))
        }
    }

    /// A stream slot of the key's `concurrent_streams`, released once
    /// (explicitly, or when dropped).
    final class StreamSlot: @unchecked Sendable {
        private let release: @Sendable () -> Void
        private let lock = NSLock()
        private var done = false
        init(_ release: @escaping @Sendable () -> Void) { self.release = release }
        func free() { if lock.withLock({ let d = done; done = true; return !d }) { release() } }
        deinit { free() }
    }

    func acquireStream(_ k: APIKey) throws -> StreamSlot? {
        guard let max = k.concurrentStreams else { return nil }
        try lock.withLock {
            let n = streams[k.id, default: 0]
            guard n < max else {
                var e = VoxError(.rateLimited, "API key \(k.id) (\(k.name)) already has \(n) stream\(n == 1 ? "" : "s") in flight, its limit (rate_limit.concurrent_streams = \(max)); retry when one ends")
                e.retryAfterSeconds = 1
                throw e
            }
            streams[k.id] = n + 1
        }
        let id = k.id
        return StreamSlot { [weak self] in self?.releaseStream(id) }
    }

    private func releaseStream(_ id: String) {
        lock.withLock {
            let n = (streams[id] ?? 1) - 1
            streams[id] = n > 0 ? n : nil
        }
    }

    func streamsInFlight(_ id: String) -> Int { lock.withLock { streams[id] ?? 0 } }
}

extension HTTPField.Name {
    static let xRateLimitLimit = HTTPField.Name("X-RateLimit-Limit")!
    static let xRateLimitRemaining = HTTPField.Name("X-RateLimit-Remaining")!
    static let xRateLimitReset = HTTPField.Name("X-RateLimit-Reset")!
    static let xVoxMaxPrice = HTTPField.Name("X-Vox-Max-Price")!
    static let xVoxLatencyClass = HTTPField.Name("X-Vox-Latency-Class")!
}

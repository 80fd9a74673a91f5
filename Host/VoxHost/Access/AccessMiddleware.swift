import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VoxPluginKit

/// Who may call what. Runs inside ErrorMiddleware, for every route:
///
/// - `GET /v1/health` is open to every socket peer.
/// - An admin socket peer (SO_PEERCRED: root, voxd's own uid, or the admin
///   group) may do everything without a key. If it sends a voxd key
///   (`Authorization: Bearer vx_…`) the request is the key's (its scopes,
///   budgets and limits apply; handy for trying a key out); any other
///   bearer token (the OpenAI SDK insists on sending one) is ignored.
/// - Every other peer needs a key with the route's scope (`requirement`).
///
/// Keys with a `requests_per_minute` limit get `X-RateLimit-Limit`,
/// `-Remaining` and `-Reset` (seconds) on every answer, and a 429 past it;
/// with `concurrent_streams`, operation routes hold a slot until their
/// response body has been written. The principal and the request id travel
/// with the handler's task (`CallScope`), so the router can book the call.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = VoxRequestContext
    let daemon: VoxDaemon

    enum Requirement: Equatable {
        case open
        /// Any valid key (catalog reads, a key's own usage).
        case anyKey
        case scope(Scope)
        /// An operation: the scope, and a concurrent-stream slot.
        case operation(Scope)
    }

    /// The route table's scopes. Anything not listed needs `admin`, so a
    /// new route is closed until it is placed here.
    static func requirement(_ method: HTTPRequest.Method, _ path: String) -> Requirement {
        let p = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        let read = method == .get || method == .head
        switch p {
        case "/v1/health": return .open
        case "/v1/chat/completions": return .operation(.chat)
        case "/v1/audio/speech", "/v1/voices/preview": return .operation(.tts)
        case "/v1/audio/transcriptions": return .operation(.stt)
        case "/v1/audio/transcriptions/stream": return .scope(.stt)  // its slot is taken by the WebSocket session
        case "/v1/status": return read ? .scope(.configRead) : .scope(.admin)  // paths, pid, config file: not for every app
        case "/v1/models", "/v1/capabilities", "/v1/providers", "/v1/plugins", "/v1/route/explain", "/v1/usage",
             "/v1/usage/calls", "/v1/usage/estimate":
            return read ? .anyKey : .scope(.admin)
        case "/v1/voices": return read ? .anyKey : .scope(.configWrite)  // POST: cloning a voice
        case "/v1/templates/validate": return .scope(.configRead)
        case "/v1/defaults": return read ? .scope(.configRead) : .scope(.configWrite)
        default: break
        }
        for prefix in ["/v1/prompts", "/v1/templates", "/v1/session-configs"] where p == prefix || p.hasPrefix(prefix + "/") {
            // Rendering, resolving and exporting read; everything else that is not a GET writes.
            if read || p.hasSuffix("/render") || p.hasSuffix("/resolve") || p.hasSuffix("/export") { return .scope(.configRead) }
            return .scope(.configWrite)
        }
        if p.hasPrefix("/v1/plugins/"), read { return .anyKey }
        return .scope(.admin)  // keys, audit, metrics, reload, plugin enable/disable/reload
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let need = Self.requirement(request.method, request.uri.path)
        var context = context
        let principal = try await authenticate(request, context, required: need != .open)
        context.principal = principal
        var extra = HTTPFields()
        var slot: KeyRing.StreamSlot?
        if let principal {
            // Every request a key makes counts against its rate, refused ones included.
            if let key = principal.key, let (admitted, limit) = daemon.keys.admit(key) {
                extra = limit.headers
                if !admitted {
                    var e = VoxError(.rateLimited, "API key \(key.id) (\(key.name)) made its \(limit.limit) requests this minute (rate_limit.requests_per_minute); the window resets in \(limit.resetSeconds) s")
                    e.retryAfterSeconds = limit.resetSeconds
                    e.headers = extra
                    throw e
                }
            }
            switch need {
            case .scope(let s), .operation(let s):
                guard principal.allows(s) else {
                    let k = principal.key!
                    var e = VoxError(.forbidden, "API key \(k.id) (\(k.name)) lacks the scope \"\(s.rawValue)\" this route needs; it has \(k.scopes.sorted().map(\.rawValue).joined(separator: ", "))")
                    e.headers = extra
                    throw e
                }
            case .open, .anyKey: break
            }
            if let key = principal.key {
                if case .operation = need {
                    do { slot = try daemon.keys.acquireStream(key) } catch var e as VoxError { e.headers = extra; throw e }
                }
            }
        }
        let info = CallScope.Info(requestID: context.requestID, principal: principal,
                                  maxPriceUSD: try Self.maxPrice(request), latencyClass: try Self.latencyClass(request))
        var response: Response
        do {
            response = try await CallScope.$current.withValue(info) { try await next(request, context) }
        } catch var e as VoxError where !extra.isEmpty {
            e.headers = extra
            throw e
        }
        for f in extra { response.headers[f.name] = f.value }
        if let slot {
            // The slot is held until the body (a stream, often) has been written.
            let body = response.body
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer { slot.free() }
                try await body.write(writer)
            }
        }
        return response
    }

    /// The caller, or nil on an open route for a peer without a key.
    private func authenticate(_ request: Request, _ context: Context, required: Bool) async throws -> Principal? {
        let bearer = request.headers[.authorization].flatMap { h -> String? in
            let parts = h.split(separator: " ", maxSplits: 1)
            // Trimmed by hand: Foundation's trimmingCharacters was 1% of a proxied chat's CPU.
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            var token = parts[1]
            while let c = token.first, c == " " || c == "\t" { token.removeFirst() }
            while let c = token.last, c == " " || c == "\t" { token.removeLast() }
            return String(token)
        }
        if let bearer, bearer.hasPrefix("vx_") {
            return Principal(kind: .key(try daemon.keys.authenticate(bearer)))
        }
        guard required else { return nil }  // an open route: no need to ask who it is
        let peer = await context.peerCredentials()
        if let peer, daemon.admin.allows(peer) { return Principal(kind: .peerAdmin(uid: peer.uid, pid: peer.pid)) }
        if let bearer { _ = try daemon.keys.authenticate(bearer) }  // throws: not a voxd key
        let who = peer.map { "uid \($0.uid)" } ?? "this connection"
        throw VoxError(.unauthenticated, "\(who) is not a voxd admin, so it needs an API key: send Authorization: Bearer vx_… (an admin creates one with voxctl keys create)")
    }

    /// `X-Vox-Max-Price`: the most, in USD, this request may cost.
    static func maxPrice(_ request: Request) throws -> Double? {
        guard let raw = request.headers[.xVoxMaxPrice] ?? request.uri.queryParameters.get("max_price") else { return nil }
        guard let v = Double(raw.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "$", with: "")), v >= 0, v.isFinite else {
            throw VoxError(.invalidRequest, "X-Vox-Max-Price (max_price) must be a non-negative number of USD, not \"\(raw)\"")
        }
        return v
    }

    /// `X-Vox-Latency-Class`: realtime | interactive | batch.
    static func latencyClass(_ request: Request) throws -> LatencyClass? {
        guard let raw = request.headers[.xVoxLatencyClass] ?? request.uri.queryParameters.get("latency_class") else { return nil }
        guard let c = LatencyClass(rawValue: raw.lowercased()) else {
            throw VoxError(.invalidRequest, "X-Vox-Latency-Class (latency_class) must be one of \(LatencyClass.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(raw)\"")
        }
        return c
    }
}

/// How fast a request needs its first output: providers whose observed
/// time to first output (EWMA) is above the class's bound are not tried.
/// A provider with no samples yet is given the benefit of the doubt.
public enum LatencyClass: String, CaseIterable, Sendable {
    case realtime, interactive, batch

    public var maxFirstOutputSeconds: Double? {
        switch self {
        case .realtime: return 0.5
        case .interactive: return 2.0
        case .batch: return nil
        }
    }
}

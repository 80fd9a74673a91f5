import Foundation

/// Proxy settings from the environment, as curl and most HTTP clients read
/// them: `https_proxy` / `HTTPS_PROXY` for https:// and wss:// targets,
/// `http_proxy` (lowercase only: the uppercase form is unsafe under CGI) for
/// http:// and ws://, `all_proxy` / `ALL_PROXY` as the fallback for both, and
/// `no_proxy` / `NO_PROXY`: a comma list of host names (matching the host
/// and its subdomains; a leading dot is allowed), IP addresses, `host:port`,
/// or `*` for everything. Loopback targets never go through a proxy.
/// Only HTTP proxies (CONNECT for TLS) are supported; an `https://` or
/// `socks` proxy URL is ignored with a warning in `problems`.
struct ProxyEnvironment: Sendable, Equatable {
    struct Proxy: Sendable, Equatable {
        var host: String
        var port: Int
    }

    var http: Proxy?
    var https: Proxy?
    var noProxy: [String]
    /// Variables that were set but could not be used.
    var problems: [String]

    /// Read once from the process environment (voxd does not change it).
    static let current = ProxyEnvironment(ProcessInfo.processInfo.environment)

    init(_ env: [String: String]) {
        var problems: [String] = []
        func parse(_ name: String) -> Proxy? {
            guard let raw = env[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            let text = raw.contains("://") ? raw : "http://" + raw
            guard let u = URLComponents(string: text), let host = u.host, !host.isEmpty else {
                problems.append("\(name): \"\(raw)\" is not a proxy URL")
                return nil
            }
            guard u.scheme?.lowercased() == "http" else {
                problems.append("\(name): only http:// proxies are supported, not \(u.scheme ?? "?")://")
                return nil
            }
            return Proxy(host: host, port: u.port ?? 80)
        }
        let all = parse("all_proxy") ?? parse("ALL_PROXY")
        http = parse("http_proxy") ?? all
        https = parse("https_proxy") ?? parse("HTTPS_PROXY") ?? all
        let list = env["no_proxy"] ?? env["NO_PROXY"] ?? ""
        noProxy = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        self.problems = problems
    }

    /// The proxy for a request to `url`, or nil to connect directly.
    func proxy(for url: String) -> Proxy? {
        guard http != nil || https != nil else { return nil } // no proxy set: no URL to parse on every request
        guard let u = URLComponents(string: url), let scheme = u.scheme?.lowercased(), let host = u.host?.lowercased() else { return nil }
        let secure = scheme == "https" || scheme == "wss"
        guard let proxy = secure ? https : http else { return nil }
        if Self.isLoopback(host) || bypass(host: host, port: u.port ?? (secure ? 443 : 80)) { return nil }
        return proxy
    }

    func bypass(host: String, port: Int) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        for rule in noProxy {
            if rule == "*" { return true }
            var name = rule
            var rulePort: Int?
            if let colon = rule.lastIndex(of: ":"), !rule.hasPrefix("["), rule.filter({ $0 == ":" }).count == 1 {
                name = String(rule[..<colon])
                rulePort = Int(rule[rule.index(after: colon)...])
            }
            if let rulePort, rulePort != port { continue }
            if name.hasPrefix(".") { name.removeFirst() }
            if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
            if bare == name || bare.hasSuffix("." + name) { return true }
        }
        return false
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }
}

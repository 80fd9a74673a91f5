import Foundation

/// The chat load's client, built the way wrk and h2load are: a thread per
/// connection, blocking sockets, HTTP/1.1 keep-alive, each request written
/// in one `send` and its answer read with as few `recv`s as it takes.
///
/// Why not AsyncHTTPClient, which the rest of the benches use: on a two-core
/// machine the load generator shares the cores with the gateway it measures.
/// At eight clients through voxd the AsyncHTTPClient load (a task, a pool
/// lookup and a promise chain per request) took 0.9 of a core next to voxd's
/// 1.0, so its own cost showed up as the gateway's latency. This one spends a
/// few microseconds a request. Every target gets the same client.
enum LoadClient {
    /// Where a URL's requests go: a TCP host and port, or a unix socket
    /// (`http+unix://<percent-encoded path>/…`, as AsyncHTTPClient spells it).
    enum Endpoint: Sendable {
        case tcp(host: String, port: UInt16)
        case unix(path: String)
    }

    /// One request, encoded once and sent as is, and where it goes.
    struct Request: Sendable {
        var endpoint: Endpoint
        var bytes: [UInt8]

        /// A POST of a JSON body with the bench's bearer key.
        init(post url: String, json body: String, bearer: String) throws {
            guard let u = URL(string: url), let scheme = u.scheme, let host = u.host(percentEncoded: false) else {
                throw BenchError("load client: not a URL: \(url)")
            }
            switch scheme {
            case "http": endpoint = .tcp(host: host, port: UInt16(u.port ?? 80))
            case "http+unix": endpoint = .unix(path: host)
            default: throw BenchError("load client: \(scheme) URLs are not supported (\(url))")
            }
            var path = u.path(percentEncoded: true).isEmpty ? "/" : u.path(percentEncoded: true)
            if let query = u.query(percentEncoded: true) { path += "?" + query }
            let authority = scheme == "http" ? (u.port.map { "\(host):\($0)" } ?? host) : "localhost"
            let head = "POST \(path) HTTP/1.1\r\nHost: \(authority)\r\n"
                + "Content-Type: application/json\r\nAuthorization: Bearer \(bearer)\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n"
            bytes = Array(head.utf8) + Array(body.utf8)
        }
    }

    /// `requests` requests over `concurrency` connections (a thread each),
    /// stopping early after `seconds`. Every connection is opened and
    /// sends one request before the clock starts (a new connection's first
    /// request is not what a busy client sees). Returns each request's
    /// latency in seconds, sorted, and the wall time from the start to the
    /// last answer.
    static func run(_ request: Request, concurrency: Int, requests: Int, seconds: Double) async throws -> (latencies: [Double], wall: Double) {
        try await withCheckedThrowingContinuation { done in
            let run = Run(request: request, concurrency: concurrency, perConnection: max(1, requests / concurrency), seconds: seconds)
            for i in 0..<concurrency {
                let t = Thread { run.connection(i) }
                t.name = "load-\(i)"
                t.start()
            }
            // Waiting blocks, so not on a thread of Swift's pool (the fake runs there).
            Thread {
                run.finished.wait()
                if let error = run.error { done.resume(throwing: error) } else { done.resume(returning: (run.latencies.sorted(), run.wall)) }
            }.start()
        }
    }

    /// `VoxBench load URL [concurrency] [seconds] [json-body]`: POSTs the
    /// body (a one-message chat by default) to the URL (`http://…`, or
    /// `http+unix://<percent-encoded socket path>/…`) with the bench's key,
    /// and prints req/s and p50/p90/p99 — wrk for voxd's socket.
    static func command(_ args: [String]) async throws {
        guard let url = args.first else {
            Bench.line("usage: VoxBench load URL [concurrency] [seconds] [json-body]")
            return
        }
        let concurrency = args.count > 1 ? Int(args[1]) ?? 1 : 1
        let seconds = args.count > 2 ? Double(args[2]) ?? 5 : 5
        let body = args.count > 3 ? args[3] : #"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#
        let request = try Request(post: url, json: body, bearer: ProcessInfo.processInfo.environment["VOXBENCH_BEARER"] ?? "sk-bench")
        let r = try await run(request, concurrency: concurrency, requests: Int.max / 2, seconds: seconds)
        Bench.line(String(format: "%d requests in %.2f s over %d connections: %.0f req/s; latency ms p50 %.3f p90 %.3f p99 %.3f",
                          r.latencies.count, r.wall, concurrency, Double(r.latencies.count) / r.wall,
                          Bench.percentile(r.latencies, 0.5) * 1e3, Bench.percentile(r.latencies, 0.9) * 1e3, Bench.percentile(r.latencies, 0.99) * 1e3))
    }

    /// One load run's shared state: the start line every connection waits
    /// at, and what each leaves behind.
    private final class Run: @unchecked Sendable {
        let request: Request
        let concurrency: Int
        let perConnection: Int
        let seconds: Double
        let lock = NSLock()
        let ready = NSCondition()
        var waiting = 0
        var start: UInt64 = 0
        let finished = DispatchGroup()
        var latencies: [Double] = []
        var end: UInt64 = 0
        var error: Error?
        var wall: Double { Double(end &- start) / 1e9 }

        init(request: Request, concurrency: Int, perConnection: Int, seconds: Double) {
            self.request = request
            self.concurrency = concurrency
            self.perConnection = perConnection
            self.seconds = seconds
            for _ in 0..<concurrency { finished.enter() }
        }

        func connection(_ index: Int) {
            defer { finished.leave() }
            var conn: Connection?
            var failure: Error?
            do {
                conn = try Connection(request.endpoint)
                _ = try conn!.roundTrip(request.bytes)
            } catch { failure = error }
            // The start line: the last connection to arrive starts the clock.
            ready.lock()
            waiting += 1
            if waiting == concurrency { start = Bench.now(); ready.broadcast() } else { while waiting < concurrency { ready.wait() } }
            let started = start
            ready.unlock()
            var mine: [Double] = []
            mine.reserveCapacity(min(perConnection, 1 << 20))
            if let conn, failure == nil {
                let deadline = started + UInt64(seconds * 1e9)
                do {
                    for _ in 0..<perConnection {
                        let t0 = Bench.now()
                        guard t0 < deadline else { break }
                        try conn.roundTrip(request.bytes)
                        mine.append(Double(Bench.now() - t0) / 1e9)
                    }
                } catch { failure = error }
            }
            let now = Bench.now()
            lock.lock()
            latencies += mine
            end = max(end, now)
            if let failure, error == nil { error = failure }
            lock.unlock()
        }
    }

    /// One keep-alive connection and its read buffer.
    final class Connection {
        private let endpoint: Endpoint
        private var fd: Int32 = -1
        /// The server said `Connection: close`: the next request reconnects (and pays for it).
        private var closing = false
        private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        private var start = 0  // unread bytes are buffer[start..<end]
        private var end = 0

        init(_ endpoint: Endpoint) throws {
            self.endpoint = endpoint
            try open()
        }

        private func open() throws {
            start = 0
            end = 0
            closing = false
            switch endpoint {
            case .tcp(let host, let port):
                fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                guard fd >= 0 else { throw BenchError("load client: socket: \(String(cString: strerror(errno)))") }
                var addr = sockaddr_in()
                addr.sin_family = sa_family_t(AF_INET)
                addr.sin_port = port.bigEndian
                guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { close(fd); throw BenchError("load client: \(host) is not an IPv4 address") }
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                guard ok == 0 else { let e = errno; close(fd); throw BenchError("load client: connect to \(host):\(port): \(String(cString: strerror(e)))") }
            case .unix(let path):
                fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
                guard fd >= 0 else { throw BenchError("load client: socket: \(String(cString: strerror(errno)))") }
                var addr = sockaddr_un()
                addr.sun_family = sa_family_t(AF_UNIX)
                let bytes = Array(path.utf8)
                guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { close(fd); throw BenchError("load client: socket path too long: \(path)") }
                withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
                let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
                guard ok == 0 else { let e = errno; close(fd); throw BenchError("load client: connect to \(path): \(String(cString: strerror(e)))") }
            }
            // A target that stops answering fails the run instead of hanging it.
            var timeout = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { if fd >= 0 { close(fd) } }

        /// Sends `request` and reads its whole answer; throws unless it is a
        /// 200 with a body. Returns the body's length.
        @discardableResult
        func roundTrip(_ request: [UInt8]) throws -> Int {
            if closing {
                close(fd)
                fd = -1
                try open()
            }
            try request.withUnsafeBytes { raw in
                var sent = 0
                while sent < raw.count {
                    let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                    if n < 0, errno == EINTR { continue }
                    guard n > 0 else { throw BenchError("load client: send: \(String(cString: strerror(errno)))") }
                    sent += n
                }
            }
            // The head: up to the blank line.
            var headEnd = try find(crlfcrlf, from: start)
            while headEnd == nil { try fill(); headEnd = try find(crlfcrlf, from: start) }
            let (status, length, chunked, close) = try parseHead(start, headEnd!)
            closing = close
            start = headEnd! + 4
            var bodyLength = 0
            if chunked {
                while true {
                    var lineEnd = try find(crlf, from: start)
                    while lineEnd == nil { try fill(); lineEnd = try find(crlf, from: start) }
                    let sizeText = String(decoding: buffer[start..<lineEnd!], as: UTF8.self).split(separator: ";").first ?? ""
                    guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw BenchError("load client: bad chunk size \"\(sizeText)\"") }
                    start = lineEnd! + 2
                    if size == 0 {
                        // Trailer lines, if any, up to the blank line that ends the body.
                        while true {
                            var end = try find(crlf, from: start)
                            while end == nil { try fill(); end = try find(crlf, from: start) }
                            let blank = end! == start
                            start = end! + 2
                            if blank { break }
                        }
                        break
                    }
                    try take(size + 2)  // the chunk and its CRLF
                    bodyLength += size
                }
            } else if let length {
                try take(length)
                bodyLength = length
            } else {
                throw BenchError("load client: an answer with neither Content-Length nor chunked encoding")
            }
            guard status == 200, bodyLength > 0 else { throw BenchError("load client: HTTP \(status), \(bodyLength) body bytes") }
            return bodyLength
        }

        /// The status, Content-Length and whether the body is chunked, from
        /// the head in buffer[from..<to] (byte by byte: no Strings a request).
        private func parseHead(_ from: Int, _ to: Int) throws -> (status: Int, length: Int?, chunked: Bool, close: Bool) {
            func digits(_ i: inout Int, _ limit: Int) -> Int? {
                while i < limit, buffer[i] == 32 { i += 1 }
                var v = 0, any = false
                while i < limit, buffer[i] >= 48, buffer[i] <= 57 { v = v * 10 + Int(buffer[i] - 48); i += 1; any = true }
                return any ? v : nil
            }
            func named(_ name: [UInt8], _ i: Int, _ limit: Int) -> Bool {
                guard limit - i >= name.count else { return false }
                for k in 0..<name.count where buffer[i + k] | 0x20 != name[k] { return false }
                return true
            }
            var i = from + 8  // "HTTP/1.1"
            guard to - from > 12, named(Array("http/1.".utf8), from, to), let status = digits(&i, to) else {
                throw BenchError("load client: not an HTTP answer: \(String(decoding: buffer[from..<min(to, from + 80)], as: UTF8.self))")
            }
            var length: Int?
            var chunked = false
            var close = statusLineIsHTTP10(from, to)
            var line = from
            while line < to {
                var lineEnd = line
                while lineEnd < to, buffer[lineEnd] != 13 { lineEnd += 1 }
                if named(Self.contentLength, line, lineEnd) {
                    var j = line + Self.contentLength.count
                    length = digits(&j, lineEnd)
                } else if named(Self.connection, line, lineEnd) {
                    var j = line + Self.connection.count
                    while j < lineEnd, buffer[j] == 32 { j += 1 }
                    if named(Self.closeToken, j, lineEnd) { close = true }
                    if named(Self.keepAlive, j, lineEnd) { close = false }
                } else if named(Self.transferEncoding, line, lineEnd) {
                    var j = line + Self.transferEncoding.count
                    while j + Self.chunked.count <= lineEnd, !chunked { chunked = named(Self.chunked, j, lineEnd); j += 1 }
                }
                line = lineEnd + 2
            }
            return (status, length, chunked, close)
        }

        private static let contentLength = Array("content-length:".utf8)
        private static let transferEncoding = Array("transfer-encoding:".utf8)
        private static let chunked = Array("chunked".utf8)
        private static let connection = Array("connection:".utf8)
        private static let closeToken = Array("close".utf8)
        private static let keepAlive = Array("keep-alive".utf8)

        /// HTTP/1.0 closes after each answer unless it says keep-alive.
        private func statusLineIsHTTP10(_ from: Int, _ to: Int) -> Bool {
            to - from > 8 && buffer[from + 7] == UInt8(ascii: "0")
        }

        private let crlfcrlf: [UInt8] = [13, 10, 13, 10]
        private let crlf: [UInt8] = [13, 10]

        /// Index of `needle` in the unread bytes, if there.
        private func find(_ needle: [UInt8], from: Int) throws -> Int? {
            guard end - from >= needle.count else { return nil }
            var i = from
            while i + needle.count <= end {
                if buffer[i] == needle[0], buffer[i + 1] == needle[1], needle.count == 2 || (buffer[i + 2] == needle[2] && buffer[i + 3] == needle[3]) { return i }
                i += 1
            }
            return nil
        }

        /// Consumes `n` bytes of body, reading as needed.
        private func take(_ n: Int) throws {
            var left = n
            while left > 0 {
                if start == end { try fill() }
                let k = min(left, end - start)
                start += k
                left -= k
            }
        }

        /// Reads more bytes after the unread ones (moved to the front first).
        private func fill() throws {
            if start > 0 {
                if start < end { buffer.withUnsafeMutableBufferPointer { p in _ = memmove(p.baseAddress!, p.baseAddress! + start, end - start) } }
                end -= start
                start = 0
            }
            if end == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
            let n = buffer.withUnsafeMutableBytes { p in recv(fd, p.baseAddress! + end, p.count - end, 0) }
            if n < 0, errno == EINTR { return }
            guard n > 0 else { throw BenchError(n == 0 ? "load client: the server closed the connection" : "load client: recv: \(String(cString: strerror(errno)))") }
            end += n
        }
    }
}

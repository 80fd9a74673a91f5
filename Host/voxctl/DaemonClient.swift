import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// HTTP/1.1 over voxd's unix socket. One `HTTPClient` per voxctl run; every command goes through
/// `GlobalOptions.withClient`, which shuts it down on every path.
final class DaemonClient {
    let socketPath: String
    let timeoutSeconds: Double
    private let http: HTTPClient
    private let timeout: TimeAmount

    /// Largest JSON answer voxctl accepts (the daemon's are a few KiB).
    private static let maxJSONBytes = 16 << 20

    init(socketPath: String, timeoutSeconds: Double) {
        self.socketPath = socketPath
        self.timeoutSeconds = timeoutSeconds
        timeout = .nanoseconds(Int64(timeoutSeconds * 1_000_000_000))
        var config = HTTPClient.Configuration()
        // connect: bounds connect(2); read: the longest silence while a body streams in (the
        // per-request deadline passed to execute only covers the wait for the response head).
        config.timeout = .init(connect: timeout, read: timeout)
        // A missing socket or a refused connection should fail at once, not be retried until the deadline.
        config.connectionPool.retryConnectionEstablishment = false
        config.redirectConfiguration = .disallow
        config.decompression = .disabled
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    func shutdown() async {
        try? await http.shutdown()
    }

    // MARK: JSON requests

    /// GET a JSON document; returns the body of a 2xx answer, throws `VoxCtlError` otherwise.
    func get(_ path: String, query: [(String, String?)] = []) async throws -> Data {
        try await send(.GET, path: path, query: query, body: nil)
    }

    /// POST (optionally with a JSON body); returns the body of a 2xx answer.
    func post(_ path: String, json: Data? = nil) async throws -> Data {
        try await send(.POST, path: path, query: [], body: json)
    }

    /// DELETE; returns the body of a 2xx answer.
    func delete(_ path: String) async throws -> Data {
        try await send(.DELETE, path: path, query: [], body: nil)
    }

    /// PATCH with a JSON body; returns the body of a 2xx answer.
    func patch(_ path: String, json: Data) async throws -> Data {
        try await send(.PATCH, path: path, query: [], body: json)
    }

    private func send(
        _ method: HTTPMethod, path: String, query: [(String, String?)], body: Data?
    ) async throws -> Data {
        let request = makeRequest(method, path: path, query: query, body: body, accept: "application/json")
        let response = try await execute(request)
        let data = try await collect(response)
        guard (200..<300).contains(response.status.code) else {
            throw VoxCtlError.daemonAnswer(
                status: Int(response.status.code), reason: response.status.reasonPhrase, body: data,
                retryAfter: response.headers.first(name: "Retry-After"))
        }
        return data
    }

    // MARK: Streaming

    /// Sends a request whose answer body the caller streams. A non-2xx answer is read whole and
    /// thrown as `VoxCtlError`; on success the caller must consume `response.body`
    /// through `forEachChunk`.
    func open(_ method: HTTPMethod, path: String, json: Data?, accept: String) async throws -> HTTPClientResponse {
        let request = makeRequest(method, path: path, query: [], body: json, accept: accept)
        let response = try await execute(request)
        guard (200..<300).contains(response.status.code) else {
            let data = try await collect(response)
            throw VoxCtlError.daemonAnswer(
                status: Int(response.status.code), reason: response.status.reasonPhrase, body: data,
                retryAfter: response.headers.first(name: "Retry-After"))
        }
        return response
    }

    /// Feeds each received chunk of `response`'s body to `handle`, mapping transport failures.
    func forEachChunk(of response: HTTPClientResponse, _ handle: (ByteBuffer) throws -> Void) async throws {
        do {
            for try await chunk in response.body {
                try handle(chunk)
            }
        } catch let error as VoxCtlError {
            throw error
        } catch let error as HTTPClientError where error == .readTimeout {
            throw VoxCtlError(
                "voxd at \(socketPath) stopped sending for \(formatSeconds(timeoutSeconds)) s in the middle of its answer "
                    + "(try a larger --timeout)",
                status: .temporary)
        } catch {
            throw VoxCtlError.transport(error, socket: socketPath, timeout: timeoutSeconds)
        }
    }

    // MARK: Plumbing

    private func makeRequest(
        _ method: HTTPMethod, path: String, query: [(String, String?)], body: Data?, accept: String
    ) -> HTTPClientRequest {
        var uri = path
        let items = query.compactMap { key, value in value.map { "\(key)=\(Self.encodeQuery($0))" } }
        if !items.isEmpty { uri += "?" + items.joined(separator: "&") }
        // http+unix://<percent-encoded socket path><uri>
        let url = URL(httpURLWithSocketPath: socketPath, uri: uri)?.absoluteString
            ?? "http+unix://\(socketPath)\(uri)"
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: "voxctl/\(voxctlVersion)")
        request.headers.add(name: "Accept", value: accept)
        // An API key for callers voxd does not take as admins (SO_PEERCRED).
        if let key = ProcessInfo.processInfo.environment["VOXD_API_KEY"], !key.isEmpty {
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
        }
        if let body {  // (AHC sets Content-Length, also "0" for a body-less POST)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    private func execute(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        do {
            return try await http.execute(request, timeout: timeout)
        } catch {
            throw VoxCtlError.transport(error, socket: socketPath, timeout: timeoutSeconds)
        }
    }

    private func collect(_ response: HTTPClientResponse) async throws -> Data {
        do {
            let buffer = try await response.body.collect(upTo: Self.maxJSONBytes)
            return Data(buffer.readableBytesView)
        } catch let error as NIOTooManyBytesError {
            throw VoxCtlError("voxd's answer is larger than \(Self.maxJSONBytes >> 20) MiB: \(error)")
        } catch {
            throw VoxCtlError.transport(error, socket: socketPath, timeout: timeoutSeconds)
        }
    }

    /// A path segment (plugin name) for use in a URI.
    static func encodeSegment(_ segment: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%;")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }

    static func encodeQuery(_ value: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+#?%")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

extension GlobalOptions {
    /// Runs `body` with a client for the selected socket, shuts the client down whatever happens,
    /// and turns a `VoxCtlError` into its message on stderr plus its exit code.
    /// `errorJSONOnStdout: false` keeps the daemon's error document off stdout (speak streams audio there).
    func withClient(errorJSONOnStdout: Bool = true, _ body: (DaemonClient) async throws -> Void) async throws {
        let client = DaemonClient(socketPath: socketPath, timeoutSeconds: timeout)
        let outcome: Error?
        do {
            try await body(client)
            outcome = nil
        } catch {
            outcome = error
        }
        await client.shutdown()
        if let outcome { throw report(outcome, errorJSONOnStdout: errorJSONOnStdout) }
    }
}

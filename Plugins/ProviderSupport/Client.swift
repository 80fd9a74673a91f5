import Foundation
import VoxPluginKit

/// Requests to one provider through the host's HTTP service
/// (`context.http`): base URL, auth header, user agent and timeouts in one
/// place, non-2xx answers turned into `VoxPluginError`s (ProviderErrors),
/// transport failures labelled with the request.
public struct ProviderClient: Sendable {
    public let http: HostHTTP
    public let provider: Provider
    public let settings: ProviderSettings

    public init(http: HostHTTP, provider: Provider, settings: ProviderSettings) {
        self.http = http
        self.provider = provider
        self.settings = settings
    }

    public var name: String { provider.name }

    /// A request to `base_url + path` (`path` may carry a query), or to
    /// `url` verbatim when it is absolute.
    public func request(_ method: String, _ path: String, body: [UInt8] = [], contentType: String? = nil,
                        accept: String? = nil, headers extra: [(String, String)] = []) -> VoxHTTPRequest {
        var headers = [provider.authHeader] + provider.extraHeaders + extra
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let accept { headers.append(("Accept", accept)) }
        headers.append(("User-Agent", "voxd-\(provider.name)/\(provider.version)"))
        let url = path.hasPrefix("http://") || path.hasPrefix("https://") ? path : settings.baseURL + path
        var r = VoxHTTPRequest(method: method, url: url, headers: headers, body: body)
        r.connectTimeoutMs = settings.connectTimeoutMs
        r.firstByteTimeoutMs = settings.firstByteTimeoutMs
        r.idleTimeoutMs = settings.idleTimeoutMs
        r.totalTimeoutMs = settings.totalTimeoutMs
        return r
    }

    /// Sends and returns a 2xx response (its body still streaming); any other
    /// status throws the mapped error, transport failures keep their code.
    public func send(_ method: String, _ path: String, body: [UInt8] = [], contentType: String? = nil,
                     accept: String? = nil, headers: [(String, String)] = []) async throws -> VoxHTTPResponse {
        try await send(request(method, path, body: body, contentType: contentType, accept: accept, headers: headers))
    }

    public func send(_ request: VoxHTTPRequest) async throws -> VoxHTTPResponse {
        let what = "\(request.method) \(Self.pathOnly(request.url, base: settings.baseURL))"
        let response: VoxHTTPResponse
        do {
            response = try await http.send(request)
        } catch {
            throw ProviderErrors.transport(error, provider: provider.name, what)
        }
        return try await checked(response, what: what)
    }

    /// A 2xx response as it is; any other status throws the mapped error.
    public func checked(_ response: VoxHTTPResponse, what: String) async throws -> VoxHTTPResponse {
        guard (200..<300).contains(response.status) else {
            // Error bodies are small; read up to 64 KiB of it, whatever arrives.
            var bytes: [UInt8] = []
            var reader = BodyReader(response.body, provider: provider.name, what: what)
            do {
                while bytes.count < 65_536, let chunk = try await reader.next() { bytes += chunk }
            } catch {}
            if bytes.count >= 65_536 { response.body.cancel() }
            throw ProviderErrors.fromResponse(provider, status: response.status, headers: response.headers, body: bytes)
        }
        return response
    }

    /// Sends and reads the whole answer with one wake-up of the calling
    /// task (a JSON reply); any non-2xx status throws the mapped error,
    /// transport failures keep their code, labelled with the request.
    public func fetch(_ request: VoxHTTPRequest, limit: Int = 16 << 20) async throws -> VoxHTTPWholeResponse {
        let what = "\(request.method) \(Self.pathOnly(request.url, base: settings.baseURL))"
        let answer: VoxHTTPWholeResponse
        do { answer = try await http.fetch(request, limit: limit) } catch { throw ProviderErrors.transport(error, provider: provider.name, what) }
        guard (200..<300).contains(answer.status) else {
            throw ProviderErrors.fromResponse(provider, status: answer.status, headers: answer.headers, body: Array(answer.body.prefix(65_536)))
        }
        return answer
    }

    /// A JSON POST.
    public func postJSON(_ path: String, _ body: JSONValue, accept: String? = nil) async throws -> VoxHTTPResponse {
        try await send("POST", path, body: Array(try VoxJSON.encode(body)), contentType: "application/json", accept: accept)
    }

    /// GET or POST, then the whole body parsed as JSON (an object or array).
    public func json(_ method: String, _ path: String, body: JSONValue? = nil) async throws -> JSONValue {
        let what = "\(method) \(Self.pathOnly(path, base: ""))"
        let r = try body.map { request(method, path, body: Array(try VoxJSON.encode($0)), contentType: "application/json", accept: "application/json") }
            ?? request(method, path, accept: "application/json")
        return try parse(try await fetch(r).body, what: what)
    }

    /// A 2xx body as JSON; anything else is the provider misbehaving (retriable).
    public func parse(_ bytes: [UInt8], what: String) throws -> JSONValue {
        guard let value = try? JSONValue.parse(bytes), value.objectValue != nil || value.arrayValue != nil else {
            throw VoxPluginError(.unavailable, "\(provider.name) sent malformed JSON for \(what): \(ProviderErrors.snippet(bytes))", retriable: true)
        }
        return value
    }

    /// Reads a whole (small) 2xx body, gathered on the host's delivering
    /// thread (one wake-up for this task, not one per chunk).
    public func collect(_ response: VoxHTTPResponse, what: String, limit: Int = 16 << 20) async throws -> [UInt8] {
        do { return try await response.collect(limit: limit) } catch { throw ProviderErrors.transport(error, provider: provider.name, what) }
    }

    static func pathOnly(_ url: String, base: String) -> String {
        var p = base.isEmpty || !url.hasPrefix(base) ? url : String(url.dropFirst(base.count))
        if let q = p.firstIndex(of: "?") { p = String(p[..<q]) }
        return p
    }
}

/// A response body's chunks, with transport errors labelled with the request.
public struct BodyReader {
    private var iterator: VoxHTTPBody.Iterator
    private let provider: String
    private let what: String

    public init(_ body: VoxHTTPBody, provider: String, what: String) {
        iterator = body.makeAsyncIterator()
        self.provider = provider
        self.what = what
    }

    public mutating func next() async throws -> [UInt8]? {
        do { return try await iterator.next() } catch { throw ProviderErrors.transport(error, provider: provider, what) }
    }
}

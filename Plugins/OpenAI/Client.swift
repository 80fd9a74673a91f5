import Foundation
import VoxPluginKit

/// Requests to the OpenAI API through the host's HTTP service
/// (`context.http`): URL, auth headers and timeouts in one place, and
/// non-2xx answers turned into `VoxPluginError`s (Errors.swift).
struct OpenAIClient: Sendable {
    let http: HostHTTP
    let settings: OpenAISettings
    /// Never logged, never put in a message.
    let apiKey: String

    /// Auth per openai.md "Basics": bearer key, optional organization/project.
    var authHeaders: [(String, String)] {
        var h = [("Authorization", "Bearer \(apiKey)")]
        if let o = settings.organization { h.append(("OpenAI-Organization", o)) }
        if let p = settings.project { h.append(("OpenAI-Project", p)) }
        return h
    }

    func request(_ method: String, _ path: String, body: [UInt8] = [], contentType: String? = nil, accept: String? = nil) -> VoxHTTPRequest {
        var headers = authHeaders
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let accept { headers.append(("Accept", accept)) }
        headers.append(("User-Agent", "voxd-openai/\(OpenAIPlugin.info.version)"))
        var r = VoxHTTPRequest(method: method, url: settings.baseURL + path, headers: headers, body: body)
        r.connectTimeoutMs = settings.connectTimeoutMs
        r.firstByteTimeoutMs = settings.firstByteTimeoutMs
        r.idleTimeoutMs = settings.idleTimeoutMs
        return r
    }

    /// Sends and returns a 2xx response (its body still streaming); any other
    /// status throws the mapped error, transport failures keep their code.
    func send(_ method: String, _ path: String, body: [UInt8] = [], contentType: String? = nil, accept: String? = nil) async throws -> VoxHTTPResponse {
        let what = "\(method) \(path)"
        let response: VoxHTTPResponse
        do {
            response = try await http.send(request(method, path, body: body, contentType: contentType, accept: accept))
        } catch {
            throw OpenAIErrors.transport(error, what)
        }
        guard (200..<300).contains(response.status) else {
            // Error bodies are small; read up to 64 KiB of it, whatever arrives.
            var bytes: [UInt8] = []
            var reader = BodyReader(response.body, what: what)
            do {
                while bytes.count < 65_536, let chunk = try await reader.next() { bytes += chunk }
            } catch {}
            if bytes.count >= 65_536 { await Self.abandon(response.body) }
            throw OpenAIErrors.fromResponse(status: response.status, headers: response.headers, body: bytes, apiKey: apiKey)
        }
        return response
    }

    /// A JSON POST.
    func postJSON(_ path: String, _ body: JSONValue, accept: String? = nil) async throws -> VoxHTTPResponse {
        try await send("POST", path, body: Array(try VoxJSON.encode(body)), contentType: "application/json", accept: accept)
    }

    /// Reads a whole (small) 2xx body.
    func collect(_ response: VoxHTTPResponse, what: String, limit: Int = 16 << 20) async throws -> [UInt8] {
        var out: [UInt8] = []
        var reader = BodyReader(response.body, what: what)
        while let chunk = try await reader.next() {
            out += chunk
            if out.count > limit {
                await Self.abandon(response.body)
                throw VoxPluginError.unavailable("openai \(what): response over \(limit) bytes")
            }
        }
        return out
    }

    /// Closes the connection of a body we stop reading early.
    static func abandon(_ body: VoxHTTPBody) async {
        body.cancel()
    }
}

/// A response body's chunks, with transport errors labelled with the request.
struct BodyReader {
    private var iterator: VoxHTTPBody.Iterator
    private let what: String

    init(_ body: VoxHTTPBody, what: String) {
        iterator = body.makeAsyncIterator()
        self.what = what
    }

    mutating func next() async throws -> [UInt8]? {
        do { return try await iterator.next() } catch { throw OpenAIErrors.transport(error, what) }
    }
}

import Foundation
import VoxPluginKit

/// `llm.chat` against an OpenAI-compatible `POST …/chat/completions`
/// (OpenAI itself, Groq, Sarvam), streamed upstream when the client asked
/// for a stream (`stream: true` in the request) and asked for one whole
/// completion otherwise — a whole answer sent as one body costs the
/// provider, the network and voxd less than the same answer in hundreds of
/// SSE frames. Either way the answer becomes voxd's chat events
/// (SCHEMAS.md), tool-call fragments keyed by index, usage from `usage` or
/// Groq's `x_groq.usage`.
public struct CompatChat: Sendable {
    public let client: ProviderClient
    public var path = "/chat/completions"
    public var defaultModel: String
    /// Ask for usage in the stream with `stream_options.include_usage`
    /// (OpenAI needs it; a provider that rejects unknown fields may not).
    public var askForUsage = true
    /// Last look at the upstream body: refuse what the provider refuses,
    /// with a clear message, before a request is made.
    public var prepare: @Sendable (inout [String: JSONValue]) throws -> Void = { _ in }

    public init(client: ProviderClient, defaultModel: String) {
        self.client = client
        self.defaultModel = defaultModel
    }

    /// The client's request body, every field kept as the client sent it
    /// but `stream_options`: asked for (`include_usage`) on a stream, left
    /// out without one (providers refuse it without `stream: true`).
    public func upstreamBody(_ request: JSONValue) throws -> JSONValue {
        guard var body = request.objectValue else { throw VoxPluginError.invalidRequest("chat: the request must be a JSON object") }
        if body["model"] == nil || body["model"] == .null { body["model"] = .string(defaultModel) }
        guard body["model"]?.stringValue?.isEmpty == false else { throw VoxPluginError.invalidRequest("chat: model must be a non-empty string") }
        guard let messages = body["messages"]?.arrayValue, !messages.isEmpty else {
            throw VoxPluginError.invalidRequest("chat: messages must be a non-empty array")
        }
        // Events carry no choice index, so only one choice can be streamed.
        if let n = body["n"], n != .null, n.intValue != 1 {
            throw VoxPluginError.invalidRequest("chat: n must be 1 (voxd streams a single choice)")
        }
        if body["stream"]?.boolValue == true {
            if askForUsage {
                var options = body["stream_options"]?.objectValue ?? [:]
                options["include_usage"] = .bool(true)
                body["stream_options"] = .object(options)
            }
        } else {
            body["stream"] = nil
            body["stream_options"] = nil
        }
        try prepare(&body)
        return .object(body)
    }

    public func run(_ request: JSONValue, output: EventOutput) async throws -> OperationResult {
        let body = try upstreamBody(request)
        let name = client.name
        let what = "POST \(path)"
        var stream = ChatStream(provider: name)
        guard body["stream"]?.boolValue == true else {
            // One answer, read whole: this task wakes once, when it is in.
            let answer = try await client.fetch(client.request("POST", path, body: Array(try VoxJSON.encode(body)),
                                                               contentType: "application/json", accept: "application/json"))
            guard answer.header("content-type")?.lowercased().hasPrefix("text/event-stream") == true else {
                for event in try stream.completion(answer.body) { try await output.emit(event) }
                return stream.result
            }
            // A provider that streamed anyway: its frames are all here.
            var events: [JSONValue] = []
            var parser = SSEParser()
            for frame in parser.feed(answer.body) + parser.finish() where !stream.done { events += try stream.frame(frame) }
            try stream.checkComplete()
            for event in events { try await output.emit(event) }
            return stream.result
        }
        // Each chunk is parsed and its events sent on the host thread that
        // delivers it (EventOutput.relay), bound before the head arrives: no
        // hop to this task for the head, nor per token.
        let request = client.request("POST", path, body: Array(try VoxJSON.encode(body)), contentType: "application/json", accept: "text/event-stream")
        let progress = SSEProgress(stream)
        let refused: VoxHTTPResponse?
        do {
            refused = try await output.relay(client.http, request, accept: { status, headers in
                (200..<300).contains(status) && headers.header("content-type")?.lowercased().hasPrefix("application/json") != true
            }) { chunk, events in try progress.take(chunk, into: &events) }
        } catch {
            if let e = progress.failure { throw e }
            // Once [DONE] was seen the answer is complete: a transport
            // failure while the rest drains no longer matters.
            if !progress.stream.done { throw ProviderErrors.transport(error, provider: name, what) }
            refused = nil
        }
        if let refused {
            // An error status, or a gateway that ignored `stream: true` and
            // sent one JSON completion.
            let response = try await client.checked(refused, what: what)
            let bytes = try await client.collect(response, what: what)
            for event in try stream.completion(bytes) { try await output.emit(event) }
            return stream.result
        }
        for frame in progress.parser.finish() where !progress.stream.done {
            for event in try progress.stream.frame(frame) { try await output.emit(event) }
        }
        try progress.stream.checkComplete()
        return progress.stream.result
    }
}

/// The SSE parser and chat state of one relayed stream: used by one chunk
/// at a time (the relay's order), then read by the task once it returns.
final class SSEProgress: @unchecked Sendable {
    var parser = SSEParser()
    var stream: ChatStream
    /// What `take` threw (malformed JSON, an error frame), as opposed to a
    /// transport failure of the body.
    private(set) var failure: Error?

    init(_ stream: ChatStream) { self.stream = stream }

    func take(_ chunk: [UInt8], into events: inout [JSONValue]) throws {
        do {
            for frame in parser.feed(chunk) where !stream.done { events += try stream.frame(frame) }
        } catch {
            failure = error
            throw error
        }
    }
}

/// Turns chat.completion.chunk objects into voxd events and keeps what the
/// result needs. Only choice 0 is followed (n is refused above 1).
public struct ChatStream {
    let provider: String
    public private(set) var done = false
    public private(set) var sawChoice = false
    private var finishReason: String?
    private var usage: Usage?
    private var startedTools: Set<Int> = []

    public init(provider: String) { self.provider = provider }

    public var result: OperationResult { OperationResult(usage: usage, finishReason: finishReason) }

    /// A stream that ended before `[DONE]`, or without any choice, is a
    /// provider failure (retriable), never a short answer.
    public func checkComplete() throws {
        guard done, sawChoice else {
            throw VoxPluginError(.unavailable, "\(provider): truncated stream (the chat stream ended without \(done ? "any choice" : "[DONE]"))", retriable: true)
        }
    }

    /// One SSE event's data: `[DONE]` or a chunk object.
    public mutating func frame(_ data: String) throws -> [JSONValue] {
        // A byte-level trim: Foundation's trimmingCharacters goes through
        // NSString on Linux and showed up as a per-frame cost in the profile.
        let text = Self.trimmed(data)
        if text.isEmpty { return [] }
        if text == "[DONE]" { done = true; return [] }
        guard let chunk = try? JSONValue.parse(text), chunk.objectValue != nil else {
            throw VoxPluginError(.unavailable, "\(provider) sent malformed JSON in the chat stream: \(ProviderErrors.snippet(text))", retriable: true)
        }
        // An error inside a 200 stream: {"error": {"message", "type", …}}.
        if let err = chunk["error"], err != .null {
            let message = err["message"]?.stringValue ?? ProviderErrors.snippet(text)
            throw VoxPluginError(.unavailable, "\(provider) reported an error mid-stream: \(message)", retriable: true)
        }
        takeUsage(chunk)
        var events: [JSONValue] = []
        for choice in chunk["choices"]?.arrayValue ?? [] where (choice["index"]?.intValue ?? 0) == 0 {
            sawChoice = true
            if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
            guard let delta = choice["delta"] else { continue }
            events += self.delta(delta)
        }
        return events
    }

    /// A non-streamed chat.completion (the same events, all at once).
    public mutating func completion(_ bytes: [UInt8]) throws -> [JSONValue] {
        guard let obj = try? JSONValue.parse(bytes), obj.objectValue != nil else {
            throw VoxPluginError(.unavailable, "\(provider) sent malformed JSON: \(ProviderErrors.snippet(bytes))", retriable: true)
        }
        takeUsage(obj)
        guard let choice = obj["choices"]?.arrayValue?.first else {
            throw VoxPluginError(.unavailable, "\(provider) answered without any choice", retriable: true)
        }
        sawChoice = true
        done = true
        finishReason = choice["finish_reason"]?.stringValue
        guard let message = choice["message"] else { return [] }
        // A full tool call has the shape of a first fragment with all of its arguments.
        var fragments: [JSONValue] = []
        for (i, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
            var c = call.objectValue ?? [:]
            c["index"] = .number(Double(i))
            fragments.append(.object(c))
        }
        var delta: [String: JSONValue] = [:]
        if let content = message["content"] { delta["content"] = content }
        if let refusal = message["refusal"] { delta["refusal"] = refusal }
        if !fragments.isEmpty { delta["tool_calls"] = .array(fragments) }
        return self.delta(.object(delta))
    }

    /// `usage` (OpenAI, and Groq with include_usage) or `x_groq.usage`
    /// (Groq's final chunk, groq.md "stream chunks").
    private mutating func takeUsage(_ chunk: JSONValue) {
        if let u = chunk["usage"], u != .null { usage = Self.usage(u) }
        else if let u = chunk["x_groq"]?["usage"], u != .null { usage = Self.usage(u) }
    }

    /// `delta.content` → delta events; `delta.tool_calls[]` → tool_call
    /// events keyed by index, id and name only on an index's first fragment
    /// (openai.md: "only the first fragment has id, type, name").
    private mutating func delta(_ delta: JSONValue) -> [JSONValue] {
        var events: [JSONValue] = []
        if let text = delta["content"]?.stringValue, !text.isEmpty {
            events.append(.object(["type": .string("delta"), "content": .string(text)]))
        }
        // A refusal is the model's answer too; pass its text as content.
        if let text = delta["refusal"]?.stringValue, !text.isEmpty {
            events.append(.object(["type": .string("delta"), "content": .string(text)]))
        }
        for call in delta["tool_calls"]?.arrayValue ?? [] {
            let index = call["index"]?.intValue ?? 0
            var event: [String: JSONValue] = ["type": .string("tool_call"), "index": .number(Double(index))]
            if !startedTools.contains(index) {
                startedTools.insert(index)
                if let id = call["id"]?.stringValue { event["id"] = .string(id) }
                if let name = call["function"]?["name"]?.stringValue { event["name"] = .string(name) }
            }
            event["arguments"] = .string(call["function"]?["arguments"]?.stringValue ?? "")
            events.append(.object(event))
        }
        return events
    }

    public static func trimmed(_ s: String) -> String {
        let u = s.utf8
        func space(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
        guard let first = u.firstIndex(where: { !space($0) }) else { return "" }
        let last = u.lastIndex(where: { !space($0) })!
        if first == u.startIndex, last == u.index(before: u.endIndex) { return s }
        return String(s[first...last])
    }

    public static func usage(_ u: JSONValue) -> Usage {
        Usage(inputTokens: u["prompt_tokens"]?.intValue, outputTokens: u["completion_tokens"]?.intValue)
    }
}

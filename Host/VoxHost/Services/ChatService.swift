import CVoxPlugin
import Foundation
import VoxPluginKit

/// `POST /v1/chat/completions`: the OpenAI request goes to the chosen
/// provider with its own model id; the plugin's `delta` / `tool_call` events
/// come back as OpenAI chunks (stream) or one completion (no stream).
public struct StartedChat: Sendable {
    public let provider: String
    public let model: String
    public let stream: Bool
    public let includeUsage: Bool
    /// The first event, already received (proof the provider answered).
    public let first: ChatEvent?
    public let operation: HostOperation
    public let id: String
    public let created: Int
    /// Candidates tried (1: the first served).
    public var attempts = 1
    /// Not streamed: every event and the result, gathered inside the
    /// attempt (nothing reaches the client before the end, so a failure
    /// midway still fails over).
    public var collected: [ChatEvent]?
    public var finalResult: OperationResult?
}

/// One event of a chat operation, decoded.
public enum ChatEvent: Sendable, Equatable {
    case delta(String)
    case toolCall(index: Int, id: String?, name: String?, arguments: String)

    init?(json: String) {
        guard let v = try? JSONValue.parse(json) else { return nil }
        switch v["type"]?.stringValue {
        case "delta": self = .delta(v["content"]?.stringValue ?? "")
        case "tool_call":
            self = .toolCall(index: v["index"]?.intValue ?? 0, id: v["id"]?.stringValue, name: v["name"]?.stringValue,
                             arguments: v["arguments"]?.stringValue ?? "")
        default: return nil
        }
    }
}

extension VoxDaemon {
    public func startChat(_ body: JSONValue) async throws -> StartedChat {
        guard case .object(let request) = body else { throw VoxError(.invalidRequest, "the body must be a JSON object") }
        guard case .array(let messages)? = request["messages"], !messages.isEmpty else {
            throw VoxError(.invalidRequest, "messages must be a non-empty array of {role, content}")
        }
        if let m = request["model"], m.stringValue == nil, m != .null { throw VoxError(.invalidRequest, "model must be a string") }
        let stream = request["stream"]?.boolValue ?? false
        var routed = RouteRequest(operation: .llmChat, model: request["model"]?.stringValue, stream: stream)
        routed.estimate = Self.chatEstimate(request, messages: messages)
        let plan = try await router.plan(routed, daemon: self)
        let (first, attempt) = try await route(plan) { a in try await self.attemptChat(a, request) }
        var chat = first
        chat.attempts = attempt.index + 1
        return chat
    }

    /// The tokens a chat request may use, for its budget reservation: the
    /// messages' text at about four characters a token (plus a few per
    /// message), and `max_completion_tokens` / `max_tokens` out (1,000
    /// when neither is given).
    static func chatEstimate(_ request: [String: JSONValue], messages: [JSONValue]) -> Usage {
        var chars = 0
        func count(_ v: JSONValue) {
            switch v {
            case .string(let s): chars += s.utf8.count
            case .array(let a): a.forEach(count)
            case .object(let o): o.values.forEach(count)
            default: break
            }
        }
        messages.forEach(count)
        let out = request["max_completion_tokens"]?.intValue ?? request["max_tokens"]?.intValue ?? 1000
        return Usage(inputTokens: chars / 4 + 4 * messages.count + 1, outputTokens: max(1, out))
    }

    /// One candidate: the request with its model, started, and its first
    /// event awaited (an answer without one is a retriable failure).
    private func attemptChat(_ a: RouteAttempt, _ body: [String: JSONValue]) async throws -> StartedChat {
        var request = body
        let instance = a.instance
        guard let model = a.candidate.model else {
            throw VoxError(.invalidRequest, "\(instance.name) declares no chat model; name one as \(instance.name)/MODEL", provider: instance.name)
        }
        let stream = request["stream"]?.boolValue ?? false
        let includeUsage = request["stream_options"]?["include_usage"]?.boolValue ?? false
        request["model"] = .string(model)
        let op = try start(instance, VOX_OP_LLM_CHAT, request: VoxJSON.string(JSONValue.object(request)), timeout: a.limits.totalTimeoutSeconds)
        a.bind(op)
        let watch = a.watchFirstOutput(op)
        func started(_ first: ChatEvent) -> StartedChat {
            StartedChat(provider: instance.name, model: "\(instance.name)/\(model)", stream: stream, includeUsage: includeUsage,
                        first: first, operation: op, id: "chatcmpl-\(RequestID.next())", created: Int(Date().timeIntervalSince1970))
        }
        func noAnswer() -> VoxError {
            VoxError(.unavailable, "\(instance.name) ended the chat without an answer", provider: instance.name, retriable: true)
        }
        if !stream {
            // Nothing goes out before the end: the whole answer is gathered
            // with one wake-up (not one for the first word and one for the
            // rest), and a failure anywhere in it can still fail over.
            var events: [ChatEvent] = []
            do {
                while let batch = try await op.rest() {
                    for case .event(let json) in batch { if let e = ChatEvent(json: json) { events.append(e) } }
                }
            } catch {
                watch.disarm()
                if op.firstOutputUptimeNs == nil { throw a.firstOutputError(error, watch) }
                guard let e = error as? VoxPluginError else { throw error }
                throw VoxError(e.code, "\(e.message) (midway through the answer)", provider: instance.name, retriable: e.retriable)
            }
            watch.disarm()
            if let at = op.firstOutputUptimeNs { a.markFirstOutput(atUptime: at) }
            guard let first = events.first else { throw noAnswer() }
            var chat = started(first)
            chat.collected = events
            chat.finalResult = op.result
            return chat
        }
        // Wait for the provider's first word (or its error) before answering.
        var first: ChatEvent?
        do {
            while first == nil, let out = try await op.next() {
                if case .event(let json) = out { first = ChatEvent(json: json) }
            }
        } catch {
            watch.disarm()
            op.cancel()
            throw a.firstOutputError(error, watch)
        }
        watch.disarm()
        a.markFirstOutput()
        guard let first else { throw noAnswer() }
        return started(first)
    }
}

/// Builds the OpenAI shapes from chat events.
struct ChatAssembler {
    let id: String
    let created: Int
    let model: String
    let includeUsage: Bool
    private(set) var content = ""
    private(set) var toolCalls: [Int: (id: String?, name: String?, arguments: String)] = [:]
    /// A chunk's bytes before and after its `delta` object, made once: a
    /// content chunk is then its delta's few bytes between them, instead of
    /// a five-key object built and key-sorted per token.
    private var deltaFrame: (prefix: [UInt8], suffix: [UInt8])?

    init(_ chat: StartedChat) {
        self.init(id: chat.id, created: chat.created, model: chat.model, includeUsage: chat.includeUsage, stream: chat.stream)
    }

    /// `stream`: chunks will be sent, so their frame is made now (a whole
    /// completion never needs it).
    init(id: String, created: Int, model: String, includeUsage: Bool, stream: Bool = true) {
        self.id = id
        self.created = created
        self.model = model
        self.includeUsage = includeUsage
        guard stream else { return }
        let whole = Array(chunk(delta: [:]).serialized.utf8)
        let marker = Array(#""delta":{}"#.utf8)
        if let at = whole.indices.first(where: { whole[$0...].starts(with: marker) }) {
            deltaFrame = (Array(whole[..<(at + marker.count - 2)]), Array(whole[(at + marker.count)...]))
        }
    }

    mutating func add(_ e: ChatEvent) {
        switch e {
        case .delta(let text): content += text
        case .toolCall(let index, let id, let name, let arguments):
            var t = toolCalls[index] ?? (nil, nil, "")
            t.id = t.id ?? id
            t.name = t.name ?? name
            t.arguments += arguments
            toolCalls[index] = t
        }
    }

    func finishReason(_ result: OperationResult?) -> String {
        result?.finishReason ?? (toolCalls.isEmpty ? "stop" : "tool_calls")
    }

    func usage(_ result: OperationResult?) -> JSONValue {
        let input = result?.usage?.inputTokens ?? 0, output = result?.usage?.outputTokens ?? 0
        return .object(["prompt_tokens": .number(Double(input)), "completion_tokens": .number(Double(output)),
                        "total_tokens": .number(Double(input + output))])
    }

    /// The whole `chat.completion` object.
    func completion(_ result: OperationResult?) -> JSONValue {
        var message: [String: JSONValue] = ["role": .string("assistant"), "refusal": .null,
                                            "content": content.isEmpty && !toolCalls.isEmpty ? .null : .string(content)]
        if !toolCalls.isEmpty {
            message["tool_calls"] = .array(toolCalls.keys.sorted().map { i in
                let t = toolCalls[i]!
                return .object(["id": .string(t.id ?? "call_\(i)"), "type": .string("function"),
                                "function": .object(["name": .string(t.name ?? ""), "arguments": .string(t.arguments)])])
            })
        }
        return .object([
            "id": .string(id), "object": .string("chat.completion"), "created": .number(Double(created)),
            "model": .string(model),
            "choices": .array([.object(["index": .number(0), "message": .object(message), "logprobs": .null,
                                        "finish_reason": .string(finishReason(result))])]),
            "usage": usage(result),
        ])
    }

    /// One `chat.completion.chunk`.
    func chunk(delta: [String: JSONValue], finishReason: String? = nil) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id), "object": .string("chat.completion.chunk"), "created": .number(Double(created)),
            "model": .string(model),
            "choices": .array([.object(["index": .number(0), "delta": .object(delta), "logprobs": .null,
                                        "finish_reason": finishReason.map(JSONValue.string) ?? .null])]),
        ]
        if includeUsage { o["usage"] = .null }
        return .object(o)
    }

    /// `chunk(for:)` as UTF-8, from the frame made once (a content delta).
    func chunkBytes(for e: ChatEvent) -> [UInt8] {
        guard case .delta(let text) = e, let (prefix, suffix) = deltaFrame else { return Array(chunk(for: e).serialized.utf8) }
        var out = prefix
        out.reserveCapacity(prefix.count + suffix.count + text.utf8.count + 16)
        out += #"{"content":"#.utf8
        out += JSONValue.quote(text).utf8
        out.append(UInt8(ascii: "}"))
        out += suffix
        return out
    }

    /// The opening chunk (`role: assistant`, empty content) as UTF-8, from
    /// the same frame: the first bytes of every streamed answer.
    func roleChunkBytes() -> [UInt8] {
        guard let (prefix, suffix) = deltaFrame else { return Array(chunk(delta: Self.roleDelta).serialized.utf8) }
        return prefix + Self.roleDeltaBytes + suffix
    }

    static let roleDelta: [String: JSONValue] = ["role": .string("assistant"), "content": .string("")]
    private static let roleDeltaBytes = Array(JSONValue.object(roleDelta).serialized.utf8)

    func chunk(for e: ChatEvent) -> JSONValue {
        switch e {
        case .delta(let text): return chunk(delta: ["content": .string(text)])
        case .toolCall(let index, let id, let name, let arguments):
            var call: [String: JSONValue] = ["index": .number(Double(index))]
            if let id { call["id"] = .string(id); call["type"] = .string("function") }
            var function: [String: JSONValue] = ["arguments": .string(arguments)]
            if let name { function["name"] = .string(name) }
            call["function"] = .object(function)
            return chunk(delta: ["tool_calls": .array([.object(call)])])
        }
    }

    func usageChunk(_ result: OperationResult?) -> JSONValue {
        .object(["id": .string(id), "object": .string("chat.completion.chunk"), "created": .number(Double(created)),
                 "model": .string(model), "choices": .array([]), "usage": usage(result)])
    }
}

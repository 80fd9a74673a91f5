import Foundation
import Hummingbird

/// POST /v1/chat/completions (openai.md "POST /chat/completions", "Streaming").
extension OpenAIFake {
    /// Request fields of CreateChatCompletionRequest (spec) that a client may send.
    static let chatFields: Set<String> = [
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "max_completion_tokens", "max_tokens",
        "n", "stop", "tools", "tool_choice", "parallel_tool_calls", "response_format", "seed", "user", "reasoning_effort",
        "modalities", "audio", "frequency_penalty", "presence_penalty", "logit_bias", "logprobs", "top_logprobs",
        "metadata", "store", "service_tier", "prediction", "web_search_options", "verbosity", "prompt_cache_key",
        "prompt_cache_retention", "prompt_cache_options", "safety_identifier", "moderation", "functions", "function_call",
    ]
    static let roles: Set<String> = ["developer", "system", "user", "assistant", "tool", "function"]

    /// The fake's token counts: prompt = 7 per message + the words of string
    /// contents; completion = one per streamed fragment.
    public static func promptTokens(messages: [FakeJSON]) -> Int {
        messages.reduce(0) { sum, m in sum + 7 + (m["content"]?.string?.split(separator: " ").count ?? 0) }
    }

    /// "Hello from the fake." → ["Hello", " from", " the", " fake", "."].
    public static func fragments(of text: String) -> [String] {
        var out: [String] = []
        for (i, word) in text.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            var w = (i == 0 ? "" : " ") + word
            var tail = ""
            while let last = w.last, last.isPunctuation, w.count > 1 { tail = String(last) + tail; w.removeLast() }
            out.append(w)
            if !tail.isEmpty { out.append(tail) }
        }
        return out.filter { !$0.isEmpty }
    }

    func checkChat(_ body: FakeJSON, path: String) -> Bool {
        var ok = true
        func bad(_ s: String) { core.violation("\(path): \(s)"); ok = false }
        for key in body.keys ?? [] where !Self.chatFields.contains(key) { bad("unknown field \"\(key)\"") }
        if body["model"]?.string?.isEmpty != false { bad("model must be a non-empty string, got \(body["model"]?.typeName ?? "nothing")") }
        if let messages = body["messages"]?.array, !messages.isEmpty {
            for (i, m) in messages.enumerated() {
                guard let role = m["role"]?.string, Self.roles.contains(role) else { bad("messages[\(i)].role missing or unknown"); continue }
                let content = m["content"]
                switch content {
                case .string?, .array?: break
                case .null?, nil: if role != "assistant" { bad("messages[\(i)].content missing") }
                default: bad("messages[\(i)].content is \(content!.typeName)")
                }
                if role == "tool", m["tool_call_id"]?.string == nil { bad("messages[\(i)]: a tool message needs tool_call_id") }
            }
        } else {
            bad("messages must be a non-empty array")
        }
        if let s = body["stream"], s.bool == nil, !s.isNull { bad("stream is \(s.typeName), not boolean") }
        if let so = body["stream_options"], !so.isNull {
            if so.keys == nil { bad("stream_options is not an object") }
            if body["stream"]?.bool != true { bad("stream_options given without stream: true") }
            for key in so.keys ?? [] where !["include_usage", "include_obfuscation"].contains(key) { bad("stream_options.\(key) unknown") }
            if let u = so["include_usage"], u.bool == nil { bad("stream_options.include_usage is \(u.typeName)") }
        }
        if let t = body["temperature"], !t.isNull, !(0...2).contains(t.number ?? -1) { bad("temperature must be a number in 0…2") }
        for key in ["max_tokens", "max_completion_tokens", "n", "seed"] {
            if let v = body[key], !v.isNull, v.int == nil { bad("\(key) is \(v.typeName), not integer") }
        }
        if let tools = body["tools"], !tools.isNull {
            for (i, t) in (tools.array ?? []).enumerated() {
                if t["type"]?.string != "function" || t["function"]?["name"]?.string == nil { bad("tools[\(i)] is not {type: function, function: {name…}}") }
            }
            if tools.array == nil { bad("tools is not an array") }
        }
        return ok
    }

    func chat(_ r: RecordedRequest) -> Response {
        let (json, failure) = jsonObject(r)
        guard let body = json else { return failure! }
        guard checkChat(body, path: r.path) else {
            return errorResponse(400, "Invalid chat request (see the fake's violations).", type: "invalid_request_error", code: nil)
        }
        let model = body["model"]?.string ?? ""
        let streaming = body["stream"]?.bool ?? false
        let includeUsage = body["stream_options"]?["include_usage"]?.bool ?? false
        let prompt = Self.promptTokens(messages: body["messages"]?.array ?? [])
        let behaviour = core.behaviour(r.path)
        var calls: [ToolCall] = []
        var words = Self.fragments(of: chatReply)
        switch behaviour {
        case .toolCalls(let c): calls = c
        case .slowStream(let n, _): words = (0..<n).map { $0 == 0 ? "word0" : " word\($0)" }
        default: break
        }
        guard (streaming && !neverStream) || alwaysStream else { return core.json(chatCompletion(model: model, words: words, calls: calls, prompt: prompt), behaviour: behaviour, headers: commonHeaders()) }

        let frames = chatFrames(model: model, words: words, calls: calls, prompt: prompt, includeUsage: includeUsage)
        return core.sse(frames, behaviour: behaviour, headers: commonHeaders(), contentType: "text/event-stream; charset=utf-8", quirks: sseQuirks)
    }

    /// The chunks of a streamed answer, as openai.md shows them: role chunk,
    /// content or tool-call fragments, finish chunk, usage chunk.
    func chatFrames(model: String, words: [String], calls: [ToolCall], prompt: Int, includeUsage: Bool) -> [String] {
        func chunk(_ choices: [FakeJSON], usage: FakeJSON? = nil) -> String {
            var pairs: [(String, FakeJSON)] = [("id", .string("chatcmpl-fake")), ("object", .string("chat.completion.chunk")),
                                               ("created", .int(1_730_000_000)), ("model", .string(model)),
                                               ("system_fingerprint", .string("fp_fake")), ("choices", .array(choices))]
            if includeUsage { pairs.append(("usage", usage ?? .null)) }
            pairs.append(("obfuscation", .string("xYz")))
            return FakeJSON.object(pairs).text
        }
        func choice(_ delta: [(String, FakeJSON)], finish: String? = nil) -> FakeJSON {
            .object([("index", .int(0)), ("delta", .object(delta)), ("logprobs", .null), ("finish_reason", finish.map { .string($0) } ?? .null)])
        }
        var frames = [chunk([choice([("role", .string("assistant")), ("content", calls.isEmpty ? .string("") : .null), ("refusal", .null)])])]
        var completion = 0
        if calls.isEmpty {
            for w in words { frames.append(chunk([choice([("content", .string(w))])])); completion += 1 }
        } else {
            for (i, call) in calls.enumerated() {
                frames.append(chunk([choice([("tool_calls", .array([.object([
                    ("index", .int(i)), ("id", .string("call_fake\(i)")), ("type", .string("function")),
                    ("function", .object([("name", .string(call.name)), ("arguments", .string(""))])),
                ])]))])]))
                for piece in Self.thirds(call.arguments) {
                    frames.append(chunk([choice([("tool_calls", .array([.object([
                        ("index", .int(i)), ("function", .object([("arguments", .string(piece))])),
                    ])]))])]))
                    completion += 1
                }
            }
        }
        frames.append(chunk([choice([], finish: calls.isEmpty ? "stop" : "tool_calls")]))
        if includeUsage {
            frames.append(chunk([], usage: .object([("prompt_tokens", .int(prompt)), ("completion_tokens", .int(completion)),
                                                    ("total_tokens", .int(prompt + completion)),
                                                    ("prompt_tokens_details", .object([("cached_tokens", .int(0)), ("audio_tokens", .int(0))])),
                                                    ("completion_tokens_details", .object([("reasoning_tokens", .int(0))]))])))
        }
        return frames
    }

    /// A non-streamed chat.completion's body.
    func chatCompletion(model: String, words: [String], calls: [ToolCall], prompt: Int) -> [UInt8] {
        let toolCalls: FakeJSON = calls.isEmpty ? .null : .array(calls.enumerated().map { i, c in
            .object([("id", .string("call_fake\(i)")), ("type", .string("function")),
                     ("function", .object([("name", .string(c.name)), ("arguments", .string(c.arguments))]))])
        })
        var message: [(String, FakeJSON)] = [("role", .string("assistant")), ("content", calls.isEmpty ? .string(words.joined()) : .null), ("refusal", .null)]
        if !calls.isEmpty { message.append(("tool_calls", toolCalls)) }
        let completion = calls.isEmpty ? words.count : calls.reduce(0) { $0 + Self.thirds($1.arguments).count }
        let body = FakeJSON.object([
            ("id", .string("chatcmpl-fake")), ("object", .string("chat.completion")), ("created", .int(1_730_000_000)), ("model", .string(model)),
            ("choices", .array([.object([("index", .int(0)), ("finish_reason", .string(calls.isEmpty ? "stop" : "tool_calls")),
                                         ("logprobs", .null), ("message", .object(message))])])),
            ("usage", .object([("prompt_tokens", .int(prompt)), ("completion_tokens", .int(completion)), ("total_tokens", .int(prompt + completion))])),
        ])
        return body.bytes
    }

    /// A string cut in three pieces (the last may be empty for short ones).
    static func thirds(_ s: String) -> [String] {
        let chars = Array(s)
        let a = chars.count / 3, b = 2 * chars.count / 3
        return [String(chars[..<a]), String(chars[a..<b]), String(chars[b...])].filter { !$0.isEmpty }
    }
}

import Foundation
import Hummingbird

/// POST /openai/v1/chat/completions (groq.md "Chat completions —
/// differences from OpenAI"; otherwise openai.md).
extension GroqFake {
    /// OpenAI's request fields Groq keeps, plus groq.md's "extra request fields".
    static let chatFields: Set<String> = [
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "max_completion_tokens", "max_tokens", "n", "stop",
        "tools", "tool_choice", "parallel_tool_calls", "response_format", "seed", "user", "reasoning_effort", "frequency_penalty",
        "presence_penalty", "logprobs", "top_logprobs", "logit_bias",
        "reasoning_format", "service_tier", "citation_options", "disable_tool_validation", "search_settings", "documents", "compound_custom",
    ]
    static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool"]

    /// Checks a body; returns the 400 message of the first field Groq
    /// rejects ("rejected fields (HTTP 400)"), nil when the body is fine.
    func checkChat(_ body: FakeJSON, path: String) -> String? {
        var rejected: String?
        func bad(_ s: String) { core.violation("\(path): \(s)"); if rejected == nil { rejected = s } }
        for key in body.keys ?? [] where !Self.chatFields.contains(key) { bad("unknown field \"\(key)\"") }
        if body["model"]?.string?.isEmpty != false { bad("model must be a non-empty string") }
        if let messages = body["messages"]?.array, !messages.isEmpty {
            for (i, m) in messages.enumerated() {
                guard let role = m["role"]?.string, Self.roles.contains(role) else { bad("messages[\(i)].role missing or unknown"); continue }
                if m["name"] != nil { bad("'messages.\(i)' : for 'role:\(role)' the following must be satisfied[('messages.\(i).name' : property 'name' is unsupported)]") }
                switch m["content"] {
                case .string?, .array?: break
                case .null?, nil: if role != "assistant" { bad("messages[\(i)].content missing") }
                default: bad("messages[\(i)].content is \(m["content"]!.typeName)")
                }
                if role == "tool", m["tool_call_id"]?.string == nil { bad("messages[\(i)]: a tool message needs tool_call_id") }
            }
        } else {
            bad("messages must be a non-empty array")
        }
        if let v = body["logit_bias"], !v.isNull { bad("'logit_bias' : logit_bias is not supported") }
        if let n = body["n"], !n.isNull, n.int != 1 { bad("'n' : number must be at most 1") }
        if let s = body["stream"], s.bool == nil, !s.isNull { bad("stream is \(s.typeName), not boolean") }
        if let so = body["stream_options"], !so.isNull {
            if body["stream"]?.bool != true { bad("stream_options given without stream: true") }
            for key in so.keys ?? [] where key != "include_usage" { bad("stream_options.\(key) unknown") }
        }
        // groq.md: "range (0, 2]"; 0 is accepted and silently turned into 1e-8.
        if let t = body["temperature"], !t.isNull, !(0...2).contains(t.number ?? -1) { bad("temperature must be a number in 0…2") }
        for key in ["max_tokens", "max_completion_tokens", "n", "seed"] {
            if let v = body[key], !v.isNull, v.int == nil { bad("\(key) is \(v.typeName), not integer") }
        }
        if let f = body["reasoning_format"], !["hidden", "raw", "parsed"].contains(f.string ?? "") { bad("reasoning_format must be hidden, raw or parsed") }
        if let e = body["reasoning_effort"], !["none", "default", "low", "medium", "high"].contains(e.string ?? "") { bad("reasoning_effort unknown") }
        if let s = body["service_tier"], !["auto", "on_demand", "flex", "performance"].contains(s.string ?? "") { bad("service_tier unknown") }
        if let tools = body["tools"], !tools.isNull {
            for (i, t) in (tools.array ?? []).enumerated() where t["type"]?.string != "function" || t["function"]?["name"]?.string == nil {
                bad("tools[\(i)] is not {type: function, function: {name…}}")
            }
        }
        return rejected
    }

    func chat(_ r: RecordedRequest) -> Response {
        guard let body = core.jsonObject(r) else {
            return errorResponse(400, "We could not parse the JSON body of your request.", type: "invalid_request_error", code: nil)
        }
        if let rejected = checkChat(body, path: r.path) {
            return errorResponse(400, rejected, type: "invalid_request_error", code: nil)
        }
        let model = body["model"]?.string ?? ""
        guard Self.modelIDs.contains(where: { $0.id == model && $0.active }) else {
            return errorResponse(404, "The model `\(model)` does not exist or you do not have access to it.", type: "invalid_request_error", code: "model_not_found")
        }
        let behaviour = core.behaviour(r.path)
        var calls: [FakeToolCall] = []
        var words = FakeContent.fragments(chatReply)
        switch behaviour {
        case .toolCalls(let c): calls = c
        case .slowStream(let n, _): words = (0..<n).map { $0 == 0 ? "word0" : " word\($0)" }
        default: break
        }
        let prompt = OpenAIFake.promptTokens(messages: body["messages"]?.array ?? [])
        let completion = calls.isEmpty ? words.count : calls.reduce(0) { $0 + OpenAIFake.thirds($1.arguments).count }
        let usage = FakeJSON.object([("queue_time", .double(0.02)), ("prompt_tokens", .int(prompt)), ("prompt_time", .double(0.003)),
                                     ("completion_tokens", .int(completion)), ("completion_time", .double(0.02)),
                                     ("total_tokens", .int(prompt + completion)), ("total_time", .double(0.023))])
        guard body["stream"]?.bool == true else {
            return core.json(completionBody(model: model, text: words.joined(), calls: calls, usage: usage), behaviour: behaviour, headers: commonHeaders())
        }
        let includeUsage = body["stream_options"]?["include_usage"]?.bool ?? false
        return core.sse(frames(model: model, words: words, calls: calls, usage: usage, includeUsage: includeUsage), behaviour: behaviour,
                        headers: commonHeaders())
    }

    /// groq.md "stream chunks": OpenAI's framing; `x_groq.id` on the first
    /// and last chunk, the last carrying `x_groq.usage` (always); with
    /// `include_usage` an extra chunk with `choices: []` and `usage`.
    func frames(model: String, words: [String], calls: [FakeToolCall], usage: FakeJSON, includeUsage: Bool) -> [String] {
        func chunk(_ choices: [FakeJSON], xgroq: FakeJSON? = nil, usage u: FakeJSON? = nil) -> String {
            var pairs: [(String, FakeJSON)] = [("id", .string("chatcmpl-fake")), ("object", .string("chat.completion.chunk")),
                                               ("created", .int(1_730_000_000)), ("model", .string(model)),
                                               ("system_fingerprint", .string("fp_fake")), ("choices", .array(choices))]
            if let xgroq { pairs.append(("x_groq", xgroq)) }
            if let u { pairs.append(("usage", u)) }
            return FakeJSON.object(pairs).text
        }
        func choice(_ delta: [(String, FakeJSON)], finish: String? = nil) -> FakeJSON {
            .object([("index", .int(0)), ("delta", .object(delta)), ("logprobs", .null), ("finish_reason", finish.map { .string($0) } ?? .null)])
        }
        let id = FakeJSON.string("req_fakechat")
        var out = [chunk([choice([("role", .string("assistant")), ("content", .string(""))])], xgroq: .object([("id", id)]))]
        if calls.isEmpty {
            for w in words { out.append(chunk([choice([("content", .string(w))])])) }
        } else {
            for (i, call) in calls.enumerated() {
                out.append(chunk([choice([("tool_calls", .array([.object([
                    ("index", .int(i)), ("id", .string("call_fake\(i)")), ("type", .string("function")),
                    ("function", .object([("name", .string(call.name)), ("arguments", .string(""))])),
                ])]))])]))
                for piece in OpenAIFake.thirds(call.arguments) {
                    out.append(chunk([choice([("tool_calls", .array([.object([("index", .int(i)), ("function", .object([("arguments", .string(piece))]))])]))])]))
                }
            }
        }
        out.append(chunk([choice([], finish: calls.isEmpty ? "stop" : "tool_calls")], xgroq: .object([("id", id), ("usage", usage)])))
        if includeUsage { out.append(chunk([], usage: usage)) }
        return out
    }

    func completionBody(model: String, text: String, calls: [FakeToolCall], usage: FakeJSON) -> [UInt8] {
        var message: [(String, FakeJSON)] = [("role", .string("assistant")), ("content", calls.isEmpty ? .string(text) : .null)]
        if !calls.isEmpty {
            message.append(("tool_calls", .array(calls.enumerated().map { i, c in
                .object([("id", .string("call_fake\(i)")), ("type", .string("function")),
                         ("function", .object([("name", .string(c.name)), ("arguments", .string(c.arguments))]))])
            })))
        }
        let body = FakeJSON.object([
            ("id", .string("chatcmpl-fake")), ("object", .string("chat.completion")), ("created", .int(1_730_000_000)), ("model", .string(model)),
            ("choices", .array([.object([("index", .int(0)), ("message", .object(message)), ("logprobs", .null),
                                         ("finish_reason", .string(calls.isEmpty ? "stop" : "tool_calls"))])])),
            ("usage", usage), ("system_fingerprint", .string("fp_fake")), ("x_groq", .object([("id", .string("req_fakechat"))])),
        ])
        return body.bytes
    }
}

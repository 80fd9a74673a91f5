import ProviderSupport
import VoxPluginKit

/// `llm.chat` through ProviderSupport's CompatChat (sarvam.md "Chat —
/// POST /v1/chat/completions (OpenAI-compatible)").
enum SarvamChat {
    /// The request fields sarvam.md documents.
    static let fields: Set<String> = [
        "model", "messages", "temperature", "top_p", "reasoning_effort", "max_tokens", "stream", "stop", "n", "seed",
        "frequency_penalty", "presence_penalty", "tools", "tool_choice", "response_format",
    ]

    /// Sarvam's own models are served at /v1/chat/completions;
    /// "/v2/chat/completions serves third-party models (glm5.3, gemma4, …)".
    static func path(for model: String) -> String {
        model.hasPrefix("sarvam-") ? "/v1/chat/completions" : "/v2/chat/completions"
    }

    static func make(_ client: ProviderClient, model: String) -> CompatChat {
        var chat = CompatChat(client: client, defaultModel: SarvamCatalog.defaultChatModel)
        chat.path = path(for: model)
        // `stream_options` is not among the documented fields: usage is taken
        // when the stream carries it, never asked for.
        chat.askForUsage = false
        chat.prepare = fitToSarvam
        return chat
    }

    /// The client's body in the documented fields: `max_completion_tokens`
    /// (OpenAI's newer name) becomes `max_tokens`, the client's
    /// `stream_options` is dropped (not documented; voxd computes its own
    /// usage chunk), and any other unknown field is refused by name.
    @Sendable static func fitToSarvam(_ body: inout [String: JSONValue]) throws {
        if let v = body.removeValue(forKey: "max_completion_tokens"), v != .null, body["max_tokens"] == nil || body["max_tokens"] == .null {
            body["max_tokens"] = v
        }
        body["stream_options"] = nil
        for key in body.keys.sorted() where !fields.contains(key) {
            if body[key] == .null { body[key] = nil; continue }
            throw VoxPluginError.invalidRequest("chat: sarvam does not take the field \"\(key)\"; it takes \(fields.sorted().joined(separator: ", "))")
        }
    }
}

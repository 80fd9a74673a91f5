import ProviderSupport
import VoxPluginKit

/// `llm.chat` through ProviderSupport's CompatChat (groq.md "Chat
/// completions — differences from OpenAI").
enum GroqChat {
    static func make(_ client: ProviderClient) -> CompatChat {
        var chat = CompatChat(client: client, defaultModel: GroqCatalog.defaultChatModel)
        // "the final chunk carries x_groq.usage even without stream_options":
        // usage arrives without asking, so the body stays as the client sent
        // it (a client's own stream_options.include_usage is passed on, and
        // then the extra usage chunk comes too; CompatChat reads either).
        chat.askForUsage = false
        chat.prepare = refuseUnsupported
        return chat
    }

    /// "rejected fields (HTTP 400)": refused here with a message naming the
    /// field, instead of a round trip for Groq's 400. `n` ≠ 1 is refused by
    /// CompatChat already (Groq rejects it too). `logprobs`/`top_logprobs`
    /// pass through: groq.md lists them as rejected by the docs, but SDK 1.7
    /// declares them, so support is model-dependent and Groq decides.
    /// `temperature` 0 passes too: Groq turns it into 1e-8 itself.
    @Sendable static func refuseUnsupported(_ body: inout [String: JSONValue]) throws {
        if let v = body["logit_bias"], v != .null {
            throw VoxPluginError.invalidRequest("chat: groq does not support logit_bias; remove it")
        }
        for (i, message) in (body["messages"]?.arrayValue ?? []).enumerated() {
            if let name = message["name"], name != .null {
                throw VoxPluginError.invalidRequest("chat: messages[\(i)].name: groq does not support message names; remove the field")
            }
        }
    }
}

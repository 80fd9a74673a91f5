import VoxPluginKit

/// Who a remote plugin is, for its requests and its messages: the name in
/// every error ("deepgram 401: …"), the user agent, where its key comes
/// from (named instead of the key when the provider rejects it), how it
/// authenticates, and how its error bodies read.
public struct Provider: Sendable {
    /// The plugin's name (= its config file's name).
    public let name: String
    public let version: String
    /// The key; never logged, never put in a message.
    public let apiKey: String
    /// Header name and value carrying the key (provider reference "auth").
    public let authHeader: (String, String)
    /// Sent with every request besides the auth header (e.g. OpenAI-Project).
    public let extraHeaders: [(String, String)]
    /// Response headers that carry the provider's request id, first found wins.
    public let requestIDHeaders: [String]
    /// Regular expressions for key-shaped text to remove from provider
    /// messages (besides the key itself), e.g. `sk-[A-Za-z0-9_*.\-]+`.
    public let keyPatterns: [String]
    /// HTTP statuses that mean "bad key" when there is no body to read
    /// (a refused WebSocket upgrade): 401, and 403 for Sarvam.
    public var badKeyStatuses: Set<Int> = [401]
    /// Reads an error body: the provider's message and error kind/code.
    public let errorBody: @Sendable (_ json: JSONValue?, _ raw: [UInt8]) -> ProviderErrorBody

    public init(name: String, version: String, apiKey: String, authHeader: (String, String), extraHeaders: [(String, String)] = [],
                requestIDHeaders: [String] = ["x-request-id", "request-id"], keyPatterns: [String] = [],
                errorBody: @escaping @Sendable (JSONValue?, [UInt8]) -> ProviderErrorBody = ProviderErrorBody.openAIStyle) {
        self.name = name
        self.version = version
        self.apiKey = apiKey
        self.authHeader = authHeader
        self.extraHeaders = extraHeaders
        self.requestIDHeaders = requestIDHeaders
        self.keyPatterns = keyPatterns
        self.errorBody = errorBody
    }

    /// Where the key is configured, for messages about it.
    public var secretHint: String { "the secret bound to [secrets] api_key in plugins.d/\(name).toml" }

    /// Reads the `api_key` secret, with a message that says how to bind one.
    public static func apiKey(_ context: PluginContext, provider name: String, example env: String) throws -> String {
        let key: String
        do {
            key = try context.secret("api_key").trimmingCharacters(in: .whitespacesAndNewlines)
        } catch let e as VoxPluginError {
            throw VoxPluginError.invalidRequest("\(name) needs an API key: bind one in plugins.d/\(name).toml as [secrets] api_key = \"env:\(env)\" (\(e.message))")
        }
        guard !key.isEmpty else {
            throw VoxPluginError.invalidRequest("\(name) needs an API key: the secret bound to [secrets] api_key is empty")
        }
        return key
    }
}

/// What an error body said.
public struct ProviderErrorBody: Sendable {
    public var message: String?
    /// The provider's error type/code, e.g. "invalid_request_error/model_not_found".
    public var kind: String?
    /// The provider says the key is wrong (some answer that with 403).
    public var badKey: Bool
    /// The body names a failure the status does not (ElevenLabs answers an
    /// exhausted quota with 401 and an unknown voice with 400): this code
    /// wins over the status mapping. The message and retry hint are kept.
    public var code: VoxErrorCode?
    /// With `code`: whether another provider or a later try may succeed
    /// (nil: the code's default).
    public var retriable: Bool?

    public init(message: String? = nil, kind: String? = nil, badKey: Bool = false, code: VoxErrorCode? = nil, retriable: Bool? = nil) {
        self.message = message
        self.kind = kind
        self.badKey = badKey
        self.code = code
        self.retriable = retriable
    }

    /// `{"error": {"message", "type", "code"}}` or `{"error": "text"}`
    /// (OpenAI, Groq, Sarvam's gateway envelope).
    @Sendable public static func openAIStyle(_ json: JSONValue?, _ raw: [UInt8]) -> ProviderErrorBody {
        let err = json?["error"]
        let kind = [err?["type"]?.stringValue, err?["code"]?.stringValue].compactMap { $0 }.joined(separator: "/")
        return ProviderErrorBody(message: err?["message"]?.stringValue ?? err?.stringValue ?? json?["message"]?.stringValue,
                                 kind: kind.isEmpty ? nil : kind)
    }
}

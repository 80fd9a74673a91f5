import ProviderSupport
import VoxPluginKit

extension ProviderErrorBody {
    /// Deepgram's error bodies (deepgram.md "Errors", spec `ErrorResponse`),
    /// any of: legacy `{"err_code","err_msg","request_id"}`, modern
    /// `{"category","message","details","request_id"}`, or plain text.
    /// The code/category is the kind; `INVALID_AUTH` means a bad key
    /// whatever the status. The request id is taken from the `dg-request-id`
    /// header (Provider.requestIDHeaders), which carries the same value as
    /// the body's `request_id`.
    @Sendable static func deepgram(_ json: JSONValue?, _ raw: [UInt8]) -> ProviderErrorBody {
        guard let json, json.objectValue != nil else {
            let text = ProviderErrors.snippet(raw)
            return ProviderErrorBody(message: text.isEmpty ? nil : text)
        }
        let kind = json["err_code"]?.stringValue ?? json["category"]?.stringValue
        var message = json["err_msg"]?.stringValue ?? json["message"]?.stringValue
        if let details = json["details"]?.stringValue, !details.isEmpty, details != message {
            message = message.map { "\($0): \(details)" } ?? details
        }
        // Some gateways nest it the OpenAI way; keep their words too.
        if message == nil { message = ProviderErrorBody.openAIStyle(json, raw).message }
        return ProviderErrorBody(message: message, kind: kind, badKey: kind == "INVALID_AUTH")
    }
}

import ProviderSupport
import VoxPluginKit

/// ElevenLabs' error bodies (elevenlabs.md "Errors"):
/// `{"detail": {"status": "<code>", "message": "<text>"}}` for 400–429
/// (newer answers may add `type`, `code`, `param`, `request_id`), FastAPI's
/// `{"detail": [{"loc": […], "msg", "type"}]}` for 422, and a plain
/// `{"detail": "text"}` as FastAPI writes other HTTP errors.
///
/// Codes that say more than the status:
/// - `invalid_api_key` (401): the key is wrong → unauthenticated (the
///   usual 401 path, which names the secret, never the key).
/// - `quota_exceeded` (also 401!): the key is fine, the account's credits
///   ran out → forbidden, with a message saying so; retriable, since another
///   provider can still serve the request.
/// - `voice_not_found` (400 or 404) → not_found.
enum ElevenLabsErrorBody {
    @Sendable static func read(_ json: JSONValue?, _ raw: [UInt8]) -> ProviderErrorBody {
        guard let detail = json?["detail"] else { return ProviderErrorBody.openAIStyle(json, raw) }
        if let text = detail.stringValue { return ProviderErrorBody(message: text) }
        if let items = detail.arrayValue {
            // 422: each item names where (loc) and what (msg, type).
            let parts = items.map { item -> String in
                let loc = (item["loc"]?.arrayValue ?? []).map { $0.stringValue ?? $0.intValue.map(String.init) ?? "?" }
                let msg = item["msg"]?.stringValue ?? "invalid"
                let type = item["type"]?.stringValue.map { " (\($0))" } ?? ""
                return (loc.isEmpty ? "" : loc.joined(separator: ".") + ": ") + msg + type
            }
            return ProviderErrorBody(message: parts.isEmpty ? nil : parts.joined(separator: "; "), kind: "validation_error")
        }
        let status = detail["status"]?.stringValue ?? detail["code"]?.stringValue
        let message = detail["message"]?.stringValue
        switch status {
        case "invalid_api_key"?:
            return ProviderErrorBody(message: message, kind: status, badKey: true)
        case "quota_exceeded"?:
            return ProviderErrorBody(message: "the account's credit quota ran out (top up or raise the plan's limit): \(message ?? "quota exceeded")",
                                     kind: status, code: .forbidden, retriable: true)
        case "voice_not_found"?:
            return ProviderErrorBody(message: message, kind: status, code: .notFound)
        default:
            return ProviderErrorBody(message: message, kind: status)
        }
    }
}

import Foundation
import VoxPluginKit

/// OpenAI's HTTP errors as voxd error codes (openai.md "Error body").
///
/// The provider's `error.message` is kept (redacted of anything that looks
/// like a key), the HTTP status travels as `httpStatus`, and the retry hint
/// comes from `retry-after-ms` or `retry-after` (openai.md "retry hints").
enum OpenAIErrors {
    /// Maps a non-2xx response. `body` is what was read of it (may be cut).
    static func fromResponse(status: Int, headers: [(String, String)], body: [UInt8], apiKey: String) -> VoxPluginError {
        func header(_ name: String) -> String? { headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1 }
        let parsed = try? VoxJSON.decode(JSONValue.self, from: Data(body))
        let err = parsed?["error"]
        // {"error": {"message", "type", "param", "code"}}; some gateways send {"error": "text"}.
        var detail = err?["message"]?.stringValue ?? err?.stringValue ?? snippet(body)
        if detail.isEmpty { detail = "no error message" }
        detail = redact(detail, key: apiKey)
        let kind = [err?["type"]?.stringValue, err?["code"]?.stringValue].compactMap { $0 }.joined(separator: "/")
        var message = "openai \(status)\(kind.isEmpty ? "" : " \(kind)"): \(detail)"
        if let id = header("x-request-id") { message += " (request \(id))" }
        // x-should-retry is what the official SDKs obey (openai.md "retry hints").
        let shouldRetry = header("x-should-retry").map { $0.lowercased() == "true" }
        let retryAfter = retryAfterMs(header)

        switch status {
        case 400, 413, 415, 422:
            return VoxPluginError(.invalidRequest, message, httpStatus: status)
        case 401:
            // Never the key: name where it comes from instead.
            return VoxPluginError(.unauthenticated,
                                  "openai rejected the API key (the secret bound to [secrets] api_key in plugins.d/openai.toml): \(detail)",
                                  httpStatus: status)
        case 403:
            return VoxPluginError(.forbidden, message, httpStatus: status)
        case 404:
            return VoxPluginError(.notFound, message, httpStatus: status)
        case 408:
            return VoxPluginError(.timeout, message, httpStatus: status, retryAfterMs: retryAfter, retriable: shouldRetry ?? true)
        case 429:
            return VoxPluginError(.rateLimited, message, httpStatus: status, retryAfterMs: retryAfter, retriable: shouldRetry ?? true)
        case 500...599, 409:
            return VoxPluginError(.unavailable, message, httpStatus: status, retryAfterMs: retryAfter, retriable: shouldRetry ?? true)
        case 400..<500:
            return VoxPluginError(.invalidRequest, message, httpStatus: status)
        default:
            return VoxPluginError(.unavailable, "openai answered HTTP \(status): \(detail)", httpStatus: status, retriable: shouldRetry ?? true)
        }
    }

    /// `retry-after-ms` (non-standard, milliseconds) wins over `retry-after`
    /// (seconds, or an HTTP date).
    static func retryAfterMs(_ header: (String) -> String?) -> Int? {
        if let ms = header("retry-after-ms").flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }), ms >= 0 {
            return Int(ms.rounded(.up))
        }
        guard let ra = header("retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let s = Double(ra), s >= 0 { return Int((s * 1000).rounded(.up)) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = f.date(from: ra) { return max(0, Int((date.timeIntervalSinceNow * 1000).rounded(.up))) }
        return nil
    }

    /// A transport error from the host (unavailable, timeout, cancelled):
    /// same code and flags, with what was being done in front.
    static func transport(_ error: Error, _ what: String) -> Error {
        guard var e = error as? VoxPluginError, e.code != .cancelled else { return error }
        e.message = "openai \(what): \(e.message)"
        return e
    }

    /// Removes the key and anything shaped like an OpenAI key (`sk-…`; the
    /// 401 message quotes a masked one) from provider text.
    static func redact(_ text: String, key: String) -> String {
        var out = key.count >= 4 ? text.replacingOccurrences(of: key, with: "[redacted]") : text
        if let re = try? NSRegularExpression(pattern: "sk-[A-Za-z0-9_*.\\-]+") {
            out = re.stringByReplacingMatches(in: out, range: NSRange(out.startIndex..., in: out), withTemplate: "[redacted]")
        }
        return out
    }

    /// The start of a body as text, for messages.
    static func snippet(_ bytes: [UInt8], limit: Int = 200) -> String {
        let text = String(decoding: bytes.prefix(limit), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return bytes.count > limit ? text + "…" : text
    }

    static func snippet(_ text: String, limit: Int = 200) -> String {
        text.count > limit ? String(text.prefix(limit)) + "…" : text
    }
}

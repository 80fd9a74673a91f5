import Foundation
import VoxPluginKit

/// Provider HTTP errors as voxd error codes, the same for every remote
/// plugin (issue 3 "Errors mapped to the ABI's codes"): 400/413/415/422 →
/// invalid_request, 401 → unauthenticated, 403 → forbidden (or
/// unauthenticated when the body says the key is bad: Sarvam answers a bad
/// key with 403), 404 → not_found, 408 → timeout, 429 → rate_limited with
/// the retry hint, 5xx and 409 → unavailable (retriable). A provider's
/// error-body reader may name a better code (`ProviderErrorBody.code`).
///
/// The provider's message is kept, redacted of the key and key-shaped
/// text; the HTTP status travels as `httpStatus`.
public enum ProviderErrors {
    /// Maps a non-2xx response. `body` is what was read of it (may be cut).
    public static func fromResponse(_ provider: Provider, status: Int, headers: [(String, String)], body: [UInt8]) -> VoxPluginError {
        func header(_ name: String) -> String? { headers.header(name) }
        let parsed = try? VoxJSON.decode(JSONValue.self, from: Data(body))
        let said = provider.errorBody(parsed, body)
        var detail = said.message ?? snippet(body)
        if detail.isEmpty { detail = "no error message" }
        detail = redact(detail, provider: provider)
        let name = provider.name
        var message = "\(name) \(status)\(said.kind.map { " \($0)" } ?? ""): \(detail)"
        if let id = provider.requestIDHeaders.lazy.compactMap(header).first { message += " (request \(id))" }
        // x-should-retry is what OpenAI's SDKs obey (openai.md "retry hints").
        let shouldRetry = header("x-should-retry").map { $0.lowercased() == "true" }
        let retryAfter = retryAfterMs(header)

        if let code = said.code, code != .unauthenticated {
            // The body knows better than the status (ProviderErrorBody.code).
            return VoxPluginError(code, message, httpStatus: status, retryAfterMs: retryAfter,
                                  retriable: said.retriable ?? shouldRetry ?? code.retriableByDefault)
        }
        if status == 401 || (status == 403 && said.badKey) || said.code == .unauthenticated {
            // Never the key: name where it comes from instead.
            return VoxPluginError(.unauthenticated, "\(name) rejected the API key (\(provider.secretHint)): \(detail)", httpStatus: status)
        }
        switch status {
        case 400, 413, 415, 422:
            return VoxPluginError(.invalidRequest, message, httpStatus: status)
        case 402:
            return VoxPluginError(.forbidden, message + " (payment required)", httpStatus: status)
        case 403:
            return VoxPluginError(.forbidden, message, httpStatus: status)
        case 404:
            return VoxPluginError(.notFound, message, httpStatus: status)
        case 408:
            return VoxPluginError(.timeout, message, httpStatus: status, retryAfterMs: retryAfter, retriable: shouldRetry ?? true)
        case 429:
            return VoxPluginError(.rateLimited, message, httpStatus: status, retryAfterMs: retryAfter, retriable: shouldRetry ?? true)
        case 500...599, 409, 498:
            return VoxPluginError(.unavailable, message, httpStatus: status, retryAfterMs: retryAfter, retriable: shouldRetry ?? true)
        case 400..<500:
            return VoxPluginError(.invalidRequest, message, httpStatus: status)
        default:
            return VoxPluginError(.unavailable, "\(name) answered HTTP \(status): \(detail)", httpStatus: status, retriable: shouldRetry ?? true)
        }
    }

    /// `retry-after-ms` (non-standard, milliseconds) wins over `retry-after`
    /// (seconds, or an HTTP date).
    public static func retryAfterMs(_ header: (String) -> String?) -> Int? {
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
    /// same code and flags, with the provider and what was being done in front.
    public static func transport(_ error: Error, provider: String, _ what: String) -> Error {
        guard var e = error as? VoxPluginError, e.code != .cancelled else { return error }
        e.message = "\(provider) \(what): \(e.message)"
        return e
    }

    /// A failure of the host's WebSocket service (a refused upgrade carries
    /// the HTTP status and the server's reason): labelled with the provider
    /// and what was being done, the key named by its secret, never shown.
    public static func webSocket(_ error: Error, provider: Provider, _ what: String) -> Error {
        guard var e = error as? VoxPluginError, e.code != .cancelled else { return error }
        let detail = redact(e.message, provider: provider)
        if e.code == .unauthenticated || (e.httpStatus.map(provider.badKeyStatuses.contains) ?? false) {
            e.code = .unauthenticated
            e.message = "\(provider.name) rejected the API key (\(provider.secretHint)) on \(what): \(detail)"
        } else {
            e.message = "\(provider.name) \(what): \(detail)"
        }
        return e
    }

    /// Removes the key and anything shaped like one from provider text.
    public static func redact(_ text: String, provider: Provider) -> String {
        var out = provider.apiKey.count >= 4 ? text.replacingOccurrences(of: provider.apiKey, with: "[redacted]") : text
        for pattern in provider.keyPatterns {
            if let re = try? NSRegularExpression(pattern: pattern) {
                out = re.stringByReplacingMatches(in: out, range: NSRange(out.startIndex..., in: out), withTemplate: "[redacted]")
            }
        }
        return out
    }

    /// The start of a body as text, for messages.
    public static func snippet(_ bytes: [UInt8], limit: Int = 200) -> String {
        let text = String(decoding: bytes.prefix(limit), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return bytes.count > limit ? text + "…" : text
    }

    public static func snippet(_ text: String, limit: Int = 200) -> String {
        text.count > limit ? String(text.prefix(limit)) + "…" : text
    }
}

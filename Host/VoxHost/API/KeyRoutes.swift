import Foundation
import HTTPTypes
import Hummingbird
import VoxPluginKit

/// API keys (admin only): `POST /v1/keys` creates one and shows its secret
/// once; `GET /v1/keys` and `/{id}` list them (never a secret or its hash)
/// with what each has spent; `PATCH`/`PUT /{id}` with the version changes
/// name, scopes, budgets, limits, expiry; `DELETE /{id}` revokes it (the
/// key stays listed, so the ledger's rows keep a name). Every change is
/// audited.
///
/// Body: `name` (required on create), `scopes` (chat, tts, stt, realtime,
/// config:read, config:write, admin), `budget: {day_usd, month_usd}`,
/// `rate_limit: {requests_per_minute, concurrent_streams}`, `expires_at`
/// (ISO-8601, in the future) or `expires_in_days`, and on create
/// `template` (the key's default template, for template resolution).
struct KeyRoutes {
    let daemon: VoxDaemon

    func register(on router: Router<VoxRequestContext>) {
        router.get("/v1/keys") { _, _ in
            let keys = try await daemon.store.apiKeys()
            return try jsonResponse(JSONValue.object(["keys": .array(keys.map(withSpending))]))
        }
        router.post("/v1/keys") { request, context in
            let actor = try await daemon.admin.require(context, action: "creating an API key")
            let body = try await request.jsonObject(context: context)
            var r = BodyReader()
            r.rejectUnknown(body, "", known: ["name", "scopes", "budget", "rate_limit", "expires_at", "expires_in_days", "template"])
            let name = r.name(body, required: true)
            if body["scopes"] == nil { r.problem("scopes", "missing: an array of \(Scope.allCases.map(\.rawValue).joined(separator: ", "))") }
            var draft = APIKey(id: "", name: name ?? "", scopes: [], salt: "", hash: "", version: 0)
            apply(body, to: &draft, reader: &r)
            let template = r.string(body, "template", "", maxLength: 100)
            if let template, TemplatePresets.find(template) == nil, try await daemon.store.template(template) == nil {
                r.problem("template", "no template \"\(template)\" (see GET /v1/templates)")
            }
            if !r.problems.isEmpty { throw VoxError(problems: r.problems, what: "API key not created, nothing was written") }
            let minted = APIKey.mint()
            draft.id = minted.id
            draft.salt = minted.salt
            draft.hash = minted.hash
            let saved = try await daemon.store.createAPIKey(draft, actor: actor)
            daemon.keys.put(saved)
            if let template { try await daemon.store.setClientDefault("key:\(saved.id)", template: template, actor: actor) }
            return try jsonResponse(JSONValue.object([
                "key": saved.json, "secret": .string(minted.secret),
                "note": .string("the secret is shown this once: voxd keeps only a salted hash of it"),
            ]), status: .created)
        }
        router.get("/v1/keys/:id") { _, context in
            let k = try await find(try context.parameters.require("id"))
            return try jsonResponse(withSpending(k), etag: k.version)
        }
        let update: @Sendable (Request, VoxRequestContext) async throws -> Response = { request, context in
            let id = try context.parameters.require("id")
            let actor = try await daemon.admin.require(context, action: "changing an API key")
            let body = try await request.jsonObject(context: context)
            var r = BodyReader()
            r.rejectUnknown(body, "", known: ["name", "scopes", "budget", "rate_limit", "expires_at", "expires_in_days", "version"])
            let bodyVersion = r.int(body, "version", "", min: 1)
            let name = r.name(body, required: false)
            var k = try await find(id)
            apply(body, to: &k, reader: &r)
            if !r.problems.isEmpty { throw VoxError(problems: r.problems, what: "API key not changed, nothing was written") }
            let version = try PromptRoutes.expectedVersion(request, body: bodyVersion, required: true)!
            guard k.version == version else { throw VoxStore.stale(APIKey.self, id, k.version, version) }
            if k.revokedAt != nil { throw VoxError.conflict("API key \(id) is revoked; a revoked key cannot be changed (create a new one)") }
            if let name { k.name = name }
            let saved = try await daemon.store.updateAPIKey(k, expectedVersion: version, actor: actor)
            daemon.keys.put(saved)
            return try jsonResponse(withSpending(saved), etag: saved.version)
        }
        router.patch("/v1/keys/:id", use: update)
        router.put("/v1/keys/:id", use: update)
        router.delete("/v1/keys/:id") { request, context in
            let id = try context.parameters.require("id")
            let actor = try await daemon.admin.require(context, action: "revoking an API key")
            let version = try PromptRoutes.expectedVersion(request, body: nil, required: false)
            var k = try await find(id)
            if let version, k.version != version { throw VoxStore.stale(APIKey.self, id, k.version, version) }
            if k.revokedAt != nil { throw VoxError.conflict("API key \(id) was already revoked at \(APIKey.iso(k.revokedAt!))") }
            k.revokedAt = Date()
            let saved = try await daemon.store.updateAPIKey(k, expectedVersion: k.version, actor: actor)
            daemon.keys.put(saved)
            return try jsonResponse(JSONValue.object(["revoked": .string(id), "key": saved.json]))
        }
    }

    func find(_ id: String) async throws -> APIKey {
        guard let k = try await daemon.store.apiKey(id) else { throw VoxStore.noAPIKey(id) }
        return k
    }

    func withSpending(_ k: APIKey) -> JSONValue {
        guard case .object(var o) = k.json else { return k.json }
        let s = daemon.ledger.spending(k.id)
        o["spent_today_usd"] = .number(s.day)
        o["spent_this_month_usd"] = .number(s.month)
        o["streams_in_flight"] = .number(Double(daemon.keys.streamsInFlight(k.id)))
        return .object(o)
    }

    /// Reads the changeable fields into `k`; members absent stay as they are, `null` clears.
    func apply(_ body: [String: JSONValue], to k: inout APIKey, reader r: inout BodyReader) {
        if let list = r.array(body, "scopes", "") {
            var scopes: [Scope] = []
            for (i, v) in list.enumerated() {
                guard let s = v.stringValue, let scope = Scope(rawValue: s) else {
                    r.problem("scopes[\(i)]", "\(v.stringValue.map { "\"\($0)\"" } ?? BodyReader.kind(v)) is not a scope: use \(Scope.allCases.map(\.rawValue).joined(separator: ", "))")
                    continue
                }
                if !scopes.contains(scope) { scopes.append(scope) }
            }
            if list.isEmpty { r.problem("scopes", "must name at least one scope") }
            k.scopes = scopes
        }
        if body["budget"] == .null { k.budgetDayUSD = nil; k.budgetMonthUSD = nil }
        if let b = r.object(body, "budget", "") {
            r.rejectUnknown(b, "budget", known: ["day_usd", "month_usd"])
            if b.keys.contains("day_usd") { k.budgetDayUSD = r.double(b, "day_usd", "budget", range: 0...1e9) }
            if b.keys.contains("month_usd") { k.budgetMonthUSD = r.double(b, "month_usd", "budget", range: 0...1e9) }
            if let d = k.budgetDayUSD, let m = k.budgetMonthUSD, d > m { r.problem("budget.day_usd", "\(d) is above budget.month_usd (\(m))") }
        }
        if body["rate_limit"] == .null { k.requestsPerMinute = nil; k.concurrentStreams = nil }
        if let l = r.object(body, "rate_limit", "") {
            r.rejectUnknown(l, "rate_limit", known: ["requests_per_minute", "concurrent_streams"])
            if l.keys.contains("requests_per_minute") { k.requestsPerMinute = r.int(l, "requests_per_minute", "rate_limit", min: 1, max: 1_000_000) }
            if l.keys.contains("concurrent_streams") { k.concurrentStreams = r.int(l, "concurrent_streams", "rate_limit", min: 1, max: 100_000) }
        }
        if body["expires_at"] != nil && body["expires_in_days"] != nil {
            r.problem("expires_at", "give expires_at or expires_in_days, not both")
        } else if body["expires_at"] == .null {
            k.expiresAt = nil
        } else if let s = r.string(body, "expires_at", "") {
            if let d = APIKey.parseDate(s) {
                if d <= Date() { r.problem("expires_at", "\(s) is in the past") } else { k.expiresAt = d }
            } else {
                r.problem("expires_at", "\"\(s)\" is not an ISO-8601 time (2026-12-31T23:59:59Z) or date")
            }
        } else if let days = r.double(body, "expires_in_days", "", range: 0.00001...36500) {
            k.expiresAt = Date().addingTimeInterval(days * 86400)
        }
    }
}

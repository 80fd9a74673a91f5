import Foundation
import GRDB
import VoxPluginKit

/// Reading the ledger: totals grouped by provider, model, key or day over
/// a time range, and the calls themselves.
extension VoxStore {
    public enum UsageGroup: String, CaseIterable, Sendable { case provider, model, key, day, kind }

    public struct UsageTotals: Sendable {
        public var group: String?
        public var calls = 0
        public var errors = 0
        public var inputTokens = 0
        public var outputTokens = 0
        public var characters = 0
        public var audioSeconds = 0.0
        public var costUSD = 0.0
        public var ttfbMsAvg: Double?
        public var failovers = 0

        public var json: JSONValue {
            var o: [String: JSONValue] = [
                "calls": .number(Double(calls)), "errors": .number(Double(errors)),
                "input_tokens": .number(Double(inputTokens)), "output_tokens": .number(Double(outputTokens)),
                "characters": .number(Double(characters)), "audio_seconds": .number((audioSeconds * 1000).rounded() / 1000),
                "cost_usd": .number((costUSD * 1e8).rounded() / 1e8),
                "ttfb_ms_avg": ttfbMsAvg.map { .number(($0 * 100).rounded() / 100) } ?? .null,
                "failovers": .number(Double(failovers)),
            ]
            if let group { o["group"] = .string(group) }
            return .object(o)
        }
    }

    /// `from` inclusive, `to` exclusive (unix seconds); `keyID` limits to one key.
    public func usageTotals(groupBy: UsageGroup?, from: Double?, to: Double?, keyID: String?) async throws -> [UsageTotals] {
        let column: String? = switch groupBy {
        case .provider: "COALESCE(provider, '(none)')"
        case .model: "COALESCE(provider, '(none)') || '/' || COALESCE(model, '(default)')"
        case .key: "COALESCE('key:' || key_id, client)"
        case .day: "day"
        case .kind: "kind"
        case nil: nil
        }
        var clauses: [String] = []
        if from != nil { clauses.append("at >= ?") }
        if to != nil { clauses.append("at < ?") }
        if keyID != nil { clauses.append("key_id = ?") }
        let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let select = (column.map { "\($0) AS grp, " } ?? "") + """
            COUNT(*) AS calls, SUM(outcome != 'ok') AS errors, SUM(COALESCE(input_tokens, 0)) AS it, SUM(COALESCE(output_tokens, 0)) AS ot,
            SUM(COALESCE(characters, 0)) AS ch, SUM(COALESCE(audio_seconds, 0)) AS au, SUM(cost_usd) AS usd, AVG(ttfb_ms) AS ttfb,
            SUM(failovers) AS fo
            """
        let sql = "SELECT \(select) FROM usage \(whereSQL)" + (column != nil ? " GROUP BY grp ORDER BY usd DESC, grp" : "")
        return try await read { db in
            var args: [(any DatabaseValueConvertible)?] = []
            if let from { args.append(from) }
            if let to { args.append(to) }
            if let keyID { args.append(keyID) }
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).compactMap { r in
                let calls: Int = r["calls"] ?? 0
                if column == nil && calls == 0 { return UsageTotals() }
                return UsageTotals(group: column == nil ? nil : r["grp"], calls: calls, errors: r["errors"] ?? 0, inputTokens: r["it"] ?? 0,
                                   outputTokens: r["ot"] ?? 0, characters: r["ch"] ?? 0, audioSeconds: r["au"] ?? 0, costUSD: r["usd"] ?? 0,
                                   ttfbMsAvg: r["ttfb"], failovers: r["fo"] ?? 0)
            }
        }
    }

    /// The newest calls first (at most `limit`), optionally one request's.
    public func usageCalls(requestID: String?, keyID: String?, limit: Int) async throws -> [JSONValue] {
        var clauses: [String] = []
        if requestID != nil { clauses.append("request_id = ?") }
        if keyID != nil { clauses.append("key_id = ?") }
        let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        return try await read { db in
            var args: [(any DatabaseValueConvertible)?] = []
            if let requestID { args.append(requestID) }
            if let keyID { args.append(keyID) }
            args.append(limit)
            return try Row.fetchAll(db, sql: "SELECT * FROM usage \(whereSQL) ORDER BY id DESC LIMIT ?", arguments: StatementArguments(args)).map { r in
                func num(_ c: String) -> JSONValue { (r[c] as Double?).map(JSONValue.number) ?? .null }
                func str(_ c: String) -> JSONValue { (r[c] as String?).map(JSONValue.string) ?? .null }
                let at: Double = r["at"]
                return .object([
                    "at": .string(APIKey.iso(Date(timeIntervalSince1970: at))), "request_id": str("request_id"), "client": str("client"),
                    "key_id": str("key_id"), "kind": str("kind"), "provider": str("provider"), "model": str("model"), "voice": str("voice"),
                    "units": .object(["input_tokens": num("input_tokens"), "output_tokens": num("output_tokens"),
                                      "characters": num("characters"), "audio_seconds": num("audio_seconds")]),
                    "prices": (r["prices"] as String?).flatMap { try? JSONValue.parse(Data($0.utf8)) } ?? .null,
                    "cost_usd": num("cost_usd"), "ttfb_ms": num("ttfb_ms"), "total_ms": num("total_ms"), "outcome": str("outcome"),
                    "retries": num("retries"), "failovers": num("failovers"),
                ])
            }
        }
    }
}

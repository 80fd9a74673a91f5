import Foundation
import Hummingbird
import VoxPluginKit

/// `GET /v1/audit?object_type=&object_id=&limit=&before=`: the admin
/// changes, newest first (who, what, before and after). Admin only: it
/// holds every configuration text ever saved.
struct AuditRoutes {
    let daemon: VoxDaemon

    func register(on router: Router<VoxRequestContext>) {
        router.get("/v1/audit") { request, context in
            try await daemon.admin.require(context, action: "reading the audit log")
            var limit = 100
            if let l = request.query("limit") {
                guard let n = Int(l), (1...1000).contains(n) else { throw VoxError(.invalidRequest, "limit must be an integer 1–1000, not \"\(l)\"") }
                limit = n
            }
            var before: Int64?
            if let b = request.query("before") {
                guard let n = Int64(b), n > 0 else { throw VoxError(.invalidRequest, "before must be an audit entry id (a positive integer), not \"\(b)\"") }
                before = n
            }
            let entries = try await daemon.store.auditEntries(objectType: request.query("object_type"), objectID: request.query("object_id"),
                                                              limit: limit, beforeID: before)
            var o: [String: JSONValue] = ["entries": .array(entries.map(\.json))]
            if entries.count == limit, let last = entries.last {
                // The same query, one page further back.
                var q = ["limit=\(limit)", "before=\(last.id)"]
                for key in ["object_type", "object_id"] {
                    if let v = request.query(key), let e = v.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) {
                        q.append("\(key)=\(e)")
                    }
                }
                o["next"] = .string("/v1/audit?" + q.joined(separator: "&"))
            }
            return try jsonResponse(JSONValue.object(o))
        }
    }
}

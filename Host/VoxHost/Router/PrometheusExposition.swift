import Foundation
import VoxPluginKit

/// GET /metrics in the Prometheus text exposition format (version 0.0.4),
/// written here rather than with swift-prometheus: every series already
/// lives in MetricsStore (the host's per-plugin counters) and the router's
/// own state, so rendering them is a few lines and adds no dependency (nor
/// a second registry to keep in step).
enum PrometheusExposition {
    static func render(daemon: VoxDaemon) async -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func line(_ name: String, _ labels: [(String, String)], _ value: Double) {
            out += name
            if !labels.isEmpty { out += "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}" }
            out += " \(number(value))\n"
        }
        let r = daemon.router.metrics.snapshot()

        family("voxd_requests_total", "counter", "Routed requests by kind and outcome (ok, or the error code the client got).")
        for (k, v) in r.requests.sorted(by: { $0.key.labels.lexicographicallyPrecedes($1.key.labels) }) {
            line("voxd_requests_total", [("kind", k.labels[0]), ("code", k.labels[1])], Double(v))
        }
        family("voxd_failovers_total", "counter", "Attempts beyond the first, by kind.")
        for (k, v) in r.failovers.sorted(by: { $0.key.labels.lexicographicallyPrecedes($1.key.labels) }) {
            line("voxd_failovers_total", [("kind", k.labels[0])], Double(v))
        }
        family("voxd_provider_attempts_total", "counter", "Router attempts per provider by outcome (ok, failed, error, skipped, queue_full).")
        for (k, v) in r.attempts.sorted(by: { $0.key.labels.lexicographicallyPrecedes($1.key.labels) }) {
            line("voxd_provider_attempts_total", [("provider", k.labels[0]), ("kind", k.labels[1]), ("outcome", k.labels[2])], Double(v))
        }
        family("voxd_provider_errors_total", "counter", "Provider errors seen by the router, by code.")
        for (k, v) in r.errors.sorted(by: { $0.key.labels.lexicographicallyPrecedes($1.key.labels) }) {
            line("voxd_provider_errors_total", [("provider", k.labels[0]), ("kind", k.labels[1]), ("code", k.labels[2])], Double(v))
        }
        for (name, help, series) in [("voxd_first_output_seconds", "Time from an attempt's start to its first output, per provider and model.", r.firstOutput),
                                     ("voxd_request_duration_seconds", "Time from an attempt's start to the operation's end, per provider and model.", r.duration)] {
            family(name, "histogram", help)
            for (k, h) in series.sorted(by: { $0.key.labels.lexicographicallyPrecedes($1.key.labels) }) {
                let labels = [("provider", k.labels[0]), ("model", k.labels[1]), ("kind", k.labels[2])]
                for (i, b) in RouterMetrics.buckets.enumerated() { line("\(name)_bucket", labels + [("le", number(b))], Double(h.counts[i])) }
                line("\(name)_bucket", labels + [("le", "+Inf")], Double(h.count))
                line("\(name)_sum", labels, h.sum)
                line("\(name)_count", labels, Double(h.count))
            }
        }

        let names = Set((await daemon.providers()).map(\.name)).union(daemon.router.allHealth.map(\.name)).sorted()
        family("voxd_circuit_state", "gauge", "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.")
        for n in names {
            let s = daemon.router.health(n).circuitState
            line("voxd_circuit_state", [("provider", n)], s == .closed ? 0 : s == .halfOpen ? 1 : 2)
        }
        family("voxd_queue_depth", "gauge", "Requests waiting for a provider's concurrency slot.")
        for n in names { line("voxd_queue_depth", [("provider", n)], Double(daemon.router.health(n).queueDepth)) }
        family("voxd_in_flight", "gauge", "Operations holding a provider's concurrency slot.")
        for n in names { line("voxd_in_flight", [("provider", n)], Double(daemon.router.health(n).inFlightCount)) }

        let l = daemon.ledger.state
        family("voxd_ledger_lag_seconds", "gauge", "Age of the oldest usage row not yet written to the store (0: all written).")
        line("voxd_ledger_lag_seconds", [], l.lagSeconds)
        family("voxd_ledger_pending_rows", "gauge", "Usage rows waiting for the next batch write.")
        line("voxd_ledger_pending_rows", [], Double(l.pending))
        family("voxd_ledger_rows_written_total", "counter", "Usage rows written to the store.")
        line("voxd_ledger_rows_written_total", [], Double(l.written))
        family("voxd_ledger_write_errors_total", "counter", "Batch writes the store refused (the rows are kept and retried).")
        line("voxd_ledger_write_errors_total", [], Double(l.writeErrors))
        family("voxd_ledger_rows_dropped_total", "counter", "Usage rows dropped because too many were waiting for a failing store.")
        line("voxd_ledger_rows_dropped_total", [], Double(l.dropped))
        let spend = daemon.ledger.spending("*")
        family("voxd_spend_usd", "gauge", "USD booked in the ledger for the current UTC day and month.")
        line("voxd_spend_usd", [("period", "day")], spend.day)
        line("voxd_spend_usd", [("period", "month")], spend.month)

        // The host's per-plugin samples (HTTP, WebSocket, operations, and
        // what plugins report through the metrics service).
        var families: [String: (type: String, rows: [([(String, String)], MetricsStore.Sample)])] = [:]
        for (key, sample) in daemon.metrics.snapshot() {
            var labels = [("plugin", key.plugin)]
            var name = sanitize(key.name)
            if let m = name.wholeMatch(of: #/op_([a-z_]+?)_errors_([a-z_]+)/#) {
                name = "op_errors"
                labels += [("kind", String(m.1)), ("code", String(m.2))]
            } else if let m = name.wholeMatch(of: #/op_([a-z_]+?)_(total|first_output_seconds|duration_seconds)/#) {
                name = "op_\(m.2)"
                labels.append(("kind", String(m.1)))
            }
            let type = sample.kind == 1 ? "gauge" : sample.kind == 2 ? "summary" : "counter"
            let full = "voxd_plugin_" + name + (type == "counter" && !name.hasSuffix("_total") ? "_total" : "")
            families[full, default: (type: type, rows: [])].rows.append((labels, sample))
        }
        for (name, f) in families.sorted(by: { $0.key < $1.key }) {
            family(name, f.type, "Host-recorded plugin metric \(name.dropFirst("voxd_plugin_".count)).")
            for (labels, s) in f.rows.sorted(by: { a, b in a.0.map { $0.1 }.lexicographicallyPrecedes(b.0.map { $0.1 }) }) {
                if f.type == "summary" {
                    line("\(name)_sum", labels, s.value)
                    line("\(name)_count", labels, Double(s.count))
                } else {
                    line(name, labels, s.value)
                }
            }
        }
        return out
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func sanitize(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" }).lowercased()
    }

    static func number(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
        return String(v)
    }
}

import Foundation
import VoxPluginKit

/// The router's own measurements for GET /metrics: requests by kind and
/// outcome, attempts and errors per provider, and latency histograms per
/// provider and model (time to first output, total duration).
final class RouterMetrics: @unchecked Sendable {
    /// Histogram bucket bounds, seconds (Prometheus `le`).
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

    struct Histogram {
        var counts = [Int](repeating: 0, count: RouterMetrics.buckets.count)
        var count = 0
        var sum = 0.0
        mutating func observe(_ v: Double) {
            count += 1
            sum += v
            for (i, b) in RouterMetrics.buckets.enumerated() where v <= b { counts[i] += 1 }
        }
    }

    struct SeriesKey: Hashable { var labels: [String] }

    private let lock = NSLock()
    private(set) var requests: [SeriesKey: Int] = [:]      // kind, code
    private(set) var failovers: [SeriesKey: Int] = [:]     // kind
    private(set) var attempts: [SeriesKey: Int] = [:]      // provider, kind, outcome
    private(set) var errors: [SeriesKey: Int] = [:]        // provider, kind, code
    private(set) var firstOutput: [SeriesKey: Histogram] = [:]  // provider, model, kind
    private(set) var duration: [SeriesKey: Histogram] = [:]     // provider, model, kind

    static func kind(_ op: VoxOperation) -> String {
        switch op {
        case .llmChat: return "chat"
        case .ttsSynthesize: return "tts"
        case .sttTranscribe: return "stt"
        case .sttStream: return "stt_stream"
        default: return op.rawValue
        }
    }

    func countRequest(kind: String, code: String, failovers n: Int) {
        lock.withLock {
            requests[SeriesKey(labels: [kind, code]), default: 0] += 1
            if n > 0 { failovers[SeriesKey(labels: [kind]), default: 0] += n }
        }
    }

    func countAttempt(provider: String, kind: String, outcome: String) {
        lock.withLock { attempts[SeriesKey(labels: [provider, kind, outcome]), default: 0] += 1 }
    }

    func countError(provider: String, kind: String, code: String) {
        lock.withLock { errors[SeriesKey(labels: [provider, kind, code]), default: 0] += 1 }
    }

    func observeFirstOutput(provider: String, model: String, kind: String, seconds: Double) {
        lock.withLock { firstOutput[SeriesKey(labels: [provider, model, kind]), default: Histogram()].observe(seconds) }
    }

    func observeDuration(provider: String, model: String, kind: String, seconds: Double) {
        lock.withLock { duration[SeriesKey(labels: [provider, model, kind]), default: Histogram()].observe(seconds) }
    }

    struct Snapshot {
        var requests: [SeriesKey: Int], failovers: [SeriesKey: Int], attempts: [SeriesKey: Int], errors: [SeriesKey: Int]
        var firstOutput: [SeriesKey: Histogram], duration: [SeriesKey: Histogram]
    }

    func snapshot() -> Snapshot {
        lock.withLock { Snapshot(requests: requests, failovers: failovers, attempts: attempts, errors: errors, firstOutput: firstOutput, duration: duration) }
    }
}

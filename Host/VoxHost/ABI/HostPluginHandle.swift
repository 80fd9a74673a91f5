import Foundation
import Logging
import VoxPluginKit

/// The host's view of one plugin instance as the plugin sees it
/// (`vox_host_plugin`): its name for logs and metrics, and its secrets.
final class HostPluginHandle: @unchecked Sendable {
    let name: String
    let logger: Logger
    let secrets: [String: String]
    let metrics: MetricsStore

    init(name: String, logger: Logger, secrets: [String: String], metrics: MetricsStore) {
        self.name = name
        var l = logger
        l[metadataKey: "plugin.name"] = .string(name)
        self.logger = l
        self.secrets = secrets
        self.metrics = metrics
    }

    var pointer: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ p: OpaquePointer) -> HostPluginHandle {
        Unmanaged<HostPluginHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }
}

/// Plugin metrics, labelled by plugin: counters add, gauges set, histograms
/// keep count and sum. Read by the status routes.
public final class MetricsStore: @unchecked Sendable {
    public struct Key: Hashable, Sendable { public let plugin: String; public let name: String }
    public struct Sample: Sendable { public var kind: Int32; public var value: Double; public var count: Int }
    private let lock = NSLock()
    private var samples: [Key: Sample] = [:]

    public init() {}

    func record(plugin: String, kind: Int32, name: String, value: Double) {
        lock.withLock {
            let key = Key(plugin: plugin, name: name)
            var s = samples[key] ?? Sample(kind: kind, value: 0, count: 0)
            switch kind {
            case 1: s.value = value
            default: s.value += value
            }
            s.count += 1
            samples[key] = s
        }
    }

    public func snapshot() -> [Key: Sample] { lock.withLock { samples } }

    /// The host's own samples for one plugin (HTTP, WebSocket, operations).
    func scope(plugin: String) -> Scope { Scope(store: self, plugin: plugin) }

    struct Scope {
        let store: MetricsStore
        let plugin: String
        func count(_ name: String, _ value: Double = 1) { store.record(plugin: plugin, kind: 0, name: name, value: value) }
        /// A histogram sample (kept as count and sum).
        func observe(_ name: String, _ value: Double) { store.record(plugin: plugin, kind: 2, name: name, value: value) }
    }
}

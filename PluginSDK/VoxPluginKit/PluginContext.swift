import CVoxPlugin
import Foundation

/// What an instance gets from the host: its settings, logging, metrics,
/// secrets and outbound HTTP. Sendable; keep it for the instance's life.
public struct PluginContext: @unchecked Sendable {
    /// The `[settings]` table of the plugin's config file.
    public let settings: JSONValue
    let host: UnsafePointer<vox_host_api>
    let hp: OpaquePointer

    init(settings: JSONValue, host: UnsafePointer<vox_host_api>, hp: OpaquePointer) {
        self.settings = settings
        self.host = host
        self.hp = hp
    }

    public enum LogLevel: Int32, Sendable { case trace = 0, debug, info, warning, error }

    public func log(_ level: LogLevel, _ message: String) {
        withVoxStr(message) { host.pointee.log?(hp, level.rawValue, $0) }
    }

    public enum MetricKind: Int32, Sendable { case counter = 0, gauge, histogram }

    public func metric(_ kind: MetricKind, _ name: String, _ value: Double) {
        withVoxStr(name) { host.pointee.metric?(hp, kind.rawValue, $0, value) }
    }

    /// Monotonic nanoseconds from the host's clock.
    public var nowNanoseconds: UInt64 { host.pointee.clock_ns?() ?? 0 }

    /// The secret bound to `name` in the plugin's `[secrets]` table.
    public func secret(_ name: String) throws -> String {
        guard let get = host.pointee.secret_get else { throw VoxPluginError.unsupported("host has no secret service") }
        var err = vox_type_error()
        err.struct_size = UInt32(MemoryLayout<vox_type_error>.size)
        var cap = 256
        while true {
            var buf = [CChar](repeating: 0, count: cap)
            let n = withVoxStr(name) { get(hp, $0, &buf, cap, &err) }
            if n < 0 { throw VoxPluginError(abi: &err) }
            if Int(n) <= cap {
                return String(decoding: buf.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            cap = Int(n)
        }
    }

    /// Outbound HTTP through the host (pooling, TLS, proxies, timeouts).
    public var http: HostHTTP { HostHTTP(host: host, hp: hp) }

    /// Runs blocking work on a plugin-owned thread and awaits it, keeping the
    /// host's event loops (where operations run) and Swift's pool free (a C
    /// engine that blocks, e.g. a synthesizer).
    public func runBlocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in
            let t = Thread { cont.resume(with: Result { try work() }) }
            t.stackSize = 1 << 20
            t.start()
        }
    }
}

extension vox_type_str {
    /// Bytes as a Swift string (invalid UTF-8 is repaired).
    public var string: String {
        guard let ptr, len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: ptr, count: len), as: UTF8.self)
    }
    public var bytes: UnsafeRawBufferPointer {
        guard let ptr, len > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: ptr, count: len)
    }
}

/// Calls `body` with a vox_type_str over the UTF-8 of `s`.
@inlinable
public func withVoxStr<R>(_ s: String, _ body: (vox_type_str) throws -> R) rethrows -> R {
    var s = s
    return try s.withUTF8 { buf in
        try body(vox_type_str(ptr: UnsafeRawPointer(buf.baseAddress)?.assumingMemoryBound(to: CChar.self), len: buf.count))
    }
}

import CVoxPlugin
import Foundation
import Logging
import VoxPluginKit

/// One created plugin instance: the loaded image, the plugin's instance
/// pointer, its declared capabilities, and its in-flight operations.
public final class PluginInstance: @unchecked Sendable {
    public let config: PluginConfig
    public let image: PluginImage
    public let capabilities: Capabilities
    public let capabilitiesJSON: JSONValue
    /// Unique for the process's life (an address may be reused after a
    /// reload frees an instance; this never is): the key of cached discovery.
    public let id = PluginInstance.nextID.increment()
    private static let nextID = SerialCounter()
    let handle: HostPluginHandle
    @usableFromInline let instance: OpaquePointer
    @usableFromInline let vtable: vox_plugin_vtable
    private let logger: Logger
    private let lock = NSLock()
    private var inFlight = 0
    private var accepting = true
    private var misbehaviours = 0
    private var lastMisbehaviour: String?
    private var destroyed = false

    public var name: String { config.name }

    /// Calls the plugin's create and reads its capabilities.
    init(config: PluginConfig, image: PluginImage, handle: HostPluginHandle, logger: Logger) throws {
        self.config = config
        self.image = image
        self.handle = handle
        self.logger = logger
        let vtable = image.vtable
        self.vtable = vtable
        let settings = VoxJSON.string(config.settings)
        var out: OpaquePointer?
        var err = vox_type_error()
        err.struct_size = UInt32(MemoryLayout<vox_type_error>.size)
        let rc = withVoxStr(settings) { vtable.create!(handle.pointer, $0, &out, &err) }
        guard rc == 0, let created = out else {
            let e = rc == 0 ? VoxPluginError.internalError("create returned OK without an instance") : VoxPluginError(abi: &err)
            throw PluginImage.LoadError(stage: .descriptor, message: "create failed: \(e.code.name): \(e.message)")
        }
        instance = created
        let capsStr = vtable.capabilities!(created)
        do {
            let data = Data(capsStr.bytes)
            capabilities = try VoxJSON.decode(Capabilities.self, from: data)
            capabilitiesJSON = try VoxJSON.decode(JSONValue.self, from: data)
        } catch {
            vtable.destroy!(created)
            throw PluginImage.LoadError(stage: .descriptor, message: "capabilities are not valid JSON of the documented shape: \(error)")
        }
    }

    /// Starts an operation. The returned operation reports through `next()`.
    public func start(_ kind: vox_type_op_kind, request: String, input: AudioData? = nil,
                      bufferBytes: Int, timeout: Double) throws -> HostOperation {
        try lock.withLock {
            guard accepting else { throw VoxPluginError(.unavailable, "\(name) is being unloaded", retriable: true) }
            inFlight += 1
        }
        let op = HostOperation(kind: kind, instance: self, bufferBytes: bufferBytes)
        var err = vox_type_error()
        err.struct_size = UInt32(MemoryLayout<vox_type_error>.size)
        var out: OpaquePointer?
        let inputBytes = input?.bytes ?? []
        let rc: Int32 = withVoxStr(request) { json in
            inputBytes.withUnsafeBufferPointer { audio in
                var req = vox_type_op_request()
                req.struct_size = UInt32(MemoryLayout<vox_type_op_request>.size)
                req.kind = kind.rawValue
                req.request_json = json
                req.input_format = input?.format?.abi ?? vox_type_audio_format()
                req.input_audio = audio.baseAddress
                req.input_audio_len = audio.count
                return vtable.op_start!(instance, &req, op.hostOpPointer, &out, &err)
            }
        }
        guard rc == 0, let started = out else {
            HostOperation.handles.remove(op.hostOpPointer)
            operationEnded(nil)
            if rc == 0 {
                reportMisbehaviour("op_start returned OK without an operation handle")
                throw VoxPluginError.internalError("\(name) started no operation")
            }
            throw VoxPluginError(abi: &err)
        }
        lock.withLock { trackedOps[ObjectIdentifier(op)] = op }
        op.didStart(started, timeout: timeout)
        return op
    }

    /// One trivial call through the ABI (the capabilities slot, a read of a
    /// string the plugin keeps): the cost of crossing the boundary, for the
    /// ABI benchmark. Returns the capabilities' length.
    @inlinable public func ping() -> Int { vtable.capabilities.unsafelyUnwrapped(instance).len }

    func cancel(_ op: OpaquePointer) { vtable.op_cancel!(op) }

    func push(_ op: OpaquePointer, format: AudioFormat, bytes: [UInt8]) throws {
        guard let push = vtable.op_push else { throw VoxPluginError.unsupported("\(name) takes no streamed input") }
        var f = format.abi
        let rc = bytes.withUnsafeBufferPointer { push(op, &f, $0.baseAddress, $0.count) }
        if rc != 0 { throw VoxPluginError(VoxErrorCode(abi: rc), "\(name) refused the pushed audio") }
    }

    func finishInput(_ op: OpaquePointer) throws {
        guard let finish = vtable.op_finish_input else { throw VoxPluginError.unsupported("\(name) takes no streamed input") }
        let rc = finish(op)
        if rc != 0 { throw VoxPluginError(VoxErrorCode(abi: rc), "\(name) refused the end of input") }
    }
    func release(_ op: OpaquePointer) { vtable.op_release!(op) }
    func resume(_ op: OpaquePointer) { vtable.op_resume?(op) }

    func operationEnded(_ op: HostOperation?) {
        lock.withLock {
            inFlight -= 1
            if let op { trackedOps.removeValue(forKey: ObjectIdentifier(op)) }
        }
    }

    public var inFlightCount: Int { lock.withLock { inFlight } }

    public var misbehaviourReport: (count: Int, last: String?) { lock.withLock { (misbehaviours, lastMisbehaviour) } }

    /// Counts and logs a broken ABI promise; the plugin keeps running.
    func reportMisbehaviour(_ what: String) {
        lock.withLock { misbehaviours += 1; lastMisbehaviour = what }
        logger.warning("plugin misbehaved: \(what)", metadata: ["plugin.name": .string(name)])
    }

    /// Stops new operations, waits up to `timeout` for in-flight ones (then
    /// cancels them and waits for their final callbacks), and destroys the
    /// instance. Its image stays mapped.
    public func drainAndDestroy(timeout: Double) async {
        lock.withLock { accepting = false }
        if await waitDrained(seconds: timeout) == false {
            logger.warning("drain timed out; cancelling in-flight operations", metadata: ["plugin.name": .string(name)])
            cancelAll()
            if await waitDrained(seconds: 10) == false {
                logger.error("operations never ended after cancel; the instance is leaked, not destroyed", metadata: ["plugin.name": .string(name)])
                return
            }
        }
        let first: Bool = lock.withLock { defer { destroyed = true }; return !destroyed }
        if first { vtable.destroy!(instance) }
    }

    private var trackedOps: [ObjectIdentifier: HostOperation] = [:]

    private func cancelAll() {
        for op in lock.withLock({ Array(trackedOps.values) }) { op.cancel() }
    }

    /// Polls (every 20 ms, bounded by `seconds`) until no operation is in flight.
    private func waitDrained(seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while lock.withLock({ inFlight }) > 0 {
            if Date() >= deadline { return false }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return true
    }
}

import CVoxPlugin
import Foundation

/// Implements vox_plugin.h for one VoxPlugin type. Each plugin image links
/// its own copy of the kit, so the state below is per image.
public enum VoxPluginExport {
    /// The body of your `vox_plugin_entry` (see `VoxPlugin`).
    public static func entry<P: VoxPlugin>(_ type: P.Type, _ hostMajor: UInt32, _ hostMinor: UInt32,
                                          _ host: UnsafePointer<vox_host_api>?,
                                          _ error: UnsafeMutablePointer<vox_type_error>?) -> UnsafePointer<vox_plugin_descriptor>? {
        guard hostMajor == UInt32(VOX_ABI_MAJOR) else {
            VoxPluginError.invalidRequest("\(P.info.name) speaks vox ABI \(VOX_ABI_MAJOR).x, the host \(hostMajor).\(hostMinor)").fill(error)
            return nil
        }
        guard let host else {
            VoxPluginError.invalidRequest("\(P.info.name): the host passed no services table").fill(error)
            return nil
        }
        return KitImage.install(type, host: host)
    }
}

/// Per-image state: the host table, the factory and the descriptor.
enum KitImage {
    private static let lock = NSLock()
    nonisolated(unsafe) private(set) static var host: UnsafePointer<vox_host_api>?
    /// Where operations' tasks go on (nil before ABI 1.2: Swift's pool).
    nonisolated(unsafe) private(set) static var executor: HostExecutor?
    nonisolated(unsafe) private static var factory: ((PluginContext) throws -> any VoxPlugin)?
    nonisolated(unsafe) private static var descriptor: UnsafeMutablePointer<vox_plugin_descriptor>?

    static func install<P: VoxPlugin>(_ type: P.Type, host: UnsafePointer<vox_host_api>) -> UnsafePointer<vox_plugin_descriptor> {
        lock.withLock {
            self.host = host
            executor = HostExecutor(host: host)
            factory = { try P(context: $0) }
            if let d = descriptor { return UnsafePointer(d) }
            let info = P.info
            let vtable = UnsafeMutablePointer<vox_plugin_vtable>.allocate(capacity: 1)
            vtable.initialize(to: makeVTable())
            let d = UnsafeMutablePointer<vox_plugin_descriptor>.allocate(capacity: 1)
            // Strings live as long as the image (never unmapped): strdup once.
            d.initialize(to: vox_plugin_descriptor(
                struct_size: UInt32(MemoryLayout<vox_plugin_descriptor>.size),
                abi_major: UInt32(VOX_ABI_MAJOR), abi_minor: UInt32(VOX_ABI_MINOR),
                name: UnsafePointer(strdup(info.name)), version: UnsafePointer(strdup(info.version)),
                vendor: UnsafePointer(strdup(info.vendor)),
                description: info.description.map { UnsafePointer(strdup($0)) } ?? nil,
                swift_runtime: vox_swift_toolchain_id(),
                vtable: UnsafePointer(vtable)))
            descriptor = d
            return UnsafePointer(d)
        }
    }

    static func makePlugin(_ context: PluginContext) throws -> any VoxPlugin {
        guard let f = lock.withLock({ factory }) else { throw VoxPluginError.internalError("plugin entry was not called") }
        return try f(context)
    }

    private static func makeVTable() -> vox_plugin_vtable {
        var v = vox_plugin_vtable()
        v.struct_size = UInt32(MemoryLayout<vox_plugin_vtable>.size)
        v.create = { hp, settings, out, errOut in
            guard let hp, let out, let host = KitImage.host else {
                VoxPluginError.invalidRequest("create: missing arguments").fill(errOut)
                return VoxErrorCode.invalidRequest.rawValue
            }
            do {
                let json = settings.len == 0 ? JSONValue.object([:]) : try VoxJSON.decode(JSONValue.self, from: Data(settings.bytes))
                let context = PluginContext(settings: json, host: host, hp: hp)
                let instance = try InstanceBox(plugin: KitImage.makePlugin(context), context: context)
                out.pointee = OpaquePointer(Unmanaged.passRetained(instance).toOpaque())
                return 0
            } catch let e as DecodingError {
                VoxPluginError.invalidRequest("settings are not valid JSON: \(e)").fill(errOut)
                return VoxErrorCode.invalidRequest.rawValue
            } catch {
                let e = VoxPluginError.from(error)
                e.fill(errOut)
                return e.code.rawValue
            }
        }
        v.destroy = { instance in
            guard let instance else { return }
            let box = Unmanaged<InstanceBox>.fromOpaque(UnsafeRawPointer(instance)).takeRetainedValue()
            box.plugin.shutdown()
        }
        v.capabilities = { instance in
            guard let instance else { return vox_type_str(ptr: nil, len: 0) }
            return Unmanaged<InstanceBox>.fromOpaque(UnsafeRawPointer(instance)).takeUnretainedValue().capabilitiesStr
        }
        v.op_start = { instance, request, hostOp, out, errOut in
            guard let instance, let request, let hostOp, let out, let host = KitImage.host else {
                VoxPluginError.invalidRequest("op_start: missing arguments").fill(errOut)
                return VoxErrorCode.invalidRequest.rawValue
            }
            let box = Unmanaged<InstanceBox>.fromOpaque(UnsafeRawPointer(instance)).takeUnretainedValue()
            do {
                let op = try box.start(request, host: host, hostOp: hostOp)
                out.pointee = OpaquePointer(Unmanaged.passRetained(op).toOpaque())
                return 0
            } catch {
                let e = VoxPluginError.from(error)
                e.fill(errOut)
                return e.code.rawValue
            }
        }
        v.op_cancel = { op in op.map { Unmanaged<OperationBox>.fromOpaque(UnsafeRawPointer($0)).takeUnretainedValue().cancel() } }
        v.op_release = { op in op.map { Unmanaged<OperationBox>.fromOpaque(UnsafeRawPointer($0)).release() } }
        v.op_resume = { op in op.map { Unmanaged<OperationBox>.fromOpaque(UnsafeRawPointer($0)).takeUnretainedValue().resume() } }
        v.op_push = { op, format, data, len in
            guard let op else { return VoxErrorCode.invalidRequest.rawValue }
            let box = Unmanaged<OperationBox>.fromOpaque(UnsafeRawPointer(op)).takeUnretainedValue()
            let bytes = len > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: len)) : []
            return box.push(AudioData(format: AudioFormat(abi: format), bytes: bytes)) ? 0 : VoxErrorCode.invalidRequest.rawValue
        }
        v.op_finish_input = { op in
            guard let op else { return VoxErrorCode.invalidRequest.rawValue }
            return Unmanaged<OperationBox>.fromOpaque(UnsafeRawPointer(op)).takeUnretainedValue().finishInput()
                ? 0 : VoxErrorCode.invalidRequest.rawValue
        }
        return v
    }
}

/// One plugin instance: the plugin object and its capabilities string.
final class InstanceBox: @unchecked Sendable {
    let plugin: any VoxPlugin
    let context: PluginContext
    private let capabilitiesBytes: UnsafeMutableBufferPointer<UInt8>

    init(plugin: any VoxPlugin, context: PluginContext) throws {
        self.plugin = plugin
        self.context = context
        let json = Array(try VoxJSON.encode(plugin.capabilities))
        capabilitiesBytes = .allocate(capacity: json.count)
        _ = capabilitiesBytes.initialize(from: json)
    }

    deinit { capabilitiesBytes.deallocate() }

    var capabilitiesStr: vox_type_str {
        vox_type_str(ptr: UnsafeRawPointer(capabilitiesBytes.baseAddress)?.assumingMemoryBound(to: CChar.self), len: capabilitiesBytes.count)
    }

    /// Decodes the request for its kind and starts the matching method.
    func start(_ r: UnsafePointer<vox_type_op_request>, host: UnsafePointer<vox_host_api>, hostOp: OpaquePointer) throws -> OperationBox {
        let kind = r.pointee.kind
        let json = Data(r.pointee.request_json.bytes)
        func decode<T: Decodable>(_ t: T.Type) throws -> T {
            do { return try VoxJSON.decode(t, from: json.isEmpty ? Data("{}".utf8) : json) } catch {
                throw VoxPluginError.invalidRequest("request is not a valid \(T.self): \(error)")
            }
        }
        let audio: AudioData = {
            guard r.pointee.input_audio_len > 0, let p = r.pointee.input_audio else { return AudioData(format: nil, bytes: []) }
            return withUnsafePointer(to: r.pointee.input_format) {
                AudioData(format: AudioFormat(abi: $0), bytes: Array(UnsafeBufferPointer(start: p, count: r.pointee.input_audio_len)))
            }
        }()
        let plugin = self.plugin
        let op = OperationBox(host: host, hostOp: hostOp, streamingInput: kind == VOX_OP_STT_STREAM.rawValue)
        switch kind {
        case VOX_OP_TTS_SYNTHESIZE.rawValue:
            let req = try decode(SynthesisRequest.self)
            op.start { try await plugin.synthesize(req, output: AudioOutput(box: $0)) }
        case VOX_OP_STT_TRANSCRIBE.rawValue:
            let req = try decode(TranscriptionRequest.self)
            op.start { try await plugin.transcribe(req, audio: audio, output: EventOutput(box: $0)) }
        case VOX_OP_STT_STREAM.rawValue:
            let req = try decode(TranscriptionRequest.self)
            op.start { try await plugin.streamTranscription(req, input: $0.input!, output: EventOutput(box: $0)) }
        case VOX_OP_LLM_CHAT.rawValue:
            let req = try decode(JSONValue.self)
            op.start { try await plugin.chat(req, output: EventOutput(box: $0)) }
        case VOX_OP_LIST_MODELS.rawValue:
            let req = try decode(ModelListRequest.self)
            op.start { box in
                let models = try await plugin.listModels(req)
                try await EventOutput(box: box).emit(JSONValue.object(["type": .string("models"), "models": try Self.json(models)]))
                return OperationResult()
            }
        case VOX_OP_LIST_VOICES.rawValue:
            let req = try decode(VoiceListRequest.self)
            op.start { box in
                let voices = try await plugin.listVoices(req)
                try await EventOutput(box: box).emit(JSONValue.object(["type": .string("voices"), "voices": try Self.json(voices)]))
                return OperationResult()
            }
        case VOX_OP_CLONE_VOICE.rawValue:
            let req = try decode(VoiceCloneRequest.self)
            op.start { box in
                let voice = try await plugin.cloneVoice(req, audio: audio)
                try await EventOutput(box: box).emit(JSONValue.object(["type": .string("voice"), "voice": try Self.json(voice)]))
                return OperationResult()
            }
        default:
            throw VoxPluginError.unsupported("\(type(of: plugin).info.name) does not implement operation kind \(kind)")
        }
        return op
    }

    static func json<T: Encodable>(_ value: T) throws -> JSONValue {
        try VoxJSON.decode(JSONValue.self, from: VoxJSON.encode(value))
    }
}

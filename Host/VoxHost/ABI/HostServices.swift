import CVoxPlugin
import Foundation
import Logging
import VoxPluginKit

/// The services table handed to every plugin (`vox_host_api`). One table for
/// the process; the functions find their state through the handles.
enum HostServices {
    static let table: UnsafePointer<vox_host_api> = {
        var api = vox_host_api()
        api.struct_size = UInt32(MemoryLayout<vox_host_api>.size)
        api.abi_major = UInt32(VOX_ABI_MAJOR)
        api.abi_minor = UInt32(VOX_ABI_MINOR)

        api.log = { hp, level, message in
            guard let hp else { return }
            let h = HostPluginHandle.from(hp)
            let lvl: Logger.Level = switch level {
            case 0: .trace
            case 1: .debug
            case 2: .info
            case 3: .warning
            default: .error
            }
            h.logger.log(level: lvl, "\(message.string)")
        }
        api.metric = { hp, kind, name, value in
            guard let hp else { return }
            let h = HostPluginHandle.from(hp)
            h.metrics.record(plugin: h.name, kind: kind, name: name.string, value: value)
        }
        api.clock_ns = { DispatchTime.now().uptimeNanoseconds }
        api.secret_get = { hp, name, buf, cap, error in
            guard let hp else { return -1 }
            let h = HostPluginHandle.from(hp)
            let key = name.string
            guard let value = h.secrets[key] else {
                VoxPluginError(.notFound, "no secret \"\(key)\" is bound in \(h.name)'s [secrets]").fill(error)
                return -1
            }
            let bytes = Array(value.utf8)
            if let buf, cap > 0 {
                bytes.withUnsafeBytes { src in
                    UnsafeMutableRawPointer(buf).copyMemory(from: src.baseAddress!, byteCount: min(cap, bytes.count))
                }
            }
            return Int64(bytes.count)
        }

        api.op_audio = { op, format, data, len in
            guard let op, let o = HostOperation.from(op) else { return staleHandle(op, "op_audio") }
            guard let f = AudioFormat(abi: format) else {
                o.instance.reportMisbehaviour("sent audio with an unknown or missing format")
                return Int32(VOX_FLOW_STOP.rawValue)
            }
            let bytes = len > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: len)) : []
            return o.pushAudio(f, bytes)
        }
        api.op_event = { op, json in
            guard let op, let o = HostOperation.from(op) else { return staleHandle(op, "op_event") }
            return o.pushEvent(json.string)
        }
        api.op_done = { op, json in
            guard let op, let o = HostOperation.from(op) else { _ = staleHandle(op, "op_done"); return }
            let result: OperationResult
            if json.len == 0 {
                result = OperationResult()
            } else if let r = try? OperationResult(wireJSON: Data(json.bytes)) {
                result = r
            } else {
                o.instance.reportMisbehaviour("sent a final result that is not a JSON object")
                result = OperationResult()
            }
            o.finish(.success(result))
        }
        api.op_error = { op, error in
            guard let op, let o = HostOperation.from(op) else { _ = staleHandle(op, "op_error"); return }
            guard let error else {
                o.instance.reportMisbehaviour("reported an error without an error struct")
                o.finish(.failure(.internalError("the plugin failed without saying why")))
                return
            }
            o.finish(.failure(VoxPluginError(abi: error)))
        }

        HostHTTPService.install(into: &api)
        HostTimers.install(into: &api)
        HostWebSocketService.install(into: &api)
        HostLoops.install(into: &api)

        let p = UnsafeMutablePointer<vox_host_api>.allocate(capacity: 1)
        p.initialize(to: api)
        return UnsafePointer(p)
    }()
}

/// A plugin called back with an operation handle that was already released:
/// it broke the ABI. Nothing is touched; the call is refused and logged.
private func staleHandle(_ op: OpaquePointer?, _ function: String) -> Int32 {
    if let op, let owner = HostOperation.handles.releasedOwner(op) as? PluginInstance {
        owner.reportMisbehaviour("called \(function) with an operation handle after the operation had ended and been released")
    } else {
        HostServices.logger.warning("a plugin called \(function) with a released operation handle; ignored")
    }
    return Int32(VOX_FLOW_STOP.rawValue)
}

extension HostServices {
    static let logger = Logger(label: "voxd.abi")
}

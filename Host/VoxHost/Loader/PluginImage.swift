import CVoxPlugin
import Foundation
import VoxPluginKit

/// A plugin library mapped into the process, its entry called and its
/// descriptor validated. Images are never unmapped (RTLD_NODELETE; see
/// DESIGN.md): a changed library is loaded from a new content-addressed path.
public struct PluginImage: @unchecked Sendable {
    public let originalPath: String
    public let loadedPath: String
    public let sha256: String
    /// The original file as it was when hashed (see `TrustCheck.Fingerprint`).
    let fingerprint: TrustCheck.Fingerprint?
    public let name: String
    public let version: String
    public let vendor: String
    public let description: String?
    public let abiMinor: UInt32
    let vtable: vox_plugin_vtable

    /// Why a library could not be loaded; `stage` says which check refused it.
    public struct LoadError: Error, CustomStringConvertible, Sendable {
        public enum Stage: String, Sendable { case locate, trust, pin, copy, dlopen, entry, descriptor }
        public let stage: Stage
        public let message: String
        public var description: String { message }
    }

    /// The vtable slots every plugin must fill.
    static let requiredSlots: [(String, KeyPath<vox_plugin_vtable, Bool>)] = [
        ("create", \.hasCreate), ("destroy", \.hasDestroy), ("capabilities", \.hasCapabilities),
        ("op_start", \.hasOpStart), ("op_cancel", \.hasOpCancel), ("op_release", \.hasOpRelease),
    ]

    /// Checks, copies and loads `path`.
    /// - Parameters:
    ///   - expectedName: the plugins.d file name the descriptor must carry.
    ///   - pin: optional sha256 the file must match.
    ///   - imageDir: where content-addressed copies go (under the state dir).
    static func load(path: String, expectedName: String?, pin: String?, imageDir: String, host: UnsafePointer<vox_host_api>) throws -> PluginImage {
        do { try TrustCheck.check(path) } catch { throw LoadError(stage: .trust, message: "\(error)") }
        let fingerprint = TrustCheck.Fingerprint(path: path)
        let digest: String
        do { digest = try TrustCheck.sha256(of: path) } catch { throw LoadError(stage: .trust, message: "\(error)") }
        if let pin, pin != digest {
            throw LoadError(stage: .pin, message: "\(path): sha256 is \(digest), but the config pins \(pin)")
        }
        let copy = try contentAddressedCopy(of: path, sha256: digest, imageDir: imageDir)

        guard let handle = dlopen(copy, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            throw LoadError(stage: .dlopen, message: "\(path): dlopen failed: \(dlerrorString())")
        }
        var keep = false
        defer { if !keep { dlclose(handle) } } // NODELETE: drops the reference, keeps the mapping safe
        guard let sym = dlsym(handle, VOX_PLUGIN_ENTRY_SYMBOL) else {
            throw LoadError(stage: .entry, message: "\(path): no \(VOX_PLUGIN_ENTRY_SYMBOL) symbol (\(dlerrorString())); is it a voxd plugin, and is the entry exported?")
        }
        let entry = unsafeBitCast(sym, to: vox_plugin_entry_fn.self)
        var err = vox_type_error()
        err.struct_size = UInt32(MemoryLayout<vox_type_error>.size)
        guard let d = entry(UInt32(VOX_ABI_MAJOR), UInt32(VOX_ABI_MINOR), host, &err) else {
            let e = VoxPluginError(abi: &err)
            throw LoadError(stage: .entry, message: "\(path): \(VOX_PLUGIN_ENTRY_SYMBOL) refused to load: \(e.message)")
        }
        let image = try validate(d, path: path, copy: copy, sha256: digest, fingerprint: fingerprint, expectedName: expectedName)
        keep = true
        return image
    }

    /// Copies the library to imageDir/<sha256>/<file name> once; dlopen of a
    /// new path is what makes a changed library load as a new image.
    static func contentAddressedCopy(of path: String, sha256: String, imageDir: String) throws -> String {
        let fm = FileManager.default
        let dir = (imageDir as NSString).appendingPathComponent(sha256)
        let dest = (dir as NSString).appendingPathComponent((path as NSString).lastPathComponent)
        if fm.fileExists(atPath: dest), (try? TrustCheck.sha256(of: dest)) == sha256 { return dest }
        do {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let tmp = dest + ".tmp\(getpid())"
            try? fm.removeItem(atPath: tmp)
            try fm.copyItem(atPath: path, toPath: tmp)
            chmod(tmp, 0o500)
            guard rename(tmp, dest) == 0 else { throw TrustCheck.Failure(description: String(cString: strerror(errno))) }
        } catch {
            throw LoadError(stage: .copy, message: "\(path): cannot copy to \(dest): \(error)")
        }
        return dest
    }

    static func validate(_ d: UnsafePointer<vox_plugin_descriptor>, path: String, copy: String, sha256: String,
                         fingerprint: TrustCheck.Fingerprint? = nil, expectedName: String?) throws -> PluginImage {
        func fail(_ m: String) -> LoadError { LoadError(stage: .descriptor, message: "\(path): \(m)") }
        // Read a prefix of the plugin's descriptor into a zero-filled copy of ours.
        let size = Int(d.pointee.struct_size)
        let minimum = MemoryLayout<vox_plugin_descriptor>.offset(of: \vox_plugin_descriptor.vtable)! + MemoryLayout<UnsafeRawPointer>.size
        guard size >= minimum else {
            throw fail("descriptor struct_size \(size) is smaller than ABI 1.0's \(minimum) bytes; the plugin is corrupt or built against another header")
        }
        guard size <= MemoryLayout<vox_plugin_descriptor>.size else {
            throw fail("descriptor struct_size \(size) is larger than this host knows (\(MemoryLayout<vox_plugin_descriptor>.size)); the plugin needs a newer voxd")
        }
        var desc = vox_plugin_descriptor() // zero-filled, then the plugin's prefix
        withUnsafeMutableBytes(of: &desc) { $0.copyMemory(from: UnsafeRawBufferPointer(start: d, count: size)) }
        guard desc.abi_major == UInt32(VOX_ABI_MAJOR) else {
            throw fail("plugin ABI is \(desc.abi_major).\(desc.abi_minor), voxd speaks \(VOX_ABI_MAJOR).\(VOX_ABI_MINOR): major versions must match; rebuild the plugin against this voxd's vox_plugin.h")
        }
        guard desc.abi_minor <= UInt32(VOX_ABI_MINOR) else {
            throw fail("plugin ABI is \(desc.abi_major).\(desc.abi_minor), newer than voxd's \(VOX_ABI_MAJOR).\(VOX_ABI_MINOR); upgrade voxd")
        }
        guard let namePtr = desc.name else { throw fail("descriptor has no name") }
        let name = String(cString: namePtr)
        guard PluginConfig.isValidName(name) else { throw fail("descriptor name \"\(name)\" is not [a-z0-9_-]{1,64}") }
        if let expectedName, expectedName != name {
            throw fail("descriptor name \"\(name)\" does not match its config file \"\(expectedName).toml\"")
        }
        guard let versionPtr = desc.version else { throw fail("descriptor has no version") }
        if let rt = desc.swift_runtime {
            let theirs = String(cString: rt)
            let ours = String(cString: vox_swift_toolchain_id())
            guard theirs == ours else {
                throw fail("built with Swift toolchain \"\(theirs)\" but voxd runs \"\(ours)\"; Swift has no stable ABI on Linux: rebuild the plugin with voxd's toolchain, or link it with -static-stdlib")
            }
        }
        guard let vt = desc.vtable else { throw fail("descriptor has no vtable") }
        let vsize = Int(vt.pointee.struct_size)
        let vmin = MemoryLayout<vox_plugin_vtable>.offset(of: \vox_plugin_vtable.op_finish_input)! + MemoryLayout<UnsafeRawPointer>.size
        guard vsize >= vmin, vsize <= MemoryLayout<vox_plugin_vtable>.size else {
            throw fail("vtable struct_size \(vsize) is outside ABI 1.0's \(vmin)…\(MemoryLayout<vox_plugin_vtable>.size) bytes")
        }
        var vtable = vox_plugin_vtable()
        withUnsafeMutableBytes(of: &vtable) { $0.copyMemory(from: UnsafeRawBufferPointer(start: vt, count: vsize)) }
        let missing = requiredSlots.filter { !vtable[keyPath: $0.1] }.map(\.0)
        guard missing.isEmpty else { throw fail("vtable lacks required function(s): \(missing.joined(separator: ", "))") }
        if (vtable.op_push == nil) != (vtable.op_finish_input == nil) {
            throw fail("vtable sets only one of op_push and op_finish_input")
        }
        return PluginImage(originalPath: path, loadedPath: copy, sha256: sha256, fingerprint: fingerprint, name: name,
                           version: String(cString: versionPtr), vendor: desc.vendor.map { String(cString: $0) } ?? "unknown",
                           description: desc.description.map { String(cString: $0) }, abiMinor: desc.abi_minor, vtable: vtable)
    }
}

private func dlerrorString() -> String {
    dlerror().map { String(cString: $0) } ?? "unknown error"
}

extension vox_plugin_vtable {
    var hasCreate: Bool { create != nil }
    var hasDestroy: Bool { destroy != nil }
    var hasCapabilities: Bool { capabilities != nil }
    var hasOpStart: Bool { op_start != nil }
    var hasOpCancel: Bool { op_cancel != nil }
    var hasOpRelease: Bool { op_release != nil }
}

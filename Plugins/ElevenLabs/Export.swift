import CVoxPlugin
import VoxPluginKit

/// The plugin's one exported symbol (see vox_plugin.h).
@_cdecl("vox_plugin_entry")
public func voxPluginEntry(_ major: UInt32, _ minor: UInt32, _ host: UnsafePointer<vox_host_api>?,
                           _ error: UnsafeMutablePointer<vox_type_error>?) -> UnsafePointer<vox_plugin_descriptor>? {
    VoxPluginExport.entry(ElevenLabsPlugin.self, major, minor, host, error)
}

/// A Swift voxd plugin: one type with async methods. Implement what your
/// capabilities declare; the rest answers `unsupported`. Export it with
///
/// ```swift
/// @_cdecl("vox_plugin_entry")
/// public func voxPluginEntry(_ major: UInt32, _ minor: UInt32, _ host: UnsafePointer<vox_host_api>?,
///                            _ error: UnsafeMutablePointer<vox_type_error>?) -> UnsafePointer<vox_plugin_descriptor>? {
///     VoxPluginExport.entry(MyPlugin.self, major, minor, host, error)
/// }
/// ```
///
/// Threading: every method may run concurrently with the others. An
/// operation's method runs on the host's event loops: it starts on the loop
/// that asked for it, just after `op_start` returns there, and goes on where
/// the host's answers arrive (`HostExecutor`, built on the host's
/// `run_soon`; with a host older than ABI 1.2 it starts on the calling
/// thread and goes on on Swift's pool). Those threads also carry the host's
/// I/O, so do not block in them: long synchronous work belongs on your own
/// thread (see `PluginContext.runBlocking`).
/// Cancellation: when the host cancels an operation its task is cancelled;
/// check `Task.checkCancellation()` or let `AudioOutput.write` throw.
public protocol VoxPlugin: AnyObject, Sendable {
    /// Name (matches plugins.d/NAME.toml), version, vendor, description.
    static var info: PluginInfo { get }

    /// Creates an instance from its settings. Throw `VoxPluginError` to refuse
    /// (e.g. `.invalidRequest("settings.rate: must be 8000…48000")`).
    init(context: PluginContext) throws

    /// What this instance can do. Read once, right after init.
    var capabilities: Capabilities { get }

    func synthesize(_ request: SynthesisRequest, output: AudioOutput) async throws -> OperationResult
    func transcribe(_ request: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult
    func streamTranscription(_ request: TranscriptionRequest, input: AudioInputStream, output: EventOutput) async throws -> OperationResult
    /// The OpenAI chat request object; emit `delta` / `tool_call` events.
    func chat(_ request: JSONValue, output: EventOutput) async throws -> OperationResult
    func listModels(_ request: ModelListRequest) async throws -> [ModelInfo]
    func listVoices(_ request: VoiceListRequest) async throws -> [Voice]
    func cloneVoice(_ request: VoiceCloneRequest, audio: AudioData) async throws -> Voice

    /// Called once before the instance is destroyed, after its last operation.
    func shutdown()
}

public struct PluginInfo: Sendable {
    public var name: String
    public var version: String
    public var vendor: String
    public var description: String?
    public init(name: String, version: String, vendor: String, description: String? = nil) {
        self.name = name; self.version = version; self.vendor = vendor; self.description = description
    }
}

extension VoxPlugin {
    public func synthesize(_ request: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
        throw VoxPluginError.unsupported("\(Self.info.name) does not synthesize speech")
    }
    public func transcribe(_ request: TranscriptionRequest, audio: AudioData, output: EventOutput) async throws -> OperationResult {
        throw VoxPluginError.unsupported("\(Self.info.name) does not transcribe files")
    }
    public func streamTranscription(_ request: TranscriptionRequest, input: AudioInputStream, output: EventOutput) async throws -> OperationResult {
        throw VoxPluginError.unsupported("\(Self.info.name) does not transcribe streams")
    }
    public func chat(_ request: JSONValue, output: EventOutput) async throws -> OperationResult {
        throw VoxPluginError.unsupported("\(Self.info.name) does not chat")
    }
    public func listModels(_ request: ModelListRequest) async throws -> [ModelInfo] {
        capabilities.models ?? []
    }
    public func listVoices(_ request: VoiceListRequest) async throws -> [Voice] {
        throw VoxPluginError.unsupported("\(Self.info.name) does not list voices")
    }
    public func cloneVoice(_ request: VoiceCloneRequest, audio: AudioData) async throws -> Voice {
        throw VoxPluginError.unsupported("\(Self.info.name) does not clone voices")
    }
    public func shutdown() {}
}

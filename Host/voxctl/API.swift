import Foundation

// The daemon's JSON documents, as far as voxctl's human output needs them. Every field is
// optional so that an older or newer daemon still gets a readable table; --json prints the
// daemon's own bytes, never these types.

struct PluginInfo: Decodable {
    var name: String
    var state: String?
    var enabled: Bool?
    var error: String?
    /// The last reload's failure for a plugin that kept running its previous version.
    var reloadError: String?
    var version: String?
    var vendor: String?
    var description: String?
    var library: String?
    var loadedFrom: String?
    var sha256: String?
    var configFile: String?
    var abi: String?
    var inFlight: Int?
    var operations: [String]?
    var misbehaviours: Int?
    var lastMisbehaviour: String?

    enum CodingKeys: String, CodingKey {
        case name, state, enabled, error, version, vendor, description, library, sha256, abi, operations, misbehaviours
        case reloadError = "reload_error"
        case loadedFrom = "loaded_from"
        case configFile = "config_file"
        case inFlight = "in_flight"
        case lastMisbehaviour = "last_misbehaviour"
    }
}

struct PluginList: Decodable {
    var plugins: [PluginInfo]
}

struct DaemonStatus: Decodable {
    var version: String?
    var abi: String?
    var uptimeSeconds: Double?
    var startedAt: String?
    var pid: Int?
    var socket: String?
    var stateDir: String?
    var configFile: String?
    var pluginsDir: String?
    var plugins: [PluginInfo]?

    enum CodingKeys: String, CodingKey {
        case version, abi, pid, socket, plugins
        case uptimeSeconds = "uptime_seconds"
        case startedAt = "started_at"
        case stateDir = "state_dir"
        case configFile = "config_file"
        case pluginsDir = "plugins_dir"
    }
}

struct ReloadResult: Decodable {
    struct Failure: Decodable {
        var name: String
        var error: String?
    }
    var loaded: [String]?
    var unloaded: [String]?
    var reloaded: [String]?
    var unchanged: [String]?
    var failed: [Failure]?
    /// E.g. that etc/voxd.toml changed and needs a restart.
    var notes: [String]?
}

struct CapabilityMatrix: Decodable {
    struct Model: Decodable { var id: String }
    struct Provider: Decodable {
        var provider: String
        /// Operation name → its capability object (contents not needed for the matrix).
        var operations: [String: Ignored]?
        var models: [Model]?
        var defaultModel: String?
        var defaultVoice: String?
        var languages: [String]?

        enum CodingKeys: String, CodingKey {
            case provider, operations, models, languages
            case defaultModel = "default_model"
            case defaultVoice = "default_voice"
        }
    }
    var providers: [Provider]
}

struct ModelList: Decodable {
    struct Model: Decodable {
        var id: String
        var ownedBy: String?
        var created: Int?

        enum CodingKeys: String, CodingKey {
            case id, created
            case ownedBy = "owned_by"
        }
    }
    var data: [Model]
}

struct VoiceList: Decodable {
    struct Voice: Decodable {
        var id: String
        var provider: String?
        var name: String?
        var languages: [String]?
        var gender: String?
        var age: String?
        var description: String?
        var custom: Bool?
        /// Served from the cache because the provider could not be asked this time.
        var stale: Bool?
    }
    var voices: [Voice]
    /// Provider → why its voices could not be listed.
    var errors: [String: String]?
}

/// The body of POST /v1/audio/speech (nil fields are left out, so the daemon picks its defaults).
struct SpeechRequest: Encodable {
    var model: String?
    var input: String
    var voice: String?
    var responseFormat: String
    var speed: Double?

    enum CodingKeys: String, CodingKey {
        case model, input, voice, speed
        case responseFormat = "response_format"
    }
}

/// Decodes (and discards) any JSON value.
struct Ignored: Decodable {
    init(from decoder: Decoder) throws {}
}

/// Decodes a daemon answer for human output; a mismatch means voxctl and voxd disagree on the API.
func decodeAnswer<T: Decodable>(_ type: T.Type, from data: Data, endpoint: String) throws -> T {
    do {
        return try JSONDecoder().decode(type, from: data)
    } catch {
        throw VoxCtlError(
            "unexpected answer from voxd for \(endpoint) (\(describeDecodingError(error))); "
                + "is voxctl the same version as voxd? --json shows the raw answer")
    }
}

private func describeDecodingError(_ error: Error) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return keys.isEmpty ? "top level" : keys.joined(separator: ".")
    }
    switch error {
    case DecodingError.keyNotFound(let key, let context): return "missing \(key.stringValue) at \(path(context))"
    case DecodingError.typeMismatch(_, let context): return "wrong type at \(path(context))"
    case DecodingError.valueNotFound(_, let context): return "null at \(path(context))"
    case DecodingError.dataCorrupted(let context): return "not JSON at \(path(context))"
    default: return "\(error)"
    }
}

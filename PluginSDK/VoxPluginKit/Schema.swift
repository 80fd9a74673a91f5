import CVoxPlugin

// The JSON shapes of PluginSDK/SCHEMAS.md as Codable types. Both sides of the
// ABI use these: plugins to write them, the host to read them. Coded with
// VoxJSON (snake_case keys); unknown members are ignored when reading.

/// Audio encodings (vox_type_audio_encoding), by their wire names.
public enum AudioEncoding: String, Codable, Sendable, CaseIterable {
    case pcmS16LE = "pcm_s16le", pcmF32LE = "pcm_f32le", wav, mp3, opus, mulaw, alaw, flac, aac, webm

    public init?(abi raw: UInt32) {
        switch raw {
        case VOX_AUDIO_PCM_S16LE.rawValue: self = .pcmS16LE
        case VOX_AUDIO_PCM_F32LE.rawValue: self = .pcmF32LE
        case VOX_AUDIO_WAV.rawValue: self = .wav
        case VOX_AUDIO_MP3.rawValue: self = .mp3
        case VOX_AUDIO_OPUS.rawValue: self = .opus
        case VOX_AUDIO_MULAW.rawValue: self = .mulaw
        case VOX_AUDIO_ALAW.rawValue: self = .alaw
        case VOX_AUDIO_FLAC.rawValue: self = .flac
        case VOX_AUDIO_AAC.rawValue: self = .aac
        case VOX_AUDIO_WEBM.rawValue: self = .webm
        default: return nil
        }
    }

    public var abi: UInt32 {
        switch self {
        case .pcmS16LE: return VOX_AUDIO_PCM_S16LE.rawValue
        case .pcmF32LE: return VOX_AUDIO_PCM_F32LE.rawValue
        case .wav: return VOX_AUDIO_WAV.rawValue
        case .mp3: return VOX_AUDIO_MP3.rawValue
        case .opus: return VOX_AUDIO_OPUS.rawValue
        case .mulaw: return VOX_AUDIO_MULAW.rawValue
        case .alaw: return VOX_AUDIO_ALAW.rawValue
        case .flac: return VOX_AUDIO_FLAC.rawValue
        case .aac: return VOX_AUDIO_AAC.rawValue
        case .webm: return VOX_AUDIO_WEBM.rawValue
        }
    }
}

/// Encoding, sample rate and channels of a run of audio bytes.
public struct AudioFormat: Codable, Hashable, Sendable {
    enum CodingKeys: String, CodingKey { case encoding; case sampleRate = "sample_rate"; case channels }
    public var encoding: AudioEncoding
    public var sampleRate: Int?
    public var channels: Int?

    public init(encoding: AudioEncoding, sampleRate: Int? = nil, channels: Int? = nil) {
        self.encoding = encoding
        self.sampleRate = sampleRate
        self.channels = channels
    }

    public var abi: vox_type_audio_format {
        vox_type_audio_format(struct_size: UInt32(MemoryLayout<vox_type_audio_format>.size), encoding: encoding.abi,
                              sample_rate: UInt32(sampleRate ?? 0), channels: UInt32(channels ?? 0))
    }

    public init?(abi f: UnsafePointer<vox_type_audio_format>?) {
        guard let f, let enc = AudioEncoding(abi: f.pointee.encoding) else { return nil }
        self.init(encoding: enc, sampleRate: f.pointee.sample_rate == 0 ? nil : Int(f.pointee.sample_rate),
                  channels: f.pointee.channels == 0 ? nil : Int(f.pointee.channels))
    }
}

/// VoxOperation names used in capabilities (`operations` keys).
public enum VoxOperation: String, Codable, Sendable, CaseIterable {
    case ttsSynthesize = "tts.synthesize"
    case sttTranscribe = "stt.transcribe"
    case sttStream = "stt.stream"
    case llmChat = "llm.chat"
    case realtime
    case voicesList = "voices.list"
    case modelsList = "models.list"
    case voicesClone = "voices.clone"
}

public struct OperationCapability: Codable, Hashable, Sendable {
    enum CodingKeys: String, CodingKey { case stream; case formats; case sampleRates = "sample_rates"; case tools; case custom; case clone }
    public var stream: Bool?
    public var formats: [AudioEncoding]?
    public var sampleRates: [Int]?
    public var tools: Bool?
    public var custom: Bool?
    public var clone: Bool?

    public init(stream: Bool? = nil, formats: [AudioEncoding]? = nil, sampleRates: [Int]? = nil,
                tools: Bool? = nil, custom: Bool? = nil, clone: Bool? = nil) {
        self.stream = stream; self.formats = formats; self.sampleRates = sampleRates
        self.tools = tools; self.custom = custom; self.clone = clone
    }
}

public struct ModelInfo: Codable, Hashable, Sendable {
    enum CodingKeys: String, CodingKey { case id; case operations; case languages; case defaultVoice = "default_voice"; case description }
    public var id: String
    public var operations: [VoxOperation]?
    public var languages: [String]?
    public var defaultVoice: String?
    public var description: String?

    public init(id: String, operations: [VoxOperation]? = nil, languages: [String]? = nil,
                defaultVoice: String? = nil, description: String? = nil) {
        self.id = id; self.operations = operations; self.languages = languages
        self.defaultVoice = defaultVoice; self.description = description
    }
}

public struct Price: Codable, Hashable, Sendable {
    enum CodingKeys: String, CodingKey { case operation; case model; case unit; case usdPerUnit = "usd_per_unit"; case source }
    public var operation: VoxOperation
    public var model: String?
    public var unit: String
    public var usdPerUnit: Double
    public var source: String?

    public init(operation: VoxOperation, model: String? = "*", unit: String, usdPerUnit: Double, source: String? = nil) {
        self.operation = operation; self.model = model; self.unit = unit
        self.usdPerUnit = usdPerUnit; self.source = source
    }
}

/// What a plugin instance can do (the `capabilities` vtable slot).
public struct Capabilities: Codable, Hashable, Sendable {
    enum CodingKeys: String, CodingKey { case operations; case models; case defaultModel = "default_model"; case defaultVoice = "default_voice"; case languages; case prices }
    public var operations: [String: OperationCapability]
    public var models: [ModelInfo]?
    public var defaultModel: String?
    public var defaultVoice: String?
    public var languages: [String]?
    public var prices: [Price]?

    public init(operations: [VoxOperation: OperationCapability], models: [ModelInfo]? = nil, defaultModel: String? = nil,
                defaultVoice: String? = nil, languages: [String]? = nil, prices: [Price]? = nil) {
        self.operations = Dictionary(uniqueKeysWithValues: operations.map { ($0.key.rawValue, $0.value) })
        self.models = models; self.defaultModel = defaultModel; self.defaultVoice = defaultVoice
        self.languages = languages; self.prices = prices
    }

    public func supports(_ op: VoxOperation) -> Bool { operations[op.rawValue] != nil }
    public subscript(op: VoxOperation) -> OperationCapability? { operations[op.rawValue] }
}

public struct Voice: Codable, Hashable, Sendable {
    enum CodingKeys: String, CodingKey { case id; case name; case languages; case gender; case age; case accent; case description; case model; case custom; case previewUrl = "preview_url" }
    public var id: String
    public var name: String?
    public var languages: [String]?
    public var gender: String?
    public var age: String?
    public var accent: String?
    public var description: String?
    public var model: String?
    public var custom: Bool?
    public var previewUrl: String?

    public init(id: String, name: String? = nil, languages: [String]? = nil, gender: String? = nil, age: String? = nil,
                accent: String? = nil, description: String? = nil, model: String? = nil, custom: Bool? = nil,
                previewUrl: String? = nil) {
        self.id = id; self.name = name; self.languages = languages; self.gender = gender; self.age = age
        self.accent = accent; self.description = description; self.model = model; self.custom = custom
        self.previewUrl = previewUrl
    }
}

/// Billing units of one operation, in the provider's own units.
public struct Usage: Codable, Hashable, Sendable {
    enum CodingKeys: String, CodingKey { case characters; case audioSeconds = "audio_seconds"; case inputTokens = "input_tokens"; case outputTokens = "output_tokens"; case requests }
    public var characters: Int?
    public var audioSeconds: Double?
    public var inputTokens: Int?
    public var outputTokens: Int?
    public var requests: Int?

    public init(characters: Int? = nil, audioSeconds: Double? = nil, inputTokens: Int? = nil,
                outputTokens: Int? = nil, requests: Int? = nil) {
        self.characters = characters; self.audioSeconds = audioSeconds
        self.inputTokens = inputTokens; self.outputTokens = outputTokens; self.requests = requests
    }
}

/// What op_done carries.
public struct OperationResult: Codable, Hashable, Sendable {
    enum CodingKeys: String, CodingKey { case usage; case finishReason = "finish_reason" }
    public var usage: Usage?
    public var finishReason: String?
    public init(usage: Usage? = nil, finishReason: String? = nil) { self.usage = usage; self.finishReason = finishReason }
}

// MARK: - Requests

public struct SynthesisRequest: Codable, Hashable, Sendable {
    public var model: String?
    public var input: String
    public var voice: String?
    public var language: String?
    public var speed: Double?
    public var format: AudioFormat?
    public var options: JSONValue?

    public init(model: String? = nil, input: String, voice: String? = nil, language: String? = nil,
                speed: Double? = nil, format: AudioFormat? = nil, options: JSONValue? = nil) {
        self.model = model; self.input = input; self.voice = voice; self.language = language
        self.speed = speed; self.format = format; self.options = options
    }
}

public struct TranscriptionRequest: Codable, Hashable, Sendable {
    enum CodingKeys: String, CodingKey {
        case model, language, prompt, format, options, temperature
        case interimResults = "interim_results"
        case timestampGranularities = "timestamp_granularities"
        case fileName = "file_name"
    }
    public var model: String?
    public var language: String?
    public var prompt: String?
    public var interimResults: Bool?
    public var format: AudioFormat?
    /// Sampling temperature 0–1, when the client set one.
    public var temperature: Double?
    /// "word" and/or "segment": the timestamps the client asked for.
    public var timestampGranularities: [String]?
    /// The client's name for the uploaded file (a hint for container types).
    public var fileName: String?
    public var options: JSONValue?
    public init(model: String? = nil, language: String? = nil, prompt: String? = nil) {
        self.model = model; self.language = language; self.prompt = prompt
    }
}

public struct VoiceListRequest: Codable, Hashable, Sendable {
    enum CodingKeys: String, CodingKey { case model; case language; case includeCustom = "include_custom"; case refresh }
    public var model: String?
    public var language: String?
    public var includeCustom: Bool?
    public var refresh: Bool?
    public init(model: String? = nil, language: String? = nil, includeCustom: Bool? = nil, refresh: Bool? = nil) {
        self.model = model; self.language = language; self.includeCustom = includeCustom; self.refresh = refresh
    }
}

public struct ModelListRequest: Codable, Hashable, Sendable {
    public var refresh: Bool?
    public init(refresh: Bool? = nil) { self.refresh = refresh }
}

public struct VoiceCloneRequest: Codable, Hashable, Sendable {
    public var name: String
    public var description: String?
    public var labels: [String: String]?
}

/// A whole audio file handed to an operation.
public struct AudioData: Sendable {
    public var format: AudioFormat?
    public var bytes: [UInt8]
    public init(format: AudioFormat?, bytes: [UInt8]) { self.format = format; self.bytes = bytes }
}

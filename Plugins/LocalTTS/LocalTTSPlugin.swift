import CVoxPlugin
import Foundation
import VoxPluginKit

/// LocalTTS: offline speech with espeak-ng linked in-process. Voices are the
/// engine's own (discovered from its data), or described in words
/// ("a calm elderly man, slow"). Audio streams as the engine makes it.
///
/// Settings (plugins.d/localtts.toml `[settings]`, all optional):
/// - `data_path`: espeak-ng data folder (default: the engine's own search).
/// - `default_voice`: a voice id (default "en-us").
/// - `max_concurrent`: syntheses at once, 1…16 (default 2; the engine itself
///   is serial, so this bounds queued work per request).
/// - `max_queued`: requests waiting beyond that, 0…1024 (default 32); more
///   are refused with rate_limited.
final class LocalTTSPlugin: VoxPlugin {
    static let info = PluginInfo(name: "localtts", version: "1.0.0", vendor: "voxd project",
                                 description: "Offline text-to-speech: espeak-ng in-process, engine and description voices")
    static let model = "espeak-ng"

    let context: PluginContext
    let engine: EspeakEngine
    let defaultVoice: EngineVoice
    let limiter: ConcurrencyLimiter
    let capabilities: Capabilities

    init(context: PluginContext) throws {
        self.context = context
        let s = context.settings
        let known: Set<String> = ["data_path", "default_voice", "max_concurrent", "max_queued"]
        for key in (s.objectValue ?? [:]).keys where !known.contains(key) {
            throw VoxPluginError.invalidRequest("settings.\(key): unknown setting (known: \(known.sorted().joined(separator: ", ")))")
        }
        func int(_ key: String, _ range: ClosedRange<Int>, _ dflt: Int) throws -> Int {
            guard let v = s[key] else { return dflt }
            guard let i = v.intValue, range.contains(i) else {
                throw VoxPluginError.invalidRequest("settings.\(key): must be an integer in \(range.lowerBound)…\(range.upperBound)")
            }
            return i
        }
        let maxConcurrent = try int("max_concurrent", 1...16, 2)
        let maxQueued = try int("max_queued", 0...1024, 32)
        do { engine = try EspeakEngine(dataPath: s["data_path"]?.stringValue) } catch {
            throw VoxPluginError.unavailable("espeak-ng failed to start: \(error)")
        }
        let wanted = s["default_voice"]?.stringValue ?? "en-us"
        guard let dv = engine.voice(matching: wanted) ?? engine.voices().first(where: { $0.languages.contains { $0.hasPrefix("en") } }) ?? engine.voices().first else {
            throw VoxPluginError.unavailable("espeak-ng found no voices in its data")
        }
        if s["default_voice"] != nil, engine.voice(matching: wanted) == nil {
            throw VoxPluginError.invalidRequest("settings.default_voice: no voice \"\(wanted)\" (GET /v1/voices?provider=localtts lists them)")
        }
        defaultVoice = dv
        limiter = ConcurrencyLimiter(running: maxConcurrent, queued: maxQueued)
        let languages = Array(Set(engine.voices().flatMap(\.languages))).sorted()
        capabilities = Capabilities(
            operations: [
                .ttsSynthesize: OperationCapability(stream: true, formats: [.pcmS16LE], sampleRates: [engine.sampleRate]),
                .voicesList: OperationCapability(custom: false, clone: false),
            ],
            models: [ModelInfo(id: Self.model, operations: [.ttsSynthesize], languages: languages, defaultVoice: dv.id,
                               description: "espeak-ng \(engine.version) formant synthesis; voices by id or by description")],
            defaultModel: Self.model,
            defaultVoice: dv.id,
            languages: languages,
            prices: [Price(operation: .ttsSynthesize, unit: "character", usdPerUnit: 0, source: "local engine, no charge")]
        )
        context.log(.info, "localtts ready: espeak-ng \(engine.version), \(engine.voices().count) voices, \(engine.sampleRate) Hz, default voice \(dv.id)")
    }

    func listVoices(_ request: VoiceListRequest) async throws -> [Voice] {
        engine.voices().map { v in
            Voice(id: v.id, name: v.name, languages: v.languages, gender: v.gender,
                  age: v.age.map { $0 < 20 ? "young" : $0 < 60 ? "middle_aged" : "old" },
                  description: "espeak-ng voice \(v.identifier)", model: Self.model, custom: false)
        }
    }

    func synthesize(_ request: SynthesisRequest, output: AudioOutput) async throws -> OperationResult {
        if let m = request.model, m != Self.model {
            throw VoxPluginError.notFound("localtts has no model \"\(m)\"; its model is \(Self.model)")
        }
        var (selection, voiceName) = try select(request.voice, language: request.language)
        if let speed = request.speed {
            guard (0.25...4.0).contains(speed) else { throw VoxPluginError.invalidRequest("speed must be in 0.25…4.0") }
            selection.rateWPM = Int((Double(selection.rateWPM) * speed).rounded())
        }
        try await limiter.acquire()
        // Released before the result is reported: the next request finds the slot free.
        defer { limiter.release() }
        try await output.metadata(model: Self.model, voice: voiceName)
        let engine = self.engine
        let rate = engine.sampleRate
        let text = request.input
        let chosen = selection
        let stats = try await context.runBlocking {
            try engine.synthesize(text: text, selection: chosen) { chunk in
                output.writeBlocking(samples: chunk, sampleRate: rate)
            }
        }
        if stats.aborted || output.isCancelled { throw CancellationError() }
        guard stats.samples > 0 else { throw VoxPluginError.unavailable("espeak-ng produced no audio for this input") }
        return OperationResult(usage: Usage(characters: text.count, audioSeconds: stats.duration))
    }

    /// A voice id, a description in words, or the default.
    private func select(_ voice: String?, language: String?) throws -> (VoiceSelection, String) {
        guard let voice, !voice.isEmpty else {
            return (VoiceSelection(voiceIdentifier: defaultVoice.identifier), defaultVoice.id)
        }
        if let v = engine.voice(matching: voice) {
            // "en-us+f3": the engine's named variant on top of the voice.
            let variant = voice.split(separator: "+", maxSplits: 1).dropFirst().first.map(String.init)
            if let variant, !engine.variants().contains(variant) {
                throw VoxPluginError.notFound("localtts has no voice variant \"\(variant)\"; variants: \(engine.variants().prefix(12).joined(separator: ", "))…")
            }
            return (VoiceSelection(voiceIdentifier: v.identifier, variantName: variant), variant.map { "\(v.id)+\($0)" } ?? v.id)
        }
        if voice.contains(where: \.isWhitespace) {
            do {
                let description = try VoiceDescription.interpret(voice, baseLanguage: language ?? "en")
                return (description.selection, "described: \(description.summary())")
            } catch {
                throw VoxPluginError.invalidRequest("\(error)")
            }
        }
        throw VoxPluginError.notFound("localtts has no voice \"\(voice)\"; use a voice id from GET /v1/voices?provider=localtts (e.g. \(defaultVoice.id)) or describe one in words, e.g. \"a calm elderly man\"")
    }
}

/// Bounds concurrent syntheses and the queue in front of them. A lock, not an
/// actor, so that `release` takes effect before the operation that held the
/// slot reports its end.
final class ConcurrencyLimiter: @unchecked Sendable {
    private let maxRunning: Int
    private let maxQueued: Int
    private let lock = NSLock()
    private var running = 0
    private var waiting: [CheckedContinuation<Void, any Error>] = []

    init(running: Int, queued: Int) {
        maxRunning = running
        maxQueued = queued
    }

    func acquire() async throws {
        let granted: Bool = lock.withLock {
            guard running < maxRunning else { return false }
            running += 1
            return true
        }
        if granted { return }
        // Decided again under the lock: a slot may have freed, or the queue
        // filled, since. release() hands its slot over directly.
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            enum Decision { case granted, refused, queued }
            let decision: Decision = lock.withLock {
                if running < maxRunning { running += 1; return .granted }
                guard waiting.count < maxQueued else { return .refused }
                waiting.append(c)
                return .queued
            }
            switch decision {
            case .granted: c.resume()
            case .refused: c.resume(throwing: busy)
            case .queued: break
            }
        }
    }

    private var busy: VoxPluginError {
        VoxPluginError(.rateLimited, "localtts is busy: \(maxRunning) running and \(maxQueued) queued (settings.max_concurrent, settings.max_queued)", retryAfterMs: 1000)
    }

    func release() {
        let next: CheckedContinuation<Void, any Error>? = lock.withLock {
            if waiting.isEmpty { running -= 1; return nil }
            return waiting.removeFirst()
        }
        next?.resume()
    }
}

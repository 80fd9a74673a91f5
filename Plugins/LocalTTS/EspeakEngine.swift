// In-process espeak-ng engine for the LocalTTS plugin.
//
// espeak-ng (1.51) is one global C state machine: one data path, one output
// buffer, one current voice, one parameter stack, one synth callback, and
// nothing in it is re-entrant or thread-safe. This file wraps it so that:
//
//   * it is initialised at most once per process (EspeakRuntime.shared); every
//     EspeakEngine is a handle onto that one runtime;
//   * EVERY espeak call (init, voice listing, voice selection, parameters,
//     synthesis) runs on one dedicated worker thread, "espeak-ng", owned by the
//     runtime. Jobs are queued FIFO and run one at a time;
//   * callers of `synthesize` block until their job has finished. Call it from
//     your own background threads (a Thread, a DispatchQueue), never from a
//     Swift-concurrency executor thread (an async function, an actor): the
//     wait would pin a cooperative-pool thread for the length of the job and
//     of every job queued before it;
//   * each job sets the voice and all four prosody parameters itself, so no
//     setting leaks from one job into the next.
//
// No dependency on the plugin kit: plain Swift + Foundation + CEspeakNG.

import CEspeakNG
import Foundation

// MARK: - Public (internal) value types

/// An error from the espeak-ng layer. `status` is espeak's own status code
/// (an `espeak_ng_STATUS`, or an errno value below 256) when espeak reported one.
struct EspeakError: Error, CustomStringConvertible, Equatable {
    enum Kind: String, Sendable {
        /// espeak-ng could not be initialised (data missing, wrong version, …).
        case initialization
        /// The data path given to `EspeakEngine(dataPath:)` holds no espeak-ng data.
        case dataPathMissing
        /// No espeak voice or variant matches the selection.
        case voiceNotFound
        /// A selection field is malformed (not clamped: unusable, e.g. a bad language tag).
        case invalidArgument
        /// espeak_ng_Synthesize / espeak_ng_SetParameter failed.
        case synthesis
        /// `synthesize` was called from the engine thread itself (from inside onChunk).
        case reentrantCall
    }

    let kind: Kind
    let message: String
    /// espeak-ng status code, when espeak reported one.
    let status: UInt32?

    init(_ kind: Kind, _ message: String, status: UInt32? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
    }

    var description: String {
        guard let status else { return "espeak-ng: \(message)" }
        return "espeak-ng: \(message) (status 0x\(String(status, radix: 16)): \(EspeakError.statusText(status)))"
    }

    /// espeak-ng's own text for a status code ("Voice not found", "No such file or directory", …).
    static func statusText(_ status: UInt32) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        espeak_ng_GetStatusCodeMessage(espeak_ng_STATUS(rawValue: status), &buffer, buffer.count)
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return text.isEmpty ? "unknown status" : text
    }
}

/// One voice espeak-ng can speak with, as discovered by `espeak_ListVoices(NULL)`.
struct EngineVoice: Sendable, Hashable, Codable {
    /// Stable, URL-safe, unique id: the voice's lowercase primary language tag
    /// ("en-us", "de", "fr-fr"); when two voices share a primary tag, the one
    /// whose file is named after the tag keeps it and the other falls back to
    /// its sanitised file name ("yue-latn-jyutping"). Only [a-z0-9-].
    let id: String
    /// Human name from the voice file ("English (America)").
    let name: String
    /// espeak's identifier (path below espeak-ng-data/{voices,lang}): "gmw/en-US".
    /// Pass it (or `id`) as `VoiceSelection.voiceIdentifier`.
    let identifier: String
    /// Languages the voice speaks, lowercase BCP47-ish, in the voice file's
    /// order (primary first): ["en-us", "en"].
    let languages: [String]
    /// "male" / "female" as declared by espeak (espeak 1.51 declares every
    /// language voice "male"; female sound comes from variants), or nil.
    let gender: String?
    /// Age declared by the voice file, if any.
    let age: Int?
}

/// What to speak with. Plain data; validated and clamped per job.
struct VoiceSelection: Sendable, Hashable {
    /// espeak voice to use: an `EngineVoice.id` ("en-us"), an espeak identifier
    /// ("gmw/en-US"), a voice name ("English (America)"); an optional "+variant"
    /// suffix ("gmw/en-US+f3") is allowed. When set, selection is by name and
    /// `language`, `gender`, `age`, `variant` are ignored.
    var voiceIdentifier: String?
    /// BCP47-ish language tag ("en", "en-US", "pt_BR") for selection by properties.
    /// nil → espeak's default ("en").
    var language: String?
    /// 0 any, 1 male, 2 female.
    var gender: Int
    /// Age in years, 0 any. espeak picks a child-like (female) variant below 13 and
    /// an older variant from 60 up.
    var age: Int
    /// Index into espeak's ranked candidate list (0 = best match); espeak uses it to
    /// step through its m1…m6 / f1…f4 variants.
    var variant: Int
    /// Optional named espeak variant (a file in espeak-ng-data/voices/!v, e.g.
    /// "whisper", "whisperf", "croak", "f3", "m3"). Applied on top of the voice
    /// chosen by `voiceIdentifier`, or by `language` (then `gender`, `age` and
    /// `variant` are ignored: the variant defines them).
    var variantName: String?
    /// Words per minute, espeak 80...450 (clamped). Default 175.
    var rateWPM: Int
    /// Base pitch 0...100 (clamped), 50 normal.
    var pitch: Int
    /// Pitch range 0...100 (clamped), 0 monotone, 50 normal.
    var pitchRange: Int
    /// Volume 0...200 (clamped), 100 normal; above 100 may compress/distort.
    var volume: Int

    static let rateLimits = Int(espeakRATE_MINIMUM)...Int(espeakRATE_MAXIMUM)
    static let pitchLimits = 0...100
    static let pitchRangeLimits = 0...100
    static let volumeLimits = 0...200
    static let defaultRate = Int(espeakRATE_NORMAL)

    init(
        voiceIdentifier: String? = nil,
        language: String? = nil,
        gender: Int = 0,
        age: Int = 0,
        variant: Int = 0,
        variantName: String? = nil,
        rateWPM: Int = VoiceSelection.defaultRate,
        pitch: Int = 50,
        pitchRange: Int = 50,
        volume: Int = 100
    ) {
        self.voiceIdentifier = voiceIdentifier
        self.language = language
        self.gender = gender
        self.age = age
        self.variant = variant
        self.variantName = variantName
        self.rateWPM = rateWPM
        self.pitch = pitch
        self.pitchRange = pitchRange
        self.volume = volume
    }

    /// The selection with every numeric field clamped to what espeak accepts.
    func clamped() -> VoiceSelection {
        var s = self
        s.gender = (0...2).contains(gender) ? gender : 0
        s.age = min(max(age, 0), 255)
        s.variant = min(max(variant, 0), 255)
        s.rateWPM = rateWPM.clamped(to: Self.rateLimits)
        s.pitch = pitch.clamped(to: Self.pitchLimits)
        s.pitchRange = pitchRange.clamped(to: Self.pitchRangeLimits)
        s.volume = volume.clamped(to: Self.volumeLimits)
        return s
    }
}

/// Options for one synthesis call.
struct SynthesisOptions: OptionSet, Sendable, Hashable {
    let rawValue: UInt32
    init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Interpret the text as SSML (espeakSSML). Off: plain text, '<' is literal.
    static let ssml = SynthesisOptions(rawValue: 1 << 0)
    /// Keep the sentence pause at the end of the text (espeakENDPAUSE, what the
    /// espeak-ng command line does). Off: the trailing pause is suppressed.
    static let endPause = SynthesisOptions(rawValue: 1 << 1)
}

/// What one synthesis produced.
struct SynthesisStats: Sendable, Hashable {
    /// Samples delivered to onChunk (mono Int16 at `sampleRate`).
    var samples: Int
    /// Number of non-empty chunks delivered.
    var chunks: Int
    /// True if onChunk returned false and synthesis stopped early.
    var aborted: Bool
    var sampleRate: Int
    /// espeak's name of the voice the job ended up with ("English (America)").
    var voiceName: String?
    var duration: Double { sampleRate > 0 ? Double(samples) / Double(sampleRate) : 0 }
}

// MARK: - Engine

/// Handle onto the process-wide espeak-ng runtime. Cheap to create after the
/// first one; all instances share one espeak state and one engine thread.
/// Never tears espeak down (espeak_Terminate is not safe to mix with later use).
final class EspeakEngine: @unchecked Sendable {
    /// Output sample rate reported by espeak (22050 for the standard data).
    let sampleRate: Int
    /// The espeak-ng-data directory actually in use.
    let dataPath: String
    /// espeak-ng version string ("1.51").
    let version: String

    private let runtime: EspeakRuntime
    private let state: EspeakRuntime.InitializedState

    /// Initialises espeak-ng once per process (later instances reuse it).
    /// - Parameter dataPath: directory that contains `espeak-ng-data`, or the
    ///   `espeak-ng-data` directory itself; nil → espeak's default search
    ///   (ESPEAK_DATA_PATH, $HOME, the compiled-in path).
    /// - Throws: `EspeakError` (.dataPathMissing, .initialization) — e.g. when
    ///   the path holds no data, or a different data path is already in use.
    init(dataPath: String? = nil) throws {
        runtime = EspeakRuntime.shared
        state = try runtime.initialize(dataPath: dataPath)
        sampleRate = state.sampleRate
        self.dataPath = state.dataPath
        version = state.version
    }

    /// All espeak voices (mbrola voices skipped), discovered once and cached.
    func voices() -> [EngineVoice] { state.voices }

    /// Named variants available in espeak-ng-data/voices/!v ("f1", "whisper", …).
    func variants() -> [String] { state.variantNames }

    /// Finds a voice by id, espeak identifier, name, or identifier's last path
    /// component (all case-insensitive; a "+variant" suffix is ignored).
    func voice(matching query: String) -> EngineVoice? {
        state.voice(matching: EspeakSupport.splitVariant(query).base)
    }

    /// Synthesizes `text` (UTF-8; plain text unless `.ssml`) and streams the
    /// audio to `onChunk` as espeak produces it (chunks of ≤ 50 ms,
    /// 1103 samples at 22050 Hz).
    ///
    /// Threading: the job runs on the engine thread, after any jobs queued
    /// before it; this call blocks until it is finished. `onChunk` runs on the
    /// engine thread; it may block for flow control (which holds up every later
    /// job), must not call back into the engine (that throws .reentrantCall),
    /// and must not keep the buffer pointer beyond the call. Return false to
    /// stop synthesis promptly (`SynthesisStats.aborted` is then true).
    ///
    /// Do not call from a Swift-concurrency executor thread (see file header).
    func synthesize(
        text: String,
        selection: VoiceSelection,
        options: SynthesisOptions = [],
        onChunk: (UnsafeBufferPointer<Int16>) -> Bool
    ) throws -> SynthesisStats {
        let clean = EspeakSupport.sanitizeText(text)
        let state = self.state
        return try runtime.perform {
            try EspeakRuntime.synthesizeOnWorker(
                text: clean, selection: selection.clamped(), options: options,
                state: state, onChunk: onChunk)
        }
    }
}

// MARK: - Runtime (process-wide, owns the engine thread)

/// The one espeak-ng instance of the process and the worker thread that talks to it.
private final class EspeakRuntime: @unchecked Sendable {
    static let shared = EspeakRuntime()

    /// espeak's path_home buffer is 160 bytes on POSIX and is filled with snprintf.
    private static let maxDataPathBytes = 150
    /// espeak copies voice names into 40-byte buffers (SelectVoiceByName).
    private static let maxVoiceNameBytes = 39
    /// Output buffer length requested from espeak, in ms.
    private static let bufferMilliseconds: Int32 = 50

    struct InitializedState: Sendable {
        let dataPath: String
        let sampleRate: Int
        let version: String
        let voices: [EngineVoice]
        let variantNames: [String]
        /// Per voice (same order as `voices`): language tag → espeak priority
        /// (lower is preferred).
        let languagePriorities: [[String: Int]]

        func voice(matching query: String) -> EngineVoice? {
            let q = query.trimmingCharacters(in: .whitespaces).lowercased()
            guard !q.isEmpty else { return nil }
            if let v = voices.first(where: { $0.id == q }) { return v }
            if let v = voices.first(where: { $0.identifier.lowercased() == q }) { return v }
            if let v = voices.first(where: { $0.name.lowercased() == q }) { return v }
            return voices.first(where: {
                $0.identifier.split(separator: "/").last.map { $0.lowercased() == q } ?? false
            })
        }

        /// Best voice for a language tag by espeak's priority bytes (as espeak's
        /// own selection does for "en" → English (Great Britain)): the exact tag,
        /// else a more specific tag ("en" → "en-us"), else a less specific one.
        func bestVoice(forLanguage tag: String) -> EngineVoice? {
            func best(_ matches: (String) -> Bool) -> EngineVoice? {
                var found: (voice: EngineVoice, priority: Int)?
                for (voice, priorities) in zip(voices, languagePriorities) {
                    for (language, priority) in priorities where matches(language) {
                        if found == nil || priority < found!.priority { found = (voice, priority) }
                    }
                }
                return found?.voice
            }
            if let v = best({ $0 == tag }) { return v }
            if let v = best({ $0.hasPrefix(tag + "-") }) { return v }
            var parts = tag.split(separator: "-").map(String.init)
            while parts.count > 1 {
                parts.removeLast()
                let shorter = parts.joined(separator: "-")
                if let v = best({ $0 == shorter }) { return v }
            }
            return nil
        }
    }

    private let lock = NSLock()
    private var initialized: InitializedState?          // guarded by lock
    private let queueCondition = NSCondition()
    private var queue: [Job] = []                        // guarded by queueCondition
    private var workerThreadID: pthread_t?               // written once before any job

    // Worker-thread-only state (espeak is only touched on the worker).
    /// The synthesis in progress, for the synth callback when user_data is missing.
    fileprivate nonisolated(unsafe) static var activeContext: SynthContext?
    /// C strings last handed to espeak's voice selection, kept alive until the
    /// next selection in case espeak keeps a pointer to them.
    private var retainedVoiceStrings: [UnsafeMutablePointer<CChar>] = []

    private init() {
        let started = DispatchSemaphore(value: 0)
        let thread = Thread { [unowned self] in
            self.workerThreadID = pthread_self()
            started.signal()
            self.workerLoop()
        }
        thread.name = "espeak-ng"
        thread.stackSize = 8 << 20
        thread.start()
        started.wait()
    }

    // MARK: Job queue

    private final class Job {
        var work: (() -> Void)?
        private let done = DispatchSemaphore(value: 0)
        init(_ work: @escaping () -> Void) { self.work = work }
        func wait() { done.wait() }
        func finish() { done.signal() }
    }

    private var isWorkerThread: Bool {
        guard let id = workerThreadID else { return false }
        return pthread_equal(id, pthread_self()) != 0
    }

    /// Runs `body` on the engine thread after every job queued before it, and
    /// waits for it. `body` is not escaping: the worker drops it before waking us.
    func perform<T>(_ body: () throws -> T) throws -> T {
        if isWorkerThread {
            throw EspeakError(.reentrantCall,
                              "the espeak engine was called from its own thread (from inside onChunk); espeak-ng is not re-entrant")
        }
        return try withoutActuallyEscaping(body) { body in
            var result: Result<T, Error>?
            let job = Job { result = Result { try body() } }
            queueCondition.lock()
            queue.append(job)
            queueCondition.signal()
            queueCondition.unlock()
            job.wait()
            return try result!.get()
        }
    }

    private func workerLoop() {
        while true {
            queueCondition.lock()
            while queue.isEmpty { queueCondition.wait() }
            let job = queue.removeFirst()
            queueCondition.unlock()
            Self.run(job)
            job.finish()
        }
    }

    /// Separate frame so nothing referencing the job's closure outlives it
    /// (withoutActuallyEscaping checks that in `perform`).
    @inline(never)
    private static func run(_ job: Job) {
        let work = job.work
        job.work = nil
        work?()
    }

    // MARK: Initialisation

    func initialize(dataPath: String?) throws -> InitializedState {
        lock.lock()
        let existing = initialized
        lock.unlock()
        if let existing { return try Self.reuse(existing, requested: dataPath) }
        return try perform {
            // Re-check on the worker: jobs are serialised, so only the first
            // initialisation job ever reaches espeak_ng_Initialize.
            lock.lock()
            let existing = initialized
            lock.unlock()
            if let existing { return try Self.reuse(existing, requested: dataPath) }
            let state = try initializeOnWorker(dataPath: dataPath)
            lock.lock()
            initialized = state
            lock.unlock()
            return state
        }
    }

    private static func reuse(_ state: InitializedState, requested: String?) throws -> InitializedState {
        guard let requested else { return state }
        let candidates = [requested, requested + "/espeak-ng-data"].map(standardized)
        if candidates.contains(standardized(state.dataPath)) { return state }
        try validateDataPath(requested)      // a missing path is reported as such
        throw EspeakError(.initialization,
                          "espeak-ng is already initialised in this process with data at \(state.dataPath); it cannot switch to \(requested)")
    }

    private static func standardized(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    private func initializeOnWorker(dataPath: String?) throws -> InitializedState {
        if let dataPath {
            try Self.validateDataPath(dataPath)
        }
        // espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 50, path, 0) is exactly these
        // calls, except that on failure it exit()s the process (or, with
        // espeakINITIALIZE_DONT_EXIT, carries on and still returns a sample
        // rate). The espeak_ng_* calls report the failure instead.
        espeak_ng_InitializePath(dataPath)
        var context: espeak_ng_ERROR_CONTEXT?
        let status = espeak_ng_Initialize(&context)
        espeak_ng_ClearErrorContext(&context)
        if status != ENS_OK {
            var path: UnsafePointer<CChar>?
            _ = espeak_Info(&path)
            let where_ = path.map { String(cString: $0) } ?? dataPath ?? "(default)"
            throw EspeakError(.initialization, "cannot initialise espeak-ng with data at \(where_)",
                              status: status.rawValue)
        }
        let outputStatus = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, Self.bufferMilliseconds, nil)
        if outputStatus != ENS_OK {
            throw EspeakError(.initialization, "cannot set up espeak-ng synchronous output",
                              status: outputStatus.rawValue)
        }
        espeak_SetSynthCallback(espeakSynthCallback)

        var pathPointer: UnsafePointer<CChar>?
        let versionPointer = espeak_Info(&pathPointer)
        let actualPath = pathPointer.map { String(cString: $0) } ?? dataPath ?? ""
        let sampleRate = Int(espeak_ng_GetSampleRate())
        let discovered = Self.discoverVoices()
        guard sampleRate > 0 else {
            throw EspeakError(.initialization, "espeak-ng reported sample rate \(sampleRate)")
        }
        return InitializedState(
            dataPath: actualPath,
            sampleRate: sampleRate,
            version: versionPointer.map { String(cString: $0) } ?? "unknown",
            voices: discovered.voices,
            variantNames: Self.discoverVariants(dataPath: actualPath),
            languagePriorities: discovered.priorities)
    }

    private static func validateDataPath(_ path: String) throws {
        let fm = FileManager.default
        let nested = path + "/espeak-ng-data"
        var isDirectory: ObjCBool = false
        // Mirrors espeak's check_data_path: a nested espeak-ng-data directory wins.
        let dataDirectory: String
        if fm.fileExists(atPath: nested, isDirectory: &isDirectory), isDirectory.boolValue {
            dataDirectory = nested
        } else if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            dataDirectory = path
        } else {
            throw EspeakError(.dataPathMissing, "espeak-ng data path \(path) does not exist or is not a directory")
        }
        guard dataDirectory.utf8.count <= maxDataPathBytes else {
            throw EspeakError(.dataPathMissing,
                              "espeak-ng data path \(dataDirectory) is longer than espeak's limit of \(maxDataPathBytes) bytes")
        }
        guard fm.fileExists(atPath: dataDirectory + "/phontab") else {
            throw EspeakError(.dataPathMissing,
                              "no espeak-ng data at \(path): expected \(path)/espeak-ng-data/phontab or \(path)/phontab")
        }
    }

    // MARK: Voice discovery (worker thread; espeak_ListVoices frees the previous list)

    private static func discoverVoices() -> (voices: [EngineVoice], priorities: [[String: Int]]) {
        guard let list = espeak_ListVoices(nil) else { return ([], []) }
        struct Raw { let name, identifier: String; let languages: [(tag: String, priority: Int)]; let gender, age: Int }
        var raws: [Raw] = []
        var index = 0
        while let voicePointer = list[index] {
            index += 1
            let v = voicePointer.pointee
            guard let identifierPointer = v.identifier else { continue }
            let identifier = String(cString: identifierPointer)
            if identifier.hasPrefix("mb/") { continue }          // mbrola data is not installed
            let languages = v.languages.map(EspeakSupport.parseLanguagePriorities) ?? []
            let rawName = v.name.map { String(cString: $0) } ?? identifier
            let name = rawName.replacingOccurrences(of: "_", with: " ")
                .trimmingCharacters(in: .whitespaces)
            raws.append(Raw(name: name.isEmpty ? identifier : name, identifier: identifier,
                            languages: languages, gender: Int(v.gender), age: Int(v.age)))
        }
        let ids = EspeakSupport.assignVoiceIDs(raws.map { (identifier: $0.identifier, primaryLanguage: $0.languages.first?.tag) })
        let voices = zip(raws, ids).map { raw, id in
            EngineVoice(id: id, name: raw.name, identifier: raw.identifier, languages: raw.languages.map(\.tag),
                        gender: raw.gender == 1 ? "male" : raw.gender == 2 ? "female" : nil,
                        age: raw.age > 0 ? raw.age : nil)
        }
        let priorities = raws.map { raw in
            Dictionary(raw.languages.map { ($0.tag, $0.priority) }, uniquingKeysWith: { min($0, $1) })
        }
        return (voices, priorities)
    }

    private static func discoverVariants(dataPath: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dataPath + "/voices/!v")) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    // MARK: Synthesis (worker thread only)

    static func synthesizeOnWorker(
        text: String, selection: VoiceSelection, options: SynthesisOptions,
        state: InitializedState, onChunk: (UnsafeBufferPointer<Int16>) -> Bool
    ) throws -> SynthesisStats {
        let runtime = EspeakRuntime.shared
        try runtime.applyVoice(selection, state: state)
        try applyParameters(selection)
        let voiceName = espeak_GetCurrentVoice()?.pointee.name.map { String(cString: $0) }

        var stats = SynthesisStats(samples: 0, chunks: 0, aborted: false,
                                   sampleRate: state.sampleRate, voiceName: voiceName)
        if text.allSatisfy({ $0.isWhitespace }) { return stats }

        var flags = UInt32(espeakCHARS_UTF8)
        if options.contains(.ssml) { flags |= UInt32(espeakSSML) }
        if options.contains(.endPause) { flags |= UInt32(espeakENDPAUSE) }

        return try withoutActuallyEscaping(onChunk) { onChunk in
            let context = SynthContext(onChunk: onChunk)
            activeContext = context
            defer { activeContext = nil }
            let status: espeak_ng_STATUS = withExtendedLifetime(context) {
                text.withCString { cText in
                    espeak_ng_Synthesize(cText, strlen(cText) + 1, 0, POS_CHARACTER, 0, flags, nil,
                                         Unmanaged.passUnretained(context).toOpaque())
                }
            }
            stats.samples = context.samples
            stats.chunks = context.chunks
            stats.aborted = context.aborted
            context.onChunk = nil
            if status == ENS_OK || (context.aborted && status == ENS_SPEECH_STOPPED) {
                return stats
            }
            throw EspeakError(.synthesis, "espeak_ng_Synthesize failed", status: status.rawValue)
        }
    }

    private static func applyParameters(_ s: VoiceSelection) throws {
        let settings: [(espeak_PARAMETER, Int, String)] = [
            (espeakRATE, s.rateWPM, "rate"),
            (espeakPITCH, s.pitch, "pitch"),
            (espeakRANGE, s.pitchRange, "pitch range"),
            (espeakVOLUME, s.volume, "volume"),
        ]
        for (parameter, value, label) in settings {
            let status = espeak_ng_SetParameter(parameter, Int32(value), 0)
            if status != ENS_OK {
                throw EspeakError(.synthesis, "cannot set \(label) to \(value)", status: status.rawValue)
            }
        }
    }

    private func applyVoice(_ s: VoiceSelection, state: InitializedState) throws {
        var variantName: String?
        if let requested = s.variantName?.trimmingCharacters(in: .whitespaces), !requested.isEmpty {
            variantName = try Self.resolveVariant(requested, state: state)
        }

        if let rawIdentifier = s.voiceIdentifier?.trimmingCharacters(in: .whitespaces), !rawIdentifier.isEmpty {
            let (base, suffix) = EspeakSupport.splitVariant(rawIdentifier)
            if let suffix, variantName == nil {
                // "+3" / "+13" are espeak's numeric variants (m3 / f3); names are checked.
                variantName = suffix.allSatisfy(\.isNumber) && suffix.count <= 2
                    ? suffix : try Self.resolveVariant(suffix, state: state)
            }
            guard let voice = state.voice(matching: base) else {
                throw EspeakError(.voiceNotFound, "no espeak voice matches \"\(base)\"",
                                  status: ENS_VOICE_NOT_FOUND.rawValue)
            }
            try setVoiceByName(voice.identifier, variant: variantName)
            return
        }

        var language: String?
        if let requested = s.language, !requested.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let tag = EspeakSupport.normalizeLanguageTag(requested) else {
                throw EspeakError(.invalidArgument,
                                  "malformed language tag \"\(requested)\" (letters, digits, '-' only; at most \(EspeakSupport.maxLanguageBytes) bytes)")
            }
            language = tag
        }

        if let variantName {
            let tag = language ?? "en"
            guard let voice = state.bestVoice(forLanguage: tag) else {
                throw EspeakError(.voiceNotFound, "no espeak voice for language \"\(tag)\"",
                                  status: ENS_VOICE_NOT_FOUND.rawValue)
            }
            try setVoiceByName(voice.identifier, variant: variantName)
            return
        }

        let languageC = language.map { strdup($0)! }
        var spec = espeak_VOICE()
        spec.languages = UnsafePointer(languageC)
        spec.gender = UInt8(s.gender)
        spec.age = UInt8(s.age)
        spec.variant = UInt8(s.variant)
        let status = espeak_ng_SetVoiceByProperties(&spec)
        retain(languageC.map { [$0] } ?? [])
        if status != ENS_OK {
            throw EspeakError(.voiceNotFound,
                              "no espeak voice for language \"\(language ?? "(default)")\", gender \(s.gender), age \(s.age), variant \(s.variant)",
                              status: status.rawValue)
        }
    }

    private func setVoiceByName(_ identifier: String, variant: String?) throws {
        let full = variant.map { "\(identifier)+\($0)" } ?? identifier
        guard full.utf8.count <= Self.maxVoiceNameBytes else {
            throw EspeakError(.invalidArgument, "voice name \"\(full)\" is longer than espeak's limit of \(Self.maxVoiceNameBytes) bytes")
        }
        let cName = strdup(full)!
        let status = espeak_ng_SetVoiceByName(cName)
        retain([cName])
        if status != ENS_OK {
            throw EspeakError(.voiceNotFound, "espeak could not select voice \"\(full)\"", status: status.rawValue)
        }
    }

    /// Keeps the strings of the latest selection alive; frees the previous ones.
    private func retain(_ strings: [UnsafeMutablePointer<CChar>]) {
        for old in retainedVoiceStrings { free(old) }
        retainedVoiceStrings = strings
    }

    private static func resolveVariant(_ name: String, state: InitializedState) throws -> String {
        if let match = state.variantNames.first(where: { $0.lowercased() == name.lowercased() }) {
            return match
        }
        let examples = ["f1", "f2", "f3", "f4", "m1", "m2", "m3", "whisper", "whisperf", "croak", "klatt"]
            .filter(state.variantNames.contains)
        throw EspeakError(.voiceNotFound,
                          "unknown espeak voice variant \"\(name)\" (\(state.variantNames.count) available, e.g. \(examples.joined(separator: ", ")))",
                          status: ENS_VOICE_NOT_FOUND.rawValue)
    }
}

// MARK: - Pure helpers (unit-testable, no espeak calls)

/// Name, tag and text handling shared by the engine and VoiceDescription.
enum EspeakSupport {
    /// espeak copies a selected language into a 20-byte buffer with strcpy (SetVoiceStack).
    static let maxLanguageBytes = 19

    /// Parses espeak's `languages` field: (priority byte, NUL-terminated string)*,
    /// terminated by a 0 priority byte. Returns lowercase tags in listed order.
    static func parseLanguageList(_ pointer: UnsafePointer<CChar>) -> [String] {
        parseLanguagePriorities(pointer).map(\.tag)
    }

    /// As `parseLanguageList`, with each tag's priority (lower is preferred).
    static func parseLanguagePriorities(_ pointer: UnsafePointer<CChar>) -> [(tag: String, priority: Int)] {
        var result: [(tag: String, priority: Int)] = []
        var p = pointer
        while p.pointee != 0 {                       // priority byte; 0 ends the list
            let priority = Int(UInt8(bitPattern: p.pointee))
            p += 1
            let tag = String(cString: p)
            p += strlen(p) + 1                       // bytes, not repaired UTF-8 length
            let normalized = tag.lowercased()
            if !normalized.isEmpty, !result.contains(where: { $0.tag == normalized }) {
                result.append((normalized, priority))
            }
        }
        return result
    }

    /// Unique URL-safe ids, stable for a given set of voices regardless of order:
    /// the primary language tag if no other voice has it; otherwise the voice
    /// whose file name equals the tag keeps it and the others use their
    /// sanitised file name, then their sanitised identifier, then "-2", "-3"…
    static func assignVoiceIDs(_ voices: [(identifier: String, primaryLanguage: String?)]) -> [String] {
        func lastComponent(_ identifier: String) -> String {
            String(identifier.split(separator: "/").last ?? Substring(identifier))
        }
        let tags = voices.map { sanitizeID($0.primaryLanguage ?? "") }
        var tagCount: [String: Int] = [:]
        for tag in tags where !tag.isEmpty { tagCount[tag, default: 0] += 1 }
        var proposals: [String] = []
        for (i, voice) in voices.enumerated() {
            let tag = tags[i]
            let file = sanitizeID(lastComponent(voice.identifier))
            if !tag.isEmpty && (tagCount[tag] == 1 || file == tag) {
                proposals.append(tag)
            } else if !file.isEmpty && !tags.contains(file) {
                proposals.append(file)
            } else {
                let full = sanitizeID(voice.identifier)
                proposals.append(full.isEmpty ? "voice" : full)
            }
        }
        var used: Set<String> = []
        var result: [String] = []
        for proposal in proposals {
            var id = proposal
            var n = 2
            while used.contains(id) { id = "\(proposal)-\(n)"; n += 1 }
            used.insert(id)
            result.append(id)
        }
        return result
    }

    /// Lowercase; runs of anything outside [a-z0-9] become one "-"; trimmed of "-".
    static func sanitizeID(_ s: String) -> String {
        var out = ""
        var pendingDash = false
        for scalar in s.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                if pendingDash && !out.isEmpty { out.append("-") }
                pendingDash = false
                out.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
        }
        return out
    }

    /// "en_US" → "en-us"; nil if the tag is not [A-Za-z0-9_-]+ or is too long for espeak.
    static func normalizeLanguageTag(_ tag: String) -> String? {
        let trimmed = tag.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        var out = ""
        for scalar in trimmed.unicodeScalars {
            switch scalar {
            case "a"..."z", "0"..."9": out.unicodeScalars.append(scalar)
            case "A"..."Z": out.append(Character(scalar).lowercased())
            case "-", "_": out.append("-")
            default: return nil
            }
        }
        let parts = out.split(separator: "-", omittingEmptySubsequences: true)
        guard !parts.isEmpty else { return nil }
        let normalized = parts.joined(separator: "-")
        return normalized.utf8.count <= maxLanguageBytes ? normalized : nil
    }

    /// Splits "gmw/en-US+f3" into base "gmw/en-US" and variant "f3".
    static func splitVariant(_ name: String) -> (base: String, variant: String?) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard let plus = trimmed.firstIndex(of: "+") else { return (trimmed, nil) }
        let variant = String(trimmed[trimmed.index(after: plus)...]).trimmingCharacters(in: .whitespaces)
        return (String(trimmed[..<plus]).trimmingCharacters(in: .whitespaces), variant.isEmpty ? nil : variant)
    }

    /// Drops NUL and control characters other than tab/newline/return: espeak
    /// treats U+0001 as the start of an embedded command even in plain text.
    static func sanitizeText(_ text: String) -> String {
        let needsWork = text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" }
        guard needsWork else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r" {
                out.append(" ")
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}

// MARK: - Synth callback

/// Per-job state reached from espeak's callback through `user_data`.
private final class SynthContext {
    var onChunk: ((UnsafeBufferPointer<Int16>) -> Bool)?
    var samples = 0
    var chunks = 0
    var aborted = false

    init(onChunk: @escaping (UnsafeBufferPointer<Int16>) -> Bool) { self.onChunk = onChunk }

    /// espeak's return convention: 0 continue, 1 abort.
    func deliver(_ wav: UnsafeMutablePointer<Int16>?, _ count: Int32) -> Int32 {
        if aborted { return 1 }
        guard let wav, count > 0 else { return 0 }     // wav == NULL: end of data
        guard let onChunk else { return 1 }
        samples += Int(count)
        chunks += 1
        if onChunk(UnsafeBufferPointer(start: wav, count: Int(count))) { return 0 }
        aborted = true
        return 1
    }
}

/// espeak's t_espeak_callback. Runs on the engine thread, inside espeak_ng_Synthesize.
private func espeakSynthCallback(
    _ wav: UnsafeMutablePointer<Int16>?, _ count: Int32, _ events: UnsafeMutablePointer<espeak_EVENT>?
) -> Int32 {
    // The job is identified by the user_data pointer given to espeak_ng_Synthesize,
    // checked against the engine's job in progress before it is dereferenced.
    guard let context = EspeakRuntime.activeContext else { return 1 }   // no job: stop
    if let userData = events?.pointee.user_data,
       userData != Unmanaged.passUnretained(context).toOpaque() {
        return 1                                        // not our job: stop
    }
    return context.deliver(wav, count)
}

private extension Comparable {
    func clamped(to limits: ClosedRange<Self>) -> Self { min(max(self, limits.lowerBound), limits.upperBound) }
}

// The process-wide espeak-ng runtime and its engine thread (see EspeakEngine.swift).

import CEspeakNG
import Foundation

// MARK: - Runtime (process-wide, owns the engine thread)

/// The one espeak-ng instance of the process and the worker thread that talks to it.
final class EspeakRuntime: @unchecked Sendable {
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
        // espeak_ng_Initialize sets the process's LC_CTYPE to C.UTF-8; the locale
        // belongs to the host, so put it back (espeak decodes UTF-8 itself).
        let savedLocale = setlocale(LC_CTYPE, nil).map { String(cString: $0) }
        var context: espeak_ng_ERROR_CONTEXT?
        let status = espeak_ng_Initialize(&context)
        if let savedLocale { setlocale(LC_CTYPE, savedLocale) }
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

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

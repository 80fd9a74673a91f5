import ArgumentParser
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// speak: POST /v1/audio/speech and stream the audio, chunk by chunk, to a file or stdout.

enum AudioFormat: String, ExpressibleByArgument, CaseIterable {
    case wav, pcm
}

struct Speak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Synthesize speech; write the audio to a file or to stdout.",
        discussion: """
            The audio is streamed as voxd produces it. With -o FILE it goes to FILE.partial, \
            renamed to FILE once complete, so a failed request never leaves a truncated FILE; a \
            one-line summary (size, duration, provider, model, voice) goes to stderr, or to \
            stdout as JSON with --json. Without -o (or with -o -) the audio goes to stdout, which \
            must then be a pipe or a file, not a terminal.

            --model takes a provider ("localtts"), provider/model ("localtts/espeak-ng") or a \
            model id ("espeak-ng"); see 'voxctl models'. Without --model and --voice voxd picks \
            its defaults; see 'voxctl voices' for voice ids.

            EXAMPLES
              voxctl speak "Hello there" -o hello.wav
              voxctl speak "Hello" --voice en-gb --speed 1.2 | aplay
              echo "Read from stdin" | voxctl speak - --format pcm > out.pcm
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The text to speak; - reads it from stdin.", valueName: "text"))
    var text: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the audio to this file (- or absent: stdout).", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("Provider, provider/model or model id (default: voxd's choice).", valueName: "model"))
    var model: String?

    @Option(help: ArgumentHelp("Voice id (default: the provider's default voice).", valueName: "voice"))
    var voice: String?

    @Option(help: ArgumentHelp("Audio format: wav, or pcm (raw samples).", valueName: "format"))
    var format: AudioFormat = .wav

    @Option(help: ArgumentHelp("Speaking rate; 1.0 is normal (default: the provider's).", valueName: "rate"))
    var speed: Double?

    private var toStdout: Bool { output == nil || output == "-" }

    func validate() throws {
        if text.isEmpty || (text != "-" && text.allSatisfy(\.isWhitespace)) {
            throw ValidationError("TEXT is empty; give the words to speak, or - to read them from stdin")
        }
        if let speed, !(speed.isFinite && speed > 0) {
            throw ValidationError("--speed must be a positive number (1.0 is the normal rate)")
        }
        if let output, output.isEmpty { throw ValidationError("-o needs a file name (or - for stdout)") }
        if let model, model.isEmpty { throw ValidationError("--model must not be empty") }
        if let voice, voice.isEmpty { throw ValidationError("--voice must not be empty") }
        if toStdout && isatty(STDOUT_FILENO) == 1 {
            throw ValidationError(
                "refusing to write binary audio to a terminal; use -o FILE, or pipe it (e.g. '| aplay')")
        }
    }

    func run() async throws {
        let input: String
        do {
            input = try readInput()
        } catch {
            throw global.report(error, errorJSONOnStdout: false)
        }
        let request = SpeechRequest(
            model: model, input: input, voice: voice, responseFormat: format.rawValue, speed: speed)
        let body = try JSONEncoder().encode(request)

        try await global.withClient(errorJSONOnStdout: false) { client in
            // Open the destination first: an unwritable path fails before voxd does any work.
            let sink = try toStdout ? AudioSink.stdout() : AudioSink.file(output!)
            do {
                let response = try await client.open(
                    .POST, path: "/v1/audio/speech", json: body, accept: "audio/\(format.rawValue)")
                let headers = SpeechHeaders(
                    provider: response.headers.first(name: "X-Vox-Provider"),
                    model: response.headers.first(name: "X-Vox-Model"),
                    voice: response.headers.first(name: "X-Vox-Voice"),
                    sampleRate: response.headers.first(name: "X-Vox-Sample-Rate").flatMap(Int.init))
                var meter = AudioMeter(format: format, sampleRate: headers.sampleRate)
                try await client.forEachChunk(of: response) { chunk in
                    try sink.write(chunk)
                    meter.count(chunk)
                }
                try sink.commit(patching: meter.wavSizePatches)
                reportSummary(meter: meter, headers: headers)
            } catch {
                sink.abandon()
                throw error
            }
        }
    }

    /// TEXT, or all of stdin for "-" (surrounding whitespace trimmed).
    private func readInput() throws -> String {
        guard text == "-" else { return text }
        let data = FileHandle.standardInput.readDataToEndOfFile()
        guard let string = String(data: data, encoding: .utf8) else {
            throw VoxCtlError("stdin is not UTF-8 text", status: .usage)
        }
        let trimmed = string.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { throw VoxCtlError("no text on stdin", status: .usage) }
        return trimmed
    }

    private func reportSummary(meter: AudioMeter, headers: SpeechHeaders) {
        let seconds = meter.seconds
        if global.json {
            var object: [String: Any] = ["bytes": meter.bytes, "format": format.rawValue]
            if !toStdout, let output { object["file"] = output }
            if let seconds { object["seconds"] = (seconds * 1000).rounded() / 1000 }
            if let rate = meter.sampleRate { object["sample_rate"] = rate }
            if let provider = headers.provider { object["provider"] = provider }
            if let model = headers.model { object["model"] = model }
            if let voice = headers.voice { object["voice"] = voice }
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
            // stdout carries the audio when there is no -o.
            let line = Data(data + [UInt8(ascii: "\n")])
            (toStdout ? FileHandle.standardError : FileHandle.standardOutput).write(line)
            return
        }
        guard !toStdout else { return }
        var text = "wrote \(output!): \(meter.bytes) bytes"
        if let seconds, let rate = meter.sampleRate {
            text += String(format: ", %.2f s of audio", seconds) + " at \(rate) Hz"
        }
        let source = [
            headers.provider.map { "provider \($0)" },
            headers.model.map { "model \($0)" },
            headers.voice.map { "voice \($0)" },
        ].compactMap { $0 }
        if !source.isEmpty { text += " (" + source.joined(separator: ", ") + ")" }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

struct SpeechHeaders {
    var provider: String?
    var model: String?
    var voice: String?
    var sampleRate: Int?
}

/// Counts bytes and works out the duration: from the WAV header (fmt chunk byte rate, data
/// chunk offset), or for pcm from X-Vox-Sample-Rate assuming 16-bit mono samples (the API has
/// no header for sample format or channel count).
struct AudioMeter {
    let format: AudioFormat
    private(set) var bytes = 0
    private var headerSampleRate: Int?
    private var head: [UInt8] = []
    private var wav: (sampleRate: Int, byteRate: Int, dataOffset: Int, dataSize: Int?)?

    init(format: AudioFormat, sampleRate: Int?) {
        self.format = format
        self.headerSampleRate = sampleRate
    }

    mutating func count(_ chunk: ByteBuffer) {
        bytes += chunk.readableBytes
        if format == .wav, wav == nil, head.count < 64 << 10 {
            head += chunk.readableBytesView.prefix(64 << 10 - head.count)
            wav = Self.parseWAVHeader(head)
        }
    }

    var sampleRate: Int? { wav?.sampleRate ?? headerSampleRate }

    var seconds: Double? {
        switch format {
        case .wav:
            guard let wav, wav.byteRate > 0 else { return nil }
            var payload = max(bytes - wav.dataOffset, 0)
            // Streamed WAVs carry a placeholder data size (0 or 0xFFFFFFFF); trust only a real one.
            if let size = wav.dataSize, size > 0, size < 0xFFFF_FFFF, size <= payload { payload = size }
            return Double(payload) / Double(wav.byteRate)
        case .pcm:
            guard let rate = headerSampleRate, rate > 0 else { return nil }
            return Double(bytes) / Double(rate * 2)
        }
    }

    /// A streamed WAV's header has placeholder sizes (0 or 0xFFFFFFFF: the length was unknown
    /// when it was sent); once the whole stream is in, these are the real RIFF and data sizes
    /// to write back into the saved file (little-endian u32 at the given offsets).
    var wavSizePatches: [(offset: Int, value: UInt32)] {
        guard format == .wav, let wav, let size = wav.dataSize, size == 0 || size == 0xFFFF_FFFF,
              bytes >= wav.dataOffset, bytes - 8 <= Int(UInt32.max)
        else { return [] }
        return [(4, UInt32(bytes - 8)), (wav.dataOffset - 4, UInt32(bytes - wav.dataOffset))]
    }

    /// RIFF/WAVE: finds the fmt chunk's sample and byte rate and where the data chunk starts.
    static func parseWAVHeader(_ b: [UInt8]) -> (sampleRate: Int, byteRate: Int, dataOffset: Int, dataSize: Int?)? {
        func u32(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24 }
        guard b.count >= 12, b[0..<4] == Array("RIFF".utf8)[...], b[8..<12] == Array("WAVE".utf8)[...] else { return nil }
        var offset = 12
        var rates: (Int, Int)?
        while offset + 8 <= b.count {
            let id = String(decoding: b[offset..<offset + 4], as: UTF8.self)
            let size = u32(offset + 4)
            let body = offset + 8
            if id == "fmt ", body + 12 <= b.count {
                rates = (u32(body + 4), u32(body + 8))
            } else if id == "data" {
                guard let (sampleRate, byteRate) = rates else { return nil }
                return (sampleRate, byteRate, body, size)
            }
            offset = body + size + (size & 1)
        }
        return nil
    }
}

/// write(2), out of reach of `AudioSink.write(_:)`'s name.
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}

/// Where the audio goes: stdout, or FILE.partial renamed to FILE by `commit()`. `abandon()`
/// (and SIGINT/SIGTERM while writing) removes the partial file.
final class AudioSink {
    private let fd: Int32
    private let partialPath: String?
    private let finalPath: String?
    private var signalSources: [DispatchSourceSignal] = []
    /// Set once the partial file is renamed or removed; later commit/abandon calls do nothing.
    private var finished = false

    private init(fd: Int32, partialPath: String?, finalPath: String?) {
        self.fd = fd
        self.partialPath = partialPath
        self.finalPath = finalPath
    }

    static func stdout() -> AudioSink {
        AudioSink(fd: STDOUT_FILENO, partialPath: nil, finalPath: nil)
    }

    static func file(_ path: String) throws -> AudioSink {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw VoxCtlError("cannot write \(path): is a directory", status: .usage)
        }
        let partial = path + ".partial"
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw VoxCtlError("cannot write \(partial): \(String(cString: strerror(errno)))")
        }
        let sink = AudioSink(fd: fd, partialPath: partial, finalPath: path)
        sink.removePartialOnSignals()
        return sink
    }

    func write(_ chunk: ByteBuffer) throws {
        try chunk.withUnsafeReadableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = posixWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    let code = errno
                    let reason = String(cString: strerror(code))
                    if let partialPath { throw VoxCtlError("cannot write \(partialPath): \(reason)") }
                    if code == EPIPE { throw VoxCtlError("stdout was closed before the audio ended") }
                    throw VoxCtlError("cannot write the audio to stdout: \(reason)")
                }
                offset += written
            }
        }
    }

    /// Applies `patches` (header fix-ups) to FILE.partial, closes it and renames it to FILE.
    func commit(patching patches: [(offset: Int, value: UInt32)] = []) throws {
        guard let partialPath, let finalPath, !finished else { return }
        finished = true
        defer { stopWatchingSignals() }
        for patch in patches {
            var value = patch.value.littleEndian
            guard pwrite(fd, &value, 4, off_t(patch.offset)) == 4 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(partialPath)
                throw VoxCtlError("cannot write \(partialPath): \(reason)")
            }
        }
        guard close(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partialPath)
            throw VoxCtlError("cannot write \(partialPath): \(reason)")
        }
        guard rename(partialPath, finalPath) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partialPath)
            throw VoxCtlError("cannot rename \(partialPath) to \(finalPath): \(reason)")
        }
    }

    /// Drops FILE.partial after a failure.
    func abandon() {
        guard let partialPath, !finished else { return }
        finished = true
        close(fd)
        unlink(partialPath)
        stopWatchingSignals()
    }

    private func removePartialOnSignals() {
        guard let partialPath else { return }
        for signo in [SIGINT, SIGTERM] {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler {
                unlink(partialPath)
                _exit(128 + signo)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    private func stopWatchingSignals() {
        for source in signalSources { source.cancel() }
        signalSources = []
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

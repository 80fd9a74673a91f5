import Foundation

/// Streaming linear-interpolation resampler for interleaved 16-bit
/// little-endian PCM: when speech fails over to a provider that cannot
/// produce the sample rate the client asked for, voxd converts its output so
/// the stream the client gets keeps the asked-for rate. Chunks may split
/// frames anywhere; state carries across them.
public final class PCMResampler: @unchecked Sendable {
    public let from: Int
    public let to: Int
    public let channels: Int
    private let step: Double
    /// Input frames not yet consumed (the first is the left neighbour of `pos`).
    private var frames: [Int16] = []
    /// Position of the next output frame, in input frames from `frames[0]`.
    private var pos = 0.0
    /// Bytes of an incomplete frame, kept for the next chunk.
    private var partial: [UInt8] = []

    public init(from: Int, to: Int, channels: Int = 1) {
        self.from = from
        self.to = to
        self.channels = max(1, channels)
        step = Double(from) / Double(to)
    }

    /// The resampled bytes for one input chunk (possibly none yet).
    public func process(_ bytes: [UInt8]) -> [UInt8] {
        let input = partial + bytes
        let frameBytes = 2 * channels
        let whole = input.count / frameBytes * frameBytes
        partial = Array(input[whole...])
        var i = 0
        while i < whole {
            frames.append(Int16(bitPattern: UInt16(input[i]) | UInt16(input[i + 1]) << 8))
            i += 2
        }
        let count = frames.count / channels
        var out: [UInt8] = []
        out.reserveCapacity(Int(Double(count) / step + 2) * frameBytes)
        while pos + 1 < Double(count) {
            let k = Int(pos)
            let frac = pos - Double(k)
            for c in 0..<channels {
                let a = Double(frames[k * channels + c]), b = Double(frames[(k + 1) * channels + c])
                let v = Int16(clamping: Int((a + (b - a) * frac).rounded()))
                out.append(UInt8(truncatingIfNeeded: v))
                out.append(UInt8(truncatingIfNeeded: v >> 8))
            }
            pos += step
        }
        let drop = min(Int(pos), count - 1)
        if drop > 0 {
            frames.removeFirst(drop * channels)
            pos -= Double(drop)
        }
        return out
    }
}

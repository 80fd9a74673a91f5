import VoxPluginKit

extension ProviderClient {
    /// A speech answer's body to `output` as it arrives, on the host's I/O
    /// thread (`AudioOutput.relay`: no hop to the plugin's task per chunk).
    /// `cut` turns each chunk into audio and its format (nil: none yet), one
    /// chunk at a time, in order. Returns the body's byte count. A transport
    /// failure is labelled with the provider and `what`; what `cut` throws
    /// comes out as it is; on any failure the body is cancelled.
    public func relayAudio(_ response: VoxHTTPResponse, to output: AudioOutput, what: String,
                           _ cut: @escaping @Sendable (_ chunk: [UInt8]) throws -> (audio: ArraySlice<UInt8>, format: AudioFormat)?) async throws -> Int {
        let tally = RelayTally()
        do {
            try await output.relay(response.body) { chunk in
                tally.bytes += chunk.count
                do { return try cut(chunk) } catch { tally.failure = error; throw error }
            }
        } catch {
            response.body.cancel()
            if let failure = tally.failure { throw failure }
            throw ProviderErrors.transport(error, provider: name, what)
        }
        return tally.bytes
    }
}

/// What a relay's closure counts: written one chunk at a time, read after
/// the relay returns.
private final class RelayTally: @unchecked Sendable {
    var bytes = 0
    var failure: Error?
}

/// PCM s16 cut at whole samples across a body's chunks: an odd byte waits
/// for its other half. One chunk at a time (a relay's order); a chunk that
/// needs no byte from before goes on as a slice of itself, uncopied.
public final class WholeSamples: @unchecked Sendable {
    private var carry: UInt8?

    public init() {}

    public func cut(_ chunk: [UInt8]) -> ArraySlice<UInt8> {
        var whole = chunk[...]
        if let c = carry {
            carry = nil
            whole = ([c] + chunk)[...]
        }
        if whole.count % 2 == 1 {
            carry = whole.last
            whole = whole.dropLast()
        }
        return whole
    }
}

import NIOCore

/// Merges the flushes a connection gets within one event-loop tick into
/// one write (used on upstream HTTP/1 connections and on the socket API's).
///
/// AsyncHTTPClient flushes a request's head, then its body, then its end,
/// each on its own: three small writes, and a server on the other end
/// woken by the head only to wait for the body. Holding a flush until the
/// tick's queued work has run sends them as one `writev`. It adds no
/// wake-up (the loop is running) and no latency beyond the current tick.
///
/// AsyncHTTPClient's only way into an HTTP/1 connection's pipeline is its
/// `http1_1ConnectionDebugInitializer` (public, if oddly named); HTTP/2
/// connections to a provider (TLS with ALPN) go without it.
final class FlushCoalescer: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny
    private var pending = false

    func flush(context: ChannelHandlerContext) {
        guard !pending else { return }
        pending = true
        context.eventLoop.assumeIsolated().execute {
            guard self.pending else { return } // a close already sent it
            self.pending = false
            context.flush()
        }
    }

    /// A close right after a write in the same tick (an answer to a
    /// `Connection: close` request) must not drop the held write: it goes
    /// out first.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if pending {
            pending = false
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }
}

import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// Serves each connection on the event loop its socket lives on.
///
/// Hummingbird handles a connection in a task on the global executor, so a
/// request crossed threads twice on its way in (socket read on the loop, the
/// handler in the pool) and twice on its way out. With the loop as the task's
/// executor preference, the read, the handler, the plugin call and the
/// response write stay on one thread, and a wake-up costs no context switch
/// (`execute` from the loop itself only queues). Handlers must not block —
/// the rule Swift concurrency already sets: the store is reached through
/// GRDB's async calls (its own queues), engines run on plugins' threads.
public struct OnTheConnectionsLoop<Inner: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Inner.Value
    let inner: Inner

    public init(inner: Inner) { self.inner = inner }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        // The head of a streamed answer and its first chunk, and the chunks
        // of one batch, leave in one write (see FlushCoalescer).
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(FlushCoalescer(), position: .first)
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    public func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await inner.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with WebSocket upgrades (Hummingbird's own channel), each
    /// connection served on its event loop.
    static func voxd<WSResponder: HTTPResponder>(webSocketResponder: WSResponder, configuration: WebSocketServerConfiguration) -> HTTPServerBuilder
    where WSResponder.Context: WebSocketRequestContext {
        .init { responder in
            OnTheConnectionsLoop(inner: HTTP1WebSocketUpgradeChannel(
                responder: responder, webSocketResponder: webSocketResponder,
                configuration: .init(http1: .init(idleTimeout: nil), ws: configuration)))
        }
    }
}

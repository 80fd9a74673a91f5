import Logging

/// voxd's log handler: swift-log's `StreamLogHandler` (stderr, its text
/// format), with the logger's metadata kept as a dictionary until a message
/// is logged.
///
/// `StreamLogHandler` renders its metadata into text each time a key is
/// set. Every request sets two (Hummingbird's `hb.request.id`, voxd's
/// `request.id`), so each request paid for rendering text that is read
/// only if something is logged — at the default level, hardly ever. That
/// was ~4% of a proxied chat's CPU. Here setting a key is a dictionary
/// write; the text is made when a message is logged.
public struct VoxLogHandler: LogHandler {
    private var inner: StreamLogHandler
    public var metadata: Logger.Metadata = [:]

    /// Writes to standard error.
    public init(label: String, level: Logger.Level) {
        inner = StreamLogHandler.standardError(label: label)
        inner.logLevel = level
    }

    /// Writes through `stream` (tests give one writing to memory).
    public init(wrapping stream: StreamLogHandler) {
        inner = stream
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        // The message's own metadata wins over the logger's, as in swift-log.
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        inner.log(event: event)
    }
}

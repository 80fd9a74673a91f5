import VoxPluginKit

/// Ties an operation to a response body: when the body is released — run to
/// the end, failed, or dropped unrun because the client left before the head
/// could be written — the operation is cancelled if it is still going, so
/// the plugin (and its upstream request) stops instead of running on.
final class OperationLease: Sendable {
    let operation: HostOperation
    init(_ operation: HostOperation) { self.operation = operation }
    deinit { operation.cancel() }
}

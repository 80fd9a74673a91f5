import CVoxPlugin

/// The ABI's closed set of error codes (vox_type_error_code), with their
/// wire names as they appear in the socket API's error shape.
public enum VoxErrorCode: Int32, CaseIterable, Codable, Sendable {
    case invalidRequest = 1
    case unauthenticated = 2
    case forbidden = 3
    case notFound = 4
    case rateLimited = 5
    case unavailable = 6
    case timeout = 7
    case unsupported = 8
    case cancelled = 9
    case `internal` = 10

    public var name: String {
        switch self {
        case .invalidRequest: return "invalid_request"
        case .unauthenticated: return "unauthenticated"
        case .forbidden: return "forbidden"
        case .notFound: return "not_found"
        case .rateLimited: return "rate_limited"
        case .unavailable: return "unavailable"
        case .timeout: return "timeout"
        case .unsupported: return "unsupported"
        case .cancelled: return "cancelled"
        case .internal: return "internal"
        }
    }

    /// Whether a request failing with this code may succeed elsewhere or later.
    public var retriableByDefault: Bool {
        switch self {
        case .rateLimited, .unavailable, .timeout: return true
        default: return false
        }
    }

    /// An unknown code from a plugin is treated as internal.
    public init(abi raw: Int32) { self = VoxErrorCode(rawValue: raw) ?? .internal }
}

/// An error as it crosses the ABI: the code, a message, the provider's HTTP
/// status and retry-after hint, and whether retrying elsewhere may help.
public struct VoxPluginError: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: VoxErrorCode
    public var message: String
    public var httpStatus: Int?
    public var retryAfterMs: Int?
    public var retriable: Bool

    public init(_ code: VoxErrorCode, _ message: String, httpStatus: Int? = nil, retryAfterMs: Int? = nil, retriable: Bool? = nil) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.retryAfterMs = retryAfterMs
        self.retriable = retriable ?? code.retriableByDefault
    }

    public var description: String { "\(code.name): \(message)" }

    public static func invalidRequest(_ m: String) -> Self { .init(.invalidRequest, m) }
    public static func notFound(_ m: String) -> Self { .init(.notFound, m) }
    public static func unsupported(_ m: String) -> Self { .init(.unsupported, m) }
    public static func unavailable(_ m: String) -> Self { .init(.unavailable, m) }
    public static func internalError(_ m: String) -> Self { .init(.internal, m) }
    public static let cancelled = VoxPluginError(.cancelled, "the operation was cancelled")

    /// Reads a C error (any struct_size the filler used).
    public init(abi e: UnsafePointer<vox_type_error>) {
        var copy = vox_type_error()
        copy.struct_size = UInt32(MemoryLayout<vox_type_error>.size)
        let n = min(Int(e.pointee.struct_size), MemoryLayout<vox_type_error>.size)
        if n > 0 { withUnsafeMutableBytes(of: &copy) { $0.copyMemory(from: UnsafeRawBufferPointer(start: e, count: n)) } }
        let msg = withUnsafeBytes(of: copy.message) { raw -> String in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
        self.init(VoxErrorCode(abi: copy.code),
                  msg.isEmpty ? "plugin reported \(VoxErrorCode(abi: copy.code).name) without a message" : msg,
                  httpStatus: copy.http_status > 0 ? Int(copy.http_status) : nil,
                  retryAfterMs: copy.retry_after_ms >= 0 && n >= 16 ? Int(copy.retry_after_ms) : nil,
                  retriable: copy.flags & VOX_ERROR_RETRIABLE != 0)
    }

    /// Fills a C error in place (truncating the message on a UTF-8 boundary).
    public func fill(_ e: UnsafeMutablePointer<vox_type_error>?) {
        guard let e else { return }
        e.pointee.struct_size = UInt32(MemoryLayout<vox_type_error>.size)
        e.pointee.code = code.rawValue
        e.pointee.http_status = Int32(httpStatus ?? 0)
        e.pointee.retry_after_ms = Int32(clamping: retryAfterMs ?? -1)
        e.pointee.flags = retriable ? VOX_ERROR_RETRIABLE : 0
        var utf8: [UInt8] = []
        let cap = Int(VOX_ERROR_MESSAGE_CAP) - 1
        for scalar in message.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if utf8.count + bytes.count > cap { break }
            utf8 += bytes
        }
        withUnsafeMutableBytes(of: &e.pointee.message) { buf in
            buf.initializeMemory(as: UInt8.self, repeating: 0)
            buf.copyBytes(from: utf8.prefix(buf.count - 1))
        }
    }

    /// Any Swift error as a plugin error: cancellation stays cancellation,
    /// everything unknown is internal.
    public static func from(_ error: Error) -> VoxPluginError {
        if let e = error as? VoxPluginError { return e }
        if error is CancellationError { return .cancelled }
        return .internalError(String(describing: error))
    }
}

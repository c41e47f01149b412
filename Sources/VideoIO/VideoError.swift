import CFFmpeg
import Foundation

/// Why a video operation failed, in one line: `"<path>: <reason>"`.
///
/// Every FFmpeg return code in VideoIO passes through ``check(_:_:path:kind:)``, which turns a
/// negative code into a `VideoError` carrying the operation (the C function that failed), the code
/// and `av_strerror`'s message. End of stream is never an error: readers return `nil`.
public struct VideoError: Error, CustomStringConvertible, Sendable {
    /// The class of failure, for exit codes and for deciding whether to retry.
    public enum Kind: String, Sendable, Codable, Equatable {
        /// No such file.
        case missing
        /// Not a video, corrupt, no video stream, absurd size, unknown container extension.
        case badInput
        /// The file exists but cannot be read or written (permissions, disk full, I/O error).
        case io
        /// A broken environment or a bug: missing encoder, out of memory, unexpected FFmpeg state.
        case `internal`
    }

    /// The file the operation was about.
    public var path: String
    /// The operation that failed, usually the FFmpeg function (`avformat_open_input`).
    public var operation: String
    /// FFmpeg's (negative) return code, when there was one.
    public var code: Int32?
    /// Human-readable reason; includes `av_strerror`'s message when `code` is set.
    public var reason: String
    /// The class of failure.
    public var kind: Kind
    /// The last lines FFmpeg logged before the failure (see ``FFmpegLog``), oldest first.
    public var log: [String]

    /// Creates an error; `log` defaults to FFmpeg's most recent log lines.
    public init(path: String, operation: String, code: Int32? = nil, reason: String, kind: Kind,
                log: [String]? = nil) {
        self.path = path
        self.operation = operation
        self.code = code
        self.reason = reason
        self.kind = kind
        self.log = log ?? FFmpegLog.recentLines(limit: 8)
    }

    /// `"<path>: <reason>"`, one line.
    public var description: String {
        "\(path): \(reason)".replacingOccurrences(of: "\n", with: " ")
    }
}

/// `av_strerror`'s message for an FFmpeg return code.
public func ffmpegErrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: Int(gb_av_error_max_string_size()) + 64)
    if av_strerror(code, &buffer, buffer.count) < 0 {
        return "unknown FFmpeg error \(code)"
    }
    return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The default class for an FFmpeg error code met while working on `path`.
func defaultKind(for code: Int32) -> VideoError.Kind {
    switch code {
    case gb_averror_enoent(): return .missing
    case gb_averror_eacces(), gb_averror_eio(), gb_averror(ENOSPC), gb_averror(EROFS), gb_averror(EPERM):
        return .io
    case gb_averror_enomem(), gb_averror_bug(), gb_averror_encoder_not_found(), gb_averror_muxer_not_found(),
         gb_averror_option_not_found(), gb_averror_experimental():
        return .internal
    default:
        return .badInput
    }
}

/// The one gate for FFmpeg return codes: returns non-negative codes, throws the rest.
///
/// - Parameters:
///   - code: the value an FFmpeg function returned.
///   - operation: the function's name, recorded in the error.
///   - path: the file being worked on.
///   - kind: overrides the class derived from the code.
///   - context: a short human phrase put before the FFmpeg message (`"cannot open"`).
/// - Returns: `code` when it is not negative.
/// - Throws: ``VideoError`` with operation, code and `av_strerror`'s message.
@discardableResult
func check(_ code: Int32, _ operation: String, path: String, kind: VideoError.Kind? = nil,
           context: String? = nil) throws -> Int32 {
    if code >= 0 { return code }
    let message = ffmpegErrorString(code)
    let prefix = context.map { "\($0): " } ?? ""
    throw VideoError(path: path, operation: operation, code: code,
                     reason: "\(prefix)\(operation) failed: \(message)", kind: kind ?? defaultKind(for: code))
}

/// Unwraps a pointer an FFmpeg allocator returned; `nil` means out of memory (or a missing codec).
func checkAlloc<T>(_ pointer: T?, _ operation: String, path: String,
                   kind: VideoError.Kind = .internal) throws -> T {
    guard let pointer else {
        throw VideoError(path: path, operation: operation, code: gb_averror_enomem(),
                         reason: "\(operation) returned NULL", kind: kind)
    }
    return pointer
}

/// FFmpeg's own log, kept in memory instead of printed on the terminal.
///
/// VideoIO installs an `av_log_set_callback` hook the first time it touches FFmpeg. Lines at or
/// above ``level`` (warnings and errors by default) are kept in a ring of the last ``capacity``
/// lines, which ``VideoError`` copies into its `log` and the CLI can print with `--verbose`.
public enum FFmpegLog {
    /// How many lines the ring keeps.
    public static let capacity = 200

    /// The most recent lines, oldest first (at most `limit`).
    public static func recentLines(limit: Int = capacity) -> [String] {
        store.lines(limit: limit)
    }

    /// Forgets the stored lines.
    public static func clear() { store.clear() }

    /// The most verbose FFmpeg level kept (`AV_LOG_WARNING` = 24 by default; `AV_LOG_DEBUG` = 48).
    public static var level: Int32 {
        get { av_log_get_level() }
        set { install(); av_log_set_level(newValue) }
    }

    /// When true, lines are also echoed to standard error as they arrive (debugging aid).
    public static var echoToStandardError: Bool {
        get { store.echo }
        set { install(); store.setEcho(newValue) }
    }

    /// Installs the callback; idempotent and thread-safe. Called by every VideoIO entry point.
    public static func install() { _ = installed }

    private static let store = LogStore()

    private static let installed: Void = {
        av_log_set_level(gb_av_log_warning())
        gb_install_log_sink(ffmpegLogSink)
    }()

    fileprivate static func receive(_ text: String) { store.append(text) }
}

/// The C sink: one formatted log message from the shim's `av_log` callback.
private let ffmpegLogSink: @convention(c) (Int32, UnsafePointer<CChar>?) -> Void = { _, message in
    guard let message else { return }
    FFmpegLog.receive(String(cString: message))
}

/// Thread-safe ring of log lines (FFmpeg logs from decoder threads too).
private final class LogStore: @unchecked Sendable {
    private let lock = NSLock()
    private var ring: [String] = []
    private var pending = ""
    private(set) var echo = false

    func setEcho(_ value: Bool) { lock.lock(); echo = value; lock.unlock() }

    func append(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        pending += text
        while let newline = pending.firstIndex(of: "\n") {
            let line = String(pending[..<newline])
            pending = String(pending[pending.index(after: newline)...])
            if line.isEmpty { continue }
            ring.append(line)
            if ring.count > FFmpegLog.capacity { ring.removeFirst(ring.count - FFmpegLog.capacity) }
            if echo { FileHandle.standardError.write(Data(("[ffmpeg] " + line + "\n").utf8)) }
        }
    }

    func lines(limit: Int) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        var result = Array(ring.suffix(limit))
        if !pending.isEmpty { result.append(pending) }
        return Array(result.suffix(limit))
    }

    func clear() { lock.lock(); ring.removeAll(); pending = ""; lock.unlock() }
}

import Foundation

/// Writes to standard output and error, and shows progress only when stderr is a terminal.
public enum Console {
    /// Prints a line to standard output.
    public static func out(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Prints a line to standard error.
    public static func err(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// True when standard error is an interactive terminal (progress lines are shown only then).
    public static let stderrIsTerminal: Bool = isatty(2) != 0
}

/// A progress line on stderr (`label  12/40  30%  ETA 0:12`), redrawn in place; silent when
/// stderr is not a terminal or when `GLASSBOX_QUIET` is set, so logs and pipes stay clean.
public final class ProgressLine: @unchecked Sendable {
    private let label: String
    private let total: Int
    private var done = 0
    private let started = Date()
    private var lastDraw = Date.distantPast
    private let enabled: Bool
    private let lock = NSLock()

    public init(_ label: String, total: Int, enabled: Bool = Console.stderrIsTerminal) {
        self.label = label
        self.total = max(total, 1)
        self.enabled = enabled && ProcessInfo.processInfo.environment["GLASSBOX_QUIET"] == nil
    }

    /// Advances by `count` and redraws at most ten times a second.
    public func advance(_ count: Int = 1, note: String = "") {
        lock.lock(); defer { lock.unlock() }
        done += count
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.1 || done >= total else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(started)
        let remaining = done > 0 ? elapsed / Double(done) * Double(max(total - done, 0)) : 0
        let percent = Int(100 * Double(done) / Double(total))
        let line = "\r\(label)  \(done)/\(total)  \(percent)%  ETA \(Self.clock(remaining))  \(note)"
        FileHandle.standardError.write(Data((line.padding(toLength: max(line.count, 80), withPad: " ", startingAt: 0)).utf8))
    }

    /// Moves to an absolute count (for callbacks that report totals, not steps).
    public func set(done target: Int, note: String = "") {
        lock.lock()
        let step = target - done
        lock.unlock()
        if step > 0 { advance(step, note: note) }
    }

    /// Erases the progress line so that a log line can be printed cleanly; the next advance redraws it.
    public func clearLine() {
        lock.lock(); defer { lock.unlock() }
        if enabled { FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: 100) + "\r").utf8)) }
    }

    /// Ends the line so later output starts on a fresh one.
    public func finish() {
        lock.lock(); defer { lock.unlock() }
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        return whole >= 3600 ? String(format: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60)
                             : String(format: "%d:%02d", whole / 60, whole % 60)
    }
}

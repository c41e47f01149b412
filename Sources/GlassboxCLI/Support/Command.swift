/// One `glassbox` subcommand. Each lives in its own file under `Commands/` and registers itself
/// in `GlassboxCommand.commands`.
public protocol Command {
    /// The word after `glassbox`, e.g. `scan`.
    static var name: String { get }
    /// One line for the command list.
    static var summary: String { get }
    /// The full `--help` text: usage line, what it does, options, examples.
    static var help: String { get }
    /// Runs the command; throwing a `CLIError` sets the exit code.
    static func run(_ arguments: inout Arguments) throws
}

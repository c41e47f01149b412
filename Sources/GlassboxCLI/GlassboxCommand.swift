import Foundation

/// Entry point of the `glassbox` command; `main.swift` only calls `GlassboxCommand.main()`.
public enum GlassboxCommand {
    /// The tool's version, also written into every explanation document.
    public static let version = "0.1.0"

    /// Every subcommand, in the order `--help` lists them.
    nonisolated(unsafe) public static var commands: [any Command.Type] = [
        InfoCommand.self,
        FacesCommand.self,
        ScanCommand.self,
        SynthCommand.self,
        TrainCommand.self,
        EvaluateCommand.self,
        SAECommand.self,
        ExplainCommand.self,
        FaithfulnessCommand.self,
        RobustnessCommand.self,
        BenchCommand.self,
    ]

    static let exitCodeHelp = """
    Exit codes:
      0   success
      64  usage error (unknown option, missing argument)
      65  bad input data (not a video, corrupt, truncated, no video stream)
      66  input missing (no such file)
      70  internal error (a bug: please report it)
      74  I/O error (cannot write output)
    """

    static var overview: String {
        let width = commands.map { $0.name.count }.max() ?? 8
        let list = commands.map { "  \($0.name.padding(toLength: width + 2, withPad: " ", startingAt: 0))\($0.summary)" }
        return """
        glassbox \(version): a deepfake-video detector that explains itself.

        Usage: glassbox <command> [options]
               glassbox <command> --help

        Commands:
        \(list.joined(separator: "\n"))

        Global options:
          --help, -h    show help (also after a command)
          --version     print the version

        Progress goes to stderr when it is a terminal; results go to stdout.
        Set GLASSBOX_QUIET=1 to silence progress, GLASSBOX_THREADS=N to set worker threads.

        \(exitCodeHelp)
        """
    }

    /// Parses the process arguments, runs the subcommand and exits with its code.
    public static func main() -> Never {
        exit(run(Array(CommandLine.arguments.dropFirst())).rawValue)
    }

    /// Runs `glassbox` with the given arguments (without the program name); used by tests too.
    public static func run(_ rawArguments: [String]) -> ExitCode {
        guard let first = rawArguments.first else {
            Console.err(overview)
            return .usage
        }
        if first == "--version" {
            Console.out("glassbox \(version)")
            return .ok
        }
        if first == "--help" || first == "-h" || first == "help" {
            if rawArguments.count > 1, let command = commands.first(where: { $0.name == rawArguments[1] }) {
                Console.out(command.help)
            } else {
                Console.out(overview)
            }
            return .ok
        }
        guard let command = commands.first(where: { $0.name == first }) else {
            Console.err("glassbox: unknown command '\(first)'. Run 'glassbox --help' for the list.")
            return .usage
        }
        var arguments = Arguments(Array(rawArguments.dropFirst()))
        if arguments.wantsHelp {
            Console.out(command.help)
            return .ok
        }
        do {
            try command.run(&arguments)
            return .ok
        } catch let error as CLIError {
            if case .reported(let code) = error { return code }
            Console.err("glassbox \(command.name): \(error.description)")
            if case .usage = error { Console.err("Run 'glassbox \(command.name) --help' for usage.") }
            return error.exitCode
        } catch {
            let mapped = mapError(error)
            Console.err("glassbox \(command.name): \(mapped.description)")
            return mapped.exitCode
        }
    }
}

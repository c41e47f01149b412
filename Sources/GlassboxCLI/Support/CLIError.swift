import Foundation

/// Exit codes, following BSD `sysexits.h` so that scripts can tell a bad call from a bad file.
public enum ExitCode: Int32, Sendable {
    case ok = 0
    /// The verdict or check found something (reserved for `--fail-on` style use).
    case finding = 1
    case usage = 64
    case dataError = 65
    case noInput = 66
    case software = 70
    case ioError = 74
}

/// An error that ends a command with a one-line message and a documented exit code.
public enum CLIError: Error, CustomStringConvertible {
    case usage(String)
    case dataError(String)
    case noInput(String)
    case io(String)
    case software(String)
    /// The problems were already printed one per line; only the exit code is left to give.
    case reported(ExitCode)

    public var description: String {
        switch self {
        case .usage(let message), .dataError(let message), .noInput(let message), .io(let message), .software(let message):
            return message
        case .reported:
            return ""
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .usage: return .usage
        case .dataError: return .dataError
        case .noInput: return .noInput
        case .io: return .ioError
        case .software: return .software
        case .reported(let code): return code
        }
    }
}

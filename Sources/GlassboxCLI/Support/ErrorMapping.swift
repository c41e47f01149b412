import VideoIO

/// Maps library errors to CLI errors (message and exit code) in one place.
func mapError(_ error: any Error) -> CLIError {
    if let error = error as? CLIError { return error }
    return .software(String(describing: error))
}

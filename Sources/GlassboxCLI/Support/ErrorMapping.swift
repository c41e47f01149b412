import Faces
import Foundation
import VideoIO

/// Maps library errors to CLI errors (message and exit code) in one place.
func mapError(_ error: any Error) -> CLIError {
    if let error = error as? CLIError { return error }
    if let error = error as? VideoError {
        switch error.kind {
        case .missing: return .noInput(error.description)
        case .badInput: return .dataError(error.description)
        case .io: return .io(error.description)
        case .internal: return .software(error.description)
        }
    }
    return .software(String(describing: error))
}

import Foundation

/// Finds the files Glassbox ships (weights, SAE, feature dictionary) without the user pointing at them.
enum Resources {
    /// Candidate folders holding `weights/`: `GLASSBOX_HOME`, the working directory, and the
    /// repository that a `.build/<config>/glassbox` binary was built in.
    static var roots: [String] {
        var roots: [String] = []
        if let home = ProcessInfo.processInfo.environment["GLASSBOX_HOME"] { roots.append(home) }
        roots.append(FileManager.default.currentDirectoryPath)
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            roots.append(folder.path)
            folder = folder.deletingLastPathComponent()
        }
        return roots
    }

    /// The path of a shipped file such as `weights/detector.safetensors`, or the first candidate
    /// (for the error message) when none exists.
    static func locate(_ relativePath: String) -> String {
        for root in roots {
            let candidate = root + "/" + relativePath
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return relativePath
    }

    /// The default detector weights.
    static var detectorWeights: String { locate("weights/detector.safetensors") }
}

import Foundation
import VideoIO

/// `glassbox info FILE [--json]`: what a video file is.
enum InfoCommand: Command {
    static let name = "info"
    static let summary = "show a video's container, codec, size, fps, duration and frame count"
    static let help = """
    Usage: glassbox info FILE... [--json] [--count]

    Prints what FFmpeg reads from each file: container, codec, width, height, fps, duration,
    frame count (from the container's index, counted, or estimated), bitrate and rotation.

    Options:
      --json    one JSON object per file (a JSON array when several files are given); fields:
                path, container, codec, width, height, fps, durationSeconds, frameCount,
                frameCountIsEstimated, bitRate, rotationDegrees
      --count   count frames by demuxing when the container has no frame count (slower, exact)

    Examples:
      glassbox info Samples/real_langer.mp4
      glassbox info clip.mkv --json | jq .frameCount

    A file that cannot be read gets a one-line error; the others are still reported (exit 65).
    """

    static func run(_ arguments: inout Arguments) throws {
        let json = arguments.flag("--json")
        let count = arguments.flag("--count")
        let paths = arguments.positionals()
        try arguments.finish()
        guard !paths.isEmpty else { throw CLIError.usage("give at least one FILE") }

        var infos: [VideoInfo] = []
        var failures: [CLIError] = []
        for path in paths {
            do {
                try FileOutput.requireFile(path)
                infos.append(count ? try VideoReader.probe(path: path) : try VideoReader(path: path).info)
            } catch {
                let mapped = mapError(error)
                Console.err("glassbox info: \(mapped.description)")
                failures.append(mapped)
            }
        }
        if json {
            let data = paths.count == 1 ? (infos.first.map { try? FileOutput.encodeJSON($0) } ?? nil)
                                        : try FileOutput.encodeJSON(infos)
            if let data { FileHandle.standardOutput.write(data) }
        } else {
            for info in infos { Console.out(describe(info)) }
        }
        if let first = failures.first {
            // Already reported line by line; exit with the first failure's code.
            throw CLIError.reported(first.exitCode)
        }
    }

    static func describe(_ info: VideoInfo) -> String {
        let bitrate = info.bitRate.map { String(format: "%.0f kb/s", Double($0) / 1000) } ?? "unknown"
        let frames = "\(info.frameCount)\(info.frameCountIsEstimated ? " (estimated)" : "")"
        return """
        \(info.path)
          container  \(info.container)
          codec      \(info.codec)
          size       \(info.width)x\(info.height)\(info.rotationDegrees != 0 ? " (rotate \(info.rotationDegrees)°)" : "")
          fps        \(String(format: "%.3f", info.fps))
          duration   \(String(format: "%.3f", info.durationSeconds)) s
          frames     \(frames)
          bitrate    \(bitrate)
        """
    }
}

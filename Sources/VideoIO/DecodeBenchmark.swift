import Foundation

/// Decode+RGB throughput of VideoIO against the `ffmpeg` command-line tool on the same file.
public struct DecodeBenchmark: Codable, Sendable, Equatable {
    /// The file decoded.
    public var path: String
    /// Frame size and count (frames decoded by VideoIO in each round).
    public var width: Int
    public var height: Int
    public var frames: Int
    /// Alternating rounds run (ours, ffmpeg, ours, ffmpeg, ...).
    public var rounds: Int
    /// Wall-clock seconds of each VideoIO round.
    public var oursSeconds: [Double]
    /// Wall-clock seconds of each `ffmpeg` round; empty when the tool is missing or failed.
    public var ffmpegSeconds: [Double]
    /// Frames per second from the median round.
    public var oursFPS: Double
    public var ffmpegFPS: Double?
    /// `oursFPS / ffmpegFPS` (above 1: VideoIO is faster).
    public var ratio: Double?
    /// CPU seconds (user + system, all threads) of each VideoIO round and each `ffmpeg` round.
    /// On a shared machine wall time depends on the neighbours; CPU time much less so.
    public var oursCPUSeconds: [Double]
    public var ffmpegCPUSeconds: [Double]
    /// `median(ffmpegCPUSeconds) / median(oursCPUSeconds)`: above 1, VideoIO needs less CPU per frame.
    public var cpuRatio: Double?
    /// The exact command timed.
    public var ffmpegCommand: [String]
    /// Why the ffmpeg side is missing, if it is.
    public var ffmpegNote: String?
    /// Peak resident memory of this process after the benchmark, in MiB (`getrusage` `ru_maxrss`):
    /// decoding streams frame by frame, so it should not grow with the video's length.
    public var peakResidentMiB: Double?
}

/// Times decode+RGB of every frame with ``VideoReader`` and with
/// `ffmpeg -v error -threads 0 -i FILE -pix_fmt rgb24 -f rawvideo -y /dev/null`, alternating the two
/// in the same run, and reports medians and their ratio. Both sides use automatic decoder threads.
/// Wall time and CPU time (`getrusage`, this process's threads and the child's) are both recorded.
///
/// - Parameters:
///   - path: the video.
///   - rounds: rounds per side (at least 1).
///   - ffmpegExecutable: the tool to compare with (default: `ffmpeg` on `PATH`).
/// - Returns: times, medians and the ratio.
/// - Throws: ``VideoError`` when VideoIO cannot decode the file.
public func benchmarkDecode(path: String, rounds: Int = 3, ffmpegExecutable: String = "ffmpeg") throws -> DecodeBenchmark {
    precondition(rounds >= 1, "benchmark needs at least one round, got \(rounds)")
    let command = [ffmpegExecutable, "-nostdin", "-v", "error", "-threads", "0", "-i", path,
                   "-pix_fmt", "rgb24", "-f", "rawvideo", "-y", "/dev/null"]
    var ours: [Double] = []
    var theirs: [Double] = []
    var oursCPU: [Double] = []
    var theirsCPU: [Double] = []
    var frames = 0, width = 0, height = 0
    var note: String? = nil
    let clock = ContinuousClock()
    for _ in 0..<rounds {
        let cpuBefore = cpuSeconds(children: false)
        let reader = try VideoReader(path: path)
        var count = 0
        let elapsed = try clock.measure {
            try reader.forEachFrame(SamplingOptions()) { frame in
                count += 1
                width = frame.image.width
                height = frame.image.height
                return true
            }
        }
        frames = count
        ours.append(seconds(elapsed))
        oursCPU.append(cpuSeconds(children: false) - cpuBefore)
        if note == nil {
            do {
                let childBefore = cpuSeconds(children: true)
                let ffmpegElapsed = try clock.measure { try runQuietly(command) }
                theirs.append(seconds(ffmpegElapsed))
                theirsCPU.append(cpuSeconds(children: true) - childBefore)
            } catch {
                note = "\(error)"
                theirs.removeAll()
                theirsCPU.removeAll()
            }
        }
    }
    let oursFPS = Double(frames) / median(ours)
    let ffmpegFPS = theirs.isEmpty ? nil : Double(frames) / median(theirs)
    return DecodeBenchmark(path: path, width: width, height: height, frames: frames, rounds: rounds,
                           oursSeconds: ours, ffmpegSeconds: theirs, oursFPS: oursFPS, ffmpegFPS: ffmpegFPS,
                           ratio: ffmpegFPS.map { oursFPS / $0 }, oursCPUSeconds: oursCPU, ffmpegCPUSeconds: theirsCPU,
                           cpuRatio: theirsCPU.isEmpty ? nil : median(theirsCPU) / median(oursCPU),
                           ffmpegCommand: command, ffmpegNote: note, peakResidentMiB: peakResidentMiB())
}

/// This process's peak resident set size in MiB (Linux reports `ru_maxrss` in KiB).
public func peakResidentMiB() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
    #else
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / (1024 * 1024)
    #endif
}

private func seconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
}

/// User plus system CPU seconds of this process (`RUSAGE_SELF`) or its waited-for children.
private func cpuSeconds(children: Bool) -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(children ? RUSAGE_CHILDREN.rawValue : RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(children ? RUSAGE_CHILDREN : RUSAGE_SELF, &usage)
    #endif
    func value(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) * 1e-6 }
    return value(usage.ru_utime) + value(usage.ru_stime)
}

private func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

private struct CommandFailed: Error, CustomStringConvertible {
    var description: String
}

/// Runs a command found on `PATH` with stdout and stderr discarded; throws on non-zero exit.
private func runQuietly(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CommandFailed(description: "\(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
}

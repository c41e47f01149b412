import Detector
import Faces
import Foundation
import Report
import VideoIO

/// `glassbox scan`: the verdict for one video, or for a folder or list of videos.
enum ScanCommand: Command {
    static let name = "scan"
    static let summary = "judge videos: p(fake) per frame, per face track and per video, with a verdict"
    static let help = """
    Usage: glassbox scan FILE [--json OUT] [options]
           glassbox scan FILE|DIR... --jsonl OUT [--shard K/N] [options]

    Decodes the video, tracks faces, scores aligned face crops with the detector and aggregates a
    calibrated verdict: real, fake, unsure (p(fake) within the band around the threshold) or
    noFace (nothing was scored). A video is fake if any of its face tracks is.

    One file: a short summary on stdout; --json OUT writes the explanation document
    (docs/explanation.schema.json; use --json - for stdout).
    Several files or folders (searched recursively for video files): one JSON line per video in
    --jsonl OUT. Resumable: videos already in OUT are skipped. A bad file gets a line with its
    error and the batch goes on; the exit code is then 65.

    Options:
      --weights FILE    detector weights (default weights/detector.safetensors)
      --frames N        score N frames spread evenly (default: 4 per second, 8 to 64)
      --fps F           score frames at F per second instead
      --start S, --end S   only this time range (seconds)
      --shard K/N       only the K-th of N equal shares of the file list (K = 1..N), for
                        splitting a corpus across machines; shares are disjoint and cover all
    Examples:
      glassbox scan Samples/fake_selfBlend.mp4 --json out/scan.json
      glassbox scan corpus/ --jsonl results.jsonl --shard 2/8
    """

    static let videoExtensions: Set<String> = ["mp4", "mov", "mkv", "webm", "avi", "m4v", "mpg", "mpeg", "ts", "flv", "wmv", "3gp"]

    static func run(_ arguments: inout Arguments) throws {
        let jsonOut = try arguments.option("--json")
        let jsonlOut = try arguments.option("--jsonl")
        let weights = try arguments.option("--weights") ?? Resources.detectorWeights
        let frames = try arguments.option("--frames")
        let fps = try arguments.option("--fps")
        let start = try arguments.option("--start")
        let end = try arguments.option("--end")
        let shard = try arguments.option("--shard")
        let inputs = arguments.positionals()
        try arguments.finish()
        guard !inputs.isEmpty else { throw CLIError.usage("give a video FILE (or folders/files with --jsonl)") }

        var sampling: SamplingOptions?
        if frames != nil || fps != nil || start != nil || end != nil {
            var options = SamplingOptions(sampling: .evenlySpaced(32))
            if let frames {
                guard let n = Int(frames), n > 0 else { throw CLIError.usage("--frames expects a positive integer") }
                options.sampling = .evenlySpaced(n)
            }
            if let fps {
                guard let rate = Double(fps), rate > 0 else { throw CLIError.usage("--fps expects a positive number") }
                options.sampling = .targetFPS(rate)
            }
            options.startSeconds = try start.map { try seconds($0, "--start") }
            options.endSeconds = try end.map { try seconds($0, "--end") }
            sampling = options
        }

        let model: DetectorModel
        do { model = try DetectorModel.load(from: weights) } catch { throw CLIError.noInput("\(error)") }
        let scanner = VideoScanner(model: model, detector: try FaceDetector.standard())
        let weightsSHA = (try? SHA256.hex(ofFile: weights)) ?? "unknown"
        let context = Context(scanner: scanner, model: model, weights: weights, weightsSHA: weightsSHA, sampling: sampling)

        if let jsonlOut {
            try runBatch(inputs: inputs, output: jsonlOut, shard: shard, context: context)
            return
        }
        guard inputs.count == 1 else { throw CLIError.usage("several inputs need --jsonl OUT") }
        guard shard == nil else { throw CLIError.usage("--shard needs --jsonl OUT") }
        try FileOutput.requireFile(inputs[0])
        let document = try scanOne(inputs[0], context: context)
        Console.out(humanSummary(document))
        if let jsonOut {
            let data = try FileOutput.encodeJSON(document)
            if jsonOut == "-" { FileHandle.standardOutput.write(data) } else { try FileOutput.write(data, to: jsonOut) }
        }
    }

    struct Context {
        var scanner: VideoScanner
        var model: DetectorModel
        var weights: String
        var weightsSHA: String
        var sampling: SamplingOptions?
    }

    static func seconds(_ text: String, _ name: String) throws -> Double {
        guard let value = Double(text), value >= 0, value.isFinite else { throw CLIError.usage("\(name) expects seconds >= 0") }
        return value
    }

    static func scanOne(_ path: String, context: Context) throws -> ScanDocument {
        let bar = ProgressLine("scanning \(URL(fileURLWithPath: path).lastPathComponent)", total: 1)
        var planned = 1, done = 0
        let scan = try context.scanner.scan(path: path, options: ScanOptions(sampling: context.sampling)) { current, total in
            planned = total
            _ = planned
            bar.advance(current - done)
            done = current
        }
        bar.finish()
        return ScanDocument(scan: scan, path: path, inputSHA256: try SHA256.hex(ofFile: path), model: context.model,
                            weightsPath: context.weights, weightsSHA256: context.weightsSHA, toolVersion: GlassboxCommand.version)
    }

    static func humanSummary(_ document: ScanDocument) -> String {
        var lines = ["\(document.input.path): \(document.verdict.label.rawValue.uppercased())"
                     + (document.verdict.probability.map { String(format: "  p(fake) = %.3f", $0) } ?? "")]
        lines.append("  \(document.verdict.summary)")
        lines.append("  \(document.sampledFrames) frames sampled, \(document.framesWithFace) with a scored face, \(document.tracks.count) track(s)")
        for track in document.tracks {
            let peak = track.frames.max { $0.probability < $1.probability }
            lines.append(String(format: "  track %d: %@ p(fake) = %.3f over %d frames%@", track.id, track.label.rawValue,
                                track.probability, track.frames.count,
                                peak.map { String(format: "; most suspicious frame %d (p = %.3f)", $0.index, $0.probability) } ?? ""))
        }
        return lines.joined(separator: "\n")
    }

    /// Expands folders into their video files (sorted, so shards are stable across machines).
    static func expand(_ inputs: [String]) -> [String] {
        var files: [String] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue {
                let enumerator = FileManager.default.enumerator(atPath: input)
                var found: [String] = []
                while let relative = enumerator?.nextObject() as? String {
                    if videoExtensions.contains(URL(fileURLWithPath: relative).pathExtension.lowercased()) {
                        found.append((input as NSString).appendingPathComponent(relative))
                    }
                }
                files.append(contentsOf: found.sorted())
            } else {
                files.append(input)
            }
        }
        return files
    }

    static func parseShard(_ text: String) throws -> (index: Int, count: Int) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, (1...n).contains(k) else {
            throw CLIError.usage("--shard expects K/N with 1 <= K <= N, got '\(text)'")
        }
        return (k, n)
    }

    struct BatchFailure: Codable {
        var path: String
        var error: String
        var exitCode: Int32
    }

    static func runBatch(inputs: [String], output: String, shard: String?, context: Context) throws {
        var files = expand(inputs)
        if let shard {
            let (k, n) = try parseShard(shard)
            files = files.enumerated().filter { $0.offset % n == k - 1 }.map(\.element)
        }
        let done = try JSONLines.completedPaths(in: output)
        let todo = files.filter { !done.contains($0) }
        Console.err("scan: \(files.count) video(s)\(shard.map { " in shard \($0)" } ?? ""), \(files.count - todo.count) already in \(output), \(todo.count) to do")
        let bar = ProgressLine("scanning", total: todo.count)
        var failures = 0
        for path in todo {
            do {
                try FileOutput.requireFile(path)
                let document = try scanOne(path, context: context)
                try JSONLines.append(document, to: output)
                bar.advance(note: "\(URL(fileURLWithPath: path).lastPathComponent): \(document.verdict.label.rawValue)")
            } catch {
                let mapped = mapError(error)
                failures += 1
                bar.clearLine()
                Console.err("glassbox scan: \(mapped.description)")
                try JSONLines.append(BatchFailure(path: path, error: mapped.description, exitCode: mapped.exitCode.rawValue), to: output)
                bar.advance()
            }
        }
        bar.finish()
        Console.out("scanned \(todo.count - failures) video(s), \(failures) failed; results in \(output)")
        if failures > 0 { throw CLIError.reported(.dataError) }
    }
}

import Detector
import Faces
import Foundation
import Synthesis
import VideoIO

/// `glassbox evaluate SET/`: AUC, AP, EER, accuracy and ECE of the detector on a labelled set.
enum EvaluateCommand: Command {
    static let name = "evaluate"
    static let summary = "measure the detector on a labelled set: frame and video AUC, AP, EER, accuracy, ECE per method"
    static let help = """
    Usage: glassbox evaluate SET [--json OUT] [--weights FILE] [--frames N]

    SET is a folder with manifest.json (as written by `glassbox synth`), or the plain layout
    real/... and fake/<method>/... (for example a FaceForensics++ copy arranged that way).
    Every video is scanned; frame-level metrics use every scored frame with its video's label,
    video-level metrics use the video's p(fake). Per method, that method's fakes are ranked
    against all reals. Videos with no face are counted and left out; unreadable files are
    reported and skipped.

    Options:
      --json OUT       write the full evaluation (metrics and per-video results) as JSON
      --weights FILE   detector weights (default weights/detector.safetensors)
      --frames N       frames scored per video, spread evenly (default: 4 per second, 8 to 64)

    Example:
      glassbox synth --from .cache/data/pyfeat/single_face.mp4 --out /tmp/set && glassbox evaluate /tmp/set
    """

    static func run(_ arguments: inout Arguments) throws {
        let jsonOut = try arguments.option("--json")
        let weights = try arguments.option("--weights") ?? Resources.detectorWeights
        let frames = try arguments.option("--frames").map { text -> Int in
            guard let n = Int(text), n > 0 else { throw CLIError.usage("--frames expects a positive integer") }
            return n
        }
        let inputs = arguments.positionals()
        try arguments.finish()
        guard inputs.count == 1 else { throw CLIError.usage("give exactly one SET folder") }
        let set: ManipulationSet
        do { set = try ManipulationSet.load(path: inputs[0]) } catch { throw CLIError.dataError("\(error)") }
        guard !set.entries.isEmpty else { throw CLIError.dataError("\(inputs[0]): the set has no videos") }
        let model: DetectorModel
        do { model = try DetectorModel.load(from: weights) } catch { throw CLIError.noInput("\(error)") }
        let scanner = VideoScanner(model: model, detector: try FaceDetector.standard())

        let evaluation = evaluate(set: set, scanner: scanner, frames: frames)
        Console.out(evaluation.table())
        for failure in evaluation.failures { Console.err("glassbox evaluate: \(failure)") }
        if let jsonOut { try FileOutput.writeJSON(evaluation, to: jsonOut) }
    }

    /// Scans every entry of a set (shared with `glassbox robustness`).
    static func evaluate(set: ManipulationSet, scanner: VideoScanner, frames: Int?) -> SetEvaluation {
        let bar = ProgressLine("evaluating", total: set.entries.count)
        var results: [VideoResult] = [], failures: [String] = []
        for entry in set.entries {
            let path = set.absolutePath(entry.path)
            do {
                let sampling = frames.map { SamplingOptions(sampling: .evenlySpaced($0)) }
                let scan = try scanner.scan(path: path, options: ScanOptions(sampling: sampling))
                results.append(VideoResult(path: entry.path, label: entry.isFake ? 1 : 0, method: entry.isFake ? (entry.method ?? "unknown") : nil,
                                           probability: scan.verdict.probability, verdict: scan.verdict.label,
                                           frameProbabilities: scan.tracks.flatMap { $0.frames.map(\.probability) }))
                bar.advance(note: "\(entry.path): \(scan.verdict.label.rawValue)")
            } catch {
                failures.append(mapError(error).description)
                bar.advance()
            }
        }
        bar.finish()
        return SetEvaluation(videos: results, failures: failures, threshold: scanner.model.rule.threshold)
    }
}

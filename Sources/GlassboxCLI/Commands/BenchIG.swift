import Detector
import Explain
import Faces
import Foundation
import Report
import Tensor

/// `glassbox bench ig`: how long integrated gradients takes for a scan's explained frames.
///
/// Issue goal: 4 frames at 32 steps in 1.5 s or less on 2 cores. The crops are the most
/// suspicious frames of the most suspicious track of a real clip, and IG runs with the settings a
/// scan uses (baseline, quadrature rule, batch size), so the figure is the one a user waits for.
enum BenchIG {
    static let help = """
    ig      Integrated gradients over the --frames (default 4) most suspicious face crops of FILE
            (default Samples/fake/selfBlend/single_face.mp4) at --steps (default 32), with the scan's
            settings; prints the median seconds over --rounds (default 5) after one warm-up, the
            images/s through the network, and the largest relative completeness error.
    """

    static func run(_ arguments: inout Arguments) throws {
        let frames = try arguments.int("--frames", default: 4, range: 1...64)
        let steps = try arguments.int("--steps", default: 32, range: 1...1024)
        let rounds = try arguments.int("--rounds", default: 5, range: 1...100)
        let weights = try arguments.option("--weights") ?? Resources.detectorWeights
        let json = arguments.flag("--json")
        let words = arguments.positionals()
        try arguments.finish()
        guard words.count <= 2 else { throw CLIError.usage("bench ig takes at most one FILE") }
        let path = words.count == 2 ? words[1] : Resources.locate("Samples/fake/selfBlend/single_face.mp4")
        try FileOutput.requireFile(path)
        let model: DetectorModel
        do { model = try DetectorModel.load(from: weights) } catch { throw CLIError.noInput("\(error)") }

        let scan = try VideoScanner(model: model, detector: try FaceDetector.standard()).scan(path: path)
        guard let trackIndex = scan.mostSuspiciousTrackIndex else { throw CLIError.dataError("\(path): no face found") }
        let track = scan.tracks[trackIndex], evidence = scan.evidence[trackIndex]
        let chosen = ScanExplainer.framesToExplain(track.frames, top: frames, addLeast: false)
        guard chosen.count == frames else {
            throw CLIError.dataError("\(path): its most suspicious track has \(chosen.count) frames, fewer than --frames \(frames)")
        }
        var inputs: [Float] = []
        for position in chosen { inputs.append(contentsOf: model.format.tensorValues(evidence.crops[position])) }

        let settings = ExplanationSettings()
        let ig = IntegratedGradients(.init(steps: steps, rule: settings.rule, baseline: settings.baseline,
                                           normalization: .identity(channels: 3), batchSize: 16))
        let attributionModel = DetectorAttributionModel(model: model)
        var seconds: [Double] = []
        var worstCompleteness = 0.0
        for round in 0...rounds {
            let start = Date()
            let attributions = try ig.attribute(attributionModel, inputs: inputs, count: frames)
            let elapsed = Date().timeIntervalSince(start)
            if round > 0 { seconds.append(elapsed) }   // round 0 warms up
            worstCompleteness = max(worstCompleteness, attributions.map(\.relativeCompletenessError).max() ?? 0)
        }
        let median = seconds.sorted()[seconds.count / 2]
        struct Result: Codable {
            var file: String, frames: Int, steps: Int, rounds: Int, threads: Int
            var medianSeconds: Double, imagesPerSecond: Double, maxRelativeCompletenessError: Double
        }
        let result = Result(file: path, frames: frames, steps: steps, rounds: rounds, threads: Parallel.threadCount,
                            medianSeconds: median, imagesPerSecond: Double(frames * steps) / median,
                            maxRelativeCompletenessError: worstCompleteness)
        if json {
            FileHandle.standardOutput.write(try FileOutput.encodeJSON(result))
        } else {
            Console.out("integrated gradients: \(frames) frames x \(steps) steps of \(path), \(Parallel.threadCount) threads, median of \(rounds)")
            Console.out(String(format: "  %.3f s  (%.0f images/s through forward + input gradient)", median, result.imagesPerSecond))
            Console.out(String(format: "  max relative completeness error %.4f%%", 100 * worstCompleteness))
        }
    }
}

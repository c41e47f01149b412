import Detector
import Faces
import Foundation
import Imaging
import Report
import Robustness
import VideoIO

/// `glassbox robustness SET/`: the detector over a set under perturbations, with shortcut rates.
enum RobustnessCommand: Command {
    static let name = "robustness"
    static let summary = "evaluate a manipulation set under codec, resize, blur, noise and colour perturbations"
    static let help = """
    Usage: glassbox robustness SET [--out DIR] [--perturbations SPEC] [--frames N] [--threads N]
                               [--weights FILE] [--shortcut clean|all|none]

    Reads SET (manifest.json as written by `glassbox synth`, or real/... and fake/<method>/...),
    scores every clip under each perturbation (in the spirit of DeeperForensics-1.0), and reports
    AUC, AP, EER, accuracy and ECE for each method x perturbation x level, with the shortcut rate
    (share of verdicts the compression-shortcut check flags) and the worst cells.

    Outputs in --out (default out/robustness): robustness.json, robustness.md, robustness-auc.png
    (AUC against level per method) and results.jsonl (one line per clip and perturbation). An
    interrupted run resumes from results.jsonl; unreadable clips are reported and skipped.

    Options:
      --perturbations SPEC   e.g. "h264:23,30,37,jpeg:90,50,20,blur:1,2,3" or "standard"
                             (default: h264, jpeg, downscale, blur, noise, saturation, 3 levels each)
      --frames N             frames per clip, spread evenly (default 8)
      --threads N            clips scored at once (default 2)
      --shortcut MODE        where to run the shortcut check (quality ladders on the face region of the frames and on the crops):
                             clean = unperturbed clips only (default), all = every cell (slow),
                             none = skip
      --weights FILE         detector (default weights/detector.safetensors)

    Example:
      glassbox robustness Samples --out out/robustness-samples
    """

    static let defaultSpec = "h264:23,30,37,jpeg:90,50,20,downscale:0.5,0.25,0.125,blur:1,2,3,noise:5,10,20,saturation:0.5,1.5,2"

    static func run(_ arguments: inout Arguments) throws {
        let out = try arguments.option("--out") ?? "out/robustness"
        let spec = try arguments.option("--perturbations") ?? defaultSpec
        let frames = try arguments.int("--frames", default: 8, range: 1...256)
        let threads = try arguments.int("--threads", default: 2, range: 1...64)
        let weights = try arguments.option("--weights") ?? Resources.detectorWeights
        let shortcutMode = try arguments.option("--shortcut") ?? "clean"
        let inputs = arguments.positionals()
        try arguments.finish()
        guard inputs.count == 1 else { throw CLIError.usage("give exactly one SET folder") }
        guard ["clean", "all", "none"].contains(shortcutMode) else { throw CLIError.usage("--shortcut is clean, all or none") }
        let perturbations: [Perturbation]
        do {
            perturbations = spec == "standard" ? Perturbation.standardSuite() : try Perturbation.parse(spec)
        } catch { throw CLIError.usage("--perturbations: \(error)") }
        let items: [SetItem]
        do { items = try SetReader.load(path: inputs[0]) } catch { throw CLIError.dataError("\(error)") }
        guard !items.isEmpty else { throw CLIError.dataError("\(inputs[0]): the set has no clips") }
        let model: DetectorModel
        do { model = try DetectorModel.load(from: weights) } catch { throw CLIError.noInput("\(error)") }
        let scanner = VideoScanner(model: model, detector: try FaceDetector.standard())
        let check = ShortcutCheck(model: model)

        let scorer = RobustnessScorer.frames(load: FrameLoading.evenlySpaced(count: frames)) { images, perturbation in
            let videoFrames = images.enumerated().map { VideoFrame(index: $0.offset, timeSeconds: Double($0.offset), image: $0.element) }
            let info = VideoInfo(path: "", container: "frames", codec: "rgb", width: images.first?.width ?? 0,
                                 height: images.first?.height ?? 0, fps: 25, durationSeconds: Double(images.count) / 25,
                                 frameCount: images.count, frameCountIsEstimated: false, bitRate: nil, rotationDegrees: 0)
            let checksShortcut = shortcutMode == "all" || (shortcutMode == "clean" && perturbation.isIdentity)
            let scan = scanner.scan(frames: videoFrames, info: info, keepsCodecWindows: checksShortcut)
            // A clip without a face has no verdict: score it as the threshold (neither side) and say so.
            guard let probability = scan.verdict.probability else {
                return ItemScore(probability: model.rule.threshold, shortcutFlag: nil)
            }
            var flag: Bool?
            if checksShortcut {
                flag = try check.check(scan: scan, maps: [:], codecFeatureShare: nil)?.shortcut.flag
            }
            return ItemScore(probability: probability, shortcutFlag: flag)
        }
        let bar = ProgressLine("robustness", total: items.count * (perturbations.count + 1))
        let run = RobustnessRun(set: items, outputDir: out, perturbations: perturbations, scorer: scorer, threads: threads,
                                threshold: model.rule.threshold) { progress in
            bar.set(done: progress.completed, note: URL(fileURLWithPath: progress.lastPath).lastPathComponent)
        }
        let report: RobustnessReport
        do { report = try run.run() } catch { throw CLIError.io("\(out): \(error)") }
        bar.finish()
        Console.out(report.textTable())
        Console.out("wrote \(out)/robustness.json, robustness.md, robustness-auc.png")
        if report.failedClips > 0 { throw CLIError.reported(.dataError) }
    }
}

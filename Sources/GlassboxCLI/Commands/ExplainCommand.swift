import Detector
import Explain
import Faces
import Foundation
import Report
import VideoIO

/// `glassbox explain FILE --frame N` and `--ablate ID...`: one frame's evidence, or the verdict
/// with chosen SAE features switched off.
enum ExplainCommand: Command {
    static let name = "explain"
    static let summary = "explain one frame (IG heatmap, regions), or re-run a verdict with SAE features switched off"
    static let help = """
    Usage: glassbox explain FILE --frame N [--out DIR] [--steps S] [--rule R] [--baseline B]
                                        [--smoothgrad N[:L]] [--weights FILE]
           glassbox explain FILE --ablate ID[,ID...] [--weights FILE] [--sae FILE]

    --frame N      explains decoded frame N: tracks faces over the second around it, computes the
                   integrated-gradients map of each face's crop in that frame (fake logit, blurred
                   baseline unless --baseline), writes the heatmap PNG and the raw map (safetensors)
                   to --out (default out/explain), and prints the completeness error and, per face
                   region, its net contribution to the logit and its share of positive attribution.
    --ablate IDS   scans FILE, then switches the given sparse-autoencoder features off in every
                   frame's embedding (the embedding minus those features' decoded contribution) and
                   prints the verdict before and after, per track and for the video: what the
                   verdict rests on. Feature ids are those listed in a scan's explanation.features.

    Options:
      --steps S        integrated-gradients steps (default 32)
      --baseline B     \(BaselineOption.help)
      --rule R         \(QuadratureOption.help)
      --smoothgrad N[:L]  \(SmoothGradOption.help)
      --weights FILE   detector (default weights/detector.safetensors)
      --sae FILE       sparse autoencoder (default weights/sae.safetensors)
    """

    static func run(_ arguments: inout Arguments) throws {
        let frame = try arguments.option("--frame")
        let ablate = try arguments.options("--ablate")
        let out = try arguments.option("--out") ?? "out/explain"
        let steps = try arguments.int("--steps", default: 32, range: 2...1024)
        let baseline = try BaselineOption.parse(try arguments.option("--baseline") ?? "blur")
        let smoothing = try SmoothGradOption.parse(try arguments.option("--smoothgrad"))
        let rule = try QuadratureOption.parse(try arguments.option("--rule"))
        let weights = try arguments.option("--weights") ?? Resources.detectorWeights
        let saePath = try arguments.option("--sae") ?? Resources.locate("weights/sae.safetensors")
        let inputs = arguments.positionals()
        try arguments.finish()
        guard inputs.count == 1 else { throw CLIError.usage("give exactly one FILE") }
        guard (frame == nil) != ablate.isEmpty else { throw CLIError.usage("give either --frame N or --ablate IDS") }
        try FileOutput.requireFile(inputs[0])
        let model: DetectorModel
        do { model = try DetectorModel.load(from: weights) } catch { throw CLIError.noInput("\(error)") }
        let scanner = VideoScanner(model: model, detector: try FaceDetector.standard())
        if let frame {
            guard let index = Int(frame), index >= 0 else { throw CLIError.usage("--frame expects a frame index >= 0") }
            try explainFrame(inputs[0], index: index, scanner: scanner, model: model, steps: steps, rule: rule,
                             baseline: baseline, smoothing: smoothing, out: out)
        } else {
            let ids = try Set(ablate.map { text -> Int in
                guard let id = Int(text), id >= 0 else { throw CLIError.usage("--ablate expects feature ids, got '\(text)'") }
                return id
            })
            let sae: SparseAutoencoder
            do { sae = try SparseAutoencoder.load(from: URL(fileURLWithPath: saePath)) }
            catch { throw CLIError.noInput("\(saePath): no usable sparse autoencoder (\(error))") }
            guard ids.allSatisfy({ $0 < sae.latentCount }) else { throw CLIError.usage("feature ids must be below \(sae.latentCount)") }
            try ablateFeatures(inputs[0], ids: ids, scanner: scanner, model: model, sae: sae)
        }
    }

    static func explainFrame(_ path: String, index: Int, scanner: VideoScanner, model: DetectorModel, steps: Int,
                             rule: QuadratureRule = .gaussLegendre, baseline: Baseline = .default, smoothing: IntegratedGradients.Smoothing? = nil,
                             out: String) throws {
        let info = try VideoReader(path: path).info
        guard info.frameCount == 0 || index < info.frameCount else {
            throw CLIError.usage("\(path) has \(info.frameCount) frames; --frame \(index) is past the end")
        }
        let time = Double(index) / max(info.fps, 1)
        let sampling = SamplingOptions(sampling: .every, startSeconds: max(0, time - 0.5), endSeconds: time + 0.5)
        let scan = try scanner.scan(path: path, options: ScanOptions(sampling: sampling))
        var found = false
        let ig = IntegratedGradients(.init(steps: steps, rule: rule, baseline: baseline, normalization: .identity(channels: 3),
                                           smoothing: smoothing))
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var archive = TensorArchive(metadata: ["format": "glassbox-attributions-v1"])
        let s = model.format.size
        for (track, evidence) in zip(scan.tracks, scan.evidence) {
            guard let position = track.frames.firstIndex(where: { $0.index == index }) else { continue }
            found = true
            let score = track.frames[position]
            let attribution = try ig.attribute(DetectorAttributionModel(model: model),
                                               inputs: model.format.tensorValues(evidence.crops[position]), count: 1)[0]
            let map = attribution.channelSum
            let heatmap = "\(out)/track\(track.id)-frame\(index).png"
            let png = AttributionHeatmap.pngData(map: map, width: s, height: s, crop: evidence.crops[position],
                                                 smoothing: AttributionHeatmap.displaySmoothing)
            try FileOutput.write(Data(png), to: heatmap)
            archive.tensors[AttributionRecord.tensorName(frameIndex: index, track: track.id)] = .init(shape: [s, s], values: map)
            let faceBox = ScanExplainer.faceBoxInCrop(score, size: s)
            Console.out(String(format: "track %d, frame %d: p(fake) %.3f, IG %@ %d steps, completeness error %.3f%%",
                               track.id, index, score.probability, attribution.rule.rawValue as NSString, attribution.steps,
                               100 * attribution.relativeCompletenessError))
            // Net contributions add up to the logit's rise over the baseline (completeness); the
            // positive share also counts the positive halves of cancelling speckle.
            Console.out(String(format: "  fake logit %+.2f over the %@ baseline; by region, net contribution and share of positive attribution:",
                               attribution.inputLogit - attribution.baselineLogit, attribution.baseline.description as NSString))
            for line in regionLines(AttributionSummary.regions(map: map, width: s, height: s, faceBox: faceBox)) { Console.out(line) }
            Console.out("  heatmap: \(heatmap)")
        }
        guard found else { throw CLIError.dataError("\(path): no face was scored in frame \(index)") }
        let rawMaps = "\(out)/frame\(index).attributions.safetensors"
        try FileOutput.write(Data(try archive.serialized()), to: rawMaps)
        Console.out("raw maps: \(rawMaps)")
    }

    /// One line per face region: net contribution to the logit, share of positive attribution, share of the crop.
    static func regionLines(_ regions: [RegionShare]) -> [String] {
        regions.map { region in
            "  " + region.region.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: " net %+7.2f, %5.1f%% of positive attribution, %5.1f%% of the crop",
                         region.signedSum, 100 * region.positiveShare, 100 * region.areaShare)
        }
    }

    static func ablateFeatures(_ path: String, ids: Set<Int>, scanner: VideoScanner, model: DetectorModel, sae: SparseAutoencoder) throws {
        let scan = try scanner.scan(path: path)
        guard !scan.tracks.isEmpty else { throw CLIError.dataError("\(path): no face found; nothing to ablate") }
        let d = model.spatial.configuration.embeddingDimension
        let ablation = FeatureAblation(sae: sae) { _ in 0 }
        var before: [Double] = [], after: [Double] = []
        for (track, evidence) in zip(scan.tracks, scan.evidence) {
            let frames = evidence.embeddings.count / d
            var spliced: [Float] = []
            for f in 0..<frames {
                spliced += ablation.splicedEmbedding(Array(evidence.embeddings[(f * d)..<((f + 1) * d)]), ablating: ids,
                                                     mode: .reconstructionPlusError)
            }
            let probability = model.trackScore(frameLogits: model.frameLogits(fromEmbeddings: spliced, count: frames),
                                               embeddings: spliced).probability
            before.append(track.probability)
            after.append(probability)
            Console.out(String(format: "track %d: p(fake) %.3f (%@) -> %.3f (%@) with features %@ off", track.id, track.probability,
                               track.label.rawValue as NSString, probability,
                               model.rule.label(probability: probability).rawValue as NSString,
                               ids.sorted().map(String.init).joined(separator: ",") as NSString))
        }
        let videoBefore = before.max()!, videoAfter = after.max()!
        Console.out(String(format: "video: p(fake) %.3f (%@) -> %.3f (%@)", videoBefore, model.rule.label(probability: videoBefore).rawValue as NSString,
                           videoAfter, model.rule.label(probability: videoAfter).rawValue as NSString))
    }
}

import Detector
import Explain
import Faces
import Foundation
import Imaging
import NN
import Report
import Synthesis
import VideoIO

/// `glassbox faithfulness SET/`: are the attribution maps faithful? Three checks on fakes with known masks.
enum FaithfulnessCommand: Command {
    static let name = "faithfulness"
    static let summary = "check the attribution maps: randomisation, deletion, mask share and pointing game"
    static let help = """
    Usage: glassbox faithfulness SET [--weights FILE] [--max N] [--steps S] [--rule R] [--baseline B] [--smoothgrad N[:L]]
                                  [--json OUT] [--out DIR] [--maps DIR]

    For each fake of SET that has a blend mask (sets written by `glassbox synth` have them), takes the
    most suspicious scored frame, computes its integrated-gradients map, and measures:

      randomisation  Spearman rank correlation of |map| between the trained detector and the same
                     architecture with random weights (Adebayo et al. 2018): low is good
      deletion       p(fake) as the most-attributed pixels are replaced by the blurred image first,
                     against random order; area between the curves (positive is good)
      mask share     share of positive attribution inside the blend mask over the mask's share of
                     the crop (goal: 2 or more), per pixel and on the net (signed) attribution of
                     8 px patches, where neighbouring pixels' opposite signs cancel; a pixel is
                     inside where its blend weight is above half the mask's peak
      pointing game  whether the map's peak falls inside the mask dilated by 8 px (goal: 80% of fakes),
                     at the brightest pixel and at the peak of the map smoothed at sigma 4 px; with
                     two controls: the randomised model's smoothed map, and a map peaking at the
                     crop centre (crops are centred on the face, so the centre usually hits)

    Options:
      --weights FILE   detector (default weights/detector.safetensors)
      --max N          fakes to check (default 20)
      --steps S        integrated-gradients steps (default 32)
      --rule R         \(QuadratureOption.help)
      --baseline B     integrated-gradients baseline: blur (sigma 8 px, the default, as scans use),
                       blur:S (sigma S px), black, or noise:N (uniform noise, N draws averaged;
                       better localised on this detector, N times slower: see docs/STATUS.md)
      --smoothgrad N[:L]  \(SmoothGradOption.help)
      --json OUT       per-fake results and the summary as JSON
      --out DIR        also write, per fake, crop | blend mask | heatmap side by side as PNG
      --maps DIR       also write, per fake, a safetensors file for numpy or PyTorch: `crop` and
                       `attribution` and `randomModelAttribution` [3, S, S], `mask` [S, S]; the
                       metadata names the video, frame, baseline, steps and logits
    """

    struct FakeResult: Codable {
        var path: String
        var method: String
        var frameIndex: Int
        var probability: Double
        var randomisationSpearman: Double
        var deletionAreaBetween: Double
        var positiveShareInMask: Double
        var maskAreaShare: Double
        var enrichment: Double
        /// Enrichment of the net attribution per 8 px patch (`Faithfulness.MaskAgreement.patchEnrichment`).
        var patchEnrichment: Double
        var pointingHit: Bool
        var smoothedPointingHit: Bool
        /// Controls for the pointing game: the same smoothed game on the randomised model's map, and
        /// a map that simply peaks at the crop's centre (crops are centred on the face, and so are most masks).
        var randomModelSmoothedPointingHit: Bool
        var centrePointingHit: Bool
        var relativeCompletenessError: Double
    }

    struct Summary: Codable {
        var baseline: String
        /// Integrated-gradients steps and quadrature rule of every map.
        var steps: Int
        var rule: String
        var fakes: Int
        var meanRandomisationSpearman: Double
        var meanDeletionAreaBetween: Double
        var deletionBetterThanRandom: Double
        var meanEnrichment: Double
        var enrichmentAtLeastTwo: Double
        var meanPatchEnrichment: Double
        var patchEnrichmentAtLeastTwo: Double
        var pointingGame: Double
        var smoothedPointingGame: Double
        var randomModelSmoothedPointingGame: Double
        var centrePointingGame: Double
        var results: [FakeResult]
        var skipped: [String]

        /// Means and shares over `results`.
        init(baseline: String, steps: Int, rule: QuadratureRule, results: [FakeResult], skipped: [String]) {
            let mean = FaithfulnessCommand.mean, share = FaithfulnessCommand.share
            self.baseline = baseline
            self.steps = steps
            self.rule = rule.rawValue
            fakes = results.count
            meanRandomisationSpearman = mean(results.map(\.randomisationSpearman))
            meanDeletionAreaBetween = mean(results.map(\.deletionAreaBetween))
            deletionBetterThanRandom = share(results.map { $0.deletionAreaBetween > 0 })
            meanEnrichment = mean(results.map(\.enrichment))
            enrichmentAtLeastTwo = share(results.map { $0.enrichment >= 2 })
            meanPatchEnrichment = mean(results.map(\.patchEnrichment))
            patchEnrichmentAtLeastTwo = share(results.map { $0.patchEnrichment >= 2 })
            pointingGame = share(results.map(\.pointingHit))
            smoothedPointingGame = share(results.map(\.smoothedPointingHit))
            randomModelSmoothedPointingGame = share(results.map(\.randomModelSmoothedPointingHit))
            centrePointingGame = share(results.map(\.centrePointingHit))
            self.results = results
            self.skipped = skipped
        }
    }

    static func run(_ arguments: inout Arguments) throws {
        let weights = try arguments.option("--weights") ?? Resources.detectorWeights
        let maximum = try arguments.int("--max", default: 20, range: 1...100_000)
        let steps = try arguments.int("--steps", default: 32, range: 2...1024)
        let rule = try QuadratureOption.parse(try arguments.option("--rule"))
        let baseline = try BaselineOption.parse(try arguments.option("--baseline") ?? "blur")
        let smoothing = try SmoothGradOption.parse(try arguments.option("--smoothgrad"))
        let jsonOut = try arguments.option("--json")
        let pictures = try arguments.option("--out")
        let mapsFolder = try arguments.option("--maps")
        let inputs = arguments.positionals()
        try arguments.finish()
        guard inputs.count == 1 else { throw CLIError.usage("give exactly one SET folder") }
        let set: ManipulationSet
        do { set = try ManipulationSet.load(path: inputs[0]) } catch { throw CLIError.dataError("\(error)") }
        let model: DetectorModel
        do { model = try DetectorModel.load(from: weights) } catch { throw CLIError.noInput("\(error)") }
        for folder in [pictures, mapsFolder].compactMap({ $0 }) { try FileOutput.prepareFolder(folder) }
        let checker = FakeChecker(model: model, steps: steps, rule: rule, baseline: baseline, smoothing: smoothing,
                                  pictures: pictures, mapsFolder: mapsFolder, detector: try FaceDetector.standard())

        let fakes = set.entries.filter { $0.isFake && $0.mask != nil }.prefix(maximum)
        guard !fakes.isEmpty else { throw CLIError.dataError("\(inputs[0]): no fakes with blend masks (make the set with glassbox synth)") }
        var results: [FakeResult] = [], skipped: [String] = []
        let bar = ProgressLine("faithfulness", total: fakes.count)
        for entry in fakes {
            defer { bar.advance() }
            do {
                if let result = try checker.check(entry, in: set) { results.append(result) } else { skipped.append("\(entry.path): no face") }
            } catch {
                skipped.append("\(entry.path): \(mapError(error).description)")
            }
        }
        bar.finish()
        guard !results.isEmpty else { throw CLIError.dataError("no fake could be checked: \(skipped.joined(separator: "; "))") }
        let summary = Summary(baseline: baseline.description, steps: steps, rule: rule, results: results, skipped: skipped)
        printReport(summary)
        for line in skipped { Console.err("skipped: \(line)") }
        if let jsonOut { try FileOutput.writeJSON(summary, to: jsonOut) }
    }

    /// The checks of one fake: its most suspicious scored frame, that crop's maps from the trained and a
    /// randomised detector, and the figures of both against the fake's blend mask.
    struct FakeChecker {
        let model: DetectorModel
        /// The same architecture with random weights (model-parameter randomisation, Adebayo et al. 2018).
        let randomised: DetectorModel
        let scanner: VideoScanner
        let ig: IntegratedGradients
        let pictures: String?
        let mapsFolder: String?

        init(model: DetectorModel, steps: Int, rule: QuadratureRule, baseline: Baseline, smoothing: IntegratedGradients.Smoothing?,
             pictures: String?, mapsFolder: String?, detector: FaceDetector) {
            self.model = model
            randomised = DetectorModel(spatial: SpatialNetwork(configuration: model.spatial.configuration, seed: 987_654),
                                       temporal: model.temporal, format: model.format)
            scanner = VideoScanner(model: model, detector: detector)
            ig = IntegratedGradients(.init(steps: steps, rule: rule, baseline: baseline, normalization: .identity(channels: 3),
                                           smoothing: smoothing))
            self.pictures = pictures
            self.mapsFolder = mapsFolder
        }

        /// The fake's figures, or nil when no face was scored in it.
        func check(_ entry: ManipulationEntry, in set: ManipulationSet) throws -> FakeResult? {
            let s = model.format.size
            let scan = try scanner.scan(path: set.absolutePath(entry.path), options: ScanOptions(sampling: .init(sampling: .evenlySpaced(8))))
            guard let worst = scan.mostSuspiciousTrackIndex else { return nil }
            let track = scan.tracks[worst]
            let position = track.frames.indices.max { track.frames[$0].probability < track.frames[$1].probability }!
            let frame = track.frames[position]
            let crop = scan.evidence[worst].crops[position]
            let input = model.format.tensorValues(crop)
            let trained = try ig.attribute(DetectorAttributionModel(model: model), inputs: input, count: 1)[0]
            let random = try ig.attribute(DetectorAttributionModel(model: randomised), inputs: input, count: 1)[0]
            // `channelSum` builds a new array on every read: take each map once.
            let trainedMap = trained.channelSum, randomMap = random.channelSum
            let maskImage = try loadMaskFrame(set.absolutePath(entry.mask!), index: frame.index)
            let mask = maskImage.resampled(box: frame.cropBox, width: s, height: s).luma().values.map { $0 / 255 }
            let fileStem = "\(entry.path.replacingOccurrences(of: "/", with: "_"))-frame\(frame.index)"
            if let pictures {
                try FileOutput.write(Data(sideBySide(crop: crop, mask: mask, map: trainedMap).pngData()),
                                     to: "\(pictures)/\(fileStem).png")
            }
            if let mapsFolder {
                try writeMaps(to: "\(mapsFolder)/\(fileStem).safetensors", crop: input, mask: mask, trained: trained, random: random,
                              video: entry.path, method: entry.method ?? "unknown", frameIndex: frame.index)
            }
            let agreement = Faithfulness.maskAgreement(map: trainedMap, mask: mask, width: s, height: s, dilation: 8)
            let randomAgreement = Faithfulness.maskAgreement(map: randomMap, mask: mask, width: s, height: s, dilation: 8)
            var centreMap = [Float](repeating: 0, count: s * s)
            centreMap[(s / 2) * s + s / 2] = 1
            let centreAgreement = Faithfulness.maskAgreement(map: centreMap, mask: mask, width: s, height: s, dilation: 8,
                                                             peakSmoothing: 0)
            let blurred = model.format.tensorValues(crop.gaussianBlurred(sigma: 8))
            let deletion = try Faithfulness.deletion(model: DetectorAttributionModel(model: model), input: input,
                                                     map: trainedMap, replacement: blurred)
            return FakeResult(path: entry.path, method: entry.method ?? "unknown", frameIndex: frame.index,
                              probability: frame.probability,
                              randomisationSpearman: Faithfulness.spearman(trainedMap, randomMap, absolute: true),
                              deletionAreaBetween: deletion.areaBetween, positiveShareInMask: agreement.positiveShareInMask,
                              maskAreaShare: agreement.maskAreaShare, enrichment: agreement.enrichment,
                              patchEnrichment: agreement.patchEnrichment,
                              pointingHit: agreement.pointingHit, smoothedPointingHit: agreement.smoothedPointingHit,
                              randomModelSmoothedPointingHit: randomAgreement.smoothedPointingHit,
                              centrePointingHit: centreAgreement.pointingHit,
                              relativeCompletenessError: trained.relativeCompletenessError)
        }

        /// Crop | blend mask | heat map, side by side, for checking the mask geometry by eye.
        func sideBySide(crop: RGBImage, mask: [Float], map: [Float]) -> RGBImage {
            let s = model.format.size
            let heat = AttributionHeatmap.image(map: map, width: s, height: s, crop: crop, smoothing: AttributionHeatmap.displaySmoothing)
            let maskRGB = RGBImage(width: s, height: s, pixels: mask.flatMap { value -> [UInt8] in
                let v = UInt8(max(0, min(255, value * 255))); return [v, v, v] })
            var canvas = RGBImage(width: 3 * s, height: s)
            for (panel, image) in [crop, maskRGB, heat].enumerated() {
                for y in 0..<s { for x in 0..<s { canvas[panel * s + x, y] = image[x, y] } }
            }
            return canvas
        }
    }

    static func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }
    static func share(_ flags: [Bool]) -> Double { Double(flags.filter { $0 }.count) / Double(max(flags.count, 1)) }

    /// The figures over all fakes, then per method.
    static func printReport(_ summary: Summary) {
        let results = summary.results
        Console.out(String(format: "fakes checked: %d (%d skipped); integrated gradients from a %@ baseline, %d steps, %@ rule",
                           results.count, summary.skipped.count, summary.baseline, summary.steps, summary.rule))
        Console.out(String(format: "randomisation: mean Spearman |map| trained vs random weights %.3f (low is good)", summary.meanRandomisationSpearman))
        Console.out(String(format: "deletion: mean area between random and attribution curves %.4f; attribution faster in %.0f%% of fakes",
                           summary.meanDeletionAreaBetween, 100 * summary.deletionBetterThanRandom))
        Console.out(String(format: "mask share: mean enrichment %.2fx (share in mask / mask area); >= 2x in %.0f%% of fakes",
                           summary.meanEnrichment, 100 * summary.enrichmentAtLeastTwo))
        Console.out(String(format: "mask share of net attribution per 8 px patch: mean enrichment %.2fx; >= 2x in %.0f%% of fakes",
                           summary.meanPatchEnrichment, 100 * summary.patchEnrichmentAtLeastTwo))
        Console.out(String(format: "pointing game (8 px dilation): %.0f%% of fakes at the brightest pixel, %.0f%% at the peak of the map smoothed at sigma 4 px",
                           100 * summary.pointingGame, 100 * summary.smoothedPointingGame))
        Console.out(String(format: "pointing controls: randomised model's smoothed map %.0f%%, a map peaking at the crop centre %.0f%%",
                           100 * summary.randomModelSmoothedPointingGame, 100 * summary.centrePointingGame))
        // Per method: where the detector's evidence sits differs by manipulation (a spliced mouth is
        // 7% of the crop, an upsampled face 40%).
        for method in Set(results.map(\.method)).sorted() {
            let of = results.filter { $0.method == method }
            let name = method.padding(toLength: max(16, method.count), withPad: " ", startingAt: 0)
            Console.out(String(format: "  %@ %2d fakes: mask area %.2f, enrichment %.2fx (patches %.2fx), pointing %3.0f%% (smoothed %3.0f%%), deletion %+.3f",
                               name, of.count, mean(of.map(\.maskAreaShare)), mean(of.map(\.enrichment)), mean(of.map(\.patchEnrichment)),
                               100 * share(of.map(\.pointingHit)), 100 * share(of.map(\.smoothedPointingHit)),
                               mean(of.map(\.deletionAreaBetween))))
        }
    }

    /// One fake's crop, mask and both attribution maps as safetensors, written whole or not at all.
    static func writeMaps(to path: String, crop: [Float], mask: [Float], trained: Attribution, random: Attribution,
                          video: String, method: String, frameIndex: Int) throws {
        let shape = trained.shape
        let planes = [shape.channels, shape.height, shape.width]
        let archive = TensorArchive(tensors: [
            "crop": .init(shape: planes, values: crop),
            "mask": .init(shape: [shape.height, shape.width], values: mask),
            "attribution": .init(shape: planes, values: trained.map),
            "randomModelAttribution": .init(shape: planes, values: random.map),
        ], metadata: [
            "format": "glassbox-faithfulness-maps-v1",
            "video": video, "method": method, "frameIndex": "\(frameIndex)",
            "baseline": trained.baseline.description, "steps": "\(trained.steps)",
            "inputLogit": "\(trained.inputLogit)", "baselineLogit": "\(trained.baselineLogit)",
            "randomModelInputLogit": "\(random.inputLogit)", "randomModelBaselineLogit": "\(random.baselineLogit)",
        ])
        try FileOutput.write(Data(try archive.serialized()), to: path)
    }

    /// Frame `index` of a mask video (or the mask PNG of a still).
    static func loadMaskFrame(_ path: String, index: Int) throws -> RGBImage {
        if path.lowercased().hasSuffix(".png") { return try loadImage(path: path) }
        let reader = try VideoReader(path: path)
        var last: RGBImage?
        while let frame = try reader.nextFrame() {
            last = frame.image
            if frame.index >= index { return frame.image }
        }
        guard let last else { throw CLIError.dataError("\(path): mask video has no frames") }
        return last
    }
}

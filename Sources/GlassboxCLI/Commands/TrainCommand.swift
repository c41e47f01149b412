import Detector
import Faces
import Foundation
import Imaging
import NN
import Synthesis
import Tensor

/// `glassbox train`: trains the detector from real faces and on-the-fly pseudo-fakes (real-only
/// mode), or from a folder of real and fake videos (supervised mode, `--set`).
enum TrainCommand: Command {
    static let name = "train"
    static let summary = "train the detector (real-only pseudo-fakes, or --set DIR: your own real and fake videos)"
    static let help = """
    Usage: glassbox train [--data DIR] [--run DIR] [--out FILE] [options]
           glassbox train --set DIR [--validation-set DIR] [--run DIR] [--out FILE] [options]

    Real-only training (default): face crops are cut from the public sources that scripts/fetch-data.sh
    fetches (split by identity: see Sources/Detector/Data/TrainingCorpus.swift), and every batch
    pairs each real crop with a fake made from it by one of the manipulation generators. The pair
    shares framing, flip, blur and JPEG quality, so compression carries no label signal.

    Validation AUC on held-out identities is printed every --validate-every steps, and a checkpoint
    is written to the run folder; running the same command again resumes. At the end the model is
    calibrated (temperature scaling on validation logits), the temporal head is trained on frozen
    embeddings, and the weights and a metrics JSON are written.

    Supervised training (--set DIR): trains on your own folder of real and fake videos, say a
    FaceForensics++ copy. DIR is a manipulation set: either manifest.json (as glassbox synth writes
    it: entries with path, label "real"/"fake", method) or the plain layout real/... and
    fake/<method>/... . Faces are tracked and cropped once into <run>/set-crops (a rerun, or a run
    interrupted halfway, does not decode a video twice); a video that cannot be decoded or shows no
    face is reported on one line and skipped. A fraction of the videos is held out for validation,
    grouped so that a real video and the fakes made from it stay on one side (synth's manifest
    records the source; in the plain layout, 000.mp4 and fake/*/000_003.mp4 share the stem before
    "_"), or --validation-set names a separate set. Each batch holds as many reals as fakes, methods
    drawn equally often, each fake paired with its own source's real at the nearest frame where
    there is one, and both go through the same framing, colour, blur and JPEG jitter, so compression
    carries no label. The blending-mask head is off (the set's fakes have no masks here).

    Best checkpoint (both modes): the weights of the best validation AUC so far are kept in
    <run>/best.safetensors and, unless --keep-last, they are calibrated and written as the output;
    metrics.json records the selected step, the best and the final validation AUC. (The best step is
    chosen on the same validation data that reports it, so that AUC is slightly optimistic.)

    Options:
      --data DIR            fetched media (default .cache/data)
      --run DIR             run folder for crops cache, checkpoints, log (default runs/detector)
      --out FILE            weights to write (default weights/detector.safetensors)
      --metrics FILE        metrics JSON (default <run>/metrics.json)
      --steps N             optimisation steps (default 3000)
      --batch-pairs N       real/fake pairs per batch (default 16, i.e. 32 crops)
      --lr X                peak AdamW learning rate (default 0.002)
      --weight-decay X      AdamW decoupled weight decay (default 0.0001)
      --dropout P           dropout on the embedding before the frame logit (default 0)
      --antialias           downsample by a stride-1 convolution and a [1 2 1] blur-pool (Zhang 2019)
                            instead of stride-2 convolutions: smoother input gradients, about 2x the compute
      --methods a,b         generators to train on (default all: \(ManipulationMethod.allCases.map(\.rawValue).joined(separator: ",")))
      --exclude-method m    all generators but m (for leave-one-method-out runs)
      --validate-every N    steps between validations/checkpoints (default 250)
      --temporal-steps N    temporal-head steps (default 300)
      --small               a quarter-width network (embedding 128, about 0.3 M parameters), for
                            test fixtures and quick experiments
      --boundary-weight W   weight of the auxiliary blending-mask loss (Face X-ray style;
                            default 1, 0 = label loss only)
      --boundary-target T   what that head predicts: mask (where the fake was blended in, the
                            default) or seam (the blending boundary 4m(1-m), as in Face X-ray)
      --method-weight W     weight of an auxiliary loss that classifies the manipulation method
                            (real or which generator) from the embedding (an experiment, real-only
                            mode with the mask head; default 0 = off)
      --compress-probability P
                            share of pairs compressed (default 0.6)
      --h264-share S        share of the compressed pairs that get an H.264 intra frame at CRF
                            18-42 instead of JPEG (default 0.5)
      --jpeg-quality LO-HI  JPEG quality range (default 20-95)
      --rescale-probability P
                            share of pairs scaled down by 0.35-0.8 and back up, before the JPEG
                            pass (default 0.25); the pair's real and fake always share all three
      --seed N              seed (default 1)
      --preview DIR         write 16 training pairs (real | fake | amplified difference) as PNGs
                            to DIR and stop: see what the network learns from
      --shortcut-jpeg Q     build a deliberately shortcut-prone model: fakes always JPEG quality Q,
                            reals never (a test fixture for the robustness flag; never ship it)
      --validation-pairs N  real/fake pairs in the fixed validation batch (default 256)
      --keep-last           write the last step's weights instead of the best validation AUC's

    Supervised mode:
      --set DIR             train on this manipulation set (manifest.json or real/ + fake/<method>/)
      --validation-set DIR  validate on this separate set instead of holding out part of --set
      --validation-fraction F
                            share of --set's videos held out, by source group (default 0.2)
      --frames-per-video N  frames sampled per video, evenly over its length (default 32); every
                            crop is kept in memory (77 kB each), so N x videos bounds the memory
      --also-self-blend     make a quarter of each batch's pairs pseudo-fakes of the set's own real
                            crops (the real-only generators, see --methods), the rest the set's fakes
      (in this mode --run defaults to runs/supervised and --out to <run>/detector.safetensors)

    Examples:
      ./scripts/fetch-data.sh && glassbox train --steps 3000
      glassbox train --set ~/FaceForensics/c23 --run runs/ff --steps 3000 --out ff.safetensors
      glassbox synth --from a.mp4 b.mp4 c.mp4 --out my-set && glassbox train --set my-set --small --steps 200
    """

    static func run(_ arguments: inout Arguments) throws {
        let setPath = try arguments.option("--set")
        let dataOption = try arguments.option("--data")
        let data = dataOption ?? ".cache/data"
        let runDirectory = try arguments.option("--run") ?? (setPath == nil ? "runs/detector" : "runs/supervised")
        let out = try arguments.option("--out") ?? (setPath == nil ? "weights/detector.safetensors" : runDirectory + "/detector.safetensors")
        let metricsPath = try arguments.option("--metrics") ?? runDirectory + "/metrics.json"
        let validationSetPath = try arguments.option("--validation-set")
        let fractionOption = try arguments.option("--validation-fraction")
        let framesOption = try arguments.option("--frames-per-video")
        guard let validationFraction = fractionOption.map(Double.init) ?? 0.2, (0.01...0.9).contains(validationFraction) else {
            throw CLIError.usage("--validation-fraction expects a number in 0.01...0.9")
        }
        guard let framesPerVideo = framesOption.map({ Int($0) }) ?? 32, (1...10_000).contains(framesPerVideo) else {
            throw CLIError.usage("--frames-per-video expects a whole number in 1...10000")
        }
        let alsoSelfBlend = arguments.flag("--also-self-blend")
        let keepLast = arguments.flag("--keep-last")
        let boundaryWeight = try arguments.option("--boundary-weight")
        let methodWeight = try arguments.option("--method-weight")
        let boundaryTarget = try arguments.option("--boundary-target")
        var config = TrainingConfiguration()
        config.steps = try arguments.int("--steps", default: config.steps, range: 1...10_000_000)
        config.pairsPerBatch = try arguments.int("--batch-pairs", default: config.pairsPerBatch, range: 1...512)
        config.learningRate = Float(try arguments.double("--lr", default: Double(config.learningRate), range: 1e-6...1))
        config.weightDecay = Float(try arguments.double("--weight-decay", default: Double(config.weightDecay), range: 0...10))
        let dropout = try arguments.option("--dropout")
        config.validateEvery = try arguments.int("--validate-every", default: config.validateEvery, range: 1...1_000_000)
        config.temporalSteps = try arguments.int("--temporal-steps", default: config.temporalSteps, range: 0...1_000_000)
        config.seed = UInt64(try arguments.int("--seed", default: 1, range: 0...Int.max))
        config.validationPairs = try arguments.int("--validation-pairs", default: config.validationPairs, range: 2...100_000)
        if let boundaryWeight {
            guard let weight = Double(boundaryWeight), (0...100).contains(weight) else { throw CLIError.usage("--boundary-weight expects 0...100") }
            config.boundaryLossWeight = Float(weight)
        }
        if let boundaryTarget {
            guard let target = BoundaryTarget(rawValue: boundaryTarget) else {
                throw CLIError.usage("--boundary-target is mask or seam, got '\(boundaryTarget)'")
            }
            config.boundaryTarget = target
        }
        if let methodWeight {
            guard let weight = Float(methodWeight), (0...100).contains(weight) else { throw CLIError.usage("--method-weight expects 0...100") }
            config.methodLossWeight = weight > 0 ? weight : nil
        }
        var codec = CodecAugmentation.standard
        if let range = try arguments.option("--jpeg-quality") {
            let parts = range.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 1, parts[1] <= 100, parts[0] <= parts[1] else {
                throw CLIError.usage("--jpeg-quality expects LO-HI within 1-100, for example 20-95")
            }
            codec.jpegQualities = parts[0]...parts[1]
        }
        codec.compressionProbability = try arguments.double("--compress-probability", default: codec.compressionProbability, range: 0...1)
        codec.h264Share = try arguments.double("--h264-share", default: codec.h264Share, range: 0...1)
        codec.rescaleProbability = try arguments.double("--rescale-probability", default: codec.rescaleProbability, range: 0...1)
        config.codecAugmentation = codec
        if let shortcut = try arguments.option("--shortcut-jpeg") {
            guard let quality = Int(shortcut), (1...100).contains(quality) else { throw CLIError.usage("--shortcut-jpeg expects 1...100") }
            config.shortcutFakeJPEGQuality = quality
        }
        let preview = try arguments.option("--preview")
        if arguments.flag("--small") {
            config.network = SpatialNetworkConfiguration(stemChannels: 8, stageChannels: [16, 32, 64, 128])
        }
        if arguments.flag("--antialias") { config.network.antialiased = true }
        if let dropout {
            guard let p = Float(dropout), (0..<1).contains(p) else { throw CLIError.usage("--dropout expects a probability in [0, 1)") }
            config.network.dropout = p
        }
        let methodNames = try arguments.options("--methods")
        let excluded = try arguments.options("--exclude-method")
        try arguments.finish()
        var methods = ManipulationMethod.allCases
        if !methodNames.isEmpty {
            methods = try methodNames.map { name in
                guard let method = ManipulationMethod(rawValue: name) else { throw CLIError.usage("unknown method '\(name)'") }
                return method
            }
        }
        for name in excluded {
            guard let method = ManipulationMethod(rawValue: name) else { throw CLIError.usage("unknown method '\(name)'") }
            methods.removeAll { $0 == method }
        }
        guard !methods.isEmpty else { throw CLIError.usage("no manipulation method left to train on") }
        config.methods = methods

        let store: CropStore
        var supervisedSummary: SupervisedCorpus.Summary?
        if setPath == nil {
            // Real-only mode: the supervised options would be silently ignored; say so instead.
            let given = [("--validation-set", validationSetPath != nil), ("--validation-fraction", fractionOption != nil),
                         ("--frames-per-video", framesOption != nil), ("--also-self-blend", alsoSelfBlend)]
            if let (name, _) = given.first(where: { $0.1 }) {
                throw CLIError.usage("\(name) is for supervised training: add --set DIR (your real and fake videos)")
            }
        }
        if let setPath {
            // Supervised mode: options of the other mode are mistakes, not something to ignore silently.
            if dataOption != nil { throw CLIError.usage("--data is for real-only training; --set DIR trains on your set") }
            if config.shortcutFakeJPEGQuality != nil { throw CLIError.usage("--shortcut-jpeg is for real-only training") }
            if let boundaryWeight, config.boundaryLossWeight > 0 {
                throw CLIError.usage("--boundary-weight \(boundaryWeight): the mask head needs blend masks, which supervised mode does not read; use 0 or leave it out")
            }
            config.mode = .supervised
            config.boundaryLossWeight = 0
            if alsoSelfBlend { config.selfBlendShare = 0.25 }
            (store, supervisedSummary) = try loadSupervisedCrops(setPath: setPath, validationSetPath: validationSetPath,
                                                                 validationFraction: validationFraction,
                                                                 framesPerVideo: framesPerVideo, runDirectory: runDirectory)
        } else {
            if validationSetPath != nil || alsoSelfBlend {
                throw CLIError.usage("--validation-set and --also-self-blend need --set DIR (supervised mode)")
            }
            store = try loadOrExtractCrops(dataDirectory: data, runDirectory: runDirectory)
        }
        let trainer = DetectorTrainer(configuration: config, store: store, runDirectory: runDirectory)
        trainer.keepLast = keepLast
        if let preview {
            try writePreview(sampler: try mapTrainingError { try trainer.makeSamplers().train }, seed: config.seed, folder: preview)
            return
        }
        let bar = ProgressLine("training", total: config.steps)
        var lastStep = 0
        trainer.progress = { done, total, note in
            if total == config.steps && done > lastStep { bar.advance(done - lastStep, note: note); lastStep = done }
        }
        trainer.log = { line in bar.clearLine(); Console.err(line) }
        var (model, metrics) = try mapTrainingError { try trainer.run() }
        bar.finish()
        metrics.supervisedData = supervisedSummary
        let training = setPath.map { path in
            "supervised: \(URL(fileURLWithPath: path).lastPathComponent) (\(supervisedSummary?.videos["train"]?.keys.sorted().joined(separator: ",") ?? ""))"
                + (alsoSelfBlend ? " + self-blend pseudo-fakes: \(methods.map(\.rawValue).joined(separator: ","))" : "")
        } ?? "real-only pseudo-fakes: \(methods.map(\.rawValue).joined(separator: ","))"
        try model.save(to: out, extraMetadata: ["glassbox_training": training, "glassbox_selected_step": "\(metrics.selectedStep)"])
        try FileOutput.writeJSON(metrics, to: metricsPath)
        Console.out("weights: \(out)")
        Console.out("metrics: \(metricsPath)")
        Console.out(String(format: "weights of step %d (%@): validation AUC best %.4f at step %d, final %.4f", metrics.selectedStep,
                           metrics.selection, metrics.bestValidationAUC ?? .nan, metrics.bestStep ?? 0, metrics.finalValidationAUC ?? .nan))
        if let validation = metrics.validation {
            Console.out(String(format: "validation (held-out %@, frame level): AUC %.4f  EER %.4f  accuracy %.4f  ECE %.4f  T %.3f",
                               setPath == nil ? "identities" : (validationSetPath == nil ? "source groups" : "set"),
                               validation.auc ?? .nan, validation.equalErrorRate ?? .nan, validation.accuracy,
                               validation.expectedCalibrationError ?? .nan, metrics.temperature))
        }
        Console.out(String(format: "training time %.0f s on %d threads", metrics.trainingSeconds, metrics.threads))
    }

    /// Writes training pairs side by side with their difference amplified 4x.
    static func writePreview(sampler: any PairSampler, seed: UInt64, folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let batch = sampler.pairBatch(pairs: 16, seed: seed)
        let s = Int(Double(batch.inputs.count / 32 / 3).squareRoot())
        func image(_ position: Int) -> RGBImage {
            // [3, S, S] planar byte / 255 -> interleaved RGB bytes.
            let toByte = Float(255)
            var picture = RGBImage(width: s, height: s)
            for c in 0..<3 {
                for p in 0..<(s * s) {
                    picture.pixels[p * 3 + c] = UInt8(max(0, min(255, (batch.inputs[position * 3 * s * s + c * s * s + p] * toByte).rounded())))
                }
            }
            return picture
        }
        for index in 0..<16 {
            let real = image(2 * index), fake = image(2 * index + 1), tag = batch.tags[2 * index + 1]
            var canvas = RGBImage(width: 3 * s, height: s)
            for y in 0..<s {
                for x in 0..<s {
                    for c in 0..<3 {
                        let r = real.pixels[(y * s + x) * 3 + c], f = fake.pixels[(y * s + x) * 3 + c]
                        canvas.pixels[(y * 3 * s + x) * 3 + c] = r
                        canvas.pixels[(y * 3 * s + s + x) * 3 + c] = f
                        canvas.pixels[(y * 3 * s + 2 * s + x) * 3 + c] = UInt8(min(255, 4 * abs(Int(f) - Int(r))))
                    }
                }
            }
            let codec = tag.jpegQuality.map { "jpeg\($0)" } ?? tag.h264CRF.map { "crf\($0)" } ?? "uncompressed"
            let name = "\(folder)/pair\(index)-\(tag.method)-\(codec).png"
            try FileOutput.write(Data(canvas.pngData()), to: name)
        }
        Console.out("wrote 16 pairs to \(folder)")
    }

    /// Crops are cut once per run folder and cached (`crops.gbcrops`, `split.json`).
    static func loadOrExtractCrops(dataDirectory: String, runDirectory: String) throws -> CropStore {
        let cache = runDirectory + "/crops.gbcrops"
        if FileManager.default.fileExists(atPath: cache), let store = try? CropStore.read(from: cache) {
            Console.err("crops: \(store.count) from cache \(cache)")
            return store
        }
        let (sources, missing) = BuiltinCorpus.sources(dataDirectory: dataDirectory)
        guard !sources.isEmpty else {
            throw CLIError.noInput("\(dataDirectory): no training media found; run ./scripts/fetch-data.sh first")
        }
        for path in missing { Console.err("warning: \(path) missing, skipped") }
        let extractor = CropExtractor(detector: try FaceDetector.standard())
        let bar = ProgressLine("cutting face crops", total: sources.count)
        let (store, problems) = extractor.extract(sources) { _, _, path, found in
            bar.advance(note: "\(URL(fileURLWithPath: path).lastPathComponent): \(found)")
        }
        bar.finish()
        for problem in problems { Console.err("warning: \(problem)") }
        try store.write(to: cache)
        let split = Dictionary(grouping: store.records, by: \.identity).mapValues { records in
            ["split": records[0].split.rawValue, "crops": "\(records.count)"]
        }
        try FileOutput.writeJSON(split, to: runDirectory + "/split.json")
        Console.err("crops: \(store.count) (train \(store.indices(in: .train).count), validation \(store.indices(in: .validation).count)); split in \(runDirectory)/split.json")
        return store
    }
}

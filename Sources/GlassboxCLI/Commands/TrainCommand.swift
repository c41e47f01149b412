import Detector
import Faces
import Foundation
import Imaging
import NN
import Synthesis
import Tensor

/// `glassbox train`: trains the detector from real faces and on-the-fly pseudo-fakes.
enum TrainCommand: Command {
    static let name = "train"
    static let summary = "train the detector (real-only: pseudo-fakes made on the fly from real faces)"
    static let help = """
    Usage: glassbox train [--data DIR] [--run DIR] [--out FILE] [options]

    Real-only training: face crops are cut from the public sources that scripts/fetch-data.sh
    fetches (split by identity: see Sources/Detector/Data/TrainingCorpus.swift), and every batch
    pairs each real crop with a fake made from it by one of the manipulation generators. The pair
    shares framing, flip, blur and JPEG quality, so compression carries no label signal.

    Validation AUC on held-out identities is printed every --validate-every steps, and a checkpoint
    is written to the run folder; running the same command again resumes. At the end the model is
    calibrated (temperature scaling on validation logits), the temporal head is trained on frozen
    embeddings, and the weights and a metrics JSON are written.

    Options:
      --data DIR            fetched media (default .cache/data)
      --run DIR             run folder for crops cache, checkpoints, log (default runs/detector)
      --out FILE            weights to write (default weights/detector.safetensors)
      --metrics FILE        metrics JSON (default <run>/metrics.json)
      --steps N             optimisation steps (default 3000)
      --batch-pairs N       real/fake pairs per batch (default 16, i.e. 32 crops)
      --lr X                peak AdamW learning rate (default 0.002)
      --methods a,b         generators to train on (default all: \(ManipulationMethod.allCases.map(\.rawValue).joined(separator: ",")))
      --exclude-method m    all generators but m (for leave-one-method-out runs)
      --validate-every N    steps between validations/checkpoints (default 250)
      --temporal-steps N    temporal-head steps (default 300)
      --small               a quarter-width network (embedding 128, about 0.3 M parameters), for
                            test fixtures and quick experiments
      --boundary-weight W   weight of the auxiliary blending-mask loss (Face X-ray style;
                            default 1, 0 = label loss only)
      --seed N              seed (default 1)
      --preview DIR         write 16 training pairs (real | fake | amplified difference) as PNGs
                            to DIR and stop: see what the network learns from
      --shortcut-jpeg Q     build a deliberately shortcut-prone model: fakes always JPEG quality Q,
                            reals never (a test fixture for the robustness flag; never ship it)

    Example:
      ./scripts/fetch-data.sh && glassbox train --steps 3000
    """

    static func run(_ arguments: inout Arguments) throws {
        let data = try arguments.option("--data") ?? ".cache/data"
        let runDirectory = try arguments.option("--run") ?? "runs/detector"
        let out = try arguments.option("--out") ?? "weights/detector.safetensors"
        let metricsPath = try arguments.option("--metrics") ?? runDirectory + "/metrics.json"
        var config = TrainingConfiguration()
        config.steps = try arguments.int("--steps", default: config.steps, range: 1...10_000_000)
        config.pairsPerBatch = try arguments.int("--batch-pairs", default: config.pairsPerBatch, range: 1...512)
        config.learningRate = Float(try arguments.double("--lr", default: Double(config.learningRate), range: 1e-6...1))
        config.validateEvery = try arguments.int("--validate-every", default: config.validateEvery, range: 1...1_000_000)
        config.temporalSteps = try arguments.int("--temporal-steps", default: config.temporalSteps, range: 0...1_000_000)
        config.seed = UInt64(try arguments.int("--seed", default: 1, range: 0...Int.max))
        config.boundaryLossWeight = Float(try arguments.double("--boundary-weight", default: 1, range: 0...100))
        if let shortcut = try arguments.option("--shortcut-jpeg") {
            guard let quality = Int(shortcut), (1...100).contains(quality) else { throw CLIError.usage("--shortcut-jpeg expects 1...100") }
            config.shortcutFakeJPEGQuality = quality
        }
        let preview = try arguments.option("--preview")
        if arguments.flag("--small") {
            config.network = SpatialNetworkConfiguration(stemChannels: 8, stageChannels: [16, 32, 64, 128])
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

        let store = try loadOrExtractCrops(dataDirectory: data, runDirectory: runDirectory)
        if let preview {
            try writePreview(store: store, methods: methods, config: config, folder: preview)
            return
        }
        let trainer = DetectorTrainer(configuration: config, store: store, runDirectory: runDirectory)
        let bar = ProgressLine("training", total: config.steps)
        var lastStep = 0
        trainer.progress = { done, total, note in
            if total == config.steps && done > lastStep { bar.advance(done - lastStep, note: note); lastStep = done }
        }
        trainer.log = { line in bar.clearLine(); Console.err(line) }
        let (model, metrics) = try trainer.run()
        bar.finish()
        try model.save(to: out, extraMetadata: ["glassbox_training": "real-only pseudo-fakes: \(methods.map(\.rawValue).joined(separator: ","))"])
        try FileOutput.writeJSON(metrics, to: metricsPath)
        Console.out("weights: \(out)")
        Console.out("metrics: \(metricsPath)")
        if let validation = metrics.validation {
            Console.out(String(format: "validation (held-out identities, frame level): AUC %.4f  EER %.4f  accuracy %.4f  ECE %.4f  T %.3f",
                               validation.auc ?? .nan, validation.equalErrorRate ?? .nan, validation.accuracy,
                               validation.expectedCalibrationError ?? .nan, metrics.temperature))
        }
        Console.out(String(format: "training time %.0f s on %d threads", metrics.trainingSeconds, metrics.threads))
    }

    /// Writes training pairs side by side with their difference amplified 4x.
    static func writePreview(store: CropStore, methods: [ManipulationMethod], config: TrainingConfiguration, folder: String) throws {
        var sampler = TrainingSampler(store: store, split: .train, methods: methods)
        sampler.jpegProbability = config.jpegProbability
        sampler.shortcutFakeJPEGQuality = config.shortcutFakeJPEGQuality
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: config.seed)
        for index in 0..<16 {
            let (real, fake, _, tag) = sampler.makePair(using: &rng)
            let s = real.width
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
            let name = "\(folder)/pair\(index)-\(tag.method)-q\(tag.jpegQuality.map(String.init) ?? "none").png"
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

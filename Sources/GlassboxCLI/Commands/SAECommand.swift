import Detector
import Explain
import Foundation
import Report
import Synthesis

/// `glassbox sae train`: a TopK sparse autoencoder over the detector's embedding, and its feature dictionary.
enum SAECommand: Command {
    static let name = "sae"
    static let summary = "train the sparse autoencoder over the detector's embedding and label its features"
    static let help = """
    Usage: glassbox sae train [--weights FILE] [--run DIR] [--out FILE] [--pairs N] [--latents M] [--k K]
                              [--epochs E] [--seed S]

    Collects embeddings of training crops (real and fake, every method, every JPEG quality and
    none) with the detector, trains a TopK sparse autoencoder (Gao et al. 2024) with an auxiliary
    loss for dead latents, and writes:
      <out>                      the SAE (safetensors: encoder.weight, encoder.bias, decoder.weight, decoder.bias)
      <out dir>/sae_features.json  the feature dictionary: per latent an automatic label from what it
                                 tracks (method, codec quality, identity), top samples, statistics,
                                 direct contribution to the fake logit, codec-quality correlation
      <run>/sae_metrics.json     explained variance, L0, dead fraction (on held-out validation
                                 embeddings) and the detector's AUC with the reconstruction spliced in

    Options:
      --weights FILE   detector (default weights/detector.safetensors)
      --run DIR        run folder holding crops.gbcrops from `glassbox train` (default runs/detector)
      --out FILE       SAE weights (default weights/sae.safetensors)
      --pairs N        real/fake training pairs to embed (default 6000, i.e. 12000 embeddings)
      --latents M      latents (default 2048 = 8 x 256)
      --k K            active latents per sample (default 32)
      --epochs E       passes over the embeddings (default 30)
      --seed S         seed (default 3)
    """

    static func run(_ arguments: inout Arguments) throws {
        let weights = try arguments.option("--weights") ?? Resources.detectorWeights
        let runDirectory = try arguments.option("--run") ?? "runs/detector"
        let out = try arguments.option("--out") ?? "weights/sae.safetensors"
        let pairs = try arguments.int("--pairs", default: 6000, range: 16...1_000_000)
        let latents = try arguments.int("--latents", default: 2048, range: 8...65536)
        let k = try arguments.int("--k", default: 32, range: 1...1024)
        let epochs = try arguments.int("--epochs", default: 30, range: 1...10_000)
        let seed = UInt64(try arguments.int("--seed", default: 3, range: 0...Int.max))
        let words = arguments.positionals()
        try arguments.finish()
        guard words == ["train"] else { throw CLIError.usage("the only sae subcommand is 'train'") }

        let model: DetectorModel
        do { model = try DetectorModel.load(from: weights) } catch { throw CLIError.noInput("\(error)") }
        let storePath = runDirectory + "/crops.gbcrops"
        guard FileManager.default.fileExists(atPath: storePath) else {
            throw CLIError.noInput("\(storePath): no crop cache; run `glassbox train` first (it cuts the crops)")
        }
        let store = try CropStore.read(from: storePath)
        let methods = ManipulationMethod.allCases

        func collect(_ split: DataSplit, pairs: Int, seed: UInt64, label: String) -> (embeddings: [Float], logits: [Double], tags: [SampleTag]) {
            let sampler = TrainingSampler(store: store, split: split, methods: methods)
            let chunk = 64
            let bar = ProgressLine("embedding \(label) crops", total: pairs)
            var embeddings: [Float] = [], logits: [Double] = [], tags: [SampleTag] = []
            var done = 0
            while done < pairs {
                let n = min(chunk, pairs - done)
                let batch = sampler.batch(pairs: n, seed: seed &+ UInt64(done))
                let (e, l) = model.embedAndScore(batch.inputs, count: 2 * n, batchSize: 32)
                embeddings += e; logits += l; tags += batch.tags
                done += n
                bar.advance(n)
            }
            bar.finish()
            return (embeddings, logits, tags)
        }
        let train = collect(.train, pairs: pairs, seed: seed, label: "training")
        let validation = collect(.validation, pairs: max(256, pairs / 8), seed: seed &+ 99_991, label: "validation")
        let d = model.spatial.configuration.embeddingDimension
        let count = train.tags.count

        let sae = SparseAutoencoder(inputSize: d, latentCount: latents, k: k, seed: seed)
        let trainer = SAETrainer(model: sae, configuration: .init(epochs: epochs, seed: seed))
        let steps = epochs * ((count + 255) / 256)
        let bar = ProgressLine("training SAE", total: steps)
        try trainer.train(train.embeddings, count: count, evaluate: false) { progress in
            bar.advance(note: String(format: "epoch %d loss %.4f dead %d", progress.epoch + 1, progress.loss, progress.deadCount))
        }
        bar.finish()
        let trained = trainer.model
        let trainMetrics = trained.metrics(train.embeddings, count: count)
        let heldOut = trained.metrics(validation.embeddings, count: validation.tags.count)

        // The detector with the SAE reconstruction in place of the embedding (no error term).
        let reconstruction = trained.reconstruct(validation.embeddings, count: validation.tags.count)
        let splicedLogits = model.frameLogits(fromEmbeddings: reconstruction, count: validation.tags.count)
        let labels = validation.tags.map { $0.method == "real" ? 0 : 1 }
        let originalAUC = BinaryMetrics.areaUnderROC(scores: validation.logits, labels: labels)
        let splicedAUC = BinaryMetrics.areaUnderROC(scores: splicedLogits, labels: labels)

        let metadata = train.tags.map { tag in
            SampleMetadata(tags: ["method": tag.method, "codec": codecBucket(tag.jpegQuality), "identity": tag.identity],
                           numeric: ["codecQuality": Double(tag.jpegQuality ?? 100)])
        }
        let dictionary = try FeatureDictionary.build(sae: trained, embeddings: train.embeddings, count: count, metadata: metadata,
                                                     readoutWeights: model.spatial.head.weight.value.scalars)
        let outURL = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        try trained.save(to: outURL, extra: ["detector_sha256": (try? SHA256.hex(ofFile: weights)) ?? "unknown",
                                             "training": "\(count) embeddings of training-identity crops, every method and JPEG quality"])
        try FileOutput.writeJSON(dictionary, to: outURL.deletingLastPathComponent().appendingPathComponent("sae_features.json").path)

        struct Metrics: Codable {
            var latents: Int, k: Int, epochs: Int, trainingEmbeddings: Int, validationEmbeddings: Int
            var train: SAEMetrics, validation: SAEMetrics
            var detectorValidationAUC: Double?, splicedValidationAUC: Double?
            var labelled: Int, dead: Int
        }
        let metrics = Metrics(latents: latents, k: k, epochs: epochs, trainingEmbeddings: count,
                              validationEmbeddings: validation.tags.count, train: trainMetrics, validation: heldOut,
                              detectorValidationAUC: originalAUC, splicedValidationAUC: splicedAUC,
                              labelled: dictionary.features.filter { $0.label != "unlabelled" && $0.label != "dead" }.count,
                              dead: dictionary.features.filter { $0.label == "dead" }.count)
        try FileOutput.writeJSON(metrics, to: runDirectory + "/sae_metrics.json")
        Console.out(String(format: "SAE %d latents, k %d: explained variance %.4f (held out %.4f), L0 %.1f, dead %.1f%% (held out %.1f%%)",
                           latents, k, trainMetrics.explainedVariance, heldOut.explainedVariance, heldOut.l0,
                           100 * trainMetrics.deadFraction, 100 * heldOut.deadFraction))
        Console.out(String(format: "detector validation AUC %.4f, with the SAE reconstruction spliced in %.4f (difference %.4f)",
                           originalAUC ?? .nan, splicedAUC ?? .nan, abs((originalAUC ?? 0) - (splicedAUC ?? 0))))
        Console.out("wrote \(out), \(outURL.deletingLastPathComponent().path)/sae_features.json, \(runDirectory)/sae_metrics.json")
    }

    static func codecBucket(_ quality: Int?) -> String {
        guard let quality else { return "none" }
        return quality < 65 ? "jpeg-low" : (quality < 85 ? "jpeg-mid" : "jpeg-high")
    }
}

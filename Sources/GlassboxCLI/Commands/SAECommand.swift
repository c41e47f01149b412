import Detector
import Explain
import Foundation
import Report
import Synthesis

/// `glassbox sae train`: a TopK sparse autoencoder over the detector's embedding, and its feature dictionary.
enum SAECommand: Command {
    static let name = "sae"
    static let summary = "train the sparse autoencoder over the detector's embedding and label its features; draw feature montages"
    static var help: String { trainHelp + "\n" + SAEMontage.help }
    static let trainHelp = """
    Usage: glassbox sae train [--weights FILE] [--run DIR] [--out FILE] [--pairs N] [--latents M] [--k K]
                              [--epochs E] [--lr X] [--whiten S] [--seed S]

    Collects embeddings of training crops (real and fake, every method, every JPEG quality and
    none) with the detector, ZCA-whitens them (with shrinkage; the SAE works in that space and its
    reconstructions and feature directions are mapped back to the embedding), trains a TopK sparse
    autoencoder (Gao et al. 2024) with an auxiliary loss for dead latents, and writes:
      <out>                      the SAE (safetensors: encoder.weight, encoder.bias, decoder.weight, decoder.bias,
                                 whitening.mean, whitening.forward, whitening.inverse)
      <out dir>/sae_features.json  the feature dictionary: per latent an automatic label from what it
                                 tracks (method, codec quality, identity), top samples, statistics,
                                 direct contribution to the fake logit, codec-quality correlation
      <run>/sae_metrics.json     explained variance, L0, dead fraction (on the training rows, on held-out
                                 validation-identity embeddings and on fresh draws of the training
                                 identities) and the detector's AUC with the reconstruction spliced in

    Options:
      --weights FILE   detector (default weights/detector.safetensors)
      --run DIR        run folder holding crops.gbcrops from `glassbox train` (default runs/detector)
      --out FILE       SAE weights (default weights/sae.safetensors)
      --pairs N        real/fake training pairs to embed (default 6000, i.e. 12000 embeddings)
      --latents M      latents (default 2048 = 8 x 256)
      --k K            active latents per sample (default 32)
      --epochs E       passes over the embeddings (default 30)
      --lr X           Adam step size (default 0.001)
      --whiten S       ZCA-whitening shrinkage: each principal direction of variance λ is scaled by
                       1/sqrt(λ + S x mean eigenvalue) (default 0.5; 0 = no whitening, the recipe
                       before: on a near-low-rank embedding it leaves most latents dead)
      --resample-every N  re-initialise latents that have not fired for an epoch every N steps
                       (Bricken et al. 2023; default 0 = never: on the shipped detector's
                       near-low-rank embedding it revives latents that fire on few crops
                       at some cost in explained variance; see weights/MODEL_CARD.md)
      --resample-until F  stop resampling after this fraction of the steps (default 0.5)
      --seed S         seed (default 3)

    Embeddings are cached in <run>/sae-embeddings-*.safetensors (keyed by the detector's and the
    crop cache's digests), so a rerun with other SAE settings skips the detector pass.
    Dead = fires on no row of the set. A latent that fires on a fraction p of rows is missed by n
    rows with probability (1 - p)^n, so the held-out figures are printed next to that expectation.
    """

    static func run(_ arguments: inout Arguments) throws {
        switch arguments.firstPositional {
        case "montage": try SAEMontage.run(&arguments)
        case "train": try train(&arguments)
        case let other?: throw CLIError.usage("unknown sae subcommand '\(other)': use train or montage")
        case nil: throw CLIError.usage("say what to do: glassbox sae train | glassbox sae montage")
        }
    }

    /// The sampling recipe of `collect`: embeddings are made in chunks of this many pairs, chunk `c`
    /// from `sampler.batch(pairs:seed: seed + c * chunk)`, rows interleaved real, fake per pair.
    static let pairsPerChunk = 64

    static func train(_ arguments: inout Arguments) throws {
        let weights = try arguments.option("--weights") ?? Resources.detectorWeights
        let runDirectory = try arguments.option("--run") ?? "runs/detector"
        let out = try arguments.option("--out") ?? "weights/sae.safetensors"
        let pairs = try arguments.int("--pairs", default: 6000, range: 16...1_000_000)
        let latents = try arguments.int("--latents", default: 2048, range: 8...65536)
        let k = try arguments.int("--k", default: 32, range: 1...1024)
        let epochs = try arguments.int("--epochs", default: 30, range: 1...10_000)
        let seed = UInt64(try arguments.int("--seed", default: 3, range: 0...Int.max))
        let learningRate = Float(try arguments.double("--lr", default: 1e-3, range: 1e-6...1))
        let resampleEvery = try arguments.int("--resample-every", default: 0, range: 0...1_000_000)
        let resampleUntil = try arguments.double("--resample-until", default: 0.5, range: 0...1)
        let whiten = try arguments.double("--whiten", default: 0.5, range: 0...1e6)
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

        let detectorDigest = (try? SHA256.hex(ofFile: weights)) ?? "unknown"
        func collect(_ split: DataSplit, pairs: Int, seed: UInt64, label: String) -> (embeddings: [Float], logits: [Double], tags: [SampleTag]) {
            let cache = EmbeddingCache(path: "\(runDirectory)/sae-embeddings-\(label).safetensors",
                                       key: "\(detectorDigest) \(fileStamp(storePath)) pairs \(pairs) seed \(seed) codec \(codecRecipe)")
            if let cached = cache.load() {
                Console.err("reusing \(cached.tags.count) \(label) embeddings from \(cache.path)")
                return cached
            }
            var sampler = TrainingSampler(store: store, split: split, methods: methods)
            sampler.codec = .featureCollection
            let chunk = pairsPerChunk
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
            cache.store((embeddings, logits, tags))
            return (embeddings, logits, tags)
        }
        let train = collect(.train, pairs: pairs, seed: seed, label: "training")
        let validation = collect(.validation, pairs: max(256, pairs / 8), seed: seed &+ 99_991, label: "validation")
        // Fresh draws of the training identities: held out from the SAE but not from the identities,
        // so that a latent that tracks one training identity (the dictionary labels many so) is not
        // counted dead merely because validation has other people.
        let unseen = collect(.train, pairs: max(256, pairs / 8), seed: seed &+ 77_773, label: "training-unseen")
        let d = model.spatial.configuration.embeddingDimension
        let count = train.tags.count

        // Whether the embedding has room for many live latents at all.
        let spectrum = EmbeddingSpectrum(train.embeddings, count: count, d: d)
        let rank = EmbeddingRank(components90: spectrum.components(for: 0.90), components99: spectrum.components(for: 0.99),
                                 components999: spectrum.components(for: 0.999))
        Console.out("embedding: \(rank.components90) / \(rank.components99) / \(rank.components999) of \(d) principal directions carry 90% / 99% / 99.9% of the variance")
        let sae = SparseAutoencoder(inputSize: d, latentCount: latents, k: k, seed: seed)
        let steps = epochs * ((count + 255) / 256)
        let trainer = SAETrainer(model: sae, configuration: .init(
            epochs: epochs, learningRate: learningRate, resampleEvery: resampleEvery > 0 ? resampleEvery : nil,
            resampleUntilStep: Int(Double(steps) * resampleUntil), whiteningShrinkage: whiten > 0 ? whiten : nil, seed: seed))
        let bar = ProgressLine("training SAE", total: steps)
        try trainer.train(train.embeddings, count: count, evaluate: false) { progress in
            if progress.resampled > 0 { Console.err("step \(trainer.stepCount): resampled \(progress.resampled) dead latents") }
            bar.advance(note: String(format: "epoch %d loss %.4f dead %d", progress.epoch + 1, progress.loss, progress.deadCount))
        }
        bar.finish()
        let trained = trainer.model
        let trainMetrics = trained.metrics(train.embeddings, count: count)
        let heldOut = trained.metrics(validation.embeddings, count: validation.tags.count)
        let unseenMetrics = trained.metrics(unseen.embeddings, count: unseen.tags.count)

        // The detector with the SAE reconstruction in place of the embedding (no error term).
        let reconstruction = trained.reconstruct(validation.embeddings, count: validation.tags.count)
        let splicedLogits = model.frameLogits(fromEmbeddings: reconstruction, count: validation.tags.count)
        let labels = validation.tags.map { $0.method == "real" ? 0 : 1 }
        let originalAUC = BinaryMetrics.areaUnderROC(scores: validation.logits, labels: labels)
        let splicedAUC = BinaryMetrics.areaUnderROC(scores: splicedLogits, labels: labels)
        let unseenLabels = unseen.tags.map { $0.method == "real" ? 0 : 1 }
        let unseenSpliced = model.frameLogits(fromEmbeddings: trained.reconstruct(unseen.embeddings, count: unseen.tags.count),
                                              count: unseen.tags.count)
        let unseenAUC = BinaryMetrics.areaUnderROC(scores: unseen.logits, labels: unseenLabels)
        let unseenSplicedAUC = BinaryMetrics.areaUnderROC(scores: unseenSpliced, labels: unseenLabels)

        let metadata = train.tags.map { tag in
            SampleMetadata(tags: ["method": tag.method, "codec": codecBucket(tag.jpegQuality), "identity": tag.identity],
                           numeric: ["codecQuality": Double(tag.jpegQuality ?? 100)])
        }
        var dictionary = try FeatureDictionary.build(sae: trained, embeddings: train.embeddings, count: count, metadata: metadata,
                                                     readoutWeights: model.spatial.head.weight.value.scalars)
        dictionary.provenance = ["sampler": "training pairs", "split": "train", "pairs": String(pairs), "seed": String(seed),
                                 "pairsPerChunk": String(pairsPerChunk), "crops": fileStamp(storePath), "codec": codecRecipe]
        let outURL = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        try trained.save(to: outURL, extra: ["detector_sha256": (try? SHA256.hex(ofFile: weights)) ?? "unknown",
                                             "training": "\(count) embeddings of training-identity crops, every method and JPEG quality",
                                             "whitening_shrinkage": String(whiten), "learning_rate": String(learningRate),
                                             "epochs": String(epochs)])
        try FileOutput.writeJSON(dictionary, to: outURL.deletingLastPathComponent().appendingPathComponent("sae_features.json").path)

        // A latent that fires on a fraction p of training rows is missed by all n held-out rows with
        // probability (1 - p)^n: the dead fraction a held-out set of this size shows by chance alone.
        let validationCount = Double(validation.tags.count)
        let expectedHeldOutDead = dictionary.features.map { pow(1 - $0.firingRate, validationCount) }.reduce(0, +)
            / Double(max(1, dictionary.features.count))

        struct Metrics: Codable {
            var latents: Int, k: Int, epochs: Int, trainingEmbeddings: Int, validationEmbeddings: Int
            var whiteningShrinkage: Double?
            var train: SAEMetrics, validation: SAEMetrics
            /// On fresh draws of training identities (not rows the SAE trained on).
            var unseenTrainingDraws: SAEMetrics
            /// Held-out dead fraction expected from the training firing rates and the held-out size alone.
            var expectedValidationDeadFraction: Double
            var detectorValidationAUC: Double?, splicedValidationAUC: Double?
            var detectorUnseenTrainingAUC: Double?, splicedUnseenTrainingAUC: Double?
            var labelled: Int, dead: Int
            var embeddingRank: EmbeddingRank
        }
        let metrics = Metrics(latents: latents, k: k, epochs: epochs, trainingEmbeddings: count,
                              validationEmbeddings: validation.tags.count, whiteningShrinkage: whiten > 0 ? whiten : nil,
                              train: trainMetrics, validation: heldOut, unseenTrainingDraws: unseenMetrics, expectedValidationDeadFraction: expectedHeldOutDead,
                              detectorValidationAUC: originalAUC, splicedValidationAUC: splicedAUC,
                              detectorUnseenTrainingAUC: unseenAUC, splicedUnseenTrainingAUC: unseenSplicedAUC,
                              labelled: dictionary.features.filter { $0.label != "unlabelled" && $0.label != "dead" }.count,
                              dead: dictionary.features.filter { $0.label == "dead" }.count, embeddingRank: rank)
        try FileOutput.writeJSON(metrics, to: runDirectory + "/sae_metrics.json")
        Console.out(String(format: "SAE %d latents, k %d: explained variance %.4f (held out %.4f), L0 %.1f, dead %.1f%% (held out %.1f%%)",
                           latents, k, trainMetrics.explainedVariance, heldOut.explainedVariance, heldOut.l0,
                           100 * trainMetrics.deadFraction, 100 * heldOut.deadFraction))
        Console.out(String(format: "on %d fresh draws of training identities: explained variance %.4f, dead %.1f%%, detector AUC %.4f, spliced %.4f (difference %.4f)",
                           unseen.tags.count, unseenMetrics.explainedVariance, 100 * unseenMetrics.deadFraction,
                           unseenAUC ?? .nan, unseenSplicedAUC ?? .nan, abs((unseenAUC ?? 0) - (unseenSplicedAUC ?? 0))))
        Console.out(String(format: "held-out dead expected by chance from the training firing rates and %d held-out rows: %.1f%%",
                           validation.tags.count, 100 * expectedHeldOutDead))
        Console.out(String(format: "detector validation AUC %.4f, with the SAE reconstruction spliced in %.4f (difference %.4f)",
                           originalAUC ?? .nan, splicedAUC ?? .nan, abs((originalAUC ?? 0) - (splicedAUC ?? 0))))
        Console.out("wrote \(out), \(outURL.deletingLastPathComponent().path)/sae_features.json, \(runDirectory)/sae_metrics.json")
    }

    /// The embedding rows' compression recipe as JSON, recorded in the dictionary's provenance (so
    /// `sae montage` redraws the same crops) and in the embedding cache's key.
    static let codecRecipe: String = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(CodecAugmentation.featureCollection)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }()

    static func codecBucket(_ quality: Int?) -> String {
        guard let quality else { return "none" }
        return quality < 65 ? "jpeg-low" : (quality < 85 ? "jpeg-mid" : "jpeg-high")
    }

    /// Size and modification time: enough to notice a re-cut crop cache without hashing it.
    static func fileStamp(_ path: String) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
        return "\(size)@\(Int(modified))"
    }
}

/// Principal directions needed for 90 / 99 / 99.9 % of the embedding's variance.
private struct EmbeddingRank: Codable {
    var components90: Int, components99: Int, components999: Int
}

/// Detector embeddings of sampled crops kept between `glassbox sae train` runs.
///
/// One safetensors file: `embeddings [n, d]`, `logits [n]`, the sample tags as JSON metadata, and
/// a key naming what produced it; a file with another key is ignored (and overwritten).
private struct EmbeddingCache {
    let path: String
    let key: String

    func load() -> (embeddings: [Float], logits: [Double], tags: [SampleTag])? {
        guard let archive = try? TensorArchive.read(from: URL(fileURLWithPath: path)),
              archive.metadata["key"] == key,
              let tagJSON = archive.metadata["tags"]?.data(using: .utf8),
              let tags = try? JSONDecoder().decode([SampleTag].self, from: tagJSON),
              let embeddings = archive.tensors["embeddings"], let logits = archive.tensors["logits"],
              logits.values.count == tags.count, embeddings.shape.first == tags.count else { return nil }
        return (embeddings.values, logits.values.map(Double.init), tags)
    }

    func store(_ value: (embeddings: [Float], logits: [Double], tags: [SampleTag])) {
        guard let tagJSON = try? JSONEncoder().encode(value.tags), let tags = String(data: tagJSON, encoding: .utf8) else { return }
        let n = value.tags.count
        let archive = TensorArchive(
            tensors: ["embeddings": .init(shape: [n, n > 0 ? value.embeddings.count / n : 0], values: value.embeddings),
                      "logits": .init(shape: [n], values: value.logits.map(Float.init))],
            metadata: ["key": key, "tags": tags])
        // A cache that cannot be written only costs time on the next run.
        do { try archive.write(to: URL(fileURLWithPath: path)) } catch { Console.err("note: could not cache embeddings at \(path): \(error)") }
    }
}

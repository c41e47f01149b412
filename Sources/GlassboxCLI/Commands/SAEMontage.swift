import Detector
import Explain
import Foundation
import Imaging
import Synthesis

/// `glassbox sae montage`: pictures of what SAE features respond to.
///
/// The feature dictionary keeps each feature's top samples as row numbers of the embedding set that
/// `sae train` drew; the crops themselves are not stored (thousands of 128x128 images), so they are
/// made again from the crop cache with the recorded recipe (every pair has its own seed).
enum SAEMontage {
    static let help = """
    Usage: glassbox sae montage [--features ID,...] [--top N] [--dictionary FILE] [--run DIR] [--out DIR]

    Writes one PNG per feature: its top-activating training crops (up to 8, strongest first, in a
    4 x 2 grid), named feature-<id>-<label>.png.

    Options:
      --features ID,...  latent ids to draw
      --top N            without --features: the N labelled features with the largest mean
                         contribution to the fake logit, |direct contribution x mean activation|
                         (default 12)
      --dictionary FILE  feature dictionary (default weights/sae_features.json)
      --run DIR          run folder with the crop cache crops.gbcrops (default runs/detector)
      --out DIR          output folder (default runs/sae-montages)
      --weights FILE     detector (default weights/detector.safetensors) and
      --sae FILE         SAE (default weights/sae.safetensors): each crop made again is run
                         through both, and its activation of the feature is checked against the
                         one the dictionary recorded, so a montage never shows the wrong crops
                         silently

    The crops are made again from <run>/crops.gbcrops; if that cache was cut afresh since the
    dictionary was written (other media), the pictures no longer match and a warning says so.
    """

    static func run(_ arguments: inout Arguments) throws {
        let dictionaryPath = try arguments.option("--dictionary") ?? Resources.locate("weights/sae_features.json")
        let runDirectory = try arguments.option("--run") ?? "runs/detector"
        let out = try arguments.option("--out") ?? "runs/sae-montages"
        let requested = try arguments.options("--features").flatMap { $0.split(separator: ",") }.map { word -> Int in
            guard let id = Int(word.trimmingCharacters(in: .whitespaces)) else { throw CLIError.usage("--features expects latent ids, got '\(word)'") }
            return id
        }
        let top = try arguments.int("--top", default: 12, range: 1...10_000)
        let weights = try arguments.option("--weights") ?? Resources.detectorWeights
        let saePath = try arguments.option("--sae") ?? Resources.locate("weights/sae.safetensors")
        _ = arguments.positionals()
        try arguments.finish()

        try FileOutput.requireFile(dictionaryPath)
        let dictionary: FeatureDictionary
        do { dictionary = try JSONDecoder().decode(FeatureDictionary.self, from: Data(contentsOf: URL(fileURLWithPath: dictionaryPath))) } catch {
            throw CLIError.dataError("\(dictionaryPath): not a feature dictionary (\(error))")
        }
        let storePath = runDirectory + "/crops.gbcrops"
        guard FileManager.default.fileExists(atPath: storePath) else {
            throw CLIError.noInput("\(storePath): no crop cache; run `glassbox train` first (it cuts the crops)")
        }
        let recipe = Recipe(dictionary.provenance)
        if let recorded = dictionary.provenance?["crops"], recorded != SAECommand.fileStamp(storePath) {
            Console.err("warning: \(storePath) is not the crop cache the dictionary was made from; the pictures may not match")
        }
        if dictionary.provenance == nil {
            Console.err("note: \(dictionaryPath) records no sampling recipe; assuming sae train's defaults (pairs \(recipe.pairs), seed \(recipe.seed))")
        }

        let chosen: [FeatureDictionary.Feature]
        if requested.isEmpty {
            chosen = dictionary.features
                .filter { $0.label != "dead" && $0.label != "unlabelled" && !$0.topSamples.isEmpty }
                .sorted { meanContribution($0) > meanContribution($1) }
                .prefix(top).map { $0 }
        } else {
            chosen = try requested.map { id in
                guard dictionary.features.indices.contains(id) else {
                    throw CLIError.usage("feature \(id) does not exist (the dictionary has \(dictionary.features.count) latents)")
                }
                return dictionary[id]
            }
        }
        guard !chosen.isEmpty else { throw CLIError.dataError("\(dictionaryPath): no labelled feature with top samples to draw") }

        let model: DetectorModel, sae: SparseAutoencoder
        do {
            model = try DetectorModel.load(from: weights)
            sae = try SparseAutoencoder.load(from: URL(fileURLWithPath: saePath))
        } catch { throw CLIError.noInput("\(error)") }
        let store = try CropStore.read(from: storePath)
        var sampler = TrainingSampler(store: store, split: .train, methods: ManipulationMethod.allCases)
        sampler.codec = recipe.codec
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        for feature in chosen {
            if feature.topSamples.isEmpty { Console.err("feature \(feature.id) (\(feature.label)) never fires: nothing to draw"); continue }
            let crops = feature.topSamples.prefix(8).map { recipe.crop(row: $0, sampler: sampler) }
            let matching = verify(crops, feature: feature, model: model, sae: sae)
            let path = "\(out)/feature-\(String(format: "%04d", feature.id))-\(slug(feature.label)).png"
            try FileOutput.write(Data(grid(crops, columns: 4).pngData()), to: path)
            Console.out(String(format: "%@  %@ (mean logit contribution %+.3f; %d/%d crops reproduce the recorded activation)",
                               path, feature.label, signedMeanContribution(feature), matching, crops.count))
            if matching < crops.count {
                Console.err("warning: feature \(feature.id): \(crops.count - matching) crops do not reproduce their recorded activation (other crop cache, detector or SAE?)")
            }
        }
    }

    /// Where a dictionary's sample rows came from.
    struct Recipe {
        var pairs = 6000, seed: UInt64 = 3, pairsPerChunk = SAECommand.pairsPerChunk
        /// Dictionaries made before the recipe was recorded used JPEG 50-95 on half the pairs.
        var codec = CodecAugmentation.legacy(jpegProbability: 0.5)

        init(_ provenance: [String: String]?) {
            if let json = provenance?["codec"],
               let recorded = try? JSONDecoder().decode(CodecAugmentation.self, from: Data(json.utf8)) { codec = recorded }
            if let p = provenance?["pairs"].flatMap(Int.init) { pairs = p }
            if let s = provenance?["seed"].flatMap(UInt64.init) { seed = s }
            if let c = provenance?["pairsPerChunk"].flatMap(Int.init), c > 0 { pairsPerChunk = c }
        }

        /// The crop behind embedding row `row`: chunk `row / (2 chunk)`, pair `(row mod 2 chunk) / 2`,
        /// real for even rows and fake for odd ones.
        func crop(row: Int, sampler: TrainingSampler) -> RGBImage {
            let rowsPerChunk = 2 * pairsPerChunk
            let chunk = row / rowsPerChunk, within = row % rowsPerChunk
            let pair = sampler.pair(index: within / 2, ofBatchWithSeed: seed &+ UInt64(chunk * pairsPerChunk))
            return within % 2 == 0 ? pair.real : pair.fake
        }
    }

    /// How many crops activate `feature` within 2 % (or 0.01) of the activation the dictionary recorded.
    static func verify(_ crops: [RGBImage], feature: FeatureDictionary.Feature, model: DetectorModel, sae: SparseAutoencoder) -> Int {
        let inputs = crops.flatMap { model.format.tensorValues($0) }
        let (embeddings, _) = model.embedAndScore(inputs, count: crops.count)
        let codes = sae.encode(embeddings, count: crops.count)
        return crops.indices.filter { n in
            let activation = codes.dense(row: n, latentCount: sae.latentCount)[feature.id]
            let recorded = feature.topActivations[n]
            return abs(activation - recorded) <= max(0.01, 0.02 * abs(recorded))
        }.count
    }

    static func signedMeanContribution(_ feature: FeatureDictionary.Feature) -> Double {
        (feature.directContribution ?? 0) * feature.meanActivation
    }

    static func meanContribution(_ feature: FeatureDictionary.Feature) -> Double { abs(signedMeanContribution(feature)) }

    /// Images of equal size in a grid with 2-pixel grey gutters.
    static func grid(_ images: [RGBImage], columns: Int) -> RGBImage {
        let w = images[0].width, h = images[0].height, gap = 2
        let cols = min(columns, images.count), rows = (images.count + columns - 1) / columns
        var canvas = RGBImage(width: cols * w + (cols + 1) * gap, height: rows * h + (rows + 1) * gap, fill: (96, 96, 96))
        for (n, image) in images.enumerated() {
            let x0 = gap + (n % columns) * (w + gap), y0 = gap + (n / columns) * (h + gap)
            for y in 0..<min(h, image.height) {
                let src = y * image.width * 3, dst = ((y0 + y) * canvas.width + x0) * 3
                for i in 0..<(min(w, image.width) * 3) { canvas.pixels[dst + i] = image.pixels[src + i] }
            }
        }
        return canvas
    }

    /// A file-name-safe form of a label: `selfBlend · mouth region` -> `selfBlend-mouth-region`.
    static func slug(_ label: String) -> String {
        let kept = label.map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return String(kept).split(separator: "-").joined(separator: "-").prefix(60).description
    }
}

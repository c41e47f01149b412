import Foundation

/// What is known about one sample (crop) the SAE saw: categorical tags and numeric values.
///
/// Keys the labeller formats specially: `method` (manipulation method or `real`), `region` (where
/// the blend mask is), `quality` / `codec` (codec quality), `identity`. Numeric values (for example
/// `codecQuality` as a CRF or JPEG quality) are correlated with each latent but not used for labels.
public struct SampleMetadata: Sendable, Equatable, Codable {
    public var tags: [String: String]
    public var numeric: [String: Double]

    public init(tags: [String: String] = [:], numeric: [String: Double] = [:]) {
        self.tags = tags
        self.numeric = numeric
    }
}

/// The feature dictionary of an SAE (`weights/sae_features.json`): per latent a label made
/// automatically from what it tracks, activation statistics, top-activating samples, its direct
/// contribution to the fake logit and its correlations with metadata.
///
/// Labels: each latent's activation is correlated (Pearson, i.e. point-biserial for a tag) with the
/// indicator of every tag `key=value` and of every pair of tags from two keys; the label is the
/// strongest positive association (a pair wins only if it beats the best single tag by
/// `pairMargin`), formatted like `selfBlend · mouth region`, `codec: low quality`, `identity 3`.
/// Latents that never fire are labelled `dead`; weak associations (`< minimumScore`) `unlabelled`.
public struct FeatureDictionary: Sendable, Equatable, Codable {
    public struct Feature: Sendable, Equatable, Codable {
        public var id: Int
        public var label: String
        /// Correlation behind the label (0 for dead/unlabelled).
        public var labelScore: Double
        /// The tags behind the label, e.g. `["method": "selfBlend", "region": "mouth"]`.
        public var labelTags: [String: String]
        /// Mean activation over all samples (zeros included).
        public var meanActivation: Double
        /// Mean activation over the samples where it fires.
        public var meanActivationWhenFiring: Double
        /// Fraction of samples where it fires.
        public var firingRate: Double
        /// Sample ids with the largest activations, descending.
        public var topSamples: [Int]
        public var topActivations: [Float]
        /// `embeddingDirection · w_logit` (`decoder direction / inputScale`, un-whitened when the SAE
        /// whitens): logit change per unit activation through the detector's final linear layer (nil
        /// when no readout was given).
        public var directContribution: Double?
        /// Correlations with tags (`key=value`, strongest few) and numeric values (`key`, all).
        public var correlations: [String: Double]
    }

    public var schemaVersion = 1
    public var latentCount: Int
    public var k: Int
    public var sampleCount: Int
    public var features: [Feature]
    /// How the samples were drawn, so that their images can be made again (for example
    /// `{"sampler": "training pairs", "pairs": "6000", "seed": "3", "chunk": "64"}`); nil in
    /// dictionaries written before it existed.
    public var provenance: [String: String]?

    /// The feature with latent id `id`.
    public subscript(id: Int) -> Feature { features[id] }

    /// Options of ``build(sae:embeddings:count:metadata:readoutWeights:options:)``.
    public struct Options: Sendable {
        public var topSampleCount = 8
        public var minimumScore = 0.1
        public var pairMargin = 0.05
        /// Tag correlations kept per feature (strongest by magnitude).
        public var keptCorrelations = 8
        public init(topSampleCount: Int = 8, minimumScore: Double = 0.1, pairMargin: Double = 0.05,
                    keptCorrelations: Int = 8) {
            self.topSampleCount = topSampleCount
            self.minimumScore = minimumScore
            self.pairMargin = pairMargin
            self.keptCorrelations = keptCorrelations
        }
    }

    /// Builds the dictionary from embeddings of labelled samples.
    /// - Parameters:
    ///   - sae: the trained autoencoder.
    ///   - embeddings: `[count, d]` embeddings (sample id = row).
    ///   - count: rows.
    ///   - metadata: one entry per row, or empty for statistics without labels.
    ///   - readoutWeights: `[d]` weights of the detector's linear layer from embedding to the fake
    ///     logit, for ``Feature/directContribution``.
    /// - Throws: ``ExplainError/shapeMismatch(name:expected:actual:)`` for mismatched sizes.
    public static func build(sae: SparseAutoencoder, embeddings: [Float], count: Int, metadata: [SampleMetadata] = [],
                             readoutWeights: [Float]? = nil, options: Options = .init()) throws -> FeatureDictionary {
        let d = sae.inputSize, m = sae.latentCount
        guard embeddings.count == count * d, count > 0 else {
            throw ExplainError.shapeMismatch(name: "embeddings", expected: "[\(count), \(d)]", actual: "\(embeddings.count) floats")
        }
        guard metadata.isEmpty || metadata.count == count else {
            throw ExplainError.shapeMismatch(name: "metadata", expected: "\(count) entries", actual: "\(metadata.count)")
        }
        if let w = readoutWeights, w.count != d {
            throw ExplainError.shapeMismatch(name: "readout weights", expected: "\(d)", actual: "\(w.count)")
        }
        let codes = sae.encode(embeddings, count: count)
        let n = Double(count)

        // Tag vocabulary: singles "key=value" and pairs "k1=v1 & k2=v2" (keys sorted).
        var tagIndex: [String: Int] = [:]
        var tagParts: [[(String, String)]] = []
        var sampleTags: [[Int]] = []
        for meta in metadata {
            let items = meta.tags.sorted { $0.key < $1.key }
            var ids: [Int] = []
            func id(_ parts: [(String, String)]) -> Int {
                let key = parts.map { "\($0.0)=\($0.1)" }.joined(separator: " & ")
                if let i = tagIndex[key] { return i }
                tagIndex[key] = tagParts.count
                tagParts.append(parts)
                return tagParts.count - 1
            }
            for (a, item) in items.enumerated() {
                ids.append(id([(item.key, item.value)]))
                for other in items[(a + 1)...] { ids.append(id([(item.key, item.value), (other.key, other.value)])) }
            }
            sampleTags.append(ids)
        }
        let tagCount = tagParts.count
        var tagFrequency = [Double](repeating: 0, count: tagCount)
        for ids in sampleTags { for t in ids { tagFrequency[t] += 1 } }
        let numericKeys = Array(Set(metadata.flatMap { $0.numeric.keys })).sorted()

        var sum = [Double](repeating: 0, count: m), sumSq = sum, fires = sum
        var tagSum = [Double](repeating: 0, count: m * tagCount)
        // Per numeric key: Σv, Σv², count over samples that have it; per latent Σa·v, Σa, Σa² over them.
        var numStats = numericKeys.map { _ in (sv: 0.0, svv: 0.0, n: 0.0) }
        var numLatent = numericKeys.map { _ in (sav: [Double](repeating: 0, count: m), sa: [Double](repeating: 0, count: m), saa: [Double](repeating: 0, count: m)) }
        var top = [[(Float, Int)]](repeating: [], count: m)
        let topN = options.topSampleCount
        for row in 0..<count {
            for (q, key) in numericKeys.enumerated() {
                if let v = metadata[row].numeric[key] { numStats[q].sv += v; numStats[q].svv += v * v; numStats[q].n += 1 }
            }
            for (j, a) in codes.active(row: row) {
                let av = Double(a)
                sum[j] += av; sumSq[j] += av * av; fires[j] += 1
                if !sampleTags.isEmpty { for t in sampleTags[row] { tagSum[j * tagCount + t] += av } }
                for (q, key) in numericKeys.enumerated() {
                    if let v = metadata[row].numeric[key] { numLatent[q].sav[j] += av * v; numLatent[q].sa[j] += av; numLatent[q].saa[j] += av * av }
                }
                if top[j].count < topN { top[j].append((a, row)) }
                else if let minIndex = top[j].indices.min(by: { top[j][$0].0 < top[j][$1].0 }), top[j][minIndex].0 < a { top[j][minIndex] = (a, row) }
            }
        }

        var features: [Feature] = []
        for j in 0..<m {
            let mean = sum[j] / n
            let variance = max(0, sumSq[j] / n - mean * mean)
            var correlations: [(String, Double)] = []
            var bestSingle: (Int, Double)? = nil, bestPair: (Int, Double)? = nil
            if variance > 0 {
                for t in 0..<tagCount {
                    let p = tagFrequency[t] / n
                    guard p > 0 && p < 1 else { continue }
                    let r = (tagSum[j * tagCount + t] / n - mean * p) / (variance * p * (1 - p)).squareRoot()
                    correlations.append((tagParts[t].map { "\($0.0)=\($0.1)" }.joined(separator: " & "), r))
                    if tagParts[t].count == 1 { if r > (bestSingle?.1 ?? -.infinity) { bestSingle = (t, r) } }
                    else if r > (bestPair?.1 ?? -.infinity) { bestPair = (t, r) }
                }
            }
            correlations.sort { abs($0.1) > abs($1.1) }
            var kept = Dictionary(correlations.prefix(options.keptCorrelations).map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
            for (q, key) in numericKeys.enumerated() {
                let c = numStats[q].n
                guard c > 1 else { continue }
                let mv = numStats[q].sv / c, vv = numStats[q].svv / c - mv * mv
                let ma = numLatent[q].sa[j] / c, va = numLatent[q].saa[j] / c - ma * ma
                kept[key] = vv > 0 && va > 0 ? (numLatent[q].sav[j] / c - ma * mv) / (vv * va).squareRoot() : 0
            }
            var label = "unlabelled", score = 0.0, labelTags: [String: String] = [:]
            var chosen: (Int, Double)? = bestSingle
            if let pair = bestPair, pair.1 > (bestSingle?.1 ?? -.infinity) + options.pairMargin { chosen = pair }
            if fires[j] == 0 { label = "dead" }
            else if let (t, r) = chosen, r >= options.minimumScore {
                label = tagParts[t].map { formatTag(key: $0.0, value: $0.1) }.joined(separator: " · ")
                score = r
                labelTags = Dictionary(tagParts[t].map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
            }
            let sortedTop = top[j].sorted { ($0.0, -$0.1) > ($1.0, -$1.1) }
            var direct: Double? = nil
            if let w = readoutWeights { direct = sae.readoutPerActivation(j, readout: w) }
            features.append(Feature(id: j, label: label, labelScore: score, labelTags: labelTags, meanActivation: mean,
                                    meanActivationWhenFiring: fires[j] > 0 ? sum[j] / fires[j] : 0, firingRate: fires[j] / n,
                                    topSamples: sortedTop.map(\.1), topActivations: sortedTop.map(\.0),
                                    directContribution: direct, correlations: kept))
        }
        return FeatureDictionary(latentCount: m, k: sae.k, sampleCount: count, features: features)
    }

    /// Human-readable form of one tag: `method` → the value, `region` → `mouth region`,
    /// `quality`/`codec` → `codec: low quality`, `identity` → `identity 3`, otherwise `key: value`.
    public static func formatTag(key: String, value: String) -> String {
        switch key {
        case "method": return value
        case "region": return "\(value) region"
        case "quality", "codec", "codecQuality": return "codec: \(value) quality"
        case "identity": return "identity \(value)"
        default: return "\(key): \(value)"
        }
    }

    /// Writes pretty, key-sorted JSON (deterministic).
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    /// Reads a dictionary written by ``write(to:)``.
    public static func read(from url: URL) throws -> FeatureDictionary {
        try JSONDecoder().decode(FeatureDictionary.self, from: Data(contentsOf: url))
    }
}

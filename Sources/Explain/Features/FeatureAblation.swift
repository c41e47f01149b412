import Foundation

/// Causal checks of SAE features: splice the SAE into the detector in place of the embedding,
/// switch features off, and measure the change in p(fake).
///
/// Two splices:
/// - ``Splice/reconstruction``: the detector reads `x̂ = decode(z)`. Ablating `A` reads
///   `decode(z with z_A = 0)`. Shows what the SAE alone explains.
/// - ``Splice/reconstructionPlusError``: the detector reads `x̂ + (x - x̂)`, the SAE error term
///   added back (Marks et al. 2024, "Sparse Feature Circuits"), so ablating nothing gives exactly the
///   original embedding and logit; ablating `A` reads `x - Σ_{j∈A} z_j e_j`, with `e_j` the latent's
///   ``SparseAutoencoder/embeddingDirection(_:)`` (`d_j / inputScale`, un-whitened when the SAE whitens).
public struct FeatureAblation {
    public enum Splice: String, Sendable, Codable { case reconstruction, reconstructionPlusError }

    /// The autoencoder.
    public let sae: SparseAutoencoder
    /// The detector's head from embedding `[d]` to the fake logit.
    public let readout: ([Float]) throws -> Float

    /// - Parameters:
    ///   - sae: the trained autoencoder.
    ///   - readout: embedding `[d]` → fake logit (the rest of the detector after the embedding).
    public init(sae: SparseAutoencoder, readout: @escaping ([Float]) throws -> Float) {
        self.sae = sae
        self.readout = readout
    }

    /// The embedding the detector reads under a splice with `ablating` switched off.
    /// - Parameters:
    ///   - embedding: `[d]` original embedding.
    ///   - codes: its SAE codes (one row), or nil to encode here.
    public func splicedEmbedding(_ embedding: [Float], ablating: Set<Int> = [], mode: Splice,
                                 codes: SparseCodes? = nil) -> [Float] {
        let d = sae.inputSize
        precondition(embedding.count == d, "embedding has \(embedding.count) values, SAE expects \(d)")
        let z = codes ?? sae.encode(embedding, count: 1)
        switch mode {
        case .reconstruction:
            return sae.decode(z, ablating: ablating)
        case .reconstructionPlusError:
            var out = embedding
            for (j, a) in z.active(row: 0) where ablating.contains(j) {
                let direction = sae.embeddingDirection(j)
                for i in 0..<d { out[i] -= a * direction[i] }
            }
            return out
        }
    }

    /// Spliced embeddings of a batch (`[count, d]`), e.g. to measure the detector's AUC with the
    /// SAE in place of the embedding.
    public func splicedEmbeddings(_ embeddings: [Float], count: Int, mode: Splice) -> [Float] {
        switch mode {
        case .reconstruction: return sae.reconstruct(embeddings, count: count)
        case .reconstructionPlusError: return embeddings
        }
    }

    /// The effect of switching off a set of features.
    public struct Effect: Sendable, Equatable, Codable {
        /// Logit of the original embedding.
        public var originalLogit: Double
        /// Logit under the splice with nothing ablated.
        public var splicedLogit: Double
        /// Logit under the splice with the features ablated.
        public var ablatedLogit: Double
        /// `sigmoid(ablatedLogit) - sigmoid(splicedLogit)`.
        public var deltaPFake: Double
    }

    /// - Throws: whatever `readout` throws.
    public func effect(of ablating: Set<Int>, embedding: [Float], mode: Splice = .reconstructionPlusError) throws -> Effect {
        let codes = sae.encode(embedding, count: 1)
        let original = Double(try readout(embedding))
        let spliced = Double(try readout(splicedEmbedding(embedding, mode: mode, codes: codes)))
        let ablated = Double(try readout(splicedEmbedding(embedding, ablating: ablating, mode: mode, codes: codes)))
        return Effect(originalLogit: original, splicedLogit: spliced, ablatedLogit: ablated,
                      deltaPFake: sigmoid(ablated) - sigmoid(spliced))
    }

    /// Ranking of a verdict's features.
    public enum Ranking: String, Sendable, Codable {
        /// Largest `|contribution|` first.
        case magnitude
        /// Pushing hardest towards fake first.
        case towardsFake
        /// Pushing hardest towards real first.
        case towardsReal
    }

    /// The top features of one verdict: the active latents ranked by contribution
    /// (`activation × directContribution`), each with the change in p(fake) when switched off alone.
    /// - Parameters:
    ///   - embedding: `[d]` embedding of the verdict's sample.
    ///   - readoutWeights: `[d]` weights of the final linear layer (embedding → fake logit).
    ///   - dictionary: labels (nil → `feature <id>`).
    ///   - count: how many features.
    ///   - ranking: order.
    ///   - mode: splice used for the ablation.
    /// - Throws: ``ExplainError/shapeMismatch(name:expected:actual:)``; readout errors.
    public func topFeatures(embedding: [Float], readoutWeights: [Float], dictionary: FeatureDictionary? = nil, count: Int = 5,
                            ranking: Ranking = .magnitude, mode: Splice = .reconstructionPlusError) throws -> [FeatureRecord] {
        let d = sae.inputSize
        guard readoutWeights.count == d, embedding.count == d else {
            throw ExplainError.shapeMismatch(name: "embedding/readout weights", expected: "\(d)", actual: "\(embedding.count)/\(readoutWeights.count)")
        }
        let codes = sae.encode(embedding, count: 1)
        let spliced = Double(try readout(splicedEmbedding(embedding, mode: mode, codes: codes)))
        var candidates: [(latent: Int, activation: Float, contribution: Double)] = []
        for (j, a) in codes.active(row: 0) {
            candidates.append((j, a, Double(a) * sae.readoutPerActivation(j, readout: readoutWeights)))
        }
        switch ranking {
        case .magnitude: candidates.sort { (abs($0.contribution), -$0.latent) > (abs($1.contribution), -$1.latent) }
        case .towardsFake: candidates.sort { ($0.contribution, -$0.latent) > ($1.contribution, -$1.latent) }
        case .towardsReal: candidates.sort { (-$0.contribution, -$0.latent) > (-$1.contribution, -$1.latent) }
        }
        return try candidates.prefix(count).map { c in
            let ablated = Double(try readout(splicedEmbedding(embedding, ablating: [c.latent], mode: mode, codes: codes)))
            let label = dictionary.flatMap { c.latent < $0.features.count ? $0[c.latent].label : nil } ?? "feature \(c.latent)"
            return FeatureRecord(id: c.latent, label: label, activation: Double(c.activation), contribution: c.contribution,
                                 ablationDelta: sigmoid(ablated) - sigmoid(spliced))
        }
    }
}

@inline(__always) func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

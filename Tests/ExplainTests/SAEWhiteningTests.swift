import Foundation
import Randomness
import Testing
@testable import Explain

/// Gaussian rows `μ + Σ_c √λ_c g_c u_c` over `d` random orthonormal directions `u_c` with variances
/// `λ_c = decay^c` (a steep spectrum, like the detector's embedding), plus a constant offset.
/// Returns (data [count, d], directions [d, d] row c = u_c, variances).
func lowRankData(d: Int, count: Int, decay: Double, seed: UInt64) -> ([Float], [Float], [Double]) {
    var rng = SplitMix64(seed: seed)
    var basis = (0..<(d * d)).map { _ in rng.nextGaussian() }
    for r in 0..<d {   // Gram–Schmidt
        for q in 0..<r {
            let dot = (0..<d).map { basis[r * d + $0] * basis[q * d + $0] }.reduce(0, +)
            for i in 0..<d { basis[r * d + i] -= dot * basis[q * d + i] }
        }
        let norm = (0..<d).map { basis[r * d + $0] * basis[r * d + $0] }.reduce(0, +).squareRoot()
        for i in 0..<d { basis[r * d + i] /= norm }
    }
    let variances = (0..<d).map { pow(decay, Double($0)) }
    var x = [Float](repeating: 0, count: count * d)
    for n in 0..<count {
        for c in 0..<d {
            let a = Float(variances[c].squareRoot()) * rng.nextGaussian()
            for i in 0..<d { x[n * d + i] += a * basis[c * d + i] }
        }
        for i in 0..<d { x[n * d + i] += 3 }
    }
    return (x, basis, variances)
}

@Suite struct SAEWhiteningTests {
    @Test func eigenvectorsDiagonaliseTheMatrix() {
        let n = 7
        var rng = SplitMix64(seed: 4)
        let b = (0..<(n * n)).map { _ in Double(rng.nextGaussian()) }
        var a = [Double](repeating: 0, count: n * n)   // a = b bᵀ, symmetric
        for i in 0..<n { for j in 0..<n { for p in 0..<n { a[i * n + j] += b[i * n + p] * b[j * n + p] } } }
        let original = a
        let (values, vectorsOrNil) = EmbeddingSpectrum.symmetricEigen(&a, n: n, vectors: true)
        let v = try! #require(vectorsOrNil)
        for i in 0..<n {
            for j in 0..<n {
                var rebuilt = 0.0, gram = 0.0
                for c in 0..<n { rebuilt += v[i * n + c] * values[c] * v[j * n + c]; gram += v[c * n + i] * v[c * n + j] }
                #expect(abs(rebuilt - original[i * n + j]) < 1e-9 * 50)
                #expect(abs(gram - (i == j ? 1 : 0)) < 1e-9)
            }
        }
    }

    /// After ZCA with shrinkage ε, component c has variance λ_c / (λ_c + ε): about 1 for the strong
    /// directions, about λ_c / ε (small) for the weak ones; and the map inverts exactly.
    @Test func zcaEqualisesStrongDirectionsAndDampsWeakOnes() throws {
        let d = 10, count = 6000
        let (x, basis, variances) = lowRankData(d: d, count: count, decay: 0.3, seed: 1)
        let shrinkage = 0.01
        let w = Whitening.zca(x, count: count, d: d, shrinkage: shrinkage)
        let epsilon = shrinkage * variances.reduce(0, +) / Double(d)
        let y = x.withUnsafeBufferPointer { w.apply($0, count: count) }
        for c in [0, 1, 2, 8, 9] {
            var variance = 0.0
            for n in 0..<count {
                var p = 0.0
                for i in 0..<d { p += Double(y[n * d + i] * basis[c * d + i]) }
                variance += p * p / Double(count)
            }
            let expected = variances[c] / (variances[c] + epsilon)
            #expect(abs(variance - expected) < 0.08 * max(expected, 0.01), "component \(c): \(variance) vs \(expected)")
        }
        let back = w.invert(y, count: count)
        for i in 0..<(count * d) { #expect(abs(back[i] - x[i]) < 1e-3) }
    }

    func whitenedSAE() -> (SparseAutoencoder, [Float]) {
        let d = 8, count = 500
        let (x, _, _) = lowRankData(d: d, count: count, decay: 0.4, seed: 2)
        let trainer = SAETrainer(model: SparseAutoencoder(inputSize: d, latentCount: 32, k: 4, seed: 1),
                                 configuration: .init(epochs: 2, batchSize: 64, whiteningShrinkage: 0.1, seed: 2))
        _ = try? trainer.train(x, count: count, evaluate: false)
        return (trainer.model, x)
    }

    @Test func whitenedSAESavesAndLoads() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (sae, x) = whitenedSAE()
        #expect(sae.whitening != nil)
        let url = dir.appendingPathComponent("sae.safetensors")
        try sae.save(to: url)
        let loaded = try SparseAutoencoder.load(from: url)
        #expect(loaded == sae)
        #expect(loaded.reconstruct(x, count: 500) == sae.reconstruct(x, count: 500))
        let archive = try TensorArchive.read(from: url)
        #expect(archive.metadata["format"] == SparseAutoencoder.whitenedFormatName)
        #expect(archive.tensors["whitening.forward"]?.shape == [8, 8])
        // Without whitening the file is exactly the old v1 layout, which loads with no whitening.
        var plain = sae
        plain.whitening = nil
        let plainArchive = plain.archive()
        #expect(plainArchive.metadata["format"] == SparseAutoencoder.formatName)
        #expect(Set(plainArchive.tensors.keys) == ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"])
        #expect(try SparseAutoencoder(archive: plainArchive).whitening == nil)
    }

    /// A feature's effect is measured in the detector's embedding space: switching latent j off moves
    /// the reconstruction by exactly a_j · embeddingDirection(j), and the dictionary's direct
    /// contribution and the ablation splice use that same direction.
    @Test func featureDirectionsLiveInTheEmbeddingSpace() throws {
        let (sae, x) = whitenedSAE()
        let d = sae.inputSize
        let row = Array(x[0..<d])
        let codes = sae.encode(row, count: 1)
        let (j, a) = try #require(codes.active(row: 0).first)
        let full = sae.decode(codes), ablated = sae.decode(codes, ablating: [j])
        let direction = sae.embeddingDirection(j)
        for i in 0..<d { #expect(abs((full[i] - ablated[i]) - a * direction[i]) < 1e-4) }
        // The direction is not the raw (whitened-space) decoder row.
        let raw = Array(sae.decoderWeight[(j * d)..<((j + 1) * d)])
        #expect(zip(raw, direction).map { abs($0 / sae.inputScale - $1) }.max()! > 1e-3)

        let w: [Float] = (0..<d).map { Float($0) - 3.5 }
        let readout: ([Float]) throws -> Float = { e in zip(e, w).map(*).reduce(0, +) }
        let ablation = FeatureAblation(sae: sae, readout: readout)
        let spliced = ablation.splicedEmbedding(row, ablating: [j], mode: .reconstructionPlusError, codes: codes)
        for i in 0..<d { #expect(abs(spliced[i] - (row[i] - a * direction[i])) < 1e-5) }
        let dictionary = try FeatureDictionary.build(sae: sae, embeddings: x, count: 500, readoutWeights: w)
        let expected = zip(direction, w).map { Double($0) * Double($1) }.reduce(0, +)
        #expect(abs(dictionary[j].directContribution! - expected) < 1e-6 * max(1, abs(expected)))
        let top = try ablation.topFeatures(embedding: row, readoutWeights: w, count: 32)
        let record = try #require(top.first { $0.id == j })
        #expect(abs(record.contribution - Double(a) * expected) < 1e-4 * max(1, abs(record.contribution)))
    }
}

@Suite struct SAEDeadLatentTests {
    /// The issue-5 failure on a planted steep spectrum (a few directions carry almost all the
    /// variance, like the detector's embedding): the old recipe (no whitening, step 4e-3) leaves many
    /// latents dead; ZCA whitening with shrinkage (0.03 here; `glassbox sae train` defaults to 0.5,
    /// chosen on the detector's own embedding) at step 1e-3 keeps nearly all alive, on the training rows and on fresh rows, and still reconstructs the
    /// data (EV measured in the original space) on rows it did not see. The price is explained
    /// variance: Gaussian rows have no sparse structure, so 8 of 192 latents reconstruct the
    /// equalised directions less well than the plain SAE fits the two strong ones (0.85 against 0.99
    /// here; on the shipped detector's embedding, shrinkage 0.5: 0.94 against 0.99, goal 0.90).
    @Test func whiteningKeepsLatentsAliveOnALowRankEmbedding() throws {
        let d = 24, count = 3000
        let (x, _, _) = lowRankData(d: d, count: count + 1000, decay: 0.55, seed: 7)
        let train = Array(x[0..<(count * d)]), heldOut = Array(x[(count * d)...])
        func run(whitening: Double?, learningRate: Float) throws -> (train: SAEMetrics, heldOut: SAEMetrics) {
            let trainer = SAETrainer(model: SparseAutoencoder(inputSize: d, latentCount: 192, k: 8, seed: 1),
                                     configuration: .init(epochs: 12, batchSize: 128, learningRate: learningRate,
                                                          whiteningShrinkage: whitening, seed: 2))
            let metrics = try #require(try trainer.train(train, count: count))
            return (metrics, trainer.model.metrics(heldOut, count: 1000))
        }
        let old = try run(whitening: nil, learningRate: 4e-3)
        let new = try run(whitening: 0.03, learningRate: 1e-3)
        #expect(old.train.deadFraction > 0.3 && old.heldOut.deadFraction > 0.4, "old recipe dead \(old.train.deadFraction)")
        #expect(new.train.deadFraction < 0.05, "new recipe dead \(new.train.deadFraction)")
        #expect(new.heldOut.deadFraction < 0.1, "new recipe held-out dead \(new.heldOut.deadFraction)")
        #expect(new.heldOut.explainedVariance > 0.8, "new recipe held-out EV \(new.heldOut.explainedVariance)")
        #expect(new.heldOut.l0 <= 8)
    }
}

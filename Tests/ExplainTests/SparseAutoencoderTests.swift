import Foundation
import Testing
@testable import Explain
import Randomness

/// Rows made of `truth` unit directions in R^d, `active` of them per row with magnitudes in
/// [0.5, 1.5], a constant offset and a little noise. Returns (data [count, d], directions [truth, d]).
func sparseSyntheticData(d: Int, truth: Int, active: Int, count: Int, noise: Float, seed: UInt64) -> ([Float], [Float]) {
    var rng = SplitMix64(seed: seed)
    var dirs = (0..<(truth * d)).map { _ in rng.nextGaussian() }
    SparseAutoencoder.normaliseRows(&dirs, rows: truth, columns: d)
    var x = [Float](repeating: 0, count: count * d)
    for n in 0..<count {
        for _ in 0..<active {
            let j = Int(rng.next() % UInt64(truth))
            let a = 0.5 + rng.nextUnitFloat()
            for i in 0..<d { x[n * d + i] += a * dirs[j * d + i] }
        }
        for i in 0..<d { x[n * d + i] += noise * rng.nextGaussian() + 0.2 }
    }
    return (x, dirs)
}

@Suite struct KernelTests {
    @Test func topKMatchesSortingWithReLU() {
        var rng = SplitMix64(seed: 9)
        let row = (0..<50).map { _ in rng.nextGaussian() }
        var idx = [Int32](repeating: -1, count: 6), val = [Float](repeating: .nan, count: 6)
        row.withUnsafeBufferPointer { r in idx.withUnsafeMutableBufferPointer { i in val.withUnsafeMutableBufferPointer { v in
            TopK.select(r.baseAddress!, count: 50, k: 6, indices: i.baseAddress!, values: v.baseAddress!)
        } } }
        let expected = row.enumerated().sorted { $0.element > $1.element }.prefix(6)
        #expect(idx.map(Int.init) == expected.map(\.offset))
        #expect(val == expected.map { max(0, $0.element) })
        // Restricted to candidates, all negative: ReLU gives zeros.
        let negative: [Float] = [-3, -1, -2, 5]
        let candidates: [Int32] = [0, 1, 2]
        negative.withUnsafeBufferPointer { r in idx.withUnsafeMutableBufferPointer { i in val.withUnsafeMutableBufferPointer { v in
            candidates.withUnsafeBufferPointer { c in
                TopK.select(r.baseAddress!, count: 4, k: 2, indices: i.baseAddress!, values: v.baseAddress!, candidates: c)
            } } } }
        #expect(Array(idx.prefix(2)) == [1, 2] && Array(val.prefix(2)) == [0, 0])
    }
}

@Suite struct SparseAutoencoderTests {
    @Test func recoversKnownSparseDirections() throws {
        let d = 16, truth = 24
        let (x, dirs) = sparseSyntheticData(d: d, truth: truth, active: 2, count: 3000, noise: 0.01, seed: 1)
        let trainer = SAETrainer(model: SparseAutoencoder(inputSize: d, latentCount: 96, k: 3, seed: 2),
                                 configuration: .init(epochs: 25, batchSize: 128, learningRate: 3e-3, seed: 3))
        var losses: [Float] = []
        let metrics = try #require(try trainer.train(x, count: 3000) { losses.append($0.loss) })
        #expect(metrics.explainedVariance > 0.9, "EV \(metrics.explainedVariance)")
        #expect(metrics.l0 <= 3)
        #expect(losses.last! < losses.first! / 4)
        // E‖x_n‖² = d after normalisation.
        let meanSq = (0..<3000).map { n in (0..<d).map { x[n * d + $0] * x[n * d + $0] }.reduce(0, +) }.reduce(0, +) / 3000
        #expect(abs(meanSq * trainer.model.inputScale * trainer.model.inputScale - Float(d)) < 1e-2 * Float(d))
        // Each true direction has a learned decoder direction with cosine > 0.9.
        let model = trainer.model
        var recovered = 0
        for t in 0..<truth {
            var best: Float = -1
            for j in 0..<model.latentCount {
                var c: Float = 0
                for i in 0..<d { c += dirs[t * d + i] * model.decoderWeight[j * d + i] }
                best = max(best, c)
            }
            if best > 0.9 { recovered += 1 }
        }
        #expect(recovered >= truth * 9 / 10, "recovered \(recovered)/\(truth)")
        // Decoder directions stay unit norm.
        for j in 0..<model.latentCount {
            let norm = (0..<d).map { model.decoderWeight[j * d + $0] * model.decoderWeight[j * d + $0] }.reduce(0, +)
            #expect(abs(norm - 1) < 1e-4)
        }
    }

    /// Latents whose encoder rows are shrunk never win the TopK competition: with no auxiliary loss
    /// they get no gradient and stay dead; AuxK trains them on the residual and they fire again.
    @Test func auxKRevivesDeadLatents() throws {
        let d = 16
        let (x, _) = sparseSyntheticData(d: d, truth: 32, active: 3, count: 2048, noise: 0.01, seed: 5)
        let handicapped = Array(0..<32)
        func firedHandicapped(aux: Float) throws -> Int {
            var model = SparseAutoencoder(inputSize: d, latentCount: 64, k: 4, seed: 6)
            for j in handicapped { for i in 0..<d { model.encoderWeight[j * d + i] *= 0.01 } }
            let trainer = SAETrainer(model: model, configuration: .init(epochs: 8, batchSize: 128, learningRate: 3e-3,
                                                                        auxCoefficient: aux, auxK: 8, deadAfterSamples: 256, seed: 7))
            try trainer.train(x, count: 2048)
            let codes = trainer.model.encode(x, count: 2048)
            var fired = Set<Int>()
            for s in 0..<codes.values.count where codes.values[s] > 0 { fired.insert(Int(codes.indices[s])) }
            return handicapped.filter { fired.contains($0) }.count
        }
        let without = try firedHandicapped(aux: 0)
        let with = try firedHandicapped(aux: 1.0 / 32)
        #expect(without <= 2, "without AuxK \(without) handicapped latents fired")
        #expect(with >= 16, "with AuxK only \(with) of 32 handicapped latents fired")
    }

    /// A latent whose pre-activation is negative on every row gets no gradient from AuxK either
    /// (ReLU blocks it); resampling re-initialises it from a badly reconstructed row and it fires.
    @Test func resamplingRevivesLatentsAuxKCannotReach() throws {
        let d = 16
        let (x, _) = sparseSyntheticData(d: d, truth: 48, active: 3, count: 2048, noise: 0.01, seed: 5)
        let silenced = Array(0..<32)
        func firedSilenced(resampleEvery: Int?) throws -> (fired: Int, ev: Double) {
            var model = SparseAutoencoder(inputSize: d, latentCount: 64, k: 4, seed: 6)
            for j in silenced { model.encoderBias[j] = -100 }
            let trainer = SAETrainer(model: model, configuration: .init(
                epochs: 8, batchSize: 128, learningRate: 3e-3, auxK: 8, deadAfterSamples: 512,
                resampleEvery: resampleEvery, resampleUntilStep: 64, seed: 7))
            var resampled = 0
            let metrics = try #require(try trainer.train(x, count: 2048) { resampled += $0.resampled })
            if resampleEvery == nil { #expect(resampled == 0) } else { #expect(resampled >= silenced.count) }
            let codes = trainer.model.encode(x, count: 2048)
            var fired = Set<Int>()
            for s in 0..<codes.values.count where codes.values[s] > 0 { fired.insert(Int(codes.indices[s])) }
            return (silenced.filter { fired.contains($0) }.count, metrics.explainedVariance)
        }
        let without = try firedSilenced(resampleEvery: nil)
        let with = try firedSilenced(resampleEvery: 16)
        #expect(without.fired == 0, "without resampling \(without.fired) silenced latents fired")
        #expect(with.fired >= 16, "with resampling only \(with.fired) of 32 silenced latents fired")
        #expect(with.ev > without.ev, "EV with resampling \(with.ev), without \(without.ev)")
    }

    @Test func trainingIsDeterministicForASeed() throws {
        let (x, _) = sparseSyntheticData(d: 8, truth: 10, active: 2, count: 500, noise: 0.01, seed: 1)
        func run() throws -> SparseAutoencoder {
            let t = SAETrainer(model: SparseAutoencoder(inputSize: 8, latentCount: 32, k: 2, seed: 1),
                               configuration: .init(epochs: 2, batchSize: 64, seed: 4))
            try t.train(x, count: 500)
            return t.model
        }
        #expect(try run() == run())
    }

    @Test func saveLoadRoundTripWithPyTorchLayout() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var sae = SparseAutoencoder(inputSize: 6, latentCount: 20, k: 4, seed: 3)
        sae.inputScale = 1.75
        sae.encoderBias = (0..<20).map { Float($0) * 0.1 }
        sae.decoderBias = (0..<6).map { Float($0) - 2 }
        let url = dir.appendingPathComponent("sae.safetensors")
        try sae.save(to: url, extra: ["trained_on": "toy"])
        let loaded = try SparseAutoencoder.load(from: url)
        #expect(loaded == sae)
        let archive = try TensorArchive.read(from: url)
        #expect(archive.metadata["k"] == "4" && archive.metadata["input_scale"] == "1.75" && archive.metadata["trained_on"] == "toy")
        #expect(archive.tensors["encoder.weight"]?.shape == [20, 6])
        #expect(archive.tensors["decoder.weight"]?.shape == [6, 20])
        // decoder.weight[i, j] is coordinate i of latent j's direction.
        #expect(archive.tensors["decoder.weight"]!.values[2 * 20 + 7] == sae.decoderWeight[7 * 6 + 2])
        let x = (0..<12).map { Float($0) * 0.3 - 1 }
        #expect(loaded.reconstruct(x, count: 2) == sae.reconstruct(x, count: 2))
    }
}

@Suite struct TensorArchiveTests {
    @Test func roundTripAndHeaderAlignment() throws {
        let archive = TensorArchive(tensors: ["map.0": .init(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
                                              "b": .init(shape: [1], values: [-0.5])], metadata: ["schema": "1"])
        let bytes = try archive.serialized()
        var length = 0
        for i in 0..<8 { length |= Int(bytes[i]) << (8 * i) }
        #expect(length % 8 == 0)
        #expect(bytes.count == 8 + length + 7 * 4)
        #expect(try TensorArchive.parse(bytes) == archive)
    }

    @Test func rejectsMalformedFiles() throws {
        let bytes = try TensorArchive(tensors: ["t": .init(shape: [4], values: [1, 2, 3, 4])]).serialized()
        #expect(throws: (any Error).self) { try TensorArchive.parse(Array(bytes.prefix(5))) }
        #expect(throws: (any Error).self) { try TensorArchive.parse(Array(bytes.dropLast(4))) }   // data too short
        #expect(throws: (any Error).self) { try TensorArchive.parse(bytes + [0, 0, 0, 0]) }       // trailing bytes
        var huge = bytes
        huge[0] = 0xFF; huge[1] = 0xFF
        #expect(throws: (any Error).self) { try TensorArchive.parse(huge) }
        func file(_ json: String, data: Int) -> [UInt8] {
            var header = Array(json.utf8)
            while header.count % 8 != 0 { header.append(0x20) }
            var out = [UInt8]()
            for i in 0..<8 { out.append(UInt8((header.count >> (8 * i)) & 0xFF)) }
            return out + header + [UInt8](repeating: 0, count: data)
        }
        #expect(throws: (any Error).self) { try TensorArchive.parse(file(#"{"t":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#, data: 4)) }
        #expect(throws: (any Error).self) { try TensorArchive.parse(file(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: 4)) }
        #expect(throws: (any Error).self) {
            try TensorArchive.parse(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 8))
        }
        #expect(try TensorArchive.parse(file(#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 4)).tensors["t"]?.values == [0])
    }
}

@Suite struct SAECheckpointTests {
    /// Two epochs in one go equal one epoch, a checkpoint, and one more epoch after resuming.
    @Test func resumeContinuesExactly() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (x, _) = sparseSyntheticData(d: 8, truth: 10, active: 2, count: 300, noise: 0.01, seed: 2)
        let fresh = SparseAutoencoder(inputSize: 8, latentCount: 24, k: 2, seed: 1)
        let straight = SAETrainer(model: fresh, configuration: .init(epochs: 2, batchSize: 64, deadAfterSamples: 100, seed: 5))
        try straight.train(x, count: 300)
        let first = SAETrainer(model: fresh, configuration: .init(epochs: 1, batchSize: 64, deadAfterSamples: 100, seed: 5))
        try first.train(x, count: 300)
        let url = dir.appendingPathComponent("ckpt.safetensors")
        try first.saveCheckpoint(to: url)
        let resumed = try SAETrainer(resumingFrom: url, configuration: .init(epochs: 1, batchSize: 64, deadAfterSamples: 100, seed: 5))
        #expect(resumed.stepCount == first.stepCount && resumed.epochsDone == 1)
        try resumed.train(x, count: 300)
        #expect(resumed.model == straight.model)
        // The checkpoint is also a plain SAE weights file.
        #expect(try SparseAutoencoder.load(from: url) == first.model)
    }
}

@Suite struct EmbeddingSpectrumTests {
    /// Rows spanning three known orthogonal directions with variances 9, 4 and 1 (plus tiny noise):
    /// the spectrum finds those eigenvalues and says three directions carry 99 % of the variance.
    @Test func findsThePlantedVariances() {
        let d = 12, count = 4000
        var rng = SplitMix64(seed: 3)
        var basis = (0..<(3 * d)).map { _ in rng.nextGaussian() }
        // Gram–Schmidt so the planted variances are the exact eigenvalues.
        for r in 0..<3 {
            for q in 0..<r {
                let dot = (0..<d).map { basis[r * d + $0] * basis[q * d + $0] }.reduce(0, +)
                for i in 0..<d { basis[r * d + i] -= dot * basis[q * d + i] }
            }
            let norm = (0..<d).map { basis[r * d + $0] * basis[r * d + $0] }.reduce(0, +).squareRoot()
            for i in 0..<d { basis[r * d + i] /= norm }
        }
        let scales: [Float] = [3, 2, 1]
        var x = [Float](repeating: 0, count: count * d)
        var sampleVariance = [Double](repeating: 0, count: 3)
        for n in 0..<count {
            for r in 0..<3 {
                let a = scales[r] * rng.nextGaussian()
                sampleVariance[r] += Double(a * a) / Double(count)
                for i in 0..<d { x[n * d + i] += a * basis[r * d + i] }
            }
            for i in 0..<d { x[n * d + i] += 0.001 * rng.nextGaussian() + 5 }
        }
        let spectrum = EmbeddingSpectrum(x, count: count, d: d)
        #expect(spectrum.eigenvalues.count == d)
        for r in 0..<3 {
            #expect(abs(spectrum.eigenvalues[r] - sampleVariance[r]) < 0.05 * sampleVariance[r],
                    "eigenvalue \(r): \(spectrum.eigenvalues[r]) vs \(sampleVariance[r])")
        }
        #expect(spectrum.eigenvalues[3] < 1e-4)
        #expect(spectrum.components(for: 0.5) == 1)
        #expect(spectrum.components(for: 0.99) == 3)
    }

    @Test func jacobiMatchesAKnownMatrix() {
        // [[2,1],[1,2]] has eigenvalues 3 and 1.
        var a: [Double] = [2, 1, 1, 2]
        let values = EmbeddingSpectrum.symmetricEigenvalues(&a, n: 2).sorted(by: >)
        #expect(abs(values[0] - 3) < 1e-12 && abs(values[1] - 1) < 1e-12)
    }
}

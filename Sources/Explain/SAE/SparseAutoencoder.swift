import Foundation
import Randomness
import Tensor

/// A TopK sparse autoencoder over the detector's embedding (Gao et al. 2024, "Scaling and
/// evaluating sparse autoencoders"; Bricken et al. 2023, "Towards Monosemanticity").
///
/// ```
/// x_n   = x * inputScale                              // E‖x_n‖² = d on the training data
///         (or W (x - μ) * inputScale with a ``Whitening``)
/// z     = TopK_k(ReLU(W_enc (x_n - b_dec) + b_enc))   // [m], at most k non-zero
/// x̂_n   = W_decᵀ z + b_dec                             // decoder directions have unit norm
/// x̂     = x̂_n / inputScale                             (or W⁻¹ x̂_n / inputScale + μ)
/// ```
/// Everything public reads and returns embeddings in the detector's own units; the normalised
/// space is internal. A latent's effect on the embedding is ``embeddingDirection(_:)``.
/// Layouts: `encoderWeight [m, d]` (row j reads latent j), `decoderWeight [m, d]` (row j is latent j's
/// unit direction, i.e. column j of PyTorch's `decoder.weight [d, m]`), `encoderBias [m]`,
/// `decoderBias [d]` (`b_dec`, in normalised units).
public struct SparseAutoencoder: Sendable, Equatable {
    /// Embedding size `d`.
    public let inputSize: Int
    /// Number of latents `m`.
    public let latentCount: Int
    /// Active latents per sample `k`.
    public let k: Int
    /// Multiplier applied to inputs before encoding.
    public var inputScale: Float
    /// `[m, d]`.
    public var encoderWeight: [Float]
    /// `[m]`.
    public var encoderBias: [Float]
    /// `[m, d]`, rows of unit norm.
    public var decoderWeight: [Float]
    /// `[d]`, normalised units.
    public var decoderBias: [Float]
    /// Fixed preprocessing before the scale (nil: none, as in files written before it existed).
    public var whitening: Whitening?

    /// A freshly initialised autoencoder: random unit decoder directions, encoder = decoder
    /// transpose, zero biases, scale 1 (the trainer sets scale and `b_dec` from data).
    /// - Parameters:
    ///   - inputSize: `d`.
    ///   - latentCount: `m`, at least `k`.
    ///   - k: active latents per sample.
    ///   - seed: initialisation seed.
    public init(inputSize: Int, latentCount: Int, k: Int, seed: UInt64 = 0) {
        precondition(inputSize > 0 && latentCount > 0, "SAE sizes must be positive")
        precondition(k >= 1 && k <= latentCount, "k must be in 1...latentCount, got \(k)")
        self.inputSize = inputSize
        self.latentCount = latentCount
        self.k = k
        self.inputScale = 1
        var rng = SplitMix64(seed: seed)
        var directions = (0..<(latentCount * inputSize)).map { _ in rng.nextGaussian() }
        Self.normaliseRows(&directions, rows: latentCount, columns: inputSize)
        decoderWeight = directions
        encoderWeight = directions
        encoderBias = [Float](repeating: 0, count: latentCount)
        decoderBias = [Float](repeating: 0, count: inputSize)
    }

    /// Scales each row of `[rows, columns]` to unit Euclidean norm (zero rows stay zero).
    static func normaliseRows(_ matrix: inout [Float], rows: Int, columns: Int) {
        matrix.withUnsafeMutableBufferPointer { w in
            for r in 0..<rows {
                var s: Float = 0
                for c in 0..<columns { s += w[r * columns + c] * w[r * columns + c] }
                guard s > 0 else { continue }
                let inv = 1 / s.squareRoot()
                for c in 0..<columns { w[r * columns + c] *= inv }
            }
        }
    }

    // MARK: Encoding

    /// Embeddings `[count, d]` in the SAE's normalised units: `x * inputScale`, after the whitening
    /// if there is one.
    func normalise(_ x: UnsafeBufferPointer<Float>, count: Int) -> [Float] {
        let scale = inputScale
        if let whitening {
            var out = whitening.apply(x, count: count)
            for i in out.indices { out[i] *= scale }
            return out
        }
        return (0..<(count * inputSize)).map { x[$0] * scale }
    }

    /// Embeddings `[count, d]` from normalised units (the inverse of ``normalise(_:count:)``).
    func denormalise(_ y: [Float], count: Int) -> [Float] {
        let inv = 1 / inputScale
        let scaled = y.map { $0 * inv }
        return whitening?.invert(scaled, count: count) ?? scaled
    }

    /// The change of the embedding (detector units) per unit activation of latent `j`:
    /// `W⁻¹ d_j / inputScale`, or `d_j / inputScale` without whitening. Use it, not the raw decoder
    /// row, for a feature's effect on the detector (its direct contribution is this · readout weights).
    public func embeddingDirection(_ j: Int) -> [Float] {
        let d = inputSize
        let row = Array(decoderWeight[(j * d)..<((j + 1) * d)]).map { $0 / inputScale }
        return whitening?.invertDirection(row) ?? row
    }

    /// Logit change per unit activation of latent `j` through a linear readout `w [d]` on the
    /// embedding: `embeddingDirection(j) · w`, summed in Double.
    public func readoutPerActivation(_ j: Int, readout w: [Float]) -> Double {
        let direction = embeddingDirection(j)
        var dot = 0.0
        for i in 0..<inputSize { dot += Double(direction[i]) * Double(w[i]) }
        return dot
    }

    /// Pre-activations `W_enc (x_n - b_dec) + b_enc` of a batch of normalised rows, and the centred
    /// normalised input.
    ///
    /// `[count, d] · [m, d]ᵀ -> [count, m]` on the engine's packed SGEMM (`Tensor.GEMM`, AVX2+FMA when
    /// the CPU has it, `Parallel.threadCount` workers).
    /// - Returns: `pre [count, m]`, `centred [count, d]`.
    func preActivations(_ x: UnsafeBufferPointer<Float>, count: Int) -> (pre: [Float], centred: [Float]) {
        let d = inputSize, m = latentCount
        var centred = [Float](repeating: 0, count: count * d)
        centred.withUnsafeMutableBufferPointer { c in
            decoderBias.withUnsafeBufferPointer { b in
                for n in 0..<count { for i in 0..<d { c[n * d + i] = x[n * d + i] - b[i] } }
            }
        }
        var pre = [Float](repeating: 0, count: count * m)
        centred.withUnsafeBufferPointer { a in
            encoderWeight.withUnsafeBufferPointer { w in
                pre.withUnsafeMutableBufferPointer { c in
                    // op(B)[p, j] = W_enc[j, p]
                    GEMM.multiply(m: count, n: m, k: d, a: a.baseAddress!, aRowStride: d, aColStride: 1,
                                  b: w.baseAddress!, bRowStride: 1, bColStride: d, c: c.baseAddress!, ldc: m, accumulate: false)
                    encoderBias.withUnsafeBufferPointer { bias in
                        for n in 0..<count { for j in 0..<m { c[n * m + j] += bias[j] } }
                    }
                }
            }
        }
        return (pre, centred)
    }

    /// The sparse codes of a batch of embeddings.
    /// - Parameters:
    ///   - x: `[count, d]` embeddings (un-normalised, as the detector produces them).
    ///   - count: number of rows.
    /// - Returns: ``SparseCodes`` with `k` slots per row.
    public func encode(_ x: [Float], count: Int) -> SparseCodes {
        precondition(x.count == count * inputSize, "encode needs \(count * inputSize) floats, got \(x.count)")
        var codes = SparseCodes(count: count, k: k)
        // Chunks bound the [chunk, m] pre-activation buffer.
        let chunk = 4096
        var start = 0
        while start < count {
            let n = min(chunk, count - start)
            let normalised = x.withUnsafeBufferPointer {
                normalise(UnsafeBufferPointer(rebasing: $0[(start * inputSize)..<((start + n) * inputSize)]), count: n)
            }
            let pre = normalised.withUnsafeBufferPointer { preActivations($0, count: n).pre }
            pre.withUnsafeBufferPointer { p in
                codes.indices.withUnsafeMutableBufferPointer { idx in
                    codes.values.withUnsafeMutableBufferPointer { val in
                        // Rows are independent: split them over the engine's workers.
                        let (pb, ib, vb, m, k) = (p.baseAddress!, idx.baseAddress!, val.baseAddress!, latentCount, k)
                        Parallel.chunks(n) { _, rows in
                            for r in rows {
                                TopK.select(pb + r * m, count: m, k: k, indices: ib + (start + r) * k, values: vb + (start + r) * k)
                            }
                        }
                    }
                }
            }
            start += n
        }
        return codes
    }

    /// Reconstructions `x̂ [count, d]` (un-normalised) of sparse codes.
    /// - Parameter ablating: latents whose activation is set to zero before decoding.
    public func decode(_ codes: SparseCodes, ablating: Set<Int> = []) -> [Float] {
        let d = inputSize
        var out = [Float](repeating: 0, count: codes.count * d)
        out.withUnsafeMutableBufferPointer { o in
            decoderWeight.withUnsafeBufferPointer { w in
                decoderBias.withUnsafeBufferPointer { b in
                    for n in 0..<codes.count {
                        let row = n * d
                        for i in 0..<d { o[row + i] = b[i] }
                        for s in 0..<codes.k {
                            let v = codes.values[n * codes.k + s]
                            let j = Int(codes.indices[n * codes.k + s])
                            if v == 0 || ablating.contains(j) { continue }
                            for i in 0..<d { o[row + i] += v * w[j * d + i] }
                        }
                    }
                }
            }
        }
        return denormalise(out, count: codes.count)
    }

    /// `decode(encode(x))`.
    public func reconstruct(_ x: [Float], count: Int) -> [Float] {
        decode(encode(x, count: count))
    }

    // MARK: Metrics

    /// Reconstruction quality and sparsity on a data set.
    /// - Parameters:
    ///   - x: `[count, d]` embeddings.
    ///   - count: rows.
    /// - Returns: explained variance `1 - Σ‖x - x̂‖² / Σ‖x - mean(x)‖²`, mean L0 (non-zero
    ///   activations per row), and the fraction of latents that never fire on `x`.
    public func metrics(_ x: [Float], count: Int) -> SAEMetrics {
        precondition(count > 0, "metrics need data")
        let codes = encode(x, count: count)
        let recon = decode(codes)
        let d = inputSize
        var mean = [Double](repeating: 0, count: d)
        for n in 0..<count { for i in 0..<d { mean[i] += Double(x[n * d + i]) } }
        for i in 0..<d { mean[i] /= Double(count) }
        var residual = 0.0, total = 0.0
        x.withUnsafeBufferPointer { xs in
            recon.withUnsafeBufferPointer { r in
                for n in 0..<count {
                    for i in 0..<d {
                        let e = Double(xs[n * d + i] - r[n * d + i])
                        let c = Double(xs[n * d + i]) - mean[i]
                        residual += e * e
                        total += c * c
                    }
                }
            }
        }
        var fired = [Bool](repeating: false, count: latentCount)
        var active = 0
        for s in 0..<codes.values.count where codes.values[s] > 0 {
            active += 1
            fired[Int(codes.indices[s])] = true
        }
        let dead = fired.filter { !$0 }.count
        return SAEMetrics(explainedVariance: total > 0 ? 1 - residual / total : 0,
                          meanSquaredError: residual / Double(count * d),
                          l0: Double(active) / Double(count),
                          deadFraction: Double(dead) / Double(latentCount))
    }
}

/// Reconstruction and sparsity figures of an SAE on a data set.
public struct SAEMetrics: Sendable, Equatable, Codable {
    /// `1 - Σ‖x - x̂‖² / Σ‖x - mean‖²` (goal ≥ 0.90).
    public var explainedVariance: Double
    /// `Σ‖x - x̂‖² / (count d)`, un-normalised units.
    public var meanSquaredError: Double
    /// Mean number of non-zero latents per sample (≤ k).
    public var l0: Double
    /// Fraction of latents that never fire on the data (goal ≤ 0.05).
    public var deadFraction: Double
}

/// TopK codes of a batch: `k` slots per row, `indices [count, k]` and `values [count, k]`
/// (ReLU applied, so a slot may hold 0 = not fired), slots in descending activation order.
public struct SparseCodes: Sendable, Equatable {
    public var count: Int
    public var k: Int
    public var indices: [Int32]
    public var values: [Float]

    public init(count: Int, k: Int) {
        self.count = count
        self.k = k
        indices = [Int32](repeating: 0, count: count * k)
        values = [Float](repeating: 0, count: count * k)
    }

    /// The dense activation row `[m]` of sample `n`.
    public func dense(row n: Int, latentCount: Int) -> [Float] {
        var out = [Float](repeating: 0, count: latentCount)
        for s in 0..<k { out[Int(indices[n * k + s])] += values[n * k + s] }
        return out
    }

    /// `(latent, activation)` of the fired latents of sample `n`.
    public func active(row n: Int) -> [(latent: Int, activation: Float)] {
        (0..<k).compactMap { s in values[n * k + s] > 0 ? (Int(indices[n * k + s]), values[n * k + s]) : nil }
    }
}

/// Top-k selection with ReLU.
enum TopK {
    /// Writes the `k` largest of `count` values (descending), ReLU'd, with their indices.
    /// Optionally restricted to `candidates` (indices into the row).
    @inline(__always)
    static func select(_ row: UnsafePointer<Float>, count: Int, k: Int,
                       indices: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<Float>,
                       candidates: UnsafeBufferPointer<Int32>? = nil) {
        // Keep a small unsorted buffer with its minimum; replace the minimum when beaten.
        var filled = 0
        var minSlot = 0
        var minValue = -Float.infinity
        let total = candidates?.count ?? count
        for t in 0..<total {
            let j = candidates.map { Int($0[t]) } ?? t
            let v = row[j]
            if filled < k {
                indices[filled] = Int32(j)
                values[filled] = v
                filled += 1
                if filled == k {
                    minSlot = 0; minValue = values[0]
                    for s in 1..<k where values[s] < minValue { minValue = values[s]; minSlot = s }
                }
            } else if v > minValue {
                indices[minSlot] = Int32(j)
                values[minSlot] = v
                minSlot = 0; minValue = values[0]
                for s in 1..<k where values[s] < minValue { minValue = values[s]; minSlot = s }
            }
        }
        for s in filled..<k { indices[s] = 0; values[s] = 0 }
        // Insertion sort, descending (k is small).
        if filled > 1 {
            for a in 1..<filled {
                let v = values[a], j = indices[a]
                var b = a - 1
                while b >= 0 && values[b] < v { values[b + 1] = values[b]; indices[b + 1] = indices[b]; b -= 1 }
                values[b + 1] = v; indices[b + 1] = j
            }
        }
        for s in 0..<filled where values[s] < 0 { values[s] = 0 }
    }
}

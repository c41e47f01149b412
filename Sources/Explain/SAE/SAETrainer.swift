import Foundation
import Randomness
import Tensor

/// Trains a ``SparseAutoencoder`` with Adam on a `[N, d]` matrix of embeddings.
///
/// Loss per batch of `B` rows (normalised units, Gao et al. 2024):
/// ```
/// L     = (1/(B d)) Σ_b ‖x_b - x̂_b‖²
/// L_aux = α (1/(B d)) Σ_b ‖e_b - ê_b‖²,  e = x - x̂ (no gradient),  ê = W_decᵀ TopK_{k_aux}(ReLU(pre) on dead latents)
/// ```
/// `α = 1/32`; a latent is dead when it has not fired in the last `deadAfterSamples` training rows.
/// After each step the decoder gradient's component along each direction is removed before Adam
/// and the directions are renormalised to unit length. Deterministic for a seed (batch order and
/// initialisation; `Parallel.threadCount` workers split rows and reduce in a fixed order, so results
/// are reproducible for a fixed thread count).
public final class SAETrainer {
    /// Hyper-parameters.
    public struct Configuration: Sendable, Equatable, Codable {
        public var epochs: Int = 10
        public var batchSize: Int = 256
        /// Adam step size. 4e-3 at batch 256 recovered 1022 of 1024 planted directions (EV 0.94) in 9
        /// epochs of 20k synthetic 256-d rows; 1e-3 was far slower, 1e-2 left 40 % of latents dead.
        public var learningRate: Float = 4e-3
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-8
        /// `α` of the AuxK loss.
        public var auxCoefficient: Float = 1.0 / 32
        /// `k_aux`; `nil` = `d / 2`.
        public var auxK: Int? = nil
        /// Rows without firing after which a latent counts as dead; `nil` = `min(N, 20 000)`.
        public var deadAfterSamples: Int? = nil
        /// Steps between dead-latent resamplings (see ``SAETrainer``); `nil` = never.
        public var resampleEvery: Int? = nil
        /// No resampling after this step count, so that revived latents settle before training ends.
        public var resampleUntilStep: Int = .max
        /// ZCA-whiten the embeddings before the SAE, with shrinkage `ε = whiteningShrinkage x mean
        /// eigenvalue` (see ``Whitening``); nil = no whitening (only the global scale).
        public var whiteningShrinkage: Double? = nil
        public var seed: UInt64 = 0

        public init(epochs: Int = 10, batchSize: Int = 256, learningRate: Float = 4e-3, auxCoefficient: Float = 1.0 / 32,
                    auxK: Int? = nil, deadAfterSamples: Int? = nil, resampleEvery: Int? = nil, resampleUntilStep: Int = .max,
                    whiteningShrinkage: Double? = nil, seed: UInt64 = 0) {
            precondition(epochs >= 0 && batchSize >= 1 && learningRate > 0, "epochs, batch size and learning rate must be positive")
            self.epochs = epochs
            self.batchSize = batchSize
            self.learningRate = learningRate
            self.auxCoefficient = auxCoefficient
            self.auxK = auxK
            self.deadAfterSamples = deadAfterSamples
            precondition(resampleEvery.map { $0 >= 1 } ?? true, "resampleEvery must be positive")
            self.resampleEvery = resampleEvery
            self.resampleUntilStep = resampleUntilStep
            precondition(whiteningShrinkage.map { $0 > 0 } ?? true, "whitening shrinkage must be positive")
            self.whiteningShrinkage = whiteningShrinkage
            self.seed = seed
        }
    }

    /// Reported after every step.
    public struct Progress: Sendable {
        public var epoch: Int
        public var step: Int
        public var stepsPerEpoch: Int
        /// Normalised MSE loss of the step (`L`, without the aux term).
        public var loss: Float
        public var auxLoss: Float
        /// Latents currently counted dead.
        public var deadCount: Int
        /// Latents re-initialised after this step (0 when the step did not resample).
        public var resampled: Int = 0
    }

    public private(set) var model: SparseAutoencoder
    public let configuration: Configuration
    /// Adam state: first and second moments per parameter, and the step count.
    private var moments: [String: (m: [Float], v: [Float])] = [:]
    public private(set) var stepCount = 0
    public private(set) var epochsDone = 0
    /// Rows since each latent last fired.
    private var sinceFired: [Int]
    private var initialised = false

    /// - Parameters:
    ///   - model: the autoencoder to train (fresh from `init(inputSize:latentCount:k:seed:)` or loaded).
    ///   - configuration: hyper-parameters.
    public init(model: SparseAutoencoder, configuration: Configuration = .init()) {
        self.model = model
        self.configuration = configuration
        sinceFired = [Int](repeating: 0, count: model.latentCount)
        for name in ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"] {
            let n = parameter(name).count
            moments[name] = ([Float](repeating: 0, count: n), [Float](repeating: 0, count: n))
        }
    }

    private func parameter(_ name: String) -> [Float] {
        switch name {
        case "encoder.weight": return model.encoderWeight
        case "encoder.bias": return model.encoderBias
        case "decoder.weight": return model.decoderWeight
        default: return model.decoderBias
        }
    }

    /// Sets the whitening (when configured), the input scale (`E‖x_n‖² = d`) and `b_dec` (mean of
    /// the normalised data) from data.
    /// Called by ``train(_:count:progress:)`` on a fresh trainer; call it yourself to inspect.
    public func initialise(from x: [Float], count: Int) {
        let d = model.inputSize
        model.whitening = configuration.whiteningShrinkage.map { Whitening.zca(x, count: count, d: d, shrinkage: $0) }
        model.inputScale = 1
        let unscaled = x.withUnsafeBufferPointer { model.normalise($0, count: count) }
        var meanSquaredNorm = 0.0
        var mean = [Double](repeating: 0, count: d)
        for n in 0..<count {
            for i in 0..<d {
                let v = Double(unscaled[n * d + i])
                meanSquaredNorm += v * v
                mean[i] += v
            }
        }
        meanSquaredNorm /= Double(count)
        model.inputScale = meanSquaredNorm > 0 ? Float((Double(d) / meanSquaredNorm).squareRoot()) : 1
        model.decoderBias = mean.map { Float($0 / Double(count)) * model.inputScale }
        initialised = true
    }

    /// Trains for `configuration.epochs` more epochs.
    /// - Parameters:
    ///   - x: `[count, d]` embeddings.
    ///   - count: rows.
    ///   - evaluate: compute ``SAEMetrics`` on `x` after training (one more encoder pass).
    ///   - progress: called after each step.
    /// - Returns: metrics on `x` after training, or nil when `evaluate` is false.
    /// - Throws: ``ExplainError/shapeMismatch(name:expected:actual:)`` if `x` is not `[count, d]`.
    @discardableResult
    public func train(_ x: [Float], count: Int, evaluate: Bool = true, progress: ((Progress) -> Void)? = nil) throws -> SAEMetrics? {
        let d = model.inputSize
        guard count >= 1, x.count == count * d else {
            throw ExplainError.shapeMismatch(name: "SAE training data", expected: "[\(count), \(d)]", actual: "\(x.count) floats")
        }
        if !initialised && stepCount == 0 { initialise(from: x, count: count) }
        initialised = true
        // The model's preprocessing is fixed from here on: normalise once, train in those units.
        let normalised = x.withUnsafeBufferPointer { model.normalise($0, count: count) }
        let deadAfter = configuration.deadAfterSamples ?? min(count, 20_000)
        let batch = min(configuration.batchSize, count)
        let stepsPerEpoch = (count + batch - 1) / batch
        var order = Array(0..<count)
        var buffer = [Float](repeating: 0, count: batch * d)
        for _ in 0..<configuration.epochs {
            // The order depends only on (seed, epoch), so a resumed run sees the same batches.
            var rng = SplitMix64(seed: configuration.seed &+ UInt64(epochsDone) &* 0x2545_F491_4F6C_DD1D)
            for i in 0..<count { order[i] = i }
            order.shuffle(using: &rng)
            for step in 0..<stepsPerEpoch {
                let first = step * batch
                let rows = min(batch, count - first)
                if buffer.count != rows * d { buffer = [Float](repeating: 0, count: rows * d) }
                buffer.withUnsafeMutableBufferPointer { b in
                    normalised.withUnsafeBufferPointer { xs in
                        for r in 0..<rows {
                            let src = order[first + r] * d
                            for i in 0..<d { b[r * d + i] = xs[src + i] }
                        }
                    }
                }
                let (loss, aux, dead) = self.step(buffer, rows: rows, deadAfter: deadAfter)
                var resampled = 0
                if let every = configuration.resampleEvery, stepCount % every == 0, stepCount <= configuration.resampleUntilStep {
                    resampled = resampleDeadLatents(normalised, count: count, deadAfter: deadAfter)
                }
                progress?(Progress(epoch: epochsDone, step: step, stepsPerEpoch: stepsPerEpoch, loss: loss, auxLoss: aux,
                                   deadCount: dead, resampled: resampled))
            }
            epochsDone += 1
        }
        return evaluate ? model.metrics(x, count: count) : nil
    }

    /// One Adam step on `rows` normalised rows; returns (loss, aux loss, dead count before the step).
    private func step(_ x: [Float], rows: Int, deadAfter: Int) -> (Float, Float, Int) {
        let model = self.model
        let d = model.inputSize, m = model.latentCount, k = model.k
        // Forward: pre [rows, m], centred [rows, d].
        let (pre, centred) = x.withUnsafeBufferPointer { model.preActivations($0, count: rows) }
        let dead: [Int32] = (0..<m).compactMap { sinceFired[$0] >= deadAfter ? Int32($0) : nil }
        let kAux = min(configuration.auxK ?? max(1, d / 2), dead.count)
        let lossScale = 2 / Float(rows * d)
        let alpha = configuration.auxCoefficient

        // Per-worker gradient buffers, reduced in worker order.
        let workers = Parallel.workers(for: rows)
        final class Grads: @unchecked Sendable {
            var wEnc: [Float], bEnc: [Float], wDec: [Float], bDec: [Float]
            var loss: Double = 0, aux: Double = 0
            var fired: [Bool]
            init(m: Int, d: Int) {
                wEnc = [Float](repeating: 0, count: m * d); bEnc = [Float](repeating: 0, count: m)
                wDec = [Float](repeating: 0, count: m * d); bDec = [Float](repeating: 0, count: d)
                fired = [Bool](repeating: false, count: m)
            }
        }
        let grads = (0..<workers).map { _ in Grads(m: m, d: d) }
        let xs = x, preAll = pre, centredAll = centred, deadList = dead
        Parallel.chunks(rows) { worker, range in
            let g = grads[worker]
            let first = range.lowerBound, last = range.upperBound
            var idx = [Int32](repeating: 0, count: k), val = [Float](repeating: 0, count: k)
            var auxIdx = [Int32](repeating: 0, count: max(kAux, 1)), auxVal = [Float](repeating: 0, count: max(kAux, 1))
            var residual = [Float](repeating: 0, count: d), gMain = [Float](repeating: 0, count: d), gAux = [Float](repeating: 0, count: d)
            model.decoderWeight.withUnsafeBufferPointer { wd in
            model.encoderWeight.withUnsafeBufferPointer { we in
            model.decoderBias.withUnsafeBufferPointer { bd in
            xs.withUnsafeBufferPointer { xb in
            preAll.withUnsafeBufferPointer { p in
            centredAll.withUnsafeBufferPointer { cen in
            deadList.withUnsafeBufferPointer { deadBuf in
            g.wEnc.withUnsafeMutableBufferPointer { gwe in
            g.wDec.withUnsafeMutableBufferPointer { gwd in
            g.bEnc.withUnsafeMutableBufferPointer { gbe in
            g.bDec.withUnsafeMutableBufferPointer { gbd in
            idx.withUnsafeMutableBufferPointer { ib in
            val.withUnsafeMutableBufferPointer { vb in
            auxIdx.withUnsafeMutableBufferPointer { aib in
            auxVal.withUnsafeMutableBufferPointer { avb in
            residual.withUnsafeMutableBufferPointer { e in
            gMain.withUnsafeMutableBufferPointer { gm in
            gAux.withUnsafeMutableBufferPointer { ga in
                for r in first..<last {
                    let row = p.baseAddress! + r * m
                    TopK.select(row, count: m, k: k, indices: ib.baseAddress!, values: vb.baseAddress!)
                    // e = x_n - x̂_n, x̂_n = b_dec + Σ z_j w_j
                    for i in 0..<d { e[i] = xb[r * d + i] - bd[i] }
                    for s in 0..<k where vb[s] > 0 {
                        let j = Int(ib[s]), v = vb[s]
                        g.fired[j] = true
                        for i in 0..<d { e[i] -= v * wd[j * d + i] }
                    }
                    var rowLoss: Float = 0
                    for i in 0..<d { rowLoss += e[i] * e[i]; gm[i] = -lossScale * e[i] }
                    g.loss += Double(rowLoss)
                    for i in 0..<d { gbd[i] += gm[i] }
                    // Backward through the active latents: dz_j = w_j · g, dpre_j = dz_j.
                    for s in 0..<k where vb[s] > 0 {
                        let j = Int(ib[s]), v = vb[s]
                        var dz: Float = 0
                        for i in 0..<d { dz += wd[j * d + i] * gm[i]; gwd[j * d + i] += v * gm[i] }
                        gbe[j] += dz
                        for i in 0..<d { gwe[j * d + i] += dz * cen[r * d + i]; gbd[i] -= dz * we[j * d + i] }
                    }
                    // AuxK: the top k_aux dead latents reconstruct the residual e.
                    if kAux > 0 {
                        TopK.select(row, count: m, k: kAux, indices: aib.baseAddress!, values: avb.baseAddress!, candidates: deadBuf)
                        for i in 0..<d { ga[i] = e[i] }   // r = e - ê
                        for s in 0..<kAux where avb[s] > 0 {
                            let j = Int(aib[s]), v = avb[s]
                            for i in 0..<d { ga[i] -= v * wd[j * d + i] }
                        }
                        var auxLoss: Float = 0
                        for i in 0..<d { auxLoss += ga[i] * ga[i]; ga[i] *= -alpha * lossScale }  // dL_aux/dê
                        g.aux += Double(alpha * auxLoss)
                        for s in 0..<kAux where avb[s] > 0 {
                            let j = Int(aib[s]), v = avb[s]
                            var dz: Float = 0
                            for i in 0..<d { dz += wd[j * d + i] * ga[i]; gwd[j * d + i] += v * ga[i] }
                            gbe[j] += dz
                            for i in 0..<d { gwe[j * d + i] += dz * cen[r * d + i]; gbd[i] -= dz * we[j * d + i] }
                        }
                    }
                }
            }}}}}}}}}}}}}}}}}}
        }
        // Reduce.
        let total = grads[0]
        for w in 1..<workers {
            let g = grads[w]
            Self.add(&total.wEnc, g.wEnc); Self.add(&total.bEnc, g.bEnc)
            Self.add(&total.wDec, g.wDec); Self.add(&total.bDec, g.bDec)
            total.loss += g.loss; total.aux += g.aux
            for j in 0..<m where g.fired[j] { total.fired[j] = true }
        }
        // Remove the gradient component parallel to each unit decoder direction.
        self.model.decoderWeight.withUnsafeBufferPointer { wd in
            total.wDec.withUnsafeMutableBufferPointer { g in
                for j in 0..<m {
                    var dot: Float = 0
                    for i in 0..<d { dot += g[j * d + i] * wd[j * d + i] }
                    if dot != 0 { for i in 0..<d { g[j * d + i] -= dot * wd[j * d + i] } }
                }
            }
        }
        stepCount += 1
        adam("encoder.weight", &self.model.encoderWeight, total.wEnc)
        adam("encoder.bias", &self.model.encoderBias, total.bEnc)
        adam("decoder.weight", &self.model.decoderWeight, total.wDec)
        adam("decoder.bias", &self.model.decoderBias, total.bDec)
        SparseAutoencoder.normaliseRows(&self.model.decoderWeight, rows: m, columns: d)
        for j in 0..<m { sinceFired[j] = total.fired[j] ? 0 : sinceFired[j] + rows }
        return (Float(total.loss / Double(rows * d)), Float(total.aux / Double(rows * d)), dead.count)
    }

    /// Re-initialises latents that have not fired within `deadAfter` rows (Bricken et al. 2023,
    /// "Towards Monosemanticity", neuron resampling, adapted to TopK).
    ///
    /// Rows are drawn with probability proportional to their squared reconstruction loss; a dead
    /// latent gets the normalised residual `e = x_n - x̂_n` of its row as decoder direction and as
    /// encoder row (scaled to the mean norm of the live encoder rows), zero bias and fresh Adam
    /// moments. The AuxK loss alone cannot revive a latent whose pre-activation is negative on every
    /// row (ReLU blocks its gradient); on a near-low-rank embedding that is most of them.
    /// - Parameter x: rows in normalised units.
    /// - Returns: the number of latents re-initialised.
    private func resampleDeadLatents(_ x: [Float], count: Int, deadAfter: Int) -> Int {
        let dead = (0..<model.latentCount).filter { sinceFired[$0] >= deadAfter }
        guard !dead.isEmpty else { return 0 }
        let d = model.inputSize, m = model.latentCount, k = model.k
        var rng = SplitMix64(seed: configuration.seed ^ (UInt64(stepCount) &* 0x9E37_79B9_7F4A_7C15))
        // Rows to score: all of them, or a bounded random subset.
        let rowLimit = 8192
        let rows: [Int] = count <= rowLimit ? Array(0..<count) : (0..<rowLimit).map { _ in Int(rng.next() % UInt64(count)) }
        var subset = [Float](repeating: 0, count: rows.count * d)
        for (r, source) in rows.enumerated() { for i in 0..<d { subset[r * d + i] = x[source * d + i] } }
        let (pre, centred) = subset.withUnsafeBufferPointer { model.preActivations($0, count: rows.count) }
        var residuals = centred
        var weights = [Double](repeating: 0, count: rows.count)
        let decoder = model.decoderWeight
        residuals.withUnsafeMutableBufferPointer { e in
            pre.withUnsafeBufferPointer { p in
                decoder.withUnsafeBufferPointer { wd in
                    let (eb, pb, wb) = (e.baseAddress!, p.baseAddress!, wd.baseAddress!)
                    let lossPerRow = UnsafeMutableBufferPointer<Double>.allocate(capacity: rows.count)
                    defer { lossPerRow.deallocate() }
                    Parallel.chunks(rows.count) { _, range in
                        var idx = [Int32](repeating: 0, count: k), val = [Float](repeating: 0, count: k)
                        for r in range {
                            TopK.select(pb + r * m, count: m, k: k, indices: &idx, values: &val)
                            for s in 0..<k where val[s] > 0 {
                                let j = Int(idx[s])
                                for i in 0..<d { eb[r * d + i] -= val[s] * wb[j * d + i] }
                            }
                            var loss = 0.0
                            for i in 0..<d { loss += Double(eb[r * d + i] * eb[r * d + i]) }
                            lossPerRow[r] = loss
                        }
                    }
                    for r in 0..<rows.count { weights[r] = lossPerRow[r] * lossPerRow[r] }
                }
            }
        }
        // Cumulative weights for sampling rows ∝ loss².
        var cumulative = [Double](repeating: 0, count: rows.count)
        var total = 0.0
        for r in 0..<rows.count { total += weights[r]; cumulative[r] = total }
        guard total > 0 else { return 0 }
        let isDead = Set(dead)
        var aliveNorm = 0.0
        for j in 0..<m where !isDead.contains(j) {
            var s: Float = 0
            for i in 0..<d { s += model.encoderWeight[j * d + i] * model.encoderWeight[j * d + i] }
            aliveNorm += Double(s.squareRoot())
        }
        let encoderNorm = Float(m > dead.count ? aliveNorm / Double(m - dead.count) : 1)
        for j in dead {
            let u = Double(rng.next() >> 11) / Double(1 << 53) * total
            var lo = 0, hi = rows.count - 1
            while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] < u { lo = mid + 1 } else { hi = mid } }
            var direction = Array(residuals[(lo * d)..<((lo + 1) * d)])
            SparseAutoencoder.normaliseRows(&direction, rows: 1, columns: d)
            for i in 0..<d {
                model.decoderWeight[j * d + i] = direction[i]
                model.encoderWeight[j * d + i] = direction[i] * encoderNorm
            }
            model.encoderBias[j] = 0
            resetMoments(latent: j)
            sinceFired[j] = 0
        }
        return dead.count
    }

    /// Zeroes the Adam moments of one latent's encoder row, bias and decoder row.
    private func resetMoments(latent j: Int) {
        let d = model.inputSize
        for name in ["encoder.weight", "decoder.weight"] {
            for i in 0..<d { moments[name]!.m[j * d + i] = 0; moments[name]!.v[j * d + i] = 0 }
        }
        moments["encoder.bias"]!.m[j] = 0
        moments["encoder.bias"]!.v[j] = 0
    }

    private static func add(_ a: inout [Float], _ b: [Float]) {
        a.withUnsafeMutableBufferPointer { x in b.withUnsafeBufferPointer { y in for i in 0..<x.count { x[i] += y[i] } } }
    }

    /// Adam (Kingma and Ba 2015) with bias correction.
    private func adam(_ name: String, _ parameter: inout [Float], _ gradient: [Float]) {
        var state = moments[name]!
        moments[name] = nil
        let b1 = configuration.beta1, b2 = configuration.beta2
        let t = Float(stepCount)
        let lr = configuration.learningRate * (1 - pow(b2, t)).squareRoot() / (1 - pow(b1, t))
        let eps = configuration.epsilon
        parameter.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeBufferPointer { g in
                state.m.withUnsafeMutableBufferPointer { m1 in
                    state.v.withUnsafeMutableBufferPointer { v1 in
                        for i in 0..<p.count {
                            m1[i] = b1 * m1[i] + (1 - b1) * g[i]
                            v1[i] = b2 * v1[i] + (1 - b2) * g[i] * g[i]
                            p[i] -= lr * m1[i] / (v1[i].squareRoot() + eps)
                        }
                    }
                }
            }
        }
        moments[name] = state
    }

    func momentState() -> [String: (m: [Float], v: [Float])] { moments }
    func sinceFiredState() -> [Int] { sinceFired }
    func restore(moments: [String: (m: [Float], v: [Float])], sinceFired: [Int], steps: Int, epochs: Int) {
        self.moments = moments
        self.sinceFired = sinceFired
        stepCount = steps
        epochsDone = epochs
        initialised = true
    }

    /// Latents currently counted dead (not fired within `deadAfterSamples` rows).
    public func deadLatents(deadAfter: Int) -> [Int] {
        (0..<model.latentCount).filter { sinceFired[$0] >= deadAfter }
    }
}

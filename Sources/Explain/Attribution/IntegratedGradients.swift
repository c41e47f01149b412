import Randomness

/// Integrated gradients (Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep Networks",
/// ICML 2017) of a model's scalar target (the fake logit) with respect to its input.
///
/// ```
/// IG_i(x) = (x_i - b_i) * ∫_0^1 ∂f(b + α (x - b)) / ∂x_i dα
/// completeness:  Σ_i IG_i(x) = f(x) - f(b)
/// ```
/// The integral is approximated by a ``QuadratureRule`` with `steps` gradient evaluations; all path
/// points of all inputs, baseline draws and noise samples are sent through the model in batches of
/// `batchSize`. With noise baselines the attribution is the mean over draws; with SmoothGrad-style
/// averaging (Smilkov et al. 2017) the input itself is perturbed `samples` times and the attributions
/// averaged, and completeness is checked against the mean of `f(x + ε) - f(b)`.
public struct IntegratedGradients: Sendable {
    /// SmoothGrad-style averaging of IG over noisy copies of the input.
    public struct Smoothing: Sendable, Equatable, Codable {
        /// Number of noisy copies.
        public var samples: Int
        /// Gaussian noise standard deviation as a fraction of the input's value range
        /// (`max - min` over the sample), as in Smilkov et al. (0.1–0.2 there).
        public var noiseLevel: Float
        /// Seed of the noise.
        public var seed: UInt64

        public init(samples: Int = 8, noiseLevel: Float = 0.1, seed: UInt64 = 0) {
            precondition(samples >= 1, "smoothing needs at least one sample")
            precondition(noiseLevel >= 0, "noise level must be non-negative")
            self.samples = samples
            self.noiseLevel = noiseLevel
            self.seed = seed
        }
    }

    /// Options of one IG run.
    public struct Configuration: Sendable, Equatable {
        /// Gradient evaluations along the path per (input, baseline draw, noise sample); default 32.
        public var steps: Int = 32
        /// Quadrature rule; default Gauss–Legendre (captum's default too).
        public var rule: QuadratureRule = .gaussLegendre
        /// Reference input; default ``Baseline/default`` (blur, sigma 8).
        public var baseline: Baseline = .default
        /// Model's input normalisation, used to build pixel-space baselines.
        public var normalization: Normalization
        /// Path points per model call.
        public var batchSize: Int = 16
        /// Optional SmoothGrad-style averaging.
        public var smoothing: Smoothing? = nil
        /// Step escalation: when set, a sample whose relative completeness error exceeds
        /// `tolerance` is recomputed with twice the steps, up to `maximumSteps`. Off by default
        /// (keeps the cost predictable); the reported `steps` is the count actually used.
        public var escalation: (tolerance: Double, maximumSteps: Int)? = nil

        public init(steps: Int = 32, rule: QuadratureRule = .gaussLegendre, baseline: Baseline = .default,
                    normalization: Normalization, batchSize: Int = 16, smoothing: Smoothing? = nil,
                    escalation: (tolerance: Double, maximumSteps: Int)? = nil) {
            precondition(steps >= 2, "IG needs at least 2 steps, got \(steps)")
            precondition(batchSize >= 1, "batch size must be positive")
            self.steps = steps
            self.rule = rule
            self.baseline = baseline
            self.normalization = normalization
            self.batchSize = batchSize
            self.smoothing = smoothing
            self.escalation = escalation
        }

        public static func == (a: Configuration, b: Configuration) -> Bool {
            a.steps == b.steps && a.rule == b.rule && a.baseline == b.baseline && a.normalization == b.normalization
                && a.batchSize == b.batchSize && a.smoothing == b.smoothing
                && a.escalation?.tolerance == b.escalation?.tolerance && a.escalation?.maximumSteps == b.escalation?.maximumSteps
        }
    }

    public var configuration: Configuration

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Attributions for each input sample.
    ///
    /// - Parameters:
    ///   - model: the model; its target is one logit per sample.
    ///   - inputs: `[count, C, H, W]` normalised inputs with `[C, H, W] == model.inputShape`.
    ///   - count: number of samples.
    /// - Returns: one ``Attribution`` per sample, in order.
    /// - Throws: ``ExplainError/shapeMismatch(name:expected:actual:)`` for wrong input or model
    ///   output sizes; whatever the model throws.
    public func attribute<Model: AttributableModel>(_ model: Model, inputs: [Float], count: Int) throws -> [Attribution] {
        var results = try attributeOnce(model, inputs: inputs, count: count)
        guard let (tolerance, maximumSteps) = configuration.escalation else { return results }
        var steps = configuration.steps
        let size = model.inputShape.count
        while steps * 2 <= maximumSteps {
            let failing = results.indices.filter { !(results[$0].relativeCompletenessError <= tolerance) }
            if failing.isEmpty { break }
            steps *= 2
            var retry = self
            retry.configuration.steps = steps
            var batch: [Float] = []
            for n in failing { batch += inputs[(n * size)..<((n + 1) * size)] }
            let redone = try retry.attributeOnce(model, inputs: batch, count: failing.count)
            for (j, n) in failing.enumerated() { results[n] = redone[j] }
        }
        return results
    }

    private func attributeOnce<Model: AttributableModel>(_ model: Model, inputs: [Float], count: Int) throws -> [Attribution] {
        let shape = model.inputShape
        let size = shape.count
        guard count >= 1, inputs.count == count * size else {
            throw ExplainError.shapeMismatch(name: "IG inputs", expected: "[\(count), \(shape.channels), \(shape.height), \(shape.width)]",
                                             actual: "\(inputs.count) floats")
        }
        guard configuration.normalization.mean.count == shape.channels else {
            throw ExplainError.shapeMismatch(name: "normalisation channels", expected: "\(shape.channels)",
                                             actual: "\(configuration.normalization.mean.count)")
        }
        let (nodes, weights) = configuration.rule.nodesAndWeights(steps: configuration.steps)
        let steps = nodes.count
        let noiseSamples = configuration.smoothing?.samples ?? 1
        let baselineSamples = configuration.baseline.sampleCount

        // One "pair" = (possibly noisy input x_s, baseline draw b). Layout: pair p of sample n is
        // pairs[(n * noiseSamples + s) * baselineSamples + d].
        var starts: [[Float]] = []   // baselines b, [C, H, W] each
        var ends: [[Float]] = []     // inputs x_s, [C, H, W] each
        for n in 0..<count {
            let x = Array(inputs[(n * size)..<((n + 1) * size)])
            let baselines = (0..<baselineSamples).map {
                configuration.baseline.make(for: x, shape: shape, normalization: configuration.normalization, sample: $0)
            }
            for s in 0..<noiseSamples {
                let xs = configuration.smoothing.map { Self.noisy(x, options: $0, sample: n * noiseSamples + s) } ?? x
                for d in 0..<baselineSamples {
                    starts.append(baselines[d])
                    ends.append(xs)
                }
            }
        }
        let pairCount = starts.count

        // Accumulated Σ_s w_s ∇f(b + α_s (x - b)) per pair: [pairCount, C, H, W].
        var gradientSums = [Float](repeating: 0, count: pairCount * size)
        var startLogits = [Double](repeating: .nan, count: pairCount)
        var endLogits = [Double](repeating: .nan, count: pairCount)
        let totalPoints = pairCount * steps
        let batchSize = configuration.batchSize
        var batch = [Float](repeating: 0, count: min(batchSize, totalPoints) * size)
        var first = 0
        while first < totalPoints {
            let n = min(batchSize, totalPoints - first)
            if batch.count != n * size { batch = [Float](repeating: 0, count: n * size) }
            // Path points: [n, C, H, W], point j is b + α (x - b) of pair (first+j)/steps.
            batch.withUnsafeMutableBufferPointer { out in
                for j in 0..<n {
                    let point = first + j
                    let pair = point / steps, node = point % steps
                    let alpha = Float(nodes[node])
                    starts[pair].withUnsafeBufferPointer { b in
                        ends[pair].withUnsafeBufferPointer { x in
                            let base = j * size
                            for i in 0..<size { out[base + i] = b[i] + alpha * (x[i] - b[i]) }
                        }
                    }
                }
            }
            let result = try model.logitsAndInputGradients(batch, batch: n)
            guard result.logits.count == n, result.gradients.count == n * size else {
                throw ExplainError.shapeMismatch(name: "model output", expected: "\(n) logits, \(n * size) gradients",
                                                 actual: "\(result.logits.count) logits, \(result.gradients.count) gradients")
            }
            gradientSums.withUnsafeMutableBufferPointer { acc in
                result.gradients.withUnsafeBufferPointer { g in
                    for j in 0..<n {
                        let point = first + j
                        let pair = point / steps, node = point % steps
                        let w = Float(weights[node])
                        let dst = pair * size, src = j * size
                        for i in 0..<size { acc[dst + i] += w * g[src + i] }
                        if nodes[node] == 0 { startLogits[pair] = Double(result.logits[j]) }
                        if nodes[node] == 1 { endLogits[pair] = Double(result.logits[j]) }
                    }
                }
            }
            first += n
        }

        // Endpoint logits the rule did not evaluate (Gauss–Legendre never touches 0 or 1).
        try fillMissing(&startLogits, points: starts, model: model, size: size)
        try fillMissing(&endLogits, points: ends, model: model, size: size)
        var cleanLogits: [Double]
        if configuration.smoothing == nil {
            cleanLogits = (0..<count).map { endLogits[$0 * baselineSamples] }
        } else {
            cleanLogits = try model.logits(inputs, batch: count).map(Double.init)
        }

        var results: [Attribution] = []
        let pairsPerSample = noiseSamples * baselineSamples
        for n in 0..<count {
            var map = [Float](repeating: 0, count: size)
            var baselineMean = 0.0, difference = 0.0
            for p in (n * pairsPerSample)..<((n + 1) * pairsPerSample) {
                map.withUnsafeMutableBufferPointer { m in
                    gradientSums.withUnsafeBufferPointer { g in
                        starts[p].withUnsafeBufferPointer { b in
                            ends[p].withUnsafeBufferPointer { x in
                                let scale = 1 / Float(pairsPerSample)
                                for i in 0..<size { m[i] += scale * (x[i] - b[i]) * g[p * size + i] }
                            }
                        }
                    }
                }
                baselineMean += startLogits[p]
                difference += endLogits[p] - startLogits[p]
            }
            baselineMean /= Double(pairsPerSample)
            difference /= Double(pairsPerSample)
            results.append(Attribution(map: map, shape: shape, inputLogit: cleanLogits[n], baselineLogit: baselineMean,
                                       expectedDifference: difference, steps: steps, rule: configuration.rule,
                                       baseline: configuration.baseline, smoothing: configuration.smoothing))
        }
        return results
    }

    private func fillMissing<Model: AttributableModel>(_ logits: inout [Double], points: [[Float]], model: Model, size: Int) throws {
        let missing = logits.indices.filter { logits[$0].isNaN }
        var start = 0
        while start < missing.count {
            let chunk = Array(missing[start..<min(start + configuration.batchSize, missing.count)])
            var batch = [Float]()
            batch.reserveCapacity(chunk.count * size)
            for i in chunk { batch.append(contentsOf: points[i]) }
            let values = try model.logits(batch, batch: chunk.count)
            guard values.count == chunk.count else {
                throw ExplainError.shapeMismatch(name: "model logits", expected: "\(chunk.count)", actual: "\(values.count)")
            }
            for (j, i) in chunk.enumerated() { logits[i] = Double(values[j]) }
            start += chunk.count
        }
    }

    static func noisy(_ x: [Float], options: Smoothing, sample: Int) -> [Float] {
        var rng = SplitMix64(seed: options.seed &+ UInt64(sample) &* 0xD1B5_4A32_D192_ED03)
        let range = (x.max() ?? 0) - (x.min() ?? 0)
        let sigma = options.noiseLevel * range
        return x.map { $0 + sigma * rng.nextGaussian() }
    }
}

/// The integrated-gradients attribution of one input, with its completeness check.
public struct Attribution: Sendable, Equatable {
    /// `[C, H, W]` attribution of each input value.
    public var map: [Float]
    /// Input shape.
    public var shape: InputShape
    /// f(x): the target logit at the (clean) input.
    public var inputLogit: Double
    /// f(b): the target logit at the baseline (mean over baseline draws and noise samples).
    public var baselineLogit: Double
    /// The value the attributions should sum to: the mean of `f(x_s) - f(b_d)` over noise samples and
    /// baseline draws (equal to `inputLogit - baselineLogit` without smoothing).
    public var expectedDifference: Double
    /// Gradient evaluations per path.
    public var steps: Int
    public var rule: QuadratureRule
    public var baseline: Baseline
    /// The SmoothGrad-style averaging the map was made with, if any.
    public var smoothing: IntegratedGradients.Smoothing?

    public init(map: [Float], shape: InputShape, inputLogit: Double, baselineLogit: Double, expectedDifference: Double,
                steps: Int, rule: QuadratureRule, baseline: Baseline, smoothing: IntegratedGradients.Smoothing? = nil) {
        precondition(map.count == shape.count, "attribution map has \(map.count) values, shape needs \(shape.count)")
        self.map = map
        self.shape = shape
        self.inputLogit = inputLogit
        self.baselineLogit = baselineLogit
        self.expectedDifference = expectedDifference
        self.steps = steps
        self.rule = rule
        self.baseline = baseline
        self.smoothing = smoothing
    }

    /// Σ_i IG_i, accumulated in Double.
    public var sum: Double {
        map.withUnsafeBufferPointer { m in var s = 0.0; for v in m { s += Double(v) }; return s }
    }

    /// `sum - expectedDifference`: the completeness delta (0 for the exact integral).
    public var completenessDelta: Double { sum - expectedDifference }

    /// `|sum - (f(x) - f(b))| / |f(x) - f(b)|`; infinite when the difference is 0 and the sum is not.
    public var relativeCompletenessError: Double {
        let d = abs(expectedDifference)
        if d == 0 { return completenessDelta == 0 ? 0 : .infinity }
        return abs(completenessDelta) / d
    }

    /// The map summed over channels: `[C, H, W] -> [H, W]`.
    public var channelSum: [Float] {
        let plane = shape.planeCount
        var out = [Float](repeating: 0, count: plane)
        out.withUnsafeMutableBufferPointer { o in
            map.withUnsafeBufferPointer { m in
                for c in 0..<shape.channels { for i in 0..<plane { o[i] += m[c * plane + i] } }
            }
        }
        return out
    }
}

/// Errors of the Explain module: bad input, with context.
public enum ExplainError: Error, Equatable, CustomStringConvertible {
    case shapeMismatch(name: String, expected: String, actual: String)
    case invalidFile(path: String, reason: String)
    case invalidArgument(name: String, reason: String)

    public var description: String {
        switch self {
        case .shapeMismatch(let name, let expected, let actual): return "\(name): expected \(expected), got \(actual)"
        case .invalidFile(let path, let reason): return "\(path): \(reason)"
        case .invalidArgument(let name, let reason): return "\(name): \(reason)"
        }
    }
}

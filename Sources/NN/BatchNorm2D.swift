import Tensor

/// Batch normalisation over `[N, C, H, W]` (Ioffe and Szegedy 2015), PyTorch semantics.
///
/// ```
/// training:  y = γ (x − μ_B) / √(σ²_B + ε) + β,   running ← (1 − m) running + m · batch (unbiased var)
/// inference: y = x · scale + shift,  scale = γ / √(var + ε),  shift = β − mean · scale
/// ```
/// At inference the map is per-channel affine, so `ConvNormActivation` fuses it into the
/// convolution's output pass together with the activation.
public final class BatchNorm2D: Layer {
    public let channels: Int
    public let momentum: Float, epsilon: Float
    public let weight: Parameter, bias: Parameter
    public let runningMean: Parameter, runningVariance: Parameter
    private var cache = Cache<(input: Tensor, mean: [Float], invStd: [Float], scale: [Float], shift: [Float], training: Bool)>()

    public init(channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        self.channels = channels; self.momentum = momentum; self.epsilon = epsilon
        weight = Parameter(Tensor(repeating: 1, shape: [channels]))
        bias = Parameter(Tensor(zeros: [channels]))
        runningMean = Parameter(Tensor(zeros: [channels]), trainable: false)
        runningVariance = Parameter(Tensor(repeating: 1, shape: [channels]), trainable: false)
    }

    /// Per-channel sums of `x` and `x²` over batch and space.
    static func channelMoments(_ x: Tensor) -> (mean: [Float], variance: [Float]) {
        let n = x.shape[0], c = x.shape[1], plane = x.count / max(1, n * c)
        var mean = [Float](repeating: 0, count: c), variance = mean
        x.withUnsafeBufferPointer { xp in
            mean.withUnsafeMutableBufferPointer { mp in variance.withUnsafeMutableBufferPointer { vp in
                let mb = mp.baseAddress!, vb = vp.baseAddress!
                Parallel.forEach(c, elementsPerItem: n * plane) { ch in
                    var s: Double = 0
                    for i in 0..<n {
                        let p = xp.baseAddress! + (i * c + ch) * plane
                        var acc = SIMD8<Float>(); var j = 0
                        while j + 8 <= plane { acc += UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self); j += 8 }
                        var t = acc.sum(); while j < plane { t += p[j]; j += 1 }
                        s += Double(t)
                    }
                    let m = Float(s / Double(n * plane))
                    var q: Double = 0
                    for i in 0..<n {
                        let p = xp.baseAddress! + (i * c + ch) * plane
                        var acc = SIMD8<Float>(); var j = 0
                        let mv = SIMD8<Float>(repeating: m)
                        while j + 8 <= plane { let d = UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self) - mv; acc += d * d; j += 8 }
                        var t = acc.sum(); while j < plane { let d = p[j] - m; t += d * d; j += 1 }
                        q += Double(t)
                    }
                    mb[ch] = m
                    vb[ch] = Float(q / Double(n * plane))
                }
            }}
        }
        return (mean, variance)
    }

    /// The per-channel affine map of this call, updating running statistics when training.
    /// Caches what `backward` needs.
    public func affine(for input: Tensor, training: Bool) -> (scale: [Float], shift: [Float]) {
        precondition(input.rank >= 2 && input.shape[1] == channels,
                     "BatchNorm2D(\(channels)): expected [N, \(channels), ...], got \(input.shape)")
        let mean: [Float], variance: [Float]
        if training {
            let m = Self.channelMoments(input)
            mean = m.mean; variance = m.variance
            let count = Float(input.count / channels)
            let unbias = count > 1 ? count / (count - 1) : 1
            runningMean.value.withUnsafeMutableBufferPointer { rm in
                runningVariance.value.withUnsafeMutableBufferPointer { rv in
                    for c in 0..<channels {
                        rm[c] = (1 - momentum) * rm[c] + momentum * mean[c]
                        rv[c] = (1 - momentum) * rv[c] + momentum * variance[c] * unbias
                    }
                }
            }
        } else {
            mean = runningMean.value.scalars; variance = runningVariance.value.scalars
        }
        let (invStd, scale, shift) = coefficients(mean: mean, variance: variance)
        cache.set((input, mean, invStd, scale, shift, training))
        return (scale, shift)
    }

    /// `1/σ`, scale and shift of the affine map for these statistics.
    private func coefficients(mean: [Float], variance: [Float]) -> (invStd: [Float], scale: [Float], shift: [Float]) {
        let invStd = variance.map { 1 / ($0 + epsilon).squareRoot() }
        let g = weight.value.scalars, b = bias.value.scalars
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels { scale[c] = g[c] * invStd[c]; shift[c] = b[c] - mean[c] * scale[c] }
        return (invStd, scale, shift)
    }

    /// The inference-mode affine map (running statistics), known before the input is: what
    /// `affine(for:training: false)` returns, without caching anything.
    func inferenceAffine() -> (scale: [Float], shift: [Float]) {
        let c = coefficients(mean: runningMean.value.scalars, variance: runningVariance.value.scalars)
        return (c.scale, c.shift)
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let (scale, shift) = affine(for: input, training: training)
        return Elementwise.channelAffine(input, scale: scale, shift: shift, silu: false)
    }

    /// Training: `dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))`; adds `dγ = Σ dy · x̂`, `dβ = Σ dy`.
    /// Inference: `dx = dy · γ/σ` (and the same parameter gradients with the running statistics).
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let (x, mean, _, scale, _, training) = cache.get("BatchNorm2D")
        precondition(gradOutput.shape == x.shape, "BatchNorm2D.backward: gradient \(gradOutput.shape) vs input \(x.shape)")
        let (sumDy, centered) = Elementwise.centeredChannelSums(input: x, gradOutput: gradOutput, center: mean)
        addParameterGradients(sumDy: sumDy, centeredSum: centered)
        if training {
            var dx = gradOutput
            applyTrainingBackward(&dx, sumDy: sumDy, centeredSum: centered)
            return dx
        }
        return Elementwise.channelAffine(gradOutput, scale: scale, shift: [Float](repeating: 0, count: channels), silu: false)
    }

    /// Backward of this batch norm followed by SiLU (`y = silu(bn(x))`, as `ConvNormActivation` runs it),
    /// from `dL/dy`: the SiLU derivative, the batch-norm sums and (at inference) the batch-norm scale are
    /// one pass over the data, with the pre-activation recomputed from the cached input.
    func backwardThroughSiLU(_ gradOutput: Tensor) -> Tensor {
        let (x, mean, _, scale, shift, training) = cache.get("BatchNorm2D")
        precondition(gradOutput.shape == x.shape, "BatchNorm2D.backward: gradient \(gradOutput.shape) vs input \(x.shape)")
        // In training the scale is applied by the second pass; at inference it is the whole backward.
        let gradScale = training ? [Float](repeating: 1, count: channels) : scale
        var (dx, sumDy, centered) = Elementwise.affineSiLUBackward(input: x, gradOutput: gradOutput, scale: scale, shift: shift,
                                                                   gradScale: gradScale, center: mean)
        addParameterGradients(sumDy: sumDy, centeredSum: centered)
        if training { applyTrainingBackward(&dx, sumDy: sumDy, centeredSum: centered) }
        return dx
    }

    /// Adds `dγ = Σ du · x̂` and `dβ = Σ du` from `Σ du` and `Σ du · (x − mean)`.
    private func addParameterGradients(sumDy: [Float], centeredSum: [Float]) {
        let invStd = cache.get("BatchNorm2D").invStd
        weight.grad.withUnsafeMutableBufferPointer { wg in bias.grad.withUnsafeMutableBufferPointer { bg in
            for ch in 0..<channels { wg[ch] += centeredSum[ch] * invStd[ch]; bg[ch] += sumDy[ch] }
        }}
    }

    /// Training mode: turns `du = dL/dy` into `dL/dx` in place (batch statistics depend on every input).
    private func applyTrainingBackward(_ du: inout Tensor, sumDy: [Float], centeredSum: [Float]) {
        let (x, mean, invStd, scale, _, _) = cache.get("BatchNorm2D")
        let count = Float(x.count / channels)
        Elementwise.batchNormBackward(&du, input: x, k: scale, meanGrad: sumDy.map { $0 / count },
                                      meanGradXhat: (0..<channels).map { centeredSum[$0] * invStd[$0] / count },
                                      mean: mean, invStd: invStd)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        [("weight", weight), ("bias", bias), ("running_mean", runningMean), ("running_var", runningVariance)]
    }
}

/// Convolution, batch normalisation and SiLU as one block (`conv.*`, `bn.*` parameter names).
///
/// The normalisation (batch statistics in training, running statistics at inference) and the SiLU
/// are applied in one fused pass over the convolution output; at inference that is the batch norm
/// folded into the convolution's epilogue.
public final class ConvNormActivation: Layer {
    public let conv: Conv2D
    public let bn: BatchNorm2D
    /// Downsampling after the activation (`blurPool`), which has no parameters.
    let pool: BlurPool2D?

    /// - Parameter blurPool: follow the activation with `BlurPool2D` (halves the size; pass `stride: 1`).
    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int = 3, stride: Int = 1, blurPool: Bool = false,
                seed: UInt64 = 0) {
        conv = Conv2D(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
                      stride: stride, bias: false, seed: seed)
        bn = BatchNorm2D(channels: outputChannels)
        pool = blurPool ? BlurPool2D() : nil
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let y: Tensor
        if !training {
            // Running statistics are known up front: the map runs inside the convolution's work items.
            let (scale, shift) = bn.inferenceAffine()
            let (z, mapped) = conv.forward(input, training: false, epilogue: .init(scale: scale, shift: shift, silu: true))
            _ = bn.affine(for: z, training: false)   // caches z and the same coefficients for backward
            y = mapped
        } else {
            let z = conv.forward(input, training: training)
            let (scale, shift) = bn.affine(for: z, training: training)
            // Out of place: the batch norm keeps `z` for backward, which recomputes the pre-activation from it.
            y = Elementwise.channelAffine(z, scale: scale, shift: shift, silu: true)
        }
        return pool?.forward(y, training: training) ?? y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        conv.backward(bn.backwardThroughSiLU(pool?.backward(gradOutput) ?? gradOutput))
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        prefixed("conv", conv.namedParameters) + prefixed("bn", bn.namedParameters)
    }
}

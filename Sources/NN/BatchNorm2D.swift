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
    private var cache = Cache<(input: Tensor, mean: [Float], invStd: [Float], training: Bool)>()

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
                Parallel.forEach(c) { ch in
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
        let invStd = variance.map { 1 / ($0 + epsilon).squareRoot() }
        let g = weight.value.scalars, b = bias.value.scalars
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels { scale[c] = g[c] * invStd[c]; shift[c] = b[c] - mean[c] * scale[c] }
        cache.set((input, mean, invStd, training))
        return (scale, shift)
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let (scale, shift) = affine(for: input, training: training)
        var y = input
        _ = Elementwise.channelAffine(&y, scale: scale, shift: shift, silu: false, keepPreActivation: false)
        return y
    }

    /// Training: `dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))`; adds `dγ = Σ dy · x̂`, `dβ = Σ dy`.
    /// Inference: `dx = dy · γ/σ` (and the same parameter gradients with the running statistics).
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let (x, mean, invStd, training) = cache.get("BatchNorm2D")
        precondition(gradOutput.shape == x.shape, "BatchNorm2D.backward: gradient \(gradOutput.shape) vs input \(x.shape)")
        let n = x.shape[0], c = channels, plane = x.count / max(1, n * c)
        let count = Float(n * plane)
        var sumDy = [Float](repeating: 0, count: c), sumDyXhat = sumDy
        x.withUnsafeBufferPointer { xp in gradOutput.withUnsafeBufferPointer { gp in
            sumDy.withUnsafeMutableBufferPointer { sp in sumDyXhat.withUnsafeMutableBufferPointer { qp in
                let sb = sp.baseAddress!, qb = qp.baseAddress!
                Parallel.forEach(c) { ch in
                    var s: Double = 0, q: Double = 0
                    let m = SIMD8<Float>(repeating: mean[ch])
                    for i in 0..<n {
                        let xr = xp.baseAddress! + (i * c + ch) * plane, gr = gp.baseAddress! + (i * c + ch) * plane
                        var a = SIMD8<Float>(), b = SIMD8<Float>(); var j = 0
                        while j + 8 <= plane {
                            let dy = UnsafeRawPointer(gr + j).loadUnaligned(as: SIMD8<Float>.self)
                            let xv = UnsafeRawPointer(xr + j).loadUnaligned(as: SIMD8<Float>.self)
                            a += dy; b += dy * (xv - m); j += 8
                        }
                        var ta = a.sum(), tb = b.sum()
                        while j < plane { ta += gr[j]; tb += gr[j] * (xr[j] - mean[ch]); j += 1 }
                        s += Double(ta); q += Double(tb)
                    }
                    sb[ch] = Float(s); qb[ch] = Float(q) * invStd[ch]
                }
            }}
        }}
        let gamma = weight.value.scalars
        weight.grad.withUnsafeMutableBufferPointer { wg in bias.grad.withUnsafeMutableBufferPointer { bg in
            for ch in 0..<c { wg[ch] += sumDyXhat[ch]; bg[ch] += sumDy[ch] }
        }}
        var dx = gradOutput
        dx.withUnsafeMutableBufferPointer { dp in x.withUnsafeBufferPointer { xp in
            let db = dp.baseAddress!, xb = xp.baseAddress!
            Parallel.forEach(n * c) { idx in
                let ch = idx % c
                let k = gamma[ch] * invStd[ch]
                let d = db + idx * plane, xr = xb + idx * plane
                if training {
                    let md = sumDy[ch] / count, mq = sumDyXhat[ch] / count, inv = invStd[ch], mu = mean[ch]
                    for j in 0..<plane { d[j] = k * (d[j] - md - (xr[j] - mu) * inv * mq) }
                } else {
                    for j in 0..<plane { d[j] *= k }
                }
            }
        }}
        return dx
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
    private var preActivation = Cache<Tensor>()

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int = 3, stride: Int = 1, seed: UInt64 = 0) {
        conv = Conv2D(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
                      stride: stride, bias: false, seed: seed)
        bn = BatchNorm2D(channels: outputChannels)
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        var z = conv.forward(input, training: training)
        let (scale, shift) = bn.affine(for: z, training: training)
        let pre = Elementwise.channelAffine(&z, scale: scale, shift: shift, silu: true, keepPreActivation: true)!
        preActivation.set(pre)
        return z
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        let du = Elementwise.siluBackward(input: preActivation.get("ConvNormActivation"), gradOutput: gradOutput)
        return conv.backward(bn.backward(du))
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        prefixed("conv", conv.namedParameters) + prefixed("bn", bn.namedParameters)
    }
}

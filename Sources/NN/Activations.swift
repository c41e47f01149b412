import Foundation
import Tensor

/// `max(0, x)`.
public final class ReLU: Layer {
    private var cachedInput = Cache<Tensor>()
    public init() {}
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        cachedInput.set(input)
        var y = input
        y.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = max(0, p[i]) } }
        return y
    }
    /// `dx = dy · [x > 0]`.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let x = cachedInput.get("ReLU")
        var d = gradOutput
        d.withUnsafeMutableBufferPointer { dp in x.withUnsafeBufferPointer { xp in for i in 0..<dp.count where xp[i] <= 0 { dp[i] = 0 } } }
        return d
    }
    public var namedParameters: [(name: String, parameter: Parameter)] { [] }
}

/// SiLU / swish `x · σ(x)` (Elfwing et al. 2018; Ramachandran et al. 2017).
public final class SiLU: Layer {
    private var cachedInput = Cache<Tensor>()
    public init() {}
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        cachedInput.set(input)
        return Elementwise.silu(input)
    }
    /// `dx = dy · σ(x) (1 + x (1 − σ(x)))`.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        Elementwise.siluBackward(input: cachedInput.get("SiLU"), gradOutput: gradOutput)
    }
    public var namedParameters: [(name: String, parameter: Parameter)] { [] }
}

/// GELU with the exact error function (Hendrycks and Gimpel 2016): `x · Φ(x)`.
public final class GELU: Layer {
    private var cachedInput = Cache<Tensor>()
    public init() {}
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        cachedInput.set(input)
        var y = input
        y.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { let x = p[i]; p[i] = 0.5 * x * (1 + erff(x / Float(2).squareRoot())) } }
        return y
    }
    /// `dx = dy · (Φ(x) + x φ(x))`.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let x = cachedInput.get("GELU")
        var d = gradOutput
        d.withUnsafeMutableBufferPointer { dp in x.withUnsafeBufferPointer { xp in
            for i in 0..<dp.count {
                let v = xp[i]
                let cdf = 0.5 * (1 + erff(v / Float(2).squareRoot()))
                let pdf = expf(-0.5 * v * v) / (2 * Float.pi).squareRoot()
                dp[i] *= cdf + v * pdf
            }
        }}
        return d
    }
    public var namedParameters: [(name: String, parameter: Parameter)] { [] }
}

/// Logistic sigmoid `1 / (1 + e^{−x})`.
public final class Sigmoid: Layer {
    private var cachedOutput = Cache<Tensor>()
    public init() {}
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let y = Elementwise.sigmoid(input)
        cachedOutput.set(y)
        return y
    }
    /// `dx = dy · y (1 − y)`.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let y = cachedOutput.get("Sigmoid")
        var d = gradOutput
        d.withUnsafeMutableBufferPointer { dp in y.withUnsafeBufferPointer { yp in for i in 0..<dp.count { dp[i] *= yp[i] * (1 - yp[i]) } } }
        return d
    }
    public var namedParameters: [(name: String, parameter: Parameter)] { [] }
}

/// Softmax over the last dimension.
public final class Softmax: Layer {
    private var cachedOutput = Cache<Tensor>()
    public init() {}
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let y = Softmax.apply(input)
        cachedOutput.set(y)
        return y
    }
    /// Row-wise softmax, numerically stabilised by subtracting the row maximum.
    public static func apply(_ input: Tensor) -> Tensor {
        precondition(input.rank >= 1, "Softmax: needs rank >= 1")
        let d = input.shape.last!, rows = input.count / max(1, d)
        var y = input
        y.withUnsafeMutableBufferPointer { p in
            for r in 0..<rows {
                let row = p.baseAddress! + r * d
                var m = -Float.infinity
                for j in 0..<d { m = max(m, row[j]) }
                var s: Float = 0
                for j in 0..<d { row[j] = expf(row[j] - m); s += row[j] }
                for j in 0..<d { row[j] /= s }
            }
        }
        return y
    }
    /// `dx = y ⊙ (dy − ⟨dy, y⟩)` per row.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let y = cachedOutput.get("Softmax")
        let d = y.shape.last!, rows = y.count / max(1, d)
        var g = gradOutput
        g.withUnsafeMutableBufferPointer { gp in y.withUnsafeBufferPointer { yp in
            for r in 0..<rows {
                var dot: Float = 0
                for j in 0..<d { dot += gp[r * d + j] * yp[r * d + j] }
                for j in 0..<d { gp[r * d + j] = yp[r * d + j] * (gp[r * d + j] - dot) }
            }
        }}
        return g
    }
    public var namedParameters: [(name: String, parameter: Parameter)] { [] }
}

/// Inverted dropout (Srivastava et al. 2014): in training, zero each element with probability `p`
/// and scale the rest by `1/(1−p)`; identity at inference. Masks come from a seeded stream.
public final class Dropout: Layer {
    public let probability: Float
    private var generator: SeededGenerator
    private var mask = Cache<Tensor?>()

    public init(probability: Float, seed: UInt64 = 0) {
        precondition(probability >= 0 && probability < 1, "Dropout: probability must be in [0, 1)")
        self.probability = probability
        generator = SeededGenerator(seed: seed)
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        guard training && probability > 0 else { mask.set(nil); return input }
        let keep = 1 / (1 - probability)
        var m = Tensor(zeros: input.shape)
        m.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = generator.nextUniform() >= probability ? keep : 0 } }
        mask.set(m)
        return input * m
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let m = mask.get("Dropout") else { return gradOutput }
        return gradOutput * m
    }
    public var namedParameters: [(name: String, parameter: Parameter)] { [] }
}

/// Fixed per-channel input normalisation `(x − mean[c]) / std[c]` over `[N, C, H, W]`.
public final class Normalize: Layer {
    public let mean: [Float], standardDeviation: [Float]
    public init(mean: [Float], standardDeviation: [Float]) {
        precondition(mean.count == standardDeviation.count, "Normalize: mean and std lengths differ")
        self.mean = mean; self.standardDeviation = standardDeviation
    }
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.rank == 4 && input.shape[1] == mean.count, "Normalize: expected [N, \(mean.count), H, W], got \(input.shape)")
        return Elementwise.channelAffine(input, scale: standardDeviation.map { 1 / $0 },
                                         shift: zip(mean, standardDeviation).map { -$0 / $1 }, silu: false)
    }
    /// `dx = dy / std[c]`.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        Elementwise.channelAffine(gradOutput, scale: standardDeviation.map { 1 / $0 }, shift: mean.map { _ in 0 }, silu: false)
    }
    public var namedParameters: [(name: String, parameter: Parameter)] { [] }
}

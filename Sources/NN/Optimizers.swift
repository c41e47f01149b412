import Foundation
import Tensor

/// Updates parameters from their gradients.
public protocol Optimizer: AnyObject {
    /// Learning rate of the next `step()` (schedules set it every step).
    var learningRate: Float { get set }
    /// Applies one update using each parameter's current `grad`.
    func step()
}

/// Stochastic gradient descent with momentum (PyTorch semantics: `v ← μ v + g + λ θ`, `θ ← θ − η v`).
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float, weightDecay: Float
    public let parameters: [Parameter]
    private var velocity: [Tensor]

    public init(parameters: [Parameter], learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 0) {
        self.parameters = parameters; self.learningRate = learningRate; self.momentum = momentum; self.weightDecay = weightDecay
        velocity = parameters.map { Tensor(zeros: $0.value.shape) }
    }

    public func step() {
        for (i, p) in parameters.enumerated() {
            velocity[i].withUnsafeMutableBufferPointer { v in p.grad.withUnsafeBufferPointer { g in
                p.value.withUnsafeMutableBufferPointer { w in
                    for j in 0..<w.count {
                        v[j] = momentum * v[j] + g[j] + weightDecay * w[j]
                        w[j] -= learningRate * v[j]
                    }
                }
            }}
        }
    }
}

/// Adam with decoupled weight decay (Loshchilov and Hutter 2019, "Decoupled weight decay regularization";
/// Kingma and Ba 2015), matching `torch.optim.AdamW`.
///
/// ```
/// θ ← θ − η λ θ;  m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²
/// θ ← θ − η · (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε)
/// ```
public final class AdamW: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let parameters: [Parameter]
    public private(set) var stepCount = 0
    private var m: [Tensor], v: [Tensor]

    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.parameters = parameters; self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.weightDecay = weightDecay
        m = parameters.map { Tensor(zeros: $0.value.shape) }
        v = m
    }

    public func step() {
        stepCount += 1
        let c1 = 1 - powf(beta1, Float(stepCount)), c2 = 1 - powf(beta2, Float(stepCount))
        let lr = learningRate, wd = weightDecay, b1 = beta1, b2 = beta2, eps = epsilon
        for (i, p) in parameters.enumerated() {
            m[i].withUnsafeMutableBufferPointer { mp in v[i].withUnsafeMutableBufferPointer { vp in
                p.grad.withUnsafeBufferPointer { gp in p.value.withUnsafeMutableBufferPointer { wp in
                    let w = wp.baseAddress!, g = gp.baseAddress!, mb = mp.baseAddress!, vb = vp.baseAddress!
                    // Elementwise, so splitting across workers does not change any result.
                    Parallel.chunks(wp.count, minimumPerWorker: 1 << 14) { _, r in
                        let j = r.lowerBound
                        Elementwise.adamWUpdate(w + j, gradient: g + j, firstMoment: mb + j, secondMoment: vb + j, count: r.count,
                                                learningRate: lr, weightDecay: wd, beta1: b1, beta2: b2,
                                                correction1: c1, correction2: c2, epsilon: eps)
                    }
                }}
            }}
        }
    }
}

/// Linear warm-up then cosine decay (Loshchilov and Hutter 2017, "SGDR"; Goyal et al. 2017 for warm-up).
///
/// ```
/// lr(t) = base · (t + 1) / warmup                                  for t < warmup
/// lr(t) = min + (base − min) · ½ (1 + cos(π (t − warmup) / (total − warmup)))   afterwards
/// ```
public struct WarmupCosineSchedule: Sendable {
    public let baseLearningRate: Float, minimumLearningRate: Float
    public let warmupSteps: Int, totalSteps: Int

    public init(baseLearningRate: Float, warmupSteps: Int, totalSteps: Int, minimumLearningRate: Float = 0) {
        precondition(totalSteps > 0 && warmupSteps >= 0, "WarmupCosineSchedule: needs totalSteps > 0 and warmupSteps >= 0")
        self.baseLearningRate = baseLearningRate; self.minimumLearningRate = minimumLearningRate
        self.warmupSteps = warmupSteps; self.totalSteps = totalSteps
    }

    /// Learning rate at step `t` (0-based).
    public func learningRate(at t: Int) -> Float {
        if t < warmupSteps { return baseLearningRate * Float(t + 1) / Float(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Float(t - warmupSteps) / Float(span))
        return minimumLearningRate + (baseLearningRate - minimumLearningRate) * 0.5 * (1 + cosf(Float.pi * progress))
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm` (Pascanu et al. 2013).
///
/// - Returns: the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
    // Sums of squares over fixed blocks (the same for any thread count), added in order.
    let block = 1 << 15
    var total: Double = 0
    for p in parameters {
        p.grad.withUnsafeBufferPointer { gp in
            let g = gp.baseAddress!, n = gp.count, blocks = (n + block - 1) / block
            var partial = [Double](repeating: 0, count: blocks)
            partial.withUnsafeMutableBufferPointer { pp in
                let pb = pp.baseAddress!
                Parallel.forEach(blocks) { b in
                    var s: Double = 0
                    for j in (b * block)..<min(n, (b + 1) * block) { s += Double(g[j]) * Double(g[j]) }
                    pb[b] = s
                }
            }
            for s in partial { total += s }
        }
    }
    let norm = Float(total.squareRoot())
    if norm > maxNorm && norm > 0 {
        let s = maxNorm / (norm + 1e-6)
        for p in parameters {
            p.grad.withUnsafeMutableBufferPointer { gp in
                let g = gp.baseAddress!
                Parallel.chunks(gp.count, minimumPerWorker: 1 << 14) { _, r in for j in r { g[j] *= s } }
            }
        }
    }
    return norm
}

import Foundation
import Tensor

/// Losses returning the mean loss and its gradient with respect to the logits.
public enum Loss {
    /// Binary cross-entropy on logits, averaged over elements, in the stable form
    /// `max(x, 0) − x·y + log(1 + e^{−|x|})`; gradient `(σ(x) − y) / count`.
    ///
    /// - Parameters:
    ///   - logits: any shape.
    ///   - targets: same shape, values in [0, 1].
    ///   - positiveWeight: weight of the positive term (as `pos_weight` in PyTorch).
    /// - Returns: mean loss and `dLoss/dLogits`.
    public static func binaryCrossEntropyWithLogits(_ logits: Tensor, targets: Tensor, positiveWeight: Float = 1) -> (loss: Float, gradient: Tensor) {
        precondition(logits.shape == targets.shape, "BCEWithLogits: logits \(logits.shape) vs targets \(targets.shape)")
        let n = Float(max(1, logits.count))
        var loss: Double = 0
        var grad = Tensor(zeros: logits.shape)
        grad.withUnsafeMutableBufferPointer { g in logits.withUnsafeBufferPointer { x in targets.withUnsafeBufferPointer { y in
            for i in 0..<x.count {
                let v = x[i], t = y[i]
                let softplusNeg = log1pf(expf(-abs(v))) + max(-v, 0)   // log(1 + e^{−x})
                let l = (1 - t) * v + (1 + (positiveWeight - 1) * t) * softplusNeg
                loss += Double(l)
                let s = 1 / (1 + expf(-v))
                g[i] = ((1 + (positiveWeight - 1) * t) * (s - 1) + (1 - t)) / n
            }
        }}}
        return (Float(loss / Double(n)), grad)
    }

    /// Softmax cross-entropy over the last dimension with integer class targets.
    public static func softmaxCrossEntropy(_ logits: Tensor, classes: [Int]) -> (loss: Float, gradient: Tensor) {
        precondition(logits.rank == 2 && logits.shape[0] == classes.count, "softmaxCrossEntropy: logits \(logits.shape), \(classes.count) targets")
        let p = Softmax.apply(logits)
        let n = logits.shape[0], k = logits.shape[1]
        var loss: Double = 0
        var g = p
        g.withUnsafeMutableBufferPointer { gp in
            for i in 0..<n {
                loss -= Double(logf(max(gp[i * k + classes[i]], 1e-30)))
                gp[i * k + classes[i]] -= 1
                for j in 0..<k { gp[i * k + j] /= Float(n) }
            }
        }
        return (Float(loss / Double(n)), g)
    }
}

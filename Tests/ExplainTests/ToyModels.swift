import Foundation
@testable import Explain
import Randomness

/// f(x) = w · x + c. IG from baseline b is exactly (x - b) ⊙ w for any quadrature rule.
struct LinearToyModel: AttributableModel {
    let inputShape: InputShape
    let weights: [Float]
    let bias: Float

    func logitsAndInputGradients(_ inputs: [Float], batch: Int) throws -> (logits: [Float], gradients: [Float]) {
        let size = inputShape.count
        var logits = [Float](repeating: bias, count: batch)
        var gradients = [Float](repeating: 0, count: batch * size)
        for n in 0..<batch {
            for i in 0..<size {
                logits[n] += weights[i] * inputs[n * size + i]
                gradients[n * size + i] = weights[i]
            }
        }
        return (logits, gradients)
    }
}

/// f(x) = v · tanh(W x + c), hidden units `H`: smooth, so Gauss–Legendre converges fast.
struct TanhMLPToyModel: AttributableModel {
    let inputShape: InputShape
    let hidden: Int
    let w: [Float]   // [hidden, size]
    let c: [Float]   // [hidden]
    let v: [Float]   // [hidden]

    init(inputShape: InputShape, hidden: Int, seed: UInt64, scale: Float = 1) {
        self.inputShape = inputShape
        self.hidden = hidden
        var rng = SplitMix64(seed: seed)
        let size = inputShape.count
        let s = scale / Float(size).squareRoot()
        w = (0..<(hidden * size)).map { _ in rng.nextGaussian() * s }
        c = (0..<hidden).map { _ in rng.nextGaussian() * 0.3 }
        v = (0..<hidden).map { _ in rng.nextGaussian() }
    }

    func logitsAndInputGradients(_ inputs: [Float], batch: Int) throws -> (logits: [Float], gradients: [Float]) {
        let size = inputShape.count
        var logits = [Float](repeating: 0, count: batch)
        var gradients = [Float](repeating: 0, count: batch * size)
        for n in 0..<batch {
            var out: Double = 0
            for h in 0..<hidden {
                var pre = Double(c[h])
                for i in 0..<size { pre += Double(w[h * size + i]) * Double(inputs[n * size + i]) }
                let t = tanh(pre)
                out += Double(v[h]) * t
                let g = Float(Double(v[h]) * (1 - t * t))
                for i in 0..<size { gradients[n * size + i] += g * w[h * size + i] }
            }
            logits[n] = Float(out)
        }
        return (logits, gradients)
    }
}

/// A pseudo-random normalised input `[count, C, H, W]`, smooth-ish (sum of a gradient and noise).
func toyInputs(shape: InputShape, count: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    var out = [Float](repeating: 0, count: count * shape.count)
    for n in 0..<count {
        for c in 0..<shape.channels {
            for y in 0..<shape.height {
                for x in 0..<shape.width {
                    let i = n * shape.count + (c * shape.height + y) * shape.width + x
                    out[i] = Float(x + y) / Float(shape.width + shape.height) + 0.5 * rng.nextGaussian()
                }
            }
        }
    }
    return out
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("explain-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

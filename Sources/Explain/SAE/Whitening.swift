import Foundation
import Tensor

/// A fixed affine map applied to embeddings before the SAE sees them: `x_w = W (x - μ)`, undone by
/// `x = W⁻¹ x_w + μ`.
///
/// ``zca(_:count:d:shrinkage:)`` makes ZCA whitening with shrinkage (Bell and Sejnowski 1997;
/// Kessy, Lewin and Strimmer 2018, "Optimal whitening and decorrelation"):
/// `W = U diag(1 / √(λ + ε)) Uᵀ` with the covariance `C = U Λ Uᵀ`. Without it an SAE on a near-low-rank
/// embedding spends its loss on the two or three directions that carry most of the variance, and the
/// latents pointing anywhere else never win the TopK competition (they die). Whitening before
/// dictionary learning is the standard remedy (Coates, Lee and Ng 2011, "An analysis of single-layer
/// networks in unsupervised feature learning": k-means and sparse coding features collapse without
/// it). `ε` keeps directions with almost no variance (noise) from being blown up: they stay small.
/// As `ε` grows, `W` tends to a multiple of the identity, i.e. the plain recipe.
public struct Whitening: Sendable, Equatable {
    /// Embedding size `d`.
    public let size: Int
    /// `μ [d]`, subtracted first.
    public var mean: [Float]
    /// `W [d, d]`, row-major: `x_w[i] = Σ_p W[i, p] (x - μ)[p]`.
    public var forward: [Float]
    /// `W⁻¹ [d, d]`, row-major.
    public var inverse: [Float]

    public init(mean: [Float], forward: [Float], inverse: [Float]) {
        let d = mean.count
        precondition(d > 0 && forward.count == d * d && inverse.count == d * d, "whitening needs [d], [d, d], [d, d]")
        size = d
        self.mean = mean
        self.forward = forward
        self.inverse = inverse
    }

    /// ZCA whitening of `[count, d]` rows with shrinkage `ε = shrinkage x mean eigenvalue`.
    ///
    /// `ε` is relative to the mean eigenvalue (trace / d) so that one setting means the same on any
    /// detector's embedding, whatever its scale: directions with much less variance than average are
    /// damped, those with more are equalised.
    public static func zca(_ x: [Float], count: Int, d: Int, shrinkage: Double) -> Whitening {
        precondition(shrinkage > 0, "shrinkage must be positive (0 would blow up null directions)")
        var (mean, covariance) = EmbeddingSpectrum.covariance(x, count: count, d: d)
        let (values, vectorsOrNil) = EmbeddingSpectrum.symmetricEigen(&covariance, n: d, vectors: true)
        let u = vectorsOrNil!
        let clipped = values.map { max($0, 0) }
        let epsilon = max(shrinkage * clipped.reduce(0, +) / Double(d), 1e-30)
        var forward = [Float](repeating: 0, count: d * d), inverse = forward
        for i in 0..<d {
            for p in 0..<d {
                var f = 0.0, b = 0.0
                for c in 0..<d {
                    let uu = u[i * d + c] * u[p * d + c]
                    f += uu / (clipped[c] + epsilon).squareRoot()
                    b += uu * (clipped[c] + epsilon).squareRoot()
                }
                forward[i * d + p] = Float(f)
                inverse[i * d + p] = Float(b)
            }
        }
        return Whitening(mean: mean.map { Float($0) }, forward: forward, inverse: inverse)
    }

    /// `W (x - μ)` of `[count, d]` rows.
    func apply(_ x: UnsafeBufferPointer<Float>, count: Int) -> [Float] {
        let d = size
        var centred = [Float](repeating: 0, count: count * d)
        for n in 0..<count { for i in 0..<d { centred[n * d + i] = x[n * d + i] - mean[i] } }
        return Self.multiply(centred, count: count, by: forward, d: d)
    }

    /// `W⁻¹ y + μ` of `[count, d]` rows.
    func invert(_ y: [Float], count: Int) -> [Float] {
        let d = size
        var out = Self.multiply(y, count: count, by: inverse, d: d)
        for n in 0..<count { for i in 0..<d { out[n * d + i] += mean[i] } }
        return out
    }

    /// `W⁻¹ v` for one direction `v [d]` (no mean: a change of the whitened input, not a point).
    func invertDirection(_ v: [Float]) -> [Float] {
        let d = size
        var out = [Float](repeating: 0, count: d)
        for i in 0..<d {
            var s: Float = 0
            for p in 0..<d { s += inverse[i * d + p] * v[p] }
            out[i] = s
        }
        return out
    }

    /// Rows times a row-major matrix transposed: `out[n, i] = Σ_p rows[n, p] M[i, p]`.
    private static func multiply(_ rows: [Float], count: Int, by matrix: [Float], d: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count * d)
        guard count > 0 else { return out }
        rows.withUnsafeBufferPointer { a in
            matrix.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { c in
                    GEMM.multiply(m: count, n: d, k: d, a: a.baseAddress!, aRowStride: d, aColStride: 1,
                                  b: w.baseAddress!, bRowStride: 1, bColStride: d, c: c.baseAddress!, ldc: d, accumulate: false)
                }
            }
        }
        return out
    }
}

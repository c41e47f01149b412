import Foundation

/// How many principal directions an embedding really uses: the eigenvalues of its covariance.
///
/// An SAE with `m` latents over a `d`-number embedding can only keep most latents alive when the
/// embedding spreads its variance over many directions; this figure says whether it does.
public struct EmbeddingSpectrum: Sendable, Equatable, Codable {
    /// Covariance eigenvalues, descending.
    public var eigenvalues: [Double]

    /// - Parameters:
    ///   - x: `[count, d]` rows.
    ///   - count: number of rows (at least 2).
    ///   - d: row length.
    public init(_ x: [Float], count: Int, d: Int) {
        var covariance = Self.covariance(x, count: count, d: d).covariance
        eigenvalues = Self.symmetricEigenvalues(&covariance, n: d).sorted(by: >)
    }

    /// Mean `[d]` and unbiased covariance `[d, d]` of `[count, d]` rows (at least two).
    static func covariance(_ x: [Float], count: Int, d: Int) -> (mean: [Double], covariance: [Double]) {
        precondition(count >= 2 && x.count == count * d, "the spectrum needs at least two [\(d)] rows")
        var mean = [Double](repeating: 0, count: d)
        for n in 0..<count { for i in 0..<d { mean[i] += Double(x[n * d + i]) } }
        for i in 0..<d { mean[i] /= Double(count) }
        var covariance = [Double](repeating: 0, count: d * d)
        var centred = [Double](repeating: 0, count: d)
        for n in 0..<count {
            for i in 0..<d { centred[i] = Double(x[n * d + i]) - mean[i] }
            for i in 0..<d where centred[i] != 0 {
                let ci = centred[i]
                for j in i..<d { covariance[i * d + j] += ci * centred[j] }
            }
        }
        for i in 0..<d { for j in i..<d {
            covariance[i * d + j] /= Double(count - 1)
            covariance[j * d + i] = covariance[i * d + j]
        } }
        return (mean, covariance)
    }

    /// The smallest number of leading directions that carry `fraction` of the variance.
    public func components(for fraction: Double) -> Int {
        let total = eigenvalues.reduce(0) { $0 + max($1, 0) }
        guard total > 0 else { return 0 }
        var sum = 0.0
        for (i, value) in eigenvalues.enumerated() {
            sum += max(value, 0)
            if sum >= fraction * total { return i + 1 }
        }
        return eigenvalues.count
    }

    /// Eigenvalues of a symmetric `n x n` matrix by cyclic Jacobi rotations (Golub and Van Loan,
    /// "Matrix Computations", 8.5); `a` is destroyed. Exact enough for a 256 x 256 covariance in
    /// well under a second, with no dependency.
    static func symmetricEigenvalues(_ a: inout [Double], n: Int) -> [Double] {
        symmetricEigen(&a, n: n, vectors: false).values
    }

    /// Eigenvalues and, when `vectors`, eigenvectors (`[n, n]`, column `c` belongs to value `c`) of a
    /// symmetric matrix, by the same Jacobi sweeps; the rotations are accumulated in `V` (`A = V Λ Vᵀ`).
    static func symmetricEigen(_ a: inout [Double], n: Int, vectors: Bool) -> (values: [Double], vectors: [Double]?) {
        var v: [Double]? = nil
        if vectors {
            v = [Double](repeating: 0, count: n * n)
            for i in 0..<n { v![i * n + i] = 1 }
        }
        for _ in 0..<60 {
            var offDiagonal = 0.0, diagonal = 0.0
            for p in 0..<n {
                diagonal += a[p * n + p] * a[p * n + p]
                for q in (p + 1)..<max(p + 1, n) { offDiagonal += a[p * n + q] * a[p * n + q] }
            }
            if offDiagonal <= 1e-24 * max(diagonal, 1e-300) { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) where a[p * n + q] != 0 {
                    let apq = a[p * n + q]
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    // Rotate rows and columns p and q.
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    if vectors {
                        for k in 0..<n {
                            let vkp = v![k * n + p], vkq = v![k * n + q]
                            v![k * n + p] = c * vkp - s * vkq
                            v![k * n + q] = s * vkp + c * vkq
                        }
                    }
                }
            }
        }
        return ((0..<n).map { a[$0 * n + $0] }, v)
    }
}

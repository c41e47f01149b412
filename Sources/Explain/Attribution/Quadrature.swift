/// A quadrature rule on `[0, 1]` for the path integral of integrated gradients.
///
/// Integrated gradients (Sundararajan, Taly and Yan, ICML 2017) approximates
/// ```
/// IG_i(x) = (x_i - b_i) * ∫_0^1 ∂f(b + α (x - b)) / ∂x_i dα  ≈  (x_i - b_i) * Σ_s w_s ∂f(b + α_s (x - b)) / ∂x_i
/// ```
/// with nodes `α_s` and weights `w_s` from one of these rules; `steps` is the number of gradient
/// evaluations in both.
public enum QuadratureRule: String, Sendable, Codable, CaseIterable {
    /// Composite trapezoid on `steps` equally spaced nodes including both ends: error `O(1/steps²)`.
    case trapezoid
    /// Gauss–Legendre on `steps` nodes: exact for polynomials of degree `2 steps - 1`, converges
    /// exponentially for analytic integrands (tanh, GELU networks).
    case gaussLegendre

    /// Nodes and weights on `[0, 1]`; the weights sum to 1.
    /// - Parameter steps: number of nodes, at least 2 for the trapezoid and 1 for Gauss–Legendre.
    /// - Returns: `(nodes, weights)`, nodes ascending.
    public func nodesAndWeights(steps: Int) -> (nodes: [Double], weights: [Double]) {
        switch self {
        case .trapezoid: return Quadrature.trapezoid(steps: steps)
        case .gaussLegendre: return Quadrature.gaussLegendre(steps: steps)
        }
    }
}

/// Nodes and weights of the quadrature rules, computed in Double.
public enum Quadrature {
    /// Composite trapezoid on `[0, 1]` with `steps` nodes `s / (steps - 1)`.
    /// - Parameter steps: number of nodes, at least 2.
    /// - Returns: nodes and weights (`1/(steps-1)`, halved at both ends).
    public static func trapezoid(steps: Int) -> (nodes: [Double], weights: [Double]) {
        precondition(steps >= 2, "the trapezoid rule needs at least 2 nodes, got \(steps)")
        let h = 1.0 / Double(steps - 1)
        let nodes = (0..<steps).map { $0 == steps - 1 ? 1.0 : Double($0) * h }
        var weights = [Double](repeating: h, count: steps)
        weights[0] = h / 2
        weights[steps - 1] = h / 2
        return (nodes, weights)
    }

    /// Gauss–Legendre nodes and weights mapped from `[-1, 1]` to `[0, 1]`.
    ///
    /// Roots of the Legendre polynomial `P_n` by Newton's method from the Chebyshev-like start
    /// `cos(π (i - 1/4) / (n + 1/2))`, with `P_n` and `P_n'` from the three-term recurrence
    /// `(j+1) P_{j+1} = (2j+1) t P_j - j P_{j-1}`; weights `2 / ((1 - t²) P_n'(t)²)`
    /// (Golub–Welsch gives the same numbers; Numerical Recipes `gauleg`).
    /// - Parameter steps: number of nodes `n`, at least 1.
    /// - Returns: nodes ascending in `(0, 1)` and weights summing to 1.
    public static func gaussLegendre(steps n: Int) -> (nodes: [Double], weights: [Double]) {
        precondition(n >= 1, "Gauss–Legendre needs at least 1 node, got \(n)")
        var nodes = [Double](repeating: 0, count: n)
        var weights = [Double](repeating: 0, count: n)
        let half = (n + 1) / 2
        for i in 0..<half {
            var t = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            var derivative = 0.0
            for _ in 0..<100 {
                var p0 = 1.0, p1 = t
                if n == 1 { p1 = t; p0 = 1 } else {
                    for j in 1..<n {
                        let p2 = (Double(2 * j + 1) * t * p1 - Double(j) * p0) / Double(j + 1)
                        p0 = p1
                        p1 = p2
                    }
                }
                // p1 = P_n(t), p0 = P_{n-1}(t)
                derivative = Double(n) * (t * p1 - p0) / (t * t - 1)
                let step = p1 / derivative
                t -= step
                if abs(step) < 1e-15 { break }
            }
            let w = 2 / ((1 - t * t) * derivative * derivative)
            // t descending from near +1; map to [0, 1] symmetric pairs.
            nodes[n - 1 - i] = (1 + t) / 2
            nodes[i] = (1 - t) / 2
            weights[n - 1 - i] = w / 2
            weights[i] = w / 2
        }
        return (nodes, weights)
    }
}

import Foundation

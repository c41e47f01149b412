import Foundation
import Testing
@testable import Explain
import Randomness

@Suite struct QuadratureTests {
    @Test func gaussLegendreIntegratesPolynomialsExactly() {
        for n in [1, 2, 5, 16, 32] {
            let (nodes, weights) = Quadrature.gaussLegendre(steps: n)
            #expect(nodes.count == n)
            #expect(abs(weights.reduce(0, +) - 1) < 1e-12)
            #expect(zip(nodes, nodes.dropFirst()).allSatisfy { $0 < $1 })
            // ∫_0^1 t^p dt = 1/(p+1) exactly for p <= 2n - 1.
            for p in 0...(2 * n - 1) {
                let q = zip(nodes, weights).reduce(0.0) { $0 + $1.1 * pow($1.0, Double(p)) }
                #expect(abs(q - 1 / Double(p + 1)) < 1e-12, "n=\(n) p=\(p)")
            }
        }
        // Known 2-point rule on [-1, 1]: ±1/√3.
        let (nodes, _) = Quadrature.gaussLegendre(steps: 2)
        #expect(abs(nodes[0] - (1 - 1 / 3.0.squareRoot()) / 2) < 1e-14)
    }

    @Test func trapezoidHasEndpointsAndUnitWeight() {
        let (nodes, weights) = Quadrature.trapezoid(steps: 32)
        #expect(nodes.first == 0 && nodes.last == 1)
        #expect(abs(weights.reduce(0, +) - 1) < 1e-12)
    }
}

@Suite struct IntegratedGradientsTests {
    let shape = InputShape(channels: 3, height: 6, width: 5)

    @Test(arguments: QuadratureRule.allCases)
    func linearModelIsExactForAnyRuleAndBaseline(rule: QuadratureRule) throws {
        var rng = SplitMix64(seed: 7)
        let weights = (0..<shape.count).map { _ in rng.nextGaussian() }
        let model = LinearToyModel(inputShape: shape, weights: weights, bias: 0.3)
        let inputs = toyInputs(shape: shape, count: 2, seed: 1)
        let normalization = Normalization.imageNet
        for baseline in [Baseline.black, .blurred(sigma: 1.5), .uniformNoise(samples: 3, seed: 9)] {
            let ig = IntegratedGradients(.init(steps: 4, rule: rule, baseline: baseline, normalization: normalization, batchSize: 3))
            let results = try ig.attribute(model, inputs: inputs, count: 2)
            #expect(results.count == 2)
            for (n, result) in results.enumerated() {
                let x = Array(inputs[(n * shape.count)..<((n + 1) * shape.count)])
                // Expected: (x - mean_d b_d) ⊙ w.
                var meanBaseline = [Float](repeating: 0, count: shape.count)
                for d in 0..<baseline.sampleCount {
                    let b = baseline.make(for: x, shape: shape, normalization: normalization, sample: d)
                    for i in 0..<shape.count { meanBaseline[i] += b[i] / Float(baseline.sampleCount) }
                }
                for i in 0..<shape.count {
                    #expect(abs(result.map[i] - (x[i] - meanBaseline[i]) * weights[i]) < 1e-4)
                }
                #expect(result.relativeCompletenessError < 1e-4)
            }
        }
    }

    @Test func blackBaselineIsPixelZeroThroughNormalisation() {
        let b = Baseline.black.make(for: [Float](repeating: 0, count: shape.count), shape: shape, normalization: .imageNet)
        #expect(abs(b[0] - (-0.485 / 0.229)) < 1e-6)
        #expect(abs(b[shape.count - 1] - (-0.406 / 0.225)) < 1e-6)
    }

    @Test func blurOfConstantIsConstantAndBlurSmooths() {
        let constant = [Float](repeating: 2.5, count: shape.count)
        let blurred = GaussianBlur.planes(constant, planes: 3, height: 6, width: 5, sigma: 2)
        #expect(blurred.allSatisfy { abs($0 - 2.5) < 1e-5 })
        let noisy = toyInputs(shape: shape, count: 1, seed: 3)
        let smooth = GaussianBlur.planes(noisy, planes: 3, height: 6, width: 5, sigma: 2)
        func variance(_ a: [Float]) -> Float { let m = a.reduce(0, +) / Float(a.count); return a.reduce(0) { $0 + ($1 - m) * ($1 - m) } }
        #expect(variance(smooth) < variance(noisy))
    }

    /// On a smooth tanh network the exact integral is known to high accuracy (Gauss–Legendre, 64
    /// nodes); the trapezoid error shrinks as steps grow, and Gauss–Legendre at few steps beats
    /// the trapezoid at many.
    @Test func tanhNetworkConvergence() throws {
        let model = TanhMLPToyModel(inputShape: shape, hidden: 8, seed: 11, scale: 3)
        let inputs = toyInputs(shape: shape, count: 1, seed: 5)
        func run(_ rule: QuadratureRule, _ steps: Int) throws -> Attribution {
            try IntegratedGradients(.init(steps: steps, rule: rule, baseline: .black, normalization: .identity(), batchSize: 8))
                .attribute(model, inputs: inputs, count: 1)[0]
        }
        let reference = try run(.gaussLegendre, 64)
        #expect(reference.relativeCompletenessError < 1e-4)
        func mapError(_ a: Attribution) -> Float {
            zip(a.map, reference.map).reduce(0) { max($0, abs($1.0 - $1.1)) }
        }
        let trapezoid = try [4, 16, 64].map { try run(.trapezoid, $0) }
        let trapErrors = trapezoid.map(mapError)
        #expect(trapErrors[0] > trapErrors[1] && trapErrors[1] > trapErrors[2])
        #expect(trapezoid[0].relativeCompletenessError > trapezoid[2].relativeCompletenessError)
        let gauss8 = try run(.gaussLegendre, 8)
        #expect(mapError(gauss8) < trapErrors[2])
        #expect(gauss8.relativeCompletenessError < trapezoid[2].relativeCompletenessError)
    }

    @Test func defaultsMeetOnePercentCompletenessOnSmoothNetwork() throws {
        let model = TanhMLPToyModel(inputShape: InputShape(channels: 3, height: 12, width: 12), hidden: 16, seed: 3, scale: 2)
        let inputs = toyInputs(shape: model.inputShape, count: 3, seed: 8)
        for rule in QuadratureRule.allCases {
            let results = try IntegratedGradients(.init(rule: rule, normalization: .imageNet)).attribute(model, inputs: inputs, count: 3)
            for r in results {
                #expect(r.steps == 32)
                #expect(r.relativeCompletenessError < 0.01, "\(rule): \(r.relativeCompletenessError)")
                #expect(abs(r.expectedDifference - (r.inputLogit - r.baselineLogit)) < 1e-9)
                #expect(r.channelSum.count == 144)
            }
        }
    }

    @Test func smoothingAveragesAndKeepsCompletenessAgainstNoisyEndpoints() throws {
        var rng = SplitMix64(seed: 2)
        let weights = (0..<shape.count).map { _ in rng.nextGaussian() }
        let model = LinearToyModel(inputShape: shape, weights: weights, bias: 0)
        let inputs = toyInputs(shape: shape, count: 1, seed: 4)
        let ig = IntegratedGradients(.init(steps: 8, baseline: .black, normalization: .identity(),
                                           smoothing: .init(samples: 4, noiseLevel: 0.2, seed: 1)))
        let r = try ig.attribute(model, inputs: inputs, count: 1)[0]
        #expect(r.relativeCompletenessError < 1e-4)
        // Clean f(x) is reported separately from the averaged difference.
        let clean = try model.logits(inputs, batch: 1)[0]
        #expect(abs(r.inputLogit - Double(clean)) < 1e-6)
        #expect(abs(r.expectedDifference - (r.inputLogit - r.baselineLogit)) > 1e-6)
        // Same seed, same answer.
        let again = try ig.attribute(model, inputs: inputs, count: 1)[0]
        #expect(again.map == r.map)
        // The map says how it was made (the scan JSON's `smoothing`).
        #expect(r.smoothing == .init(samples: 4, noiseLevel: 0.2, seed: 1))
    }

    @Test func wrongInputSizeThrows() {
        let model = LinearToyModel(inputShape: shape, weights: [Float](repeating: 1, count: shape.count), bias: 0)
        #expect(throws: ExplainError.self) {
            try IntegratedGradients(.init(normalization: .identity())).attribute(model, inputs: [1, 2, 3], count: 1)
        }
    }
}

@Suite struct IntegratedGradientsEscalationTests {
    /// A sharp tanh network where 4 trapezoid steps miss the tolerance: escalation doubles the
    /// steps for the failing samples until completeness holds (or the cap is reached).
    @Test func escalationDoublesStepsUntilCompletenessHolds() throws {
        let shape = InputShape(channels: 3, height: 4, width: 4)
        let model = TanhMLPToyModel(inputShape: shape, hidden: 8, seed: 11, scale: 4)
        let inputs = toyInputs(shape: shape, count: 2, seed: 5)
        let plain = try IntegratedGradients(.init(steps: 4, rule: .trapezoid, baseline: .black, normalization: .identity()))
            .attribute(model, inputs: inputs, count: 2)
        #expect(plain.contains { $0.relativeCompletenessError > 0.01 })
        let escalated = try IntegratedGradients(.init(steps: 4, rule: .trapezoid, baseline: .black, normalization: .identity(),
                                                      escalation: (tolerance: 0.01, maximumSteps: 256)))
            .attribute(model, inputs: inputs, count: 2)
        for (p, e) in zip(plain, escalated) {
            #expect(e.relativeCompletenessError <= 0.01)
            #expect(e.steps >= p.steps)
            if p.relativeCompletenessError <= 0.01 { #expect(e == p) }
        }
        #expect(escalated.contains { $0.steps > 4 })
    }
}

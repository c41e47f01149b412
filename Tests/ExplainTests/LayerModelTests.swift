import Foundation
import NN
import Tensor
import Testing
@testable import Explain

/// IG through the engine's layers: a small conv net conforms through ``LayerModel``.
@Suite struct LayerModelTests {
    let shape = InputShape(channels: 3, height: 12, width: 12)

    func network(smooth: Bool) -> Sequential {
        Sequential(Conv2D(inputChannels: 3, outputChannels: 6, kernelSize: 3, stride: 2, seed: 1),
                   smooth ? GELU() as any Layer : ReLU(),
                   Conv2D(inputChannels: 6, outputChannels: 8, kernelSize: 3, seed: 2),
                   smooth ? GELU() as any Layer : ReLU(),
                   GlobalAveragePool2D(),
                   Linear(inputFeatures: 8, outputFeatures: 2, seed: 3))
    }

    @Test func gradientsMatchFiniteDifferences() throws {
        let model = LayerModel(layer: network(smooth: true), inputShape: shape, targetIndex: 1)
        let x = toyInputs(shape: shape, count: 2, seed: 3)
        let (logits, gradients) = try model.logitsAndInputGradients(x, batch: 2)
        #expect(logits == (try model.logits(x, batch: 2)))
        for i in [0, 77, 200, shape.count + 5, shape.count + 300] {
            var plus = x, minus = x
            plus[i] += 1e-2; minus[i] -= 1e-2
            let n = i / shape.count
            let numeric = (try model.logits(plus, batch: 2)[n] - model.logits(minus, batch: 2)[n]) / 2e-2
            #expect(abs(numeric - gradients[i]) < 2e-3 + 0.02 * abs(numeric), "input \(i): \(numeric) vs \(gradients[i])")
        }
    }

    @Test func completenessAtDefaultsOnEngineNetworks() throws {
        let x = toyInputs(shape: shape, count: 3, seed: 9)
        for smooth in [true, false] {
            let model = LayerModel(layer: network(smooth: smooth), inputShape: shape)
            let results = try IntegratedGradients(.init(normalization: .imageNet, escalation: smooth ? nil : (0.01, 256)))
                .attribute(model, inputs: x, count: 3)
            for r in results where abs(r.expectedDifference) > 1e-3 {
                #expect(r.relativeCompletenessError < 0.01, "smooth \(smooth): \(r.relativeCompletenessError) at \(r.steps) steps")
            }
        }
    }
}

import Testing
@testable import NN
import Tensor

/// `Conv2D` keeps its weight packed between calls; any change of the weight must repack it.
@Suite struct PackedWeightTests {
    @Test func parameterVersionCountsEveryChange() {
        let p = Parameter(Tensor(zeros: [4]))
        let v0 = p.version
        p.value.withUnsafeMutableBufferPointer { $0[0] = 1 }
        #expect(p.version == v0 + 1)
        p.value.scalars[1] = 2
        #expect(p.version == v0 + 2)
        p.value = Tensor(repeating: 3, shape: [4])
        #expect(p.version == v0 + 3)
        _ = p.value.sum()
        #expect(p.version == v0 + 3)
    }

    @Test func convolutionSeesInPlaceAndAssignedWeightChanges() {
        let conv = Conv2D(inputChannels: 3, outputChannels: 5, kernelSize: 3, seed: 1)
        var g = SeededGenerator(seed: 2)
        let x = Tensor.randomNormal(shape: [2, 3, 6, 6], generator: &g)
        let dy = Tensor.randomNormal(shape: [2, 5, 6, 6], generator: &g)
        _ = conv.forward(x, training: false)
        _ = conv.backward(dy)
        func fresh() -> (Tensor, Tensor) {
            let geo = conv.geometry(for: x.shape)
            return (Convolution.forward(input: x, weight: conv.weight.value, bias: conv.bias?.value, geometry: geo),
                    Convolution.backwardInput(gradOutput: dy, weight: conv.weight.value, geometry: geo))
        }
        // In place, as optimizers update.
        conv.weight.value.withUnsafeMutableBufferPointer { w in for i in 0..<w.count { w[i] *= -2 } }
        var y = conv.forward(x, training: false), dx = conv.backward(dy)
        #expect(y == fresh().0 && dx == fresh().1)
        // Assigned, as loading a state dict does.
        conv.weight.value = Tensor.randomNormal(shape: conv.weight.value.shape, generator: &g)
        y = conv.forward(x, training: false); dx = conv.backward(dy)
        #expect(y == fresh().0 && dx == fresh().1)
    }

    /// At inference `ConvNormActivation` maps the convolution output inside the convolution's work items:
    /// the same bits as the convolution, the batch norm's affine map and SiLU in turn, and the same backward.
    @Test func inferenceEpilogueMatchesSeparateLayers() {
        for threads in [1, 2, 3] { Parallel.withThreadCount(threads) {
            for (cin, cout, side, stride, n) in [(3, 24, 34, 2, 2), (40, 30, 4, 1, 3), (8, 13, 7, 1, 2)] {
                let block = ConvNormActivation(inputChannels: cin, outputChannels: cout, stride: stride, seed: 5)
                var g = SeededGenerator(seed: 6)
                block.bn.runningMean.value = Tensor.randomNormal(shape: [cout], generator: &g)
                block.bn.runningVariance.value = Tensor(shape: [cout], scalars: (0..<cout).map { Float($0 % 5) * 0.3 + 0.2 })
                block.bn.weight.value = Tensor.randomNormal(shape: [cout], generator: &g)
                block.bn.bias.value = Tensor.randomNormal(shape: [cout], generator: &g)
                let x = Tensor.randomNormal(shape: [n, cin, side, side], generator: &g)
                let y = block.forward(x, training: false)
                let dy = Tensor.randomNormal(shape: y.shape, generator: &g)
                let dx = block.backward(dy)
                let z = block.conv.forward(x, training: false)
                let (scale, shift) = block.bn.affine(for: z, training: false)
                let expected = Elementwise.channelAffine(z, scale: scale, shift: shift, silu: true)
                #expect(y == expected, "\(threads) threads, \(cin)->\(cout) at \(side)")
                #expect(block.backward(dy) == dx, "\(threads) threads")
            }
        }}
    }

    /// Training steps are bit-identical for a fixed seed and thread count (two threads: the split paths).
    @Test func trainingIsDeterministicAtTwoThreads() {
        func run() -> [Tensor] {
            let net = Sequential(ConvNormActivation(inputChannels: 3, outputChannels: 8, stride: 2, seed: 1),
                                 ConvNormActivation(inputChannels: 8, outputChannels: 40, stride: 2, seed: 2),
                                 GlobalAveragePool2D(), Linear(inputFeatures: 40, outputFeatures: 1, seed: 3))
            let opt = AdamW(parameters: net.parameters, learningRate: 1e-2)
            var g = SeededGenerator(seed: 4)
            for _ in 0..<3 {
                let x = Tensor.randomNormal(shape: [1, 3, 12, 12], generator: &g)
                net.zeroGradients()
                let y = net.forward(x, training: true)
                _ = net.backward(y)
                clipGradientNorm(net.parameters, maxNorm: 1)
                opt.step()
            }
            return net.namedParameters.map(\.parameter.value)
        }
        Parallel.withThreadCount(2) { #expect(run() == run()) }
    }
}

import Foundation
import Testing
@testable import NN
import Tensor

/// Finite-difference check of a layer: loss = Σ forward(x) ⊙ r, compared at sampled coordinates of the
/// input and of every trainable parameter with central differences.
func checkGradients(_ layer: any Layer, input: Tensor, training: Bool = true, epsilon: Float = 3e-3,
                    tolerance: Float = 2e-2, samples: Int = 12, seed: UInt64 = 0, checkInput: Bool = true) {
    var g = SeededGenerator(seed: seed)
    let y = layer.forward(input, training: training)
    let r = Tensor.randomNormal(shape: y.shape, generator: &g)
    layer.zeroGradients()
    let dx = layer.backward(r)
    func loss(_ x: Tensor) -> Float {
        let out = layer.forward(x, training: training)
        var s: Double = 0
        for i in 0..<out.count { s += Double(out.scalars[i]) * Double(r.scalars[i]) }
        return Float(s)
    }
    func compare(_ numeric: Float, _ analytic: Float, _ what: String) {
        let err = abs(numeric - analytic)
        #expect(err <= tolerance * max(1, abs(analytic), abs(numeric)), "\(type(of: layer)) \(what): numeric \(numeric) vs analytic \(analytic)")
    }
    if checkInput {
        #expect(dx.shape == input.shape, "\(type(of: layer)): input gradient shape \(dx.shape) vs input \(input.shape)")
        for _ in 0..<samples {
            let i = Int(g.next() % UInt64(input.count))
            var xp = input, xm = input
            xp.scalars[i] += epsilon; xm.scalars[i] -= epsilon
            compare((loss(xp) - loss(xm)) / (2 * epsilon), dx.scalars[i], "input[\(i)]")
        }
    }
    for (name, p) in layer.namedParameters where p.isTrainable {
        let analytic = p.grad
        for _ in 0..<min(samples, p.value.count) {
            let i = Int(g.next() % UInt64(p.value.count))
            let saved = p.value
            p.value.scalars[i] += epsilon
            let lp = loss(input)
            p.value = saved
            p.value.scalars[i] -= epsilon
            let lm = loss(input)
            p.value = saved
            compare((lp - lm) / (2 * epsilon), analytic.scalars[i], "\(name)[\(i)]")
        }
    }
}

func randomInput(_ shape: [Int], seed: UInt64 = 1) -> Tensor {
    var g = SeededGenerator(seed: seed)
    return .randomNormal(shape: shape, generator: &g)
}

@Suite struct LayerGradientTests {
    @Test func conv2DStride1() { checkGradients(Conv2D(inputChannels: 3, outputChannels: 5, kernelSize: 3, seed: 1), input: randomInput([2, 3, 7, 6])) }
    @Test func conv2DStride2() { checkGradients(Conv2D(inputChannels: 4, outputChannels: 7, kernelSize: 3, stride: 2, seed: 2), input: randomInput([2, 4, 9, 8])) }
    @Test func conv2DPointwise() { checkGradients(Conv2D(inputChannels: 6, outputChannels: 4, kernelSize: 1, seed: 3), input: randomInput([3, 6, 5, 5])) }
    @Test func depthwiseConv() {
        checkGradients(DepthwiseConv2D(channels: 4, kernelSize: 3, stride: 1, seed: 4), input: randomInput([2, 4, 6, 7]))
        checkGradients(DepthwiseConv2D(channels: 3, kernelSize: 3, stride: 2, seed: 5), input: randomInput([2, 3, 9, 8]))
    }
    @Test func temporalConv() { checkGradients(TemporalConv1D(inputChannels: 5, outputChannels: 3, kernelSize: 3, seed: 6), input: randomInput([2, 5, 9])) }
    @Test func linear() { checkGradients(Linear(inputFeatures: 7, outputFeatures: 3, seed: 7), input: randomInput([4, 7])) }
    @Test func batchNormTraining() { checkGradients(BatchNorm2D(channels: 3), input: randomInput([4, 3, 3, 3]), training: true) }
    @Test func batchNormInference() {
        let bn = BatchNorm2D(channels: 3)
        _ = bn.forward(randomInput([4, 3, 3, 3], seed: 9), training: true)
        checkGradients(bn, input: randomInput([2, 3, 3, 3]), training: false)
    }
    @Test func convNormActivation() {
        checkGradients(ConvNormActivation(inputChannels: 3, outputChannels: 4, stride: 2, seed: 8), input: randomInput([3, 3, 8, 8]), training: true)
        checkGradients(ConvNormActivation(inputChannels: 3, outputChannels: 4, stride: 1, seed: 8), input: randomInput([2, 3, 5, 5]), training: false)
    }
    @Test func activations() {
        checkGradients(ReLU(), input: randomInput([3, 10]))
        checkGradients(SiLU(), input: randomInput([3, 10]))
        checkGradients(GELU(), input: randomInput([3, 10]))
        checkGradients(Sigmoid(), input: randomInput([3, 10]))
        checkGradients(Softmax(), input: randomInput([3, 10]))
        checkGradients(Normalize(mean: [0.5, 0.4], standardDeviation: [0.2, 0.3]), input: randomInput([2, 2, 3, 3]))
    }
    @Test func pooling() {
        checkGradients(Pool2D(.max, kernelSize: 2), input: randomInput([2, 3, 6, 6]))
        checkGradients(Pool2D(.average, kernelSize: 3, stride: 2), input: randomInput([2, 3, 7, 7]))
        checkGradients(GlobalAveragePool2D(), input: randomInput([2, 3, 4, 5]))
        checkGradients(BlurPool2D(), input: randomInput([2, 3, 6, 6]))
        checkGradients(BlurPool2D(), input: randomInput([1, 2, 5, 7]))   // odd sizes: the mirrored far edge
    }
    @Test func sequential() {
        let net = Sequential(Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, seed: 1), SiLU(), GlobalAveragePool2D(),
                             Linear(inputFeatures: 3, outputFeatures: 2, seed: 2))
        checkGradients(net, input: randomInput([2, 2, 5, 5]))
        #expect(net.namedParameters.map(\.name) == ["0.weight", "0.bias", "3.weight", "3.bias"])
    }
    @Test func dropoutMasksForwardAndBackwardAlike() {
        let d = Dropout(probability: 0.5, seed: 3)
        let x = Tensor(repeating: 1, shape: [1000])
        let y = d.forward(x, training: true)
        let dx = d.backward(Tensor(repeating: 1, shape: [1000]))
        #expect(y == dx)
        #expect(Set(y.scalars) == [0, 2])
        #expect(abs(y.mean() - 1) < 0.15)
        #expect(d.forward(x, training: false) == x)
    }
}

@Suite struct LossTests {
    @Test func binaryCrossEntropyMatchesFormulaAndDifferences() {
        let x = Tensor(shape: [4], scalars: [-3, -0.5, 0.7, 20])
        let t = Tensor(shape: [4], scalars: [0, 1, 1, 0])
        let (l, g) = Loss.binaryCrossEntropyWithLogits(x, targets: t, positiveWeight: 2)
        var ref: Double = 0
        for i in 0..<4 {
            let v = Double(x.scalars[i]), y = Double(t.scalars[i])
            let s = 1 / (1 + exp(-v))
            ref += -(2 * y * log(s) + (1 - y) * log(1 - s + 1e-300))
        }
        #expect(abs(Double(l) - ref / 4) < 1e-4 * max(1, ref / 4))
        for i in 0..<4 {
            var xp = x, xm = x
            xp.scalars[i] += 1e-2; xm.scalars[i] -= 1e-2
            let num = (Loss.binaryCrossEntropyWithLogits(xp, targets: t, positiveWeight: 2).loss
                       - Loss.binaryCrossEntropyWithLogits(xm, targets: t, positiveWeight: 2).loss) / 2e-2
            #expect(abs(num - g.scalars[i]) < 2e-3)
        }
    }

    @Test func softmaxCrossEntropyGradient() {
        let x = randomInput([3, 5])
        let (_, g) = Loss.softmaxCrossEntropy(x, classes: [0, 4, 2])
        for i in [0, 3, 9, 14] {
            var xp = x, xm = x
            xp.scalars[i] += 1e-2; xm.scalars[i] -= 1e-2
            let num = (Loss.softmaxCrossEntropy(xp, classes: [0, 4, 2]).loss - Loss.softmaxCrossEntropy(xm, classes: [0, 4, 2]).loss) / 2e-2
            #expect(abs(num - g.scalars[i]) < 2e-3)
        }
    }
}

@Suite struct OptimizerTests {
    @Test func adamWFirstStepMovesByLearningRate() {
        let p = Parameter(Tensor(shape: [2], scalars: [1, -1]))
        p.grad = Tensor(shape: [2], scalars: [0.5, -2])
        let opt = AdamW(parameters: [p], learningRate: 0.1, weightDecay: 0.01)
        opt.step()
        // Decay 1 → 0.999, then the bias-corrected first step is lr · sign(g).
        #expect(abs(p.value.scalars[0] - (0.999 - 0.1)) < 1e-5)
        #expect(abs(p.value.scalars[1] - (-0.999 + 0.1)) < 1e-5)
    }

    @Test func sgdMomentumAccumulates() {
        let p = Parameter(Tensor(shape: [1], scalars: [0]))
        p.grad = Tensor(shape: [1], scalars: [1])
        let opt = SGD(parameters: [p], learningRate: 0.1, momentum: 0.9)
        opt.step(); opt.step()
        #expect(abs(p.value.scalars[0] - (-0.1 - 0.19)) < 1e-6)
    }

    @Test func trainsLinearRegressionToZeroLoss() {
        let lin = Linear(inputFeatures: 2, outputFeatures: 1, seed: 3)
        let opt = AdamW(parameters: lin.parameters, learningRate: 0.05, weightDecay: 0)
        let x = Tensor(shape: [4, 2], scalars: [0, 0, 0, 1, 1, 0, 1, 1])
        let y = Tensor(shape: [4, 1], scalars: [0, 1, 2, 3])   // y = 2 a + b
        var last: Float = 0
        for _ in 0..<2000 {
            lin.zeroGradients()
            let out = lin.forward(x, training: true)
            let diff = out - y
            last = (diff * diff).mean()
            _ = lin.backward(diff * (2 / 4))
            opt.step()
        }
        #expect(last < 1e-4)
    }

    @Test func warmupCosineSchedule() {
        let s = WarmupCosineSchedule(baseLearningRate: 1, warmupSteps: 10, totalSteps: 110, minimumLearningRate: 0.1)
        #expect(abs(s.learningRate(at: 0) - 0.1) < 1e-6)
        #expect(abs(s.learningRate(at: 9) - 1) < 1e-6)
        #expect(abs(s.learningRate(at: 60) - 0.55) < 1e-5)
        #expect(abs(s.learningRate(at: 110) - 0.1) < 1e-6)
    }

    @Test func clipByGlobalNorm() {
        let a = Parameter(Tensor(zeros: [2])), b = Parameter(Tensor(zeros: [1]))
        a.grad = Tensor(shape: [2], scalars: [3, 0]); b.grad = Tensor(shape: [1], scalars: [4])
        let n = clipGradientNorm([a, b], maxNorm: 1)
        #expect(abs(n - 5) < 1e-5)
        #expect(abs(a.grad.scalars[0] - 0.6) < 1e-4 && abs(b.grad.scalars[0] - 0.8) < 1e-4)
    }
}

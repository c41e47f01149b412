import Tensor

/// Fully connected layer `y = x Wᵀ + b` over `[N, in] -> [N, out]` (weight `[out, in]` as in PyTorch).
public final class Linear: Layer {
    public let inputFeatures, outputFeatures: Int
    public let weight: Parameter
    public let bias: Parameter?
    private var cachedInput = Cache<Tensor>()

    /// Weights start uniform in `±1/√in` (PyTorch's default bound).
    public init(inputFeatures: Int, outputFeatures: Int, bias: Bool = true, seed: UInt64 = 0) {
        self.inputFeatures = inputFeatures; self.outputFeatures = outputFeatures
        var g = SeededGenerator(seed: seed)
        let bound = 1 / Float(inputFeatures).squareRoot()
        weight = Parameter(.randomUniform(shape: [outputFeatures, inputFeatures], lower: -bound, upper: bound, generator: &g))
        self.bias = bias ? Parameter(.randomUniform(shape: [outputFeatures], lower: -bound, upper: bound, generator: &g)) : nil
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        input.checkShape([-1, inputFeatures], "Linear(\(inputFeatures)->\(outputFeatures)) input")
        cachedInput.set(input)
        var y = matmul(input, weight.value, transposeB: true)   // [N, in] x [in, out]
        if let bias {
            let n = input.shape[0]
            y.withUnsafeMutableBufferPointer { yp in bias.value.withUnsafeBufferPointer { bp in
                for i in 0..<n { for j in 0..<outputFeatures { yp[i * outputFeatures + j] += bp[j] } }
            }}
        }
        return y
    }

    /// `dx = dy W`, `dW += dyᵀ x`, `db += Σ_n dy`.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let x = cachedInput.get("Linear")
        gradOutput.checkShape([x.shape[0], outputFeatures], "Linear.backward gradOutput")
        weight.grad += matmul(gradOutput, x, transposeA: true)
        if let bias {
            let n = x.shape[0]
            bias.grad.withUnsafeMutableBufferPointer { bg in gradOutput.withUnsafeBufferPointer { gp in
                for i in 0..<n { for j in 0..<outputFeatures { bg[j] += gp[i * outputFeatures + j] } }
            }}
        }
        return matmul(gradOutput, weight.value)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        var p: [(name: String, parameter: Parameter)] = [("weight", weight)]
        if let bias { p.append(("bias", bias)) }
        return p
    }
}

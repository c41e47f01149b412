import Tensor

/// 2-D convolution (cross-correlation as in PyTorch) over `[N, Cin, H, W]`.
///
/// ```
/// y[n, o, i, j] = b[o] + Σ_{c, u, v} W[o, c, u, v] · x[n, c, s·i − p + u, s·j − p + v]
/// ```
/// Implemented as implicit GEMM (`Convolution`). Weights start He-normal (He et al. 2015).
public final class Conv2D: Layer {
    public let inputChannels, outputChannels, kernelHeight, kernelWidth, strideHeight, strideWidth, paddingHeight, paddingWidth: Int
    public let weight: Parameter
    public let bias: Parameter?
    /// Set false when nobody needs the input gradient (the first layer in training) to skip that work;
    /// `backward` then returns an empty tensor.
    public var computesInputGradient = true
    /// Set false when only the input gradient is wanted (attribution) to skip the weight gradient.
    public var computesParameterGradients = true
    private var cachedInput = Cache<Tensor>()
    /// Weight packed for the forward and input-gradient GEMMs, with the `weight.version` it was packed at.
    private var packedForward: (version: Int, packed: PackedConvolutionWeight)?
    private var packedTransposed: (version: Int, packed: PackedConvolutionWeight)?

    /// - Parameters:
    ///   - inputChannels, outputChannels: channel counts.
    ///   - kernelSize: square kernel side.
    ///   - stride: step in both directions.
    ///   - padding: zero padding on each side (default `kernelSize / 2`, "same" for odd kernels at stride 1).
    ///   - bias: whether to learn a per-channel bias.
    ///   - seed: seed of the He-normal initialisation.
    public convenience init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1,
                            padding: Int? = nil, bias: Bool = true, seed: UInt64 = 0) {
        self.init(inputChannels: inputChannels, outputChannels: outputChannels, kernelHeight: kernelSize,
                  kernelWidth: kernelSize, strideHeight: stride, strideWidth: stride,
                  paddingHeight: padding ?? kernelSize / 2, paddingWidth: padding ?? kernelSize / 2, bias: bias, seed: seed)
    }

    /// Rectangular kernel variant (used by the temporal convolution with `kernelHeight == 1`).
    public init(inputChannels: Int, outputChannels: Int, kernelHeight: Int, kernelWidth: Int,
                strideHeight: Int, strideWidth: Int, paddingHeight: Int, paddingWidth: Int, bias: Bool, seed: UInt64) {
        precondition(inputChannels > 0 && outputChannels > 0 && kernelHeight > 0 && kernelWidth > 0 && strideHeight > 0 && strideWidth > 0,
                     "Conv2D: channels, kernel and stride must be positive")
        self.inputChannels = inputChannels; self.outputChannels = outputChannels
        self.kernelHeight = kernelHeight; self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight; self.strideWidth = strideWidth
        self.paddingHeight = paddingHeight; self.paddingWidth = paddingWidth
        var g = SeededGenerator(seed: seed)
        let fanIn = Float(inputChannels * kernelHeight * kernelWidth)
        weight = Parameter(.randomNormal(shape: [outputChannels, inputChannels, kernelHeight, kernelWidth],
                                         standardDeviation: (2 / fanIn).squareRoot(), generator: &g))
        self.bias = bias ? Parameter(Tensor(zeros: [outputChannels])) : nil
    }

    /// Geometry for an input shape.
    public func geometry(for shape: [Int]) -> ConvGeometry {
        precondition(shape.count == 4 && shape[1] == inputChannels,
                     "Conv2D(\(inputChannels)->\(outputChannels)): expected input [N, \(inputChannels), H, W], got \(shape)")
        return ConvGeometry(batch: shape[0], inChannels: inputChannels, inHeight: shape[2], inWidth: shape[3],
                            outChannels: outputChannels, kernelHeight: kernelHeight, kernelWidth: kernelWidth,
                            strideHeight: strideHeight, strideWidth: strideWidth,
                            paddingHeight: paddingHeight, paddingWidth: paddingWidth)
    }

    /// The weight packed for `use`, repacked only when the weight changed since the last call.
    private func packedWeight(_ g: ConvGeometry, for use: PackedConvolutionWeight.Use) -> PackedConvolutionWeight {
        let cached = use == .forward ? packedForward : packedTransposed
        if let cached, cached.version == weight.version { return cached.packed }
        let packed = Convolution.pack(weight.value, geometry: g, for: use)
        if use == .forward { packedForward = (weight.version, packed) } else { packedTransposed = (weight.version, packed) }
        return packed
    }

    /// `[N, Cin, H, W] -> [N, Cout, OH, OW]`.
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let g = geometry(for: input.shape)
        cachedInput.set(input)
        return Convolution.forward(input: input, packedWeight: packedWeight(g, for: .forward), bias: bias?.value, geometry: g)
    }

    /// `forward`, plus a per-channel affine map (and SiLU) of the output computed in the same pass
    /// (`Convolution.forward(…, epilogue:)`): returns the output (what a following layer caches) and the map.
    public func forward(_ input: Tensor, training: Bool, epilogue: Convolution.ChannelAffine) -> (output: Tensor, mapped: Tensor) {
        let g = geometry(for: input.shape)
        cachedInput.set(input)
        return Convolution.forward(input: input, packedWeight: packedWeight(g, for: .forward), bias: bias?.value, geometry: g,
                                   epilogue: epilogue)
    }

    /// `dY [N, Cout, OH, OW] -> dX [N, Cin, H, W]`; adds `dW = Σ dY · colᵀ` and `db = Σ dY`.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let input = cachedInput.get("Conv2D")
        let g = geometry(for: input.shape)
        if computesParameterGradients {
            Convolution.accumulateWeightGradient(&weight.grad, gradOutput: gradOutput, input: input, geometry: g)
            if let bias { bias.grad += Convolution.biasGradient(gradOutput) }
        }
        guard computesInputGradient else { return Tensor(zeros: [0]) }
        return Convolution.backwardInput(gradOutput: gradOutput, packedWeight: packedWeight(g, for: .inputGradient), geometry: g)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        var p: [(name: String, parameter: Parameter)] = [("weight", weight)]
        if let bias { p.append(("bias", bias)) }
        return p
    }
}

import Imaging

/// Parameters of an upsampling-artefact fake.
public struct UpsamplingParameters: Codable, Sendable, Equatable {
    /// How the face is brought back up.
    public var kernel: UpsamplingKernel
    /// Downsampling factor (> 1). For `.checkerboard` it is rounded to the integer stride.
    public var factor: Double
    /// 1-D taps of the transposed convolution (`.checkerboard` only; length stride + 1, sum = stride).
    public var taps: [Double]
    /// Weight of the transposed-convolution output against a bilinear upsampling (`.checkerboard`).
    public var checkerStrength: Double
    /// The blend mask's shape.
    public var mask: BlendMaskShape
    /// Peak weight of the resampled face, in (0, 1].
    public var blendRatio: Double

    public init(kernel: UpsamplingKernel, factor: Double, taps: [Double], checkerStrength: Double,
                mask: BlendMaskShape, blendRatio: Double) {
        precondition(factor >= 1, "UpsamplingParameters.factor must be at least 1, got \(factor)")
        self.kernel = kernel
        self.factor = factor
        self.taps = taps
        self.checkerStrength = checkerStrength
        self.mask = mask
        self.blendRatio = blendRatio
    }

    /// Random parameters: kernel uniformly among the three; factor 1.6–4 (nearest, bilinear) or stride
    /// 2–3 (checkerboard, with random positive taps and strength 0.15–0.5); a face mask a little larger
    /// than the face; blend ratio 0.8–1.
    public static func random(using rng: inout SplitMix64) -> UpsamplingParameters {
        let kernel = rng.pick(UpsamplingKernel.allCases)
        var factor = rng.uniform(1.6...4)
        var taps: [Double] = []
        var strength = 0.0
        if kernel == .checkerboard {
            let stride = rng.integer(2...3)
            factor = Double(stride)
            taps = (0...stride).map { _ in rng.uniform(0.5...1.5) }
            let total = taps.reduce(0, +)
            taps = taps.map { $0 * Double(stride) / total }
            strength = rng.uniform(0.15...0.5)
        }
        return UpsamplingParameters(kernel: kernel, factor: factor, taps: taps, checkerStrength: strength,
                                    mask: .randomFace(using: &rng, sizeRange: 0.95...1.2),
                                    blendRatio: rng.chance(0.6) ? 1 : rng.uniform(0.8...1))
    }
}

/// Upsampling artefacts: the face region is downsampled (area-averaged) and brought back up with
/// nearest-neighbour, bilinear or transposed-convolution upsampling, then blended back through a soft
/// mask. This imitates generators that synthesise a face at low resolution and decoders whose
/// transposed convolutions leave periodic traces in the spectrum (Durall, Keuper and Keuper, CVPR 2020,
/// "Watch your Up-Convolution"; Odena et al., Distill 2016).
public enum Upsampling {
    /// Makes one resampled frame.
    /// - Parameters:
    ///   - target: the frame to edit.
    ///   - box: the face box in `target`.
    ///   - parameters: the random draw.
    /// - Returns: the fake and its frame-size mask.
    public static func apply(target: RGBImage, box: Box, parameters: UpsamplingParameters) -> SynthesizedFrame {
        let region = PixelRegion.around(box, scale: 2 * parameters.mask.reach + 0.1,
                                        frameWidth: target.width, frameHeight: target.height)
        let original = extract(target, region: region)
        var source: PlaneRGB
        switch parameters.kernel {
        case .nearest, .bilinear:
            let small = resize(original, width: max(1, Int((Double(region.width) / parameters.factor).rounded())),
                               height: max(1, Int((Double(region.height) / parameters.factor).rounded())))
            source = resize(small, width: region.width, height: region.height, nearest: parameters.kernel == .nearest)
        case .checkerboard:
            let stride = max(2, Int(parameters.factor.rounded()))
            precondition(parameters.taps.count == stride + 1, "checkerboard upsampling needs stride + 1 taps")
            let small = resize(original, width: (region.width + stride - 1) / stride,
                               height: (region.height + stride - 1) / stride)
            let smooth = resize(small, width: region.width, height: region.height)
            let checker = transposedConvolution(small, stride: stride, taps: parameters.taps.map { Float($0) },
                                                width: region.width, height: region.height)
            source = smooth
            let alpha = Float(parameters.checkerStrength)
            source.values.withUnsafeMutableBufferPointer { s in
                checker.values.withUnsafeBufferPointer { c in
                    for i in 0..<s.count { s[i] += alpha * (c[i] - s[i]) }
                }
            }
        }
        let mask = parameters.mask.render(box: box, region: region, scale: parameters.blendRatio)
        return composite(target: target, source: source, mask: mask, region: region)
    }
}

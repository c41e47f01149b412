import Imaging
import Randomness

/// Parameters of an upsampling-artefact fake.
public struct UpsamplingParameters: Codable, Sendable, Equatable {
    /// How the face is brought back up.
    public var kernel: UpsamplingKernel
    /// Downsampling factor (> 1) in analysis pixels (a face `nominalFaceSide` = 112 pixels wide; larger
    /// faces are downsampled proportionally more). For `.checkerboard` it is the integer stride.
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

    /// Random parameters: kernel uniformly among the three; factor 1.5–3.2 (nearest, bilinear) or stride
    /// 2–3 (checkerboard, with random positive taps and strength 0.15–0.5); a face mask a little larger
    /// than the face; blend ratio 0.8–1.
    public static func random(using rng: inout SplitMix64) -> UpsamplingParameters {
        let kernel = rng.pick(UpsamplingKernel.allCases)
        var factor = rng.uniform(1.5...3.2)
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
        let scale = analysisScale(of: box)
        let original = extract(target, region: region)
        var source: PlaneRGB
        switch parameters.kernel {
        case .nearest, .bilinear:
            let factor = parameters.factor * scale
            let small = resize(original, width: max(1, Int((Double(region.width) / factor).rounded())),
                               height: max(1, Int((Double(region.height) / factor).rounded())))
            source = resize(small, width: region.width, height: region.height, nearest: parameters.kernel == .nearest)
        case .checkerboard:
            // Work at analysis resolution so that the checkerboard period is `stride` analysis pixels.
            let stride = max(2, Int(parameters.factor.rounded()))
            precondition(parameters.taps.count == stride + 1, "checkerboard upsampling needs stride + 1 taps")
            let workWidth = max(stride, Int((Double(region.width) / scale).rounded()))
            let workHeight = max(stride, Int((Double(region.height) / scale).rounded()))
            let work = scale > 1 ? resize(original, width: workWidth, height: workHeight) : original
            let small = resize(work, width: (workWidth + stride - 1) / stride, height: (workHeight + stride - 1) / stride)
            var smooth = resize(small, width: workWidth, height: workHeight)
            let checker = transposedConvolution(small, stride: stride, taps: parameters.taps.map { Float($0) },
                                                width: workWidth, height: workHeight)
            let alpha = Float(parameters.checkerStrength)
            smooth.values.withUnsafeMutableBufferPointer { s in
                checker.values.withUnsafeBufferPointer { c in
                    for i in 0..<s.count { s[i] += alpha * (c[i] - s[i]) }
                }
            }
            source = scale > 1 ? resize(smooth, width: region.width, height: region.height) : smooth
        }
        let mask = parameters.mask.render(box: box, region: region, scale: parameters.blendRatio)
        return composite(target: target, source: source, mask: mask, region: region)
    }
}

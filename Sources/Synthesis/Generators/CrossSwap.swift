import Imaging
import Randomness

/// Parameters of a cross-identity swap.
public struct CrossSwapParameters: Codable, Sendable, Equatable {
    /// Misalignment of the donor after box-to-box alignment.
    public var warp: FaceWarp
    /// Whether the donor is mirrored left-right about its box centre first.
    public var mirrorDonor: Bool
    /// Reinhard colour-transfer strength in [0, 1] (0 = donor colours kept).
    public var colourTransfer: Double
    /// Extra appearance jitter of the donor after colour transfer (usually mild).
    public var jitter: SourceJitter
    /// The blend mask's shape.
    public var mask: BlendMaskShape
    /// Peak weight of the donor, in (0, 1].
    public var blendRatio: Double

    public init(warp: FaceWarp, mirrorDonor: Bool, colourTransfer: Double, jitter: SourceJitter,
                mask: BlendMaskShape, blendRatio: Double) {
        self.warp = warp
        self.mirrorDonor = mirrorDonor
        self.colourTransfer = colourTransfer
        self.jitter = jitter
        self.mask = mask
        self.blendRatio = blendRatio
    }

    /// Random parameters: a little misalignment, strong colour transfer, a mask a bit smaller than the
    /// face (swaps replace the inner face), blend ratio 0.8–1.
    public static func random(using rng: inout SplitMix64) -> CrossSwapParameters {
        let jitter: SourceJitter = rng.chance(0.3) ? .random(using: &rng) : .none
        return CrossSwapParameters(warp: .random(using: &rng, scale: 0.04, shift: 0.02, angle: 0.04),
                                   mirrorDonor: rng.chance(0.5),
                                   colourTransfer: rng.uniform(0.6...1),
                                   jitter: jitter,
                                   mask: .randomFace(using: &rng, sizeRange: 0.8...1.0),
                                   blendRatio: rng.chance(0.6) ? 1 : rng.uniform(0.8...1))
    }
}

/// Cross-identity face swap, the classical way (as in FaceSwap and the blending stage of Deepfakes and
/// FaceShifter pipelines): another person's face is aligned to the target box by a similarity
/// transform, colour-transferred to the target's skin (Reinhard et al., 2001, in YCbCr, statistics
/// weighted by the mask) and blended through a soft face mask.
public enum CrossSwap {
    /// Makes one swapped frame.
    /// - Parameters:
    ///   - target: the frame that receives the face.
    ///   - box: the face box in `target`.
    ///   - donor: the other person's image and face box.
    ///   - parameters: the random draw.
    /// - Returns: the fake and its frame-size mask.
    public static func apply(target: RGBImage, box: Box, donor: FaceSample, parameters: CrossSwapParameters) -> SynthesizedFrame {
        let region = PixelRegion.around(box, scale: 2 * parameters.mask.reach + 0.1,
                                        frameWidth: target.width, frameHeight: target.height)
        // donor pixel -> target pixel: mirror (optional), box-to-box similarity, misalignment.
        var forward = Affine2D.similarity(from: donor.box, to: box)
        if parameters.mirrorDonor {
            let cx = donor.box.centerX - 0.5
            forward = forward.composed(after: Affine2D(a: -1, b: 0, c: 0, d: 1, tx: 2 * cx, ty: 0))
        }
        forward = parameters.warp.forward(about: box).composed(after: forward)
        var source = sampleBilinear(donor.image, region: region, map: forward.inverse)
        let mask = parameters.mask.render(box: box, region: region, scale: parameters.blendRatio)
        if parameters.colourTransfer > 0 {
            reinhardTransfer(&source, reference: extract(target, region: region), weights: mask,
                             strength: Float(parameters.colourTransfer))
        }
        parameters.jitter.apply(to: &source, analysisScale: analysisScale(of: box))
        return composite(target: target, source: source, mask: mask, region: region)
    }
}

import Imaging
import Randomness

/// Parameters of a self-blended image.
public struct SelfBlendParameters: Codable, Sendable, Equatable {
    /// Appearance jitter of the source (the face pasted back).
    public var jitter: SourceJitter
    /// Geometric jitter of the source relative to the target.
    public var warp: FaceWarp
    /// The blend mask's shape.
    public var mask: BlendMaskShape
    /// Peak weight of the source, in (0, 1].
    public var blendRatio: Double

    public init(jitter: SourceJitter, warp: FaceWarp, mask: BlendMaskShape, blendRatio: Double) {
        self.jitter = jitter
        self.warp = warp
        self.mask = mask
        self.blendRatio = blendRatio
    }

    /// Random parameters in the ranges of Shiohara and Yamasaki: translation up to 3 % of the face,
    /// scale 0.95–1.05, blend ratio 1 half of the time and uniform in 0.25–1 otherwise.
    public static func random(using rng: inout SplitMix64) -> SelfBlendParameters {
        SelfBlendParameters(jitter: .random(using: &rng),
                            warp: .random(using: &rng, scale: 0.05, shift: 0.03, angle: 0.03),
                            mask: .randomFace(using: &rng),
                            blendRatio: rng.chance(0.5) ? 1 : rng.uniform(0.25...1))
    }
}

/// Self-blended images (Shiohara and Yamasaki, CVPR 2022, "Detecting Deepfakes with Self-Blended
/// Images"): the frame is blended with a slightly warped, colour-, sharpness- or scale-jittered copy
/// of itself through a deformed, blurred face mask. The result carries the generic traces of face
/// swapping (blending boundary, colour and frequency mismatch, landmark misalignment) with no identity
/// change at all, which keeps a detector from learning identities.
public enum SelfBlend {
    /// Makes one self-blended frame.
    ///
    /// The source is the target itself: the region around the face is resampled through
    /// `parameters.warp` (about the box centre), jittered by `parameters.jitter`, and blended into the
    /// target as `out = m * source + (1 - m) * target` with `m` the mask times the blend ratio.
    /// The jitter always goes on the source, never on the target, so that the fake differs from the
    /// real frame only where the mask is positive (jittering the target instead would differ only by
    /// a global change outside the face).
    /// - Parameters:
    ///   - target: the real frame (or aligned crop).
    ///   - box: the face box in `target`.
    ///   - parameters: the random draw.
    /// - Returns: the fake and its frame-size mask.
    public static func apply(target: RGBImage, box: Box, parameters: SelfBlendParameters) -> SynthesizedFrame {
        let region = PixelRegion.around(box, scale: 2 * parameters.mask.reach + 0.1,
                                        frameWidth: target.width, frameHeight: target.height)
        let map = parameters.warp.forward(about: box).inverse
        var source = sampleBilinear(target, region: region, map: map)
        parameters.jitter.apply(to: &source, analysisScale: analysisScale(of: box))
        let mask = parameters.mask.render(box: box, region: region, scale: parameters.blendRatio)
        return composite(target: target, source: source, mask: mask, region: region)
    }
}

import Imaging
import Randomness

/// A part of the face that a region splice replaces.
public enum FaceRegion: String, Codable, Sendable, CaseIterable {
    /// Both eyes and brows: a wide band across the upper face.
    case eyes
    /// The mouth and lips.
    case mouth

    /// The region's nominal ellipse relative to a Viola–Jones face box (eyes at about 38 % of the box
    /// height, the mouth at about 78 %).
    var nominalShape: BlendMaskShape {
        switch self {
        case .eyes: BlendMaskShape(centerX: 0, centerY: -0.12, radiusX: 0.36, radiusY: 0.13, blurSigma: 0.03)
        case .mouth: BlendMaskShape(centerX: 0, centerY: 0.28, radiusX: 0.22, radiusY: 0.12, blurSigma: 0.03)
        }
    }
}

/// Parameters of a region splice.
public struct RegionSpliceParameters: Codable, Sendable, Equatable {
    /// Which part of the face is replaced.
    public var region: FaceRegion
    /// Misalignment of the reference after box-to-box alignment.
    public var warp: FaceWarp
    /// Reinhard colour-transfer strength in [0, 1].
    public var colourTransfer: Double
    /// The blend mask's shape (around `region`).
    public var mask: BlendMaskShape
    /// Peak weight of the reference, in (0, 1].
    public var blendRatio: Double

    public init(region: FaceRegion, warp: FaceWarp, colourTransfer: Double, mask: BlendMaskShape, blendRatio: Double) {
        self.region = region
        self.warp = warp
        self.colourTransfer = colourTransfer
        self.mask = mask
        self.blendRatio = blendRatio
    }

    /// Random parameters. With `hasReference == false` (no other moment of the clip at hand) the target
    /// itself is the reference, so the misalignment is drawn larger (3–6 % of the face) to make the
    /// splice a visible discontinuity rather than a no-op.
    public static func random(using rng: inout SplitMix64, hasReference: Bool = true) -> RegionSpliceParameters {
        let region: FaceRegion = rng.chance(0.5) ? .eyes : .mouth
        var shape = region.nominalShape
        let size = rng.uniform(0.85...1.2)
        shape.radiusX *= size * rng.uniform(0.9...1.1)
        shape.radiusY *= size * rng.uniform(0.9...1.15)
        shape.centerX += rng.uniform(-0.02...0.02)
        shape.centerY += rng.uniform(-0.03...0.03)
        shape.angle = rng.uniform(-0.05...0.05)
        shape.harmonics = (2...3).map { MaskHarmonic(order: $0, amplitude: rng.uniform(0...0.06), phase: rng.uniform(0...6.283)) }
        shape.blurSigma = rng.uniform(0.015...0.04)
        var warp: FaceWarp
        if hasReference {
            warp = .random(using: &rng, scale: 0.02, shift: 0.015, angle: 0.02)
        } else {
            warp = .random(using: &rng, scale: 0.06, shift: 0.02, angle: 0.05)
            let sign: Double = rng.chance(0.5) ? 1 : -1
            warp.shiftY += sign * rng.uniform(0.03...0.06)
        }
        return RegionSpliceParameters(region: region, warp: warp,
                                      colourTransfer: rng.chance(0.5) ? rng.uniform(0.5...1) : 0,
                                      mask: shape, blendRatio: rng.chance(0.6) ? 1 : rng.uniform(0.85...1))
    }
}

/// Region splice: the eyes or the mouth of the target replaced by the same region from another moment
/// of the same clip (the reference), aligned box to box, optionally colour-matched, soft-blended.
/// It imitates partial manipulations such as lip-sync and expression re-enactment, where identity is
/// kept and only a part of the face moves differently.
public enum RegionSplice {
    /// Makes one spliced frame.
    /// - Parameters:
    ///   - target: the frame to edit.
    ///   - box: the face box in `target`.
    ///   - reference: another frame of the clip and its face box; `nil` uses the target itself
    ///     (draw the parameters with `hasReference: false` then).
    ///   - parameters: the random draw.
    /// - Returns: the fake and its frame-size mask.
    public static func apply(target: RGBImage, box: Box, reference: FaceSample?, parameters: RegionSpliceParameters) -> SynthesizedFrame {
        let reference = reference ?? FaceSample(image: target, box: box)
        let region = PixelRegion.around(box, scale: 2 * parameters.mask.reach + 0.1,
                                        frameWidth: target.width, frameHeight: target.height)
        let forward = parameters.warp.forward(about: box).composed(after: Affine2D.similarity(from: reference.box, to: box))
        var source = sampleBilinear(reference.image, region: region, map: forward.inverse)
        let mask = parameters.mask.render(box: box, region: region, scale: parameters.blendRatio)
        if parameters.colourTransfer > 0 {
            reinhardTransfer(&source, reference: extract(target, region: region), weights: mask,
                             strength: Float(parameters.colourTransfer))
        }
        return composite(target: target, source: source, mask: mask, region: region)
    }
}

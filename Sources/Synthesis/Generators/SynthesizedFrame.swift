import Imaging
import Randomness

/// A manipulated frame and where it was manipulated.
public struct SynthesizedFrame: Sendable, Equatable {
    /// The fake, the same size as the target.
    public var image: RGBImage
    /// The blend mask, frame size, values in [0, 1]: the weight of the inserted source at each pixel.
    /// Exactly 0 wherever `image` equals the target.
    public var mask: GrayImage

    public init(image: RGBImage, mask: GrayImage) {
        self.image = image
        self.mask = mask
    }
}

/// A face in an image: what donor and reference frames are passed as.
public struct FaceSample: Sendable, Equatable {
    /// The image holding the face.
    public var image: RGBImage
    /// The face box in `image`'s pixel coordinates.
    public var box: Box

    public init(image: RGBImage, box: Box) {
        self.image = image
        self.box = box
    }
}

/// The face side (in pixels) at which the detector looks at faces. Generators express pixel lengths
/// (blur radii, resampling factors, checkerboard periods) at this scale, so that a fake made on a
/// full-resolution frame shows the same artefacts after alignment as one made on a crop.
let nominalFaceSide = 112.0

/// `max(1, face side / nominalFaceSide)`: how many frame pixels make one analysis pixel.
func analysisScale(of box: Box) -> Double {
    max(1, (box.width + box.height) / 2 / nominalFaceSide)
}

/// Random appearance changes applied to a blend source (Shiohara and Yamasaki's "source-target
/// augmentation"): colour, contrast and saturation, sharpness, and a down-up rescale that softens it.
public struct SourceJitter: Codable, Sendable, Equatable {
    /// Per-channel (R, G, B) gains.
    public var gains: [Double]
    /// Per-channel additive offsets on the 0...255 scale.
    public var offsets: [Double]
    /// Contrast about mid-grey.
    public var contrast: Double
    /// Saturation about luma (1 = unchanged).
    public var saturation: Double
    /// Unsharp-mask amount: positive sharpens, negative (down to -1) blurs; 0 = unchanged.
    public var sharpness: Double
    /// Unsharp-mask radius in pixels.
    public var sharpnessSigma: Double
    /// Down-up rescale factor in (0, 1]; 1 = unchanged.
    public var rescale: Double

    public init(gains: [Double], offsets: [Double], contrast: Double, saturation: Double,
                sharpness: Double, sharpnessSigma: Double, rescale: Double) {
        precondition(gains.count == 3 && offsets.count == 3, "SourceJitter needs three gains and three offsets")
        self.gains = gains
        self.offsets = offsets
        self.contrast = contrast
        self.saturation = saturation
        self.sharpness = sharpness
        self.sharpnessSigma = sharpnessSigma
        self.rescale = rescale
    }

    /// No change.
    public static let none = SourceJitter(gains: [1, 1, 1], offsets: [0, 0, 0], contrast: 1, saturation: 1,
                                          sharpness: 0, sharpnessSigma: 1, rescale: 1)

    /// A random jitter: each of colour, sharpness and scale is switched on independently with
    /// probability 1/2, and at least one of them always is.
    public static func random(using rng: inout SplitMix64) -> SourceJitter {
        var jitter = SourceJitter.none
        var kinds = (0..<3).map { _ in rng.chance(0.5) }
        if !kinds.contains(true) { kinds[rng.integer(0...2)] = true }
        if kinds[0] {
            jitter.gains = (0..<3).map { _ in rng.uniform(0.92...1.08) }
            jitter.offsets = (0..<3).map { _ in rng.uniform(-14...14) }
            jitter.contrast = rng.uniform(0.88...1.12)
            jitter.saturation = rng.uniform(0.8...1.2)
        }
        if kinds[1] {
            jitter.sharpness = rng.chance(0.5) ? rng.uniform(0.4...1.2) : -rng.uniform(0.4...1.0)
            jitter.sharpnessSigma = rng.uniform(0.7...1.6)
        }
        if kinds[2] {
            jitter.rescale = rng.uniform(0.45...0.85)
        }
        return jitter
    }

    /// Applies the jitter to a region buffer in place. Lengths (rescale, sharpness radius) are in
    /// analysis pixels: with `analysisScale` k > 1 (a face larger than the detector's view) the rescale
    /// goes k times lower and the radius is k times wider, so the change survives the detector's
    /// downscaling.
    func apply(to plane: inout PlaneRGB, analysisScale: Double = 1) {
        let effectiveRescale = rescale / max(1, analysisScale)
        if effectiveRescale < 0.999 {
            let small = resize(plane, width: max(1, Int((Double(plane.width) * effectiveRescale).rounded())),
                               height: max(1, Int((Double(plane.height) * effectiveRescale).rounded())))
            plane = resize(small, width: plane.width, height: plane.height)
        }
        if sharpness != 0 {
            unsharp(&plane, sigma: Float(sharpnessSigma * max(1, analysisScale)), amount: Float(sharpness))
        }
        if gains != [1, 1, 1] || offsets != [0, 0, 0] || contrast != 1 || saturation != 1 {
            colourJitter(&plane, gains: gains.map { Float($0) }, offsets: offsets.map { Float($0) },
                         contrast: Float(contrast), saturation: Float(saturation))
        }
    }
}

/// A small random geometric change of a source face relative to its box: scale, rotation and shift.
public struct FaceWarp: Codable, Sendable, Equatable {
    /// Horizontal scale about the face centre.
    public var scaleX: Double
    /// Vertical scale about the face centre.
    public var scaleY: Double
    /// Rotation in radians.
    public var angle: Double
    /// Shift in box widths.
    public var shiftX: Double
    /// Shift in box heights.
    public var shiftY: Double

    public init(scaleX: Double = 1, scaleY: Double = 1, angle: Double = 0, shiftX: Double = 0, shiftY: Double = 0) {
        self.scaleX = scaleX
        self.scaleY = scaleY
        self.angle = angle
        self.shiftX = shiftX
        self.shiftY = shiftY
    }

    public static let identity = FaceWarp()

    /// A random warp with scales in `1 ± scale`, shifts in `± shift` and rotation in `± angle`.
    public static func random(using rng: inout SplitMix64, scale: Double, shift: Double, angle: Double) -> FaceWarp {
        FaceWarp(scaleX: 1 + rng.uniform(-scale...scale), scaleY: 1 + rng.uniform(-scale...scale),
                 angle: rng.uniform(-angle...angle),
                 shiftX: rng.uniform(-shift...shift), shiftY: rng.uniform(-shift...shift))
    }

    /// The forward map (source position -> output position) about the centre of `box`.
    func forward(about box: Box) -> Affine2D {
        Affine2D.about(cx: box.centerX - 0.5, cy: box.centerY - 0.5, scaleX: scaleX, scaleY: scaleY, angle: angle,
                       dx: shiftX * box.width, dy: shiftY * box.height)
    }
}

import Imaging
import Randomness
import Synthesis
import VideoIO

/// One draw of the augmentations a real and a fake share: framing jitter, colour jitter, flip, blur,
/// rescale and JPEG quality. Applying the same draw to both labels keeps framing, colour and compression
/// free of label signal (a set's fakes are often re-encoded differently from its reals; the shared
/// JPEG pass on top of that is the same for both).
///
/// The framing is relative to each crop's own face box, so a real and a fake of different videos
/// still end up framed alike: about `InputFormat.margin` times the face, off-centre a little.
public struct PairAugmentation: Sendable, Equatable {
    public var scale: Double
    public var shiftX: Double
    public var shiftY: Double
    public var brightness: Float
    public var contrast: Float
    public var saturation: Float
    public var flipped: Bool
    /// Gaussian blur sigma, or nil for none.
    public var blurSigma: Double?
    /// Rescale and JPEG quality.
    public var codec: CodecAugmentation.Draw
    /// JPEG quality, or nil for none.
    public var jpegQuality: Int? { codec.jpegQuality }

    /// Draws an augmentation (the same ranges as the real-only `TrainingSampler`).
    /// - Parameters:
    ///   - rng: the random source.
    ///   - codec: the compression and rescaling to draw from.
    public static func random(using rng: inout SplitMix64, codec: CodecAugmentation) -> PairAugmentation {
        let scale = rng.uniform(0.9...1.12), shiftX = rng.uniform(-0.05...0.05), shiftY = rng.uniform(-0.05...0.05)
        let brightness = Float(rng.uniform(0.8...1.2)), contrast = Float(rng.uniform(0.8...1.2))
        let saturation = Float(rng.uniform(0.7...1.3))
        let flipped = rng.next() % 2 == 0
        let blur: Double? = rng.unit() < 0.15 ? rng.uniform(0.4...1.2) : nil
        return PairAugmentation(scale: scale, shiftX: shiftX, shiftY: shiftY, brightness: brightness, contrast: contrast,
                                saturation: saturation, flipped: flipped, blurSigma: blur, codec: codec.draw(using: &rng))
    }

    /// The network input made from a stored crop.
    /// - Parameters:
    ///   - crop: the stored crop.
    ///   - face: the face box in the crop's coordinates.
    ///   - format: the network's input format.
    ///   - colour: whether to apply the colour jitter (sequences skip it, as `SequenceSampler` does).
    /// - Returns: a `format.size` square image.
    public func apply(to crop: RGBImage, face: Box, format: InputFormat, colour: Bool = true) -> RGBImage {
        let side = max(face.width, face.height) * format.margin * scale
        let window = Box(x: face.centerX - side / 2 + side * shiftX, y: face.centerY - side / 2 + side * shiftY,
                         width: side, height: side)
        var image = crop.resampled(box: window, width: format.size, height: format.size)
        if colour { image = image.adjustedBrightness(brightness).adjustedContrast(contrast).adjustedSaturation(saturation) }
        if flipped { image = image.flippedHorizontally() }
        if let blurSigma { image = image.gaussianBlurred(sigma: blurSigma) }
        return codec.apply(to: image)
    }
}

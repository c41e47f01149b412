import Imaging
import Randomness
import Synthesis
import VideoIO

/// The compression and resolution loss a training pair goes through, drawn once per pair and
/// applied alike to the real and the fake, so it carries no label signal.
///
/// Its job is to make the detector indifferent to how hard a face was compressed: a detector that
/// never sees heavy compression reads it, out of distribution, as evidence either way (the
/// robustness check measured exactly that on the second shipped detector, which saw JPEG 50-95 on
/// half its pairs and was pushed toward "fake" by H.264 CRF 40). Low JPEG qualities and a
/// down-and-up rescale (the softening that heavy H.264 and re-uploads cause) cover that range.
public struct CodecAugmentation: Codable, Sendable, Equatable {
    /// Probability of a JPEG pass.
    public var jpegProbability: Double
    /// JPEG quality range, drawn uniformly.
    public var jpegQualities: ClosedRange<Int>
    /// Probability of a down-and-up rescale (bilinear both ways, applied before the JPEG pass).
    public var rescaleProbability: Double
    /// The downscale factor's range, drawn uniformly.
    public var rescaleFactors: ClosedRange<Double>

    public init(jpegProbability: Double, jpegQualities: ClosedRange<Int>, rescaleProbability: Double = 0,
                rescaleFactors: ClosedRange<Double> = 0.5...0.5) {
        precondition((0...1).contains(jpegProbability) && (0...1).contains(rescaleProbability), "probabilities must be in 0...1")
        precondition(jpegQualities.lowerBound >= 1 && jpegQualities.upperBound <= 100, "JPEG qualities must be in 1...100")
        precondition(rescaleFactors.lowerBound > 0 && rescaleFactors.upperBound <= 1, "rescale factors must be in (0, 1]")
        self.jpegProbability = jpegProbability
        self.jpegQualities = jpegQualities
        self.rescaleProbability = rescaleProbability
        self.rescaleFactors = rescaleFactors
    }

    /// What the current recipe trains with: JPEG 20-95 on 60% of pairs, a rescale by 0.35-0.8 on 25%.
    public static let standard = CodecAugmentation(jpegProbability: 0.6, jpegQualities: 20...95,
                                                   rescaleProbability: 0.25, rescaleFactors: 0.35...0.8)

    /// The recipe before `standard` (JPEG 50-95, no rescale), which configurations written without
    /// this field were trained with.
    public static func legacy(jpegProbability: Double) -> CodecAugmentation {
        CodecAugmentation(jpegProbability: jpegProbability, jpegQualities: 50...95)
    }

    /// One draw, to apply to both images of a pair (or every frame of a sequence pair).
    public struct Draw: Sendable, Equatable {
        /// Downscale factor, or nil for none.
        public var rescale: Double?
        /// JPEG quality, or nil for none.
        public var jpegQuality: Int?

        public init(rescale: Double? = nil, jpegQuality: Int? = nil) {
            self.rescale = rescale
            self.jpegQuality = jpegQuality
        }

        /// The image after the rescale and the JPEG pass (an image JPEG cannot take stays as it is).
        public func apply(to image: RGBImage) -> RGBImage {
            var out = image
            if let rescale {
                let width = max(8, Int((Double(image.width) * rescale).rounded()))
                let height = max(8, Int((Double(image.height) * rescale).rounded()))
                out = out.resized(width: width, height: height).resized(width: image.width, height: image.height, antialias: false)
            }
            if let jpegQuality, let compressed = try? jpegRoundTrip(out, quality: jpegQuality) { out = compressed }
            return out
        }
    }

    /// Draws the rescale, then the JPEG quality.
    public func draw(using rng: inout SplitMix64) -> Draw {
        var draw = Draw()
        if rng.unit() < rescaleProbability { draw.rescale = rng.uniform(rescaleFactors) }
        if rng.unit() < jpegProbability {
            draw.jpegQuality = jpegQualities.lowerBound + Int(rng.next() % UInt64(jpegQualities.count))
        }
        return draw
    }
}

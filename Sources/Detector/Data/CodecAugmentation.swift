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
/// half its pairs and was pushed toward "fake" by H.264 CRF 40). Low JPEG qualities, H.264 intra
/// frames up to CRF 42 (its 4x4/16x16 transforms and deblocking smear differently from JPEG's 8x8
/// blocks) and a down-and-up rescale (the softening of re-uploads) cover that range.
public struct CodecAugmentation: Codable, Sendable, Equatable {
    /// Probability of a compression pass (JPEG or H.264).
    public var compressionProbability: Double
    /// JPEG quality range, drawn uniformly.
    public var jpegQualities: ClosedRange<Int>
    /// Share of the compression passes that use H.264 (one intra frame) instead of JPEG.
    public var h264Share: Double
    /// H.264 constant rate factor range, drawn uniformly.
    public var h264CRFs: ClosedRange<Int>
    /// Probability of a down-and-up rescale (bilinear both ways, applied before the JPEG pass).
    public var rescaleProbability: Double
    /// The downscale factor's range, drawn uniformly.
    public var rescaleFactors: ClosedRange<Double>

    public init(compressionProbability: Double, jpegQualities: ClosedRange<Int>, h264Share: Double = 0, h264CRFs: ClosedRange<Int> = 18...42,
                rescaleProbability: Double = 0, rescaleFactors: ClosedRange<Double> = 0.5...0.5) {
        precondition((0...1).contains(compressionProbability) && (0...1).contains(rescaleProbability) && (0...1).contains(h264Share),
                     "probabilities must be in 0...1")
        precondition(h264CRFs.lowerBound >= 0 && h264CRFs.upperBound <= 51, "H.264 CRFs must be in 0...51")
        precondition(jpegQualities.lowerBound >= 1 && jpegQualities.upperBound <= 100, "JPEG qualities must be in 1...100")
        precondition(rescaleFactors.lowerBound > 0 && rescaleFactors.upperBound <= 1, "rescale factors must be in (0, 1]")
        self.compressionProbability = compressionProbability
        self.jpegQualities = jpegQualities
        self.h264Share = h264Share
        self.h264CRFs = h264CRFs
        self.rescaleProbability = rescaleProbability
        self.rescaleFactors = rescaleFactors
    }

    /// What the current recipe trains with: compression on 60% of pairs, half of them JPEG 20-95 and
    /// half H.264 CRF 18-42; a rescale by 0.35-0.8 on 25%.
    public static let standard = CodecAugmentation(compressionProbability: 0.6, jpegQualities: 20...95, h264Share: 0.5, h264CRFs: 18...42,
                                                   rescaleProbability: 0.25, rescaleFactors: 0.35...0.8)

    /// What `glassbox sae train` embeds crops with: JPEG 20-95 on 60% of pairs and nothing else, so
    /// that each row's compression is one JPEG quality the feature dictionary can correlate with.
    public static let featureCollection = CodecAugmentation(compressionProbability: 0.6, jpegQualities: 20...95)

    /// The recipe before `standard` (JPEG 50-95, no rescale), which configurations written without
    /// this field were trained with.
    public static func legacy(jpegProbability: Double) -> CodecAugmentation {
        CodecAugmentation(compressionProbability: jpegProbability, jpegQualities: 50...95)
    }

    /// One draw, to apply to both images of a pair (or every frame of a sequence pair).
    public struct Draw: Sendable, Equatable {
        /// Downscale factor, or nil for none.
        public var rescale: Double?
        /// JPEG quality, or nil for none.
        public var jpegQuality: Int?
        /// H.264 CRF, or nil for none (never set together with `jpegQuality`).
        public var h264CRF: Int?

        public init(rescale: Double? = nil, jpegQuality: Int? = nil, h264CRF: Int? = nil) {
            self.rescale = rescale
            self.jpegQuality = jpegQuality
            self.h264CRF = h264CRF
        }

        /// The image after the rescale and the compression pass (an image the codec cannot take stays
        /// as it is).
        public func apply(to image: RGBImage) -> RGBImage {
            var out = image
            if let rescale {
                let width = max(8, Int((Double(image.width) * rescale).rounded()))
                let height = max(8, Int((Double(image.height) * rescale).rounded()))
                out = out.resized(width: width, height: height).resized(width: image.width, height: image.height, antialias: false)
            }
            if let jpegQuality, let compressed = try? jpegRoundTrip(out, quality: jpegQuality) { out = compressed }
            if let h264CRF, let compressed = try? roundTrip([out], codec: .h264(crf: h264CRF)).first { out = compressed }
            return out
        }
    }

    /// Draws the rescale, then the codec and its quality.
    public func draw(using rng: inout SplitMix64) -> Draw {
        var draw = Draw()
        if rng.unit() < rescaleProbability { draw.rescale = rng.uniform(rescaleFactors) }
        if rng.unit() < compressionProbability {
            if h264Share > 0, rng.unit() < h264Share {
                draw.h264CRF = h264CRFs.lowerBound + Int(rng.next() % UInt64(h264CRFs.count))
            } else {
                draw.jpegQuality = jpegQualities.lowerBound + Int(rng.next() % UInt64(jpegQualities.count))
            }
        }
        return draw
    }
}

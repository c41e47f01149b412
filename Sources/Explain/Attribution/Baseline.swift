import Foundation
import Imaging
import Randomness

/// The reference input of integrated gradients: "the absence of the signal".
///
/// Every baseline is built in pixel space and passed through the model's ``Normalization``, so the
/// same choice means the same image whatever the normalisation.
public enum Baseline: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The input blurred with a Gaussian of standard deviation `sigma` pixels (edge replicated).
    /// Removes fine detail (blending seams, texture) while keeping colour and layout; the default
    /// (Kapishnikov et al. 2019 use blurred baselines for the same reason).
    case blurred(sigma: Double)
    /// Pixel value 0 in every channel, normalised.
    case black
    /// Uniform pixel noise in `0...1`, normalised; IG is averaged over `samples` draws
    /// (the "expected gradients" flavour, Erion et al. 2021), seeded.
    case uniformNoise(samples: Int, seed: UInt64)

    /// The default: a blur of sigma 8 pixels (about 1/28 of a 224-pixel crop).
    public static let `default` = Baseline.blurred(sigma: 8)

    /// Number of baseline draws this baseline averages over.
    public var sampleCount: Int {
        if case .uniformNoise(let samples, _) = self { return samples }
        return 1
    }

    /// A short name for the explanation document: `blur(8.0)`, `black`, `uniform(4)`.
    public var description: String {
        switch self {
        case .blurred(let sigma): return "blur(\(sigma))"
        case .black: return "black"
        case .uniformNoise(let samples, _): return "uniform(\(samples))"
        }
    }

    /// The baseline for one input.
    /// - Parameters:
    ///   - input: `[C, H, W]` normalised input.
    ///   - shape: its shape.
    ///   - normalization: the model's normalisation (pixel `0...1` -> input).
    ///   - sample: which draw, `0..<sampleCount` (only used by noise).
    /// - Returns: `[C, H, W]` normalised baseline.
    public func make(for input: [Float], shape: InputShape, normalization: Normalization, sample: Int = 0) -> [Float] {
        precondition(input.count == shape.count, "input has \(input.count) floats, shape \(shape) needs \(shape.count)")
        precondition(normalization.mean.count == shape.channels, "normalisation has \(normalization.mean.count) channels, input \(shape.channels)")
        let plane = shape.planeCount
        var out = [Float](repeating: 0, count: shape.count)
        switch self {
        case .blurred(let sigma):
            // Blur is linear with weights summing to 1 and normalisation is per-channel affine, so
            // blurring the normalised input equals normalising the blurred pixels.
            return GaussianBlur.planes(input, planes: shape.channels, height: shape.height, width: shape.width, sigma: sigma)
        case .black:
            for c in 0..<shape.channels {
                let v = normalization.normalise(0, channel: c)
                for i in 0..<plane { out[c * plane + i] = v }
            }
        case .uniformNoise(_, let seed):
            var rng = SplitMix64(seed: seed &+ UInt64(sample) &* 0x9E37_79B9_7F4A_7C15)
            out.withUnsafeMutableBufferPointer { o in
                for c in 0..<shape.channels {
                    let m = normalization.mean[c], s = normalization.std[c]
                    for i in 0..<plane { o[c * plane + i] = (rng.nextUnitFloat() - m) / s }
                }
            }
        }
        return out
    }
}

/// Separable Gaussian blur of planar Float images with edge replication (Imaging's `separableFilter`
/// on each plane).
public enum GaussianBlur {
    /// Blurs each of `planes` planes of `[planes, H, W]`.
    /// - Parameters:
    ///   - data: `[planes, H, W]` floats.
    ///   - sigma: standard deviation in pixels; 0 returns the input.
    /// - Returns: `[planes, H, W]` blurred.
    public static func planes(_ data: [Float], planes: Int, height: Int, width: Int, sigma: Double) -> [Float] {
        precondition(data.count == planes * height * width, "blur input has \(data.count) floats, expected \(planes * height * width)")
        precondition(sigma >= 0, "blur sigma must be non-negative, got \(sigma)")
        if sigma == 0 { return data }
        let taps = gaussianTaps(sigma: sigma)
        let size = height * width
        var out = [Float]()
        out.reserveCapacity(data.count)
        data.withUnsafeBufferPointer { all in
            for p in 0..<planes {
                let plane = UnsafeBufferPointer(rebasing: all[(p * size)..<((p + 1) * size)])
                out += separableFilter(plane, width: width, height: height, channels: 1, kernel: taps, edge: .clamp)
            }
        }
        return out
    }
}

extension SplitMix64 {
    /// Uniform in `[0, 1)` with 24 bits.
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }
    /// Standard normal draw as a `Float` (Box–Muller, the same draws as `normal()`).
    public mutating func nextGaussian() -> Float { Float(normal()) }
}

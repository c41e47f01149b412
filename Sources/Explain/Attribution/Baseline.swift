import Foundation
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

/// Separable Gaussian blur of planar Float images with edge replication.
public enum GaussianBlur {
    /// Normalised 1-D Gaussian taps over `±ceil(3 sigma)`.
    public static func kernel(sigma: Double) -> [Float] {
        precondition(sigma > 0, "blur sigma must be positive, got \(sigma)")
        let radius = max(1, Int(ceil(3 * sigma)))
        var taps = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = taps.reduce(0, +)
        taps = taps.map { $0 / total }
        return taps.map { Float($0) }
    }

    /// Blurs each of `planes` planes of `[planes, H, W]`.
    /// - Parameters:
    ///   - data: `[planes, H, W]` floats.
    ///   - sigma: standard deviation in pixels; 0 returns the input.
    /// - Returns: `[planes, H, W]` blurred.
    public static func planes(_ data: [Float], planes: Int, height: Int, width: Int, sigma: Double) -> [Float] {
        precondition(data.count == planes * height * width, "blur input has \(data.count) floats, expected \(planes * height * width)")
        precondition(sigma >= 0, "blur sigma must be non-negative, got \(sigma)")
        if sigma == 0 { return data }
        let taps = kernel(sigma: sigma)
        let radius = taps.count / 2
        var temp = [Float](repeating: 0, count: width * height)
        var out = data
        out.withUnsafeMutableBufferPointer { o in
            temp.withUnsafeMutableBufferPointer { t in
                taps.withUnsafeBufferPointer { k in
                    for p in 0..<planes {
                        let base = p * height * width
                        // Horizontal: [H, W] -> temp [H, W]
                        for y in 0..<height {
                            let row = base + y * width
                            for x in 0..<width {
                                var acc: Float = 0
                                for r in -radius...radius {
                                    let xx = min(max(x + r, 0), width - 1)
                                    acc += k[r + radius] * o[row + xx]
                                }
                                t[y * width + x] = acc
                            }
                        }
                        // Vertical: temp [H, W] -> out plane
                        for y in 0..<height {
                            for x in 0..<width { o[base + y * width + x] = 0 }
                            for r in -radius...radius {
                                let yy = min(max(y + r, 0), height - 1)
                                let w = k[r + radius]
                                let src = yy * width, dst = base + y * width
                                for x in 0..<width { o[dst + x] += w * t[src + x] }
                            }
                        }
                    }
                }
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

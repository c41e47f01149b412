import Foundation
import Imaging
import Randomness

// Fast kernels of the frame-wise perturbations. Robustness runs apply every perturbation to every
// sampled frame of every clip, so these loops are written to vectorise: contiguous inner loops over
// whole padded rows, no index clamping inside them.

/// Standard-normal quantiles at `(i + 0.5) / 65536`, `i = 0..<65536`: a 16-bit random index gives a
/// Gaussian sample in one load. The discretisation clips the tails at ±4.42 σ and keeps the variance
/// within 0.1% of 1 (the largest gap between neighbouring entries is in the tails).
let gaussianQuantiles: [Float] = (0..<65536).map { Float(inverseNormalCDF((Double($0) + 0.5) / 65536)) }

/// Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.15e-9,
/// refined with one Halley step).
func inverseNormalCDF(_ p: Double) -> Double {
    precondition(p > 0 && p < 1, "inverseNormalCDF needs p in (0, 1)")
    let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
    let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
             6.680131188771972e+01, -1.328068155288572e+01]
    let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
    let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
    let low = 0.02425
    var x: Double
    if p < low {
        let q = (-2 * log(p)).squareRoot()
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    } else if p <= 1 - low {
        let q = p - 0.5, r = q * q
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    } else {
        let q = (-2 * log(1 - p)).squareRoot()
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    }
    // Halley refinement against erfc.
    let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
    let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
    x -= u / (1 + x * u / 2)
    return x
}

/// Adds `std * N(0, 1)` to every byte, rounding and clamping. Four 16-bit table indices per 64-bit draw.
/// `[H, W, 3]` bytes -> same layout.
func addGaussianNoise(_ pixels: inout [UInt8], std: Float, seed: UInt64) {
    var generator = SplitMix64(seed: seed)
    gaussianQuantiles.withUnsafeBufferPointer { table in
        pixels.withUnsafeMutableBufferPointer { p in
            var i = 0
            let n = p.count
            while i < n {
                var bits = generator.next()
                for _ in 0..<4 where i < n {
                    let v = Float(p[i]) + std * table[Int(bits & 0xFFFF)]
                    p[i] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v + 0.5))
                    bits >>= 16
                    i += 1
                }
            }
        }
    }
}

/// Separable Gaussian blur of interleaved RGB bytes with edge replication: the same filter as
/// Imaging's `gaussianBlurred(sigma:)` (taps `exp(-k^2 / 2 sigma^2)`, `k = -r...r`, `r = ceil(3 sigma)`,
/// normalised), computed on padded rows so the inner loops vectorise.
/// `[H, W, 3]` bytes -> `[H, W, 3]` bytes.
func fastGaussianBlur(_ image: RGBImage, sigma: Double) -> RGBImage {
    let radius = max(1, Int((3 * sigma).rounded(.up)))
    var taps = (-radius...radius).map { k in exp(-Double(k * k) / (2 * sigma * sigma)) }
    let total = taps.reduce(0, +)
    taps = taps.map { $0 / total }
    let kernel = taps.map { Float($0) }
    let w = image.width, h = image.height, rowLength = w * 3
    let paddedLength = (w + 2 * radius) * 3
    var padded = [Float](repeating: 0, count: paddedLength)
    var middle = [Float](repeating: 0, count: rowLength * h)
    var output = [UInt8](repeating: 0, count: rowLength * h)
    kernel.withUnsafeBufferPointer { k in
        image.pixels.withUnsafeBufferPointer { src in
            padded.withUnsafeMutableBufferPointer { pad in
                middle.withUnsafeMutableBufferPointer { mid in
                    // Horizontal: replicate-pad each row, then accumulate shifted copies.
                    for y in 0..<h {
                        let row = y * rowLength
                        for x in 0..<(w + 2 * radius) {
                            let sx = min(max(x - radius, 0), w - 1) * 3
                            pad[3 * x] = Float(src[row + sx]); pad[3 * x + 1] = Float(src[row + sx + 1])
                            pad[3 * x + 2] = Float(src[row + sx + 2])
                        }
                        let out = mid.baseAddress! + row
                        for i in 0..<rowLength { out[i] = 0 }
                        for t in 0..<k.count {
                            let weight = k[t]
                            let shifted = pad.baseAddress! + 3 * t
                            for i in 0..<rowLength { out[i] += weight * shifted[i] }
                        }
                    }
                }
            }
            // Vertical: accumulate whole rows, clamped row index per tap (outside the inner loop).
            middle.withUnsafeBufferPointer { mid in
                padded.withUnsafeMutableBufferPointer { accumulator in
                    output.withUnsafeMutableBufferPointer { dst in
                        let acc = accumulator.baseAddress!
                        for y in 0..<h {
                            for i in 0..<rowLength { acc[i] = 0 }
                            for t in 0..<k.count {
                                let sy = min(max(y + t - radius, 0), h - 1)
                                let weight = k[t]
                                let source = mid.baseAddress! + sy * rowLength
                                for i in 0..<rowLength { acc[i] += weight * source[i] }
                            }
                            let base = y * rowLength
                            for i in 0..<rowLength {
                                let v = acc[i]
                                dst[base + i] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v + 0.5))
                            }
                        }
                    }
                }
            }
        }
    }
    return RGBImage(width: w, height: h, pixels: output)
}

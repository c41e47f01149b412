import Foundation

// Colour operations on `PlaneRGB` buffers, all in place, `[h, w, 3] -> [h, w, 3]`, 0...255 scale.
// Values may leave 0...255 in between; `composite` clamps once at the end.

/// Per-channel `v -> ((v - 128) * contrast + 128) * gain + offset`, then saturation about the
/// BT.601 luma: `v -> luma + (v - luma) * saturation`.
func colourJitter(_ plane: inout PlaneRGB, gains: [Float], offsets: [Float], contrast: Float, saturation: Float) {
    precondition(gains.count == 3 && offsets.count == 3, "colourJitter: needs three gains and three offsets")
    let g0 = gains[0], g1 = gains[1], g2 = gains[2], o0 = offsets[0], o1 = offsets[1], o2 = offsets[2]
    plane.values.withUnsafeMutableBufferPointer { v in
        var i = 0
        while i < v.count {
            let r = ((v[i] - 128) * contrast + 128) * g0 + o0
            let g = ((v[i + 1] - 128) * contrast + 128) * g1 + o1
            let b = ((v[i + 2] - 128) * contrast + 128) * g2 + o2
            let luma = 0.299 * r + 0.587 * g + 0.114 * b
            v[i] = luma + (r - luma) * saturation
            v[i + 1] = luma + (g - luma) * saturation
            v[i + 2] = luma + (b - luma) * saturation
            i += 3
        }
    }
}

/// Unsharp masking `v -> v + amount * (v - blur_sigma(v))`; a negative `amount` (down to -1) blurs.
func unsharp(_ plane: inout PlaneRGB, sigma: Float, amount: Float) {
    guard amount != 0, sigma >= 0.3 else { return }
    var blurred = plane.values
    gaussianBlur(&blurred, width: plane.width, height: plane.height, channels: 3, sigma: sigma, edge: .clamp)
    plane.values.withUnsafeMutableBufferPointer { v in
        blurred.withUnsafeBufferPointer { b in
            for i in 0..<v.count { v[i] += amount * (v[i] - b[i]) }
        }
    }
}

/// RGB -> full-range BT.601 YCbCr (a luma–chroma space), in place.
func toYCbCr(_ plane: inout PlaneRGB) {
    plane.values.withUnsafeMutableBufferPointer { v in
        var i = 0
        while i < v.count {
            let r = v[i], g = v[i + 1], b = v[i + 2]
            v[i] = 0.299 * r + 0.587 * g + 0.114 * b
            v[i + 1] = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
            v[i + 2] = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
            i += 3
        }
    }
}

/// Full-range BT.601 YCbCr -> RGB, in place.
func fromYCbCr(_ plane: inout PlaneRGB) {
    plane.values.withUnsafeMutableBufferPointer { v in
        var i = 0
        while i < v.count {
            let y = v[i], cb = v[i + 1] - 128, cr = v[i + 2] - 128
            v[i] = y + 1.402 * cr
            v[i + 1] = y - 0.344136 * cb - 0.714136 * cr
            v[i + 2] = y + 1.772 * cb
            i += 3
        }
    }
}

/// Weighted per-channel mean and standard deviation of a plane. `[h, w, 3], [h, w] -> 3 + 3`.
func weightedStatistics(_ plane: PlaneRGB, weights: [Float]) -> (mean: [Float], std: [Float]) {
    var sum = [Double](repeating: 0, count: 3), sumSq = [Double](repeating: 0, count: 3)
    var total: Double = 0
    plane.values.withUnsafeBufferPointer { v in
        weights.withUnsafeBufferPointer { w in
            for p in 0..<w.count where w[p] > 0 {
                let weight = Double(w[p])
                total += weight
                for ch in 0..<3 {
                    let value = Double(v[p * 3 + ch])
                    sum[ch] += weight * value
                    sumSq[ch] += weight * value * value
                }
            }
        }
    }
    guard total > 0 else { return ([128, 128, 128], [1, 1, 1]) }
    var mean = [Float](repeating: 0, count: 3), std = [Float](repeating: 1, count: 3)
    for ch in 0..<3 {
        let m = sum[ch] / total
        mean[ch] = Float(m)
        std[ch] = Float(max(1e-3, sumSq[ch] / total - m * m).squareRoot())
    }
    return (mean, std)
}

/// Reinhard colour transfer (Reinhard, Ashikhmin, Gooch and Shirley, IEEE CG&A 2001, "Color Transfer
/// between Images") in YCbCr rather than lαβ: each channel of `source` is standardised with its own
/// weighted statistics and given those of `reference`, then mixed with the original by `strength`:
/// ```
/// s' = (s - mean_s) * (std_r / std_s) + mean_r,   out = s + strength * (s' - s)
/// ```
/// The standard-deviation ratio is clamped to `0.5 ... 2` so that a flat region cannot explode.
func reinhardTransfer(_ source: inout PlaneRGB, reference: PlaneRGB, weights: [Float], strength: Float) {
    precondition(source.values.count == reference.values.count, "reinhardTransfer: planes must have the same size")
    guard strength > 0 else { return }
    var src = source, ref = reference
    toYCbCr(&src)
    toYCbCr(&ref)
    let s = weightedStatistics(src, weights: weights), r = weightedStatistics(ref, weights: weights)
    var scale = [Float](repeating: 1, count: 3)
    for ch in 0..<3 { scale[ch] = min(2, max(0.5, r.std[ch] / s.std[ch])) }
    src.values.withUnsafeMutableBufferPointer { v in
        var i = 0
        while i < v.count {
            for ch in 0..<3 { v[i + ch] = (v[i + ch] - s.mean[ch]) * scale[ch] + r.mean[ch] }
            i += 3
        }
    }
    fromYCbCr(&src)
    source.values.withUnsafeMutableBufferPointer { out in
        src.values.withUnsafeBufferPointer { t in
            for i in 0..<out.count { out[i] += strength * (t[i] - out[i]) }
        }
    }
}

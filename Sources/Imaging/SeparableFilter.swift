import Foundation

/// How a separable filter reads outside the image.
public enum FilterEdge: Sendable {
    /// Outside is zero (masks: nothing outside the region is blended).
    case zero
    /// Outside repeats the nearest edge value (images).
    case clamp
}

/// Normalised 1-D Gaussian taps `exp(-k² / (2 sigma²))`, `k = -r...r`, `r = max(1, ceil(3 sigma))`,
/// computed and normalised in Double.
public func gaussianTaps(sigma: Double) -> [Float] {
    precondition(sigma > 0, "Gaussian sigma must be positive, got \(sigma)")
    let radius = max(1, Int((3 * sigma).rounded(.up)))
    var taps = (-radius...radius).map { k -> Double in exp(-Double(k * k) / (2 * sigma * sigma)) }
    let total = taps.reduce(0, +)
    taps = taps.map { $0 / total }
    return taps.map { Float($0) }
}

/// Separable convolution of interleaved `[H, W, C]` floats with an odd-length 1-D kernel, along rows then
/// along columns. The one implementation behind every blur in Glassbox (images, masks, attribution
/// baselines): each output sums its taps in kernel order, so a given kernel gives the same bits whichever
/// caller asks.
/// - Parameters:
///   - source: `[H, W, C]` values.
///   - kernel: `2r + 1` taps, centre at index `r`.
///   - edge: what lies outside the image.
/// - Returns: `[H, W, C]` filtered values.
public func separableFilter(_ source: UnsafeBufferPointer<Float>, width: Int, height: Int, channels: Int,
                            kernel: [Float], edge: FilterEdge) -> [Float] {
    precondition(source.count == width * height * channels,
                 "separableFilter: \(source.count) values do not match \(width)x\(height)x\(channels)")
    precondition(kernel.count % 2 == 1, "separableFilter: the kernel needs an odd number of taps")
    let radius = kernel.count / 2
    var rows = [Float](repeating: 0, count: source.count)
    var output = [Float](repeating: 0, count: source.count)
    kernel.withUnsafeBufferPointer { k in
        rows.withUnsafeMutableBufferPointer { dst in
            // Along rows: interior pixels without bounds checks, the borders with them.
            for y in 0..<height {
                let row = y * width * channels
                for x in 0..<width {
                    let interior = x >= radius && x + radius < width
                    for c in 0..<channels {
                        var sum: Float = 0
                        if interior {
                            var p = row + (x - radius) * channels + c
                            for t in 0..<k.count { sum += k[t] * source[p]; p += channels }
                        } else {
                            for t in 0..<k.count {
                                var sx = x + t - radius
                                if sx < 0 || sx >= width {
                                    if edge == .zero { continue }
                                    sx = min(max(sx, 0), width - 1)
                                }
                                sum += k[t] * source[row + sx * channels + c]
                            }
                        }
                        dst[row + x * channels + c] = sum
                    }
                }
            }
        }
        rows.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                // Along columns, whole rows at a time.
                let rowLength = width * channels
                for y in 0..<height {
                    let base = y * rowLength
                    for t in 0..<k.count {
                        var sy = y + t - radius
                        if sy < 0 || sy >= height {
                            if edge == .zero { continue }
                            sy = min(max(sy, 0), height - 1)
                        }
                        let w = k[t], from = sy * rowLength
                        for i in 0..<rowLength { dst[base + i] += w * src[from + i] }
                    }
                }
            }
        }
    }
    return output
}

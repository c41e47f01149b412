import Foundation
import Imaging

/// A normalised 1-D Gaussian kernel with radius `ceil(3 sigma)`.
func gaussianKernel(sigma: Float) -> [Float] {
    let radius = max(1, Int((3 * sigma).rounded(.up)))
    var weights = [Float](repeating: 0, count: 2 * radius + 1)
    var total: Float = 0
    for i in -radius...radius {
        let w = expf(-Float(i * i) / (2 * sigma * sigma))
        weights[i + radius] = w
        total += w
    }
    for i in weights.indices { weights[i] /= total }
    return weights
}

/// Separable Gaussian blur in place (Imaging's `separableFilter` with this module's Float-computed taps).
/// `[h, w, channels] -> [h, w, channels]`.
///
/// Cost `O(h w channels (6 sigma + 1))`; `sigma < 0.3` is a no-op.
func gaussianBlur(_ values: inout [Float], width: Int, height: Int, channels: Int, sigma: Float, edge: FilterEdge) {
    precondition(values.count == width * height * channels, "gaussianBlur: buffer does not match \(width)x\(height)x\(channels)")
    guard sigma >= 0.3 else { return }
    let kernel = gaussianKernel(sigma: sigma)
    values = values.withUnsafeBufferPointer {
        separableFilter($0, width: width, height: height, channels: channels, kernel: kernel, edge: edge)
    }
}

/// How a plane is brought back up to size after downsampling.
public enum UpsamplingKernel: String, Codable, Sendable, CaseIterable {
    /// Pixel replication: blocky edges.
    case nearest
    /// Bilinear interpolation: soft, slightly blurred.
    case bilinear
    /// A stride-`s` transposed convolution with kernel size `s + 1`, whose uneven overlap leaves the
    /// periodic "checkerboard" of generator upsampling layers (Odena, Dumoulin and Olah, Distill 2016,
    /// "Deconvolution and Checkerboard Artifacts").
    case checkerboard
}

/// Resizes `[h, w, 3] -> [outHeight, outWidth, 3]` with half-pixel centres. Bilinear when enlarging;
/// when shrinking by more than 1.5x the plane is first box-averaged so that the result is not aliased.
func resize(_ plane: PlaneRGB, width outWidth: Int, height outHeight: Int, nearest: Bool = false) -> PlaneRGB {
    precondition(outWidth > 0 && outHeight > 0, "resize: output must be at least 1x1")
    var input = plane
    if !nearest && (Double(plane.width) / Double(outWidth) > 1.5 || Double(plane.height) / Double(outHeight) > 1.5) {
        let sigma = Float(max(Double(plane.width) / Double(outWidth), Double(plane.height) / Double(outHeight))) * 0.45
        gaussianBlur(&input.values, width: input.width, height: input.height, channels: 3, sigma: sigma, edge: .clamp)
    }
    var out = PlaneRGB(width: outWidth, height: outHeight)
    let inWidth = input.width, inHeight = input.height
    let scaleX = Float(inWidth) / Float(outWidth), scaleY = Float(inHeight) / Float(outHeight)
    input.values.withUnsafeBufferPointer { src in
        out.values.withUnsafeMutableBufferPointer { dst in
            for y in 0..<outHeight {
                let syRaw = (Float(y) + 0.5) * scaleY - 0.5
                if nearest {
                    let sy = min(inHeight - 1, Int((Float(y) + 0.5) * scaleY))
                    for x in 0..<outWidth {
                        let sx = min(inWidth - 1, Int((Float(x) + 0.5) * scaleX))
                        for ch in 0..<3 { dst[(y * outWidth + x) * 3 + ch] = src[(sy * inWidth + sx) * 3 + ch] }
                    }
                    continue
                }
                let sy = min(max(syRaw, 0), Float(inHeight - 1))
                let y0 = Int(sy), y1 = min(y0 + 1, inHeight - 1), wy = sy - Float(y0)
                for x in 0..<outWidth {
                    let sx = min(max((Float(x) + 0.5) * scaleX - 0.5, 0), Float(inWidth - 1))
                    let x0 = Int(sx), x1 = min(x0 + 1, inWidth - 1), wx = sx - Float(x0)
                    for ch in 0..<3 {
                        let p00 = src[(y0 * inWidth + x0) * 3 + ch], p01 = src[(y0 * inWidth + x1) * 3 + ch]
                        let p10 = src[(y1 * inWidth + x0) * 3 + ch], p11 = src[(y1 * inWidth + x1) * 3 + ch]
                        let top = p00 + (p01 - p00) * wx, bottom = p10 + (p11 - p10) * wx
                        dst[(y * outWidth + x) * 3 + ch] = top + (bottom - top) * wy
                    }
                }
            }
        }
    }
    return out
}

/// A separable stride-`stride` transposed convolution with 1-D taps `taps` (length `stride + 1`),
/// cropped to `[outHeight, outWidth, 3]`. `[h, w, 3] -> [outHeight, outWidth, 3]`.
///
/// ```
/// out[o] = sum over (i, k) with i * stride + k == o of in[i] * taps[k]
/// ```
/// With `taps` summing to `stride`, the average gain is 1 but positions covered by two taps and by one
/// alternate: the checkerboard.
func transposedConvolution(_ plane: PlaneRGB, stride: Int, taps: [Float], width outWidth: Int, height outHeight: Int) -> PlaneRGB {
    precondition(stride >= 1 && !taps.isEmpty, "transposedConvolution: needs a positive stride and taps")
    // Rows first: [h, w, 3] -> [h, outWidth, 3].
    var wide = [Float](repeating: 0, count: plane.height * outWidth * 3)
    plane.values.withUnsafeBufferPointer { src in
        wide.withUnsafeMutableBufferPointer { dst in
            taps.withUnsafeBufferPointer { k in
                for y in 0..<plane.height {
                    for x in 0..<plane.width {
                        for t in 0..<k.count {
                            let ox = x * stride + t
                            if ox >= outWidth { break }
                            for ch in 0..<3 {
                                dst[(y * outWidth + ox) * 3 + ch] += k[t] * src[(y * plane.width + x) * 3 + ch]
                            }
                        }
                    }
                }
            }
        }
    }
    var out = PlaneRGB(width: outWidth, height: outHeight)
    wide.withUnsafeBufferPointer { src in
        out.values.withUnsafeMutableBufferPointer { dst in
            taps.withUnsafeBufferPointer { k in
                let rowLength = outWidth * 3
                for y in 0..<plane.height {
                    for t in 0..<k.count {
                        let oy = y * stride + t
                        if oy >= outHeight { break }
                        for i in 0..<rowLength { dst[oy * rowLength + i] += k[t] * src[y * rowLength + i] }
                    }
                }
            }
        }
    }
    return out
}

// Separable resampling (bilinear / triangle filter) for RGB and gray images.
//
// Coordinate convention used throughout Imaging: pixel (i, j) covers the square [i, i+1) x [j, j+1),
// so its centre is (i + 0.5, j + 0.5) and a `Box(x: 0, y: 0, width: W, height: H)` is the whole image.

/// Precomputed taps of a 1-D triangle-filter resampling (`outputCount` outputs from `inputCount` inputs).
///
/// Layout: for output `o`, taps are `indices[o*taps ..< o*taps + count[o]]` with weights alongside.
struct ResampleTaps {
    let taps: Int
    var start: [Int32]
    var count: [Int32]
    var indices: [Int32]
    var weights: [Float]

    /// - Parameters:
    ///   - inputCount: source length.
    ///   - outputCount: destination length.
    ///   - antialias: when shrinking, widen the triangle to `1/scale` source pixels (as PIL does) so that
    ///     every source pixel contributes; otherwise plain two-tap bilinear (as OpenCV's `INTER_LINEAR`).
    init(inputCount: Int, outputCount: Int, antialias: Bool) {
        let scale = Double(outputCount) / Double(inputCount)
        let support = (antialias && scale < 1) ? 1 / scale : 1.0
        let taps = Int((support * 2).rounded(.up)) + 2
        self.taps = taps
        start = [Int32](repeating: 0, count: outputCount)
        count = [Int32](repeating: 0, count: outputCount)
        indices = [Int32](repeating: 0, count: outputCount * taps)
        weights = [Float](repeating: 0, count: outputCount * taps)
        for o in 0..<outputCount {
            // Source coordinate of the output pixel centre, in "pixel index" units (centre of pixel i is i).
            let centre = (Double(o) + 0.5) / scale - 0.5
            let low = Int((centre - support).rounded(.up))
            let high = Int((centre + support).rounded(.down))
            var total = 0.0
            var n = 0
            var local = [(Int, Double)]()
            for i in low...high {
                let w = max(0, 1 - abs(Double(i) - centre) / support)
                if w <= 0 { continue }
                let clamped = min(max(i, 0), inputCount - 1)
                local.append((clamped, w))
                total += w
                n += 1
            }
            if n == 0 {  // centre exactly between taps of a degenerate filter: nearest pixel
                local = [(min(max(Int(centre.rounded()), 0), inputCount - 1), 1)]
                total = 1
                n = 1
            }
            precondition(n <= taps, "resample: \(n) taps exceed the reserved \(taps)")
            count[o] = Int32(n)
            for (k, (index, w)) in local.enumerated() {
                indices[o * taps + k] = Int32(index)
                weights[o * taps + k] = Float(w / total)
            }
        }
    }
}

/// Resamples interleaved Float rows: `[H, W, C]` -> `[outH, outW, C]` in two separable passes.
func resamplePlanes(_ source: UnsafeBufferPointer<Float>, width: Int, height: Int, channels: Int,
                    outputWidth: Int, outputHeight: Int, antialias: Bool) -> [Float] {
    let horizontal = ResampleTaps(inputCount: width, outputCount: outputWidth, antialias: antialias)
    let vertical = ResampleTaps(inputCount: height, outputCount: outputHeight, antialias: antialias)
    // Pass 1: [H, W, C] -> [H, outW, C]
    var middle = [Float](repeating: 0, count: height * outputWidth * channels)
    middle.withUnsafeMutableBufferPointer { mid in
        horizontal.indices.withUnsafeBufferPointer { idx in
            horizontal.weights.withUnsafeBufferPointer { wts in
                horizontal.count.withUnsafeBufferPointer { cnt in
                    let taps = horizontal.taps
                    for y in 0..<height {
                        let row = y * width * channels
                        let outRow = y * outputWidth * channels
                        for o in 0..<outputWidth {
                            let n = Int(cnt[o])
                            for c in 0..<channels {
                                var sum: Float = 0
                                for k in 0..<n {
                                    sum += wts[o * taps + k] * source[row + Int(idx[o * taps + k]) * channels + c]
                                }
                                mid[outRow + o * channels + c] = sum
                            }
                        }
                    }
                }
            }
        }
    }
    // Pass 2: [H, outW, C] -> [outH, outW, C]
    let rowLength = outputWidth * channels
    var output = [Float](repeating: 0, count: outputHeight * rowLength)
    output.withUnsafeMutableBufferPointer { out in
        middle.withUnsafeBufferPointer { mid in
            vertical.indices.withUnsafeBufferPointer { idx in
                vertical.weights.withUnsafeBufferPointer { wts in
                    vertical.count.withUnsafeBufferPointer { cnt in
                        let taps = vertical.taps
                        for o in 0..<outputHeight {
                            let base = o * rowLength
                            for k in 0..<Int(cnt[o]) {
                                let w = wts[o * taps + k]
                                let src = Int(idx[o * taps + k]) * rowLength
                                for i in 0..<rowLength { out[base + i] += w * mid[src + i] }
                            }
                        }
                    }
                }
            }
        }
    }
    return output
}

@inline(__always) func clampToByte(_ value: Float) -> UInt8 {
    if !(value > 0) { return 0 }  // also catches NaN
    if value >= 255 { return 255 }
    return UInt8(value + 0.5)
}

extension RGBImage {
    /// Resizes with a triangle (bilinear) filter.
    ///
    /// With `antialias` (default) shrinking averages over the whole footprint of each output pixel
    /// (like PIL's `BILINEAR`), so large reductions do not alias; without it, it is the two-tap bilinear
    /// interpolation of OpenCV's `INTER_LINEAR`. Pixel centres are aligned (`align_corners=False`).
    /// - Parameters:
    ///   - width: output width, at least 1.
    ///   - height: output height, at least 1.
    ///   - antialias: widen the filter when shrinking.
    /// - Returns: the resized image (the same image when the size is unchanged).
    public func resized(width newWidth: Int, height newHeight: Int, antialias: Bool = true) -> RGBImage {
        precondition(newWidth > 0 && newHeight > 0, "resize target must be positive, got \(newWidth)x\(newHeight)")
        if newWidth == width && newHeight == height { return self }
        let floats = pixels.map { Float($0) }
        let out = floats.withUnsafeBufferPointer {
            resamplePlanes($0, width: width, height: height, channels: 3,
                           outputWidth: newWidth, outputHeight: newHeight, antialias: antialias)
        }
        var bytes = [UInt8](repeating: 0, count: out.count)
        bytes.withUnsafeMutableBufferPointer { b in
            out.withUnsafeBufferPointer { o in for i in 0..<o.count { b[i] = clampToByte(o[i]) } }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: bytes)
    }
}

extension GrayImage {
    /// Resizes with a triangle (bilinear) filter; see ``RGBImage/resized(width:height:antialias:)``.
    public func resized(width newWidth: Int, height newHeight: Int, antialias: Bool = true) -> GrayImage {
        precondition(newWidth > 0 && newHeight > 0, "resize target must be positive, got \(newWidth)x\(newHeight)")
        if newWidth == width && newHeight == height { return self }
        let out = values.withUnsafeBufferPointer {
            resamplePlanes($0, width: width, height: height, channels: 1,
                           outputWidth: newWidth, outputHeight: newHeight, antialias: antialias)
        }
        return GrayImage(width: newWidth, height: newHeight, values: out)
    }
}

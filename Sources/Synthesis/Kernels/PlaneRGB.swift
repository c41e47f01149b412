import Imaging

/// A floating-point RGB buffer `[H, W, 3]`, channels interleaved, values on the 0...255 scale.
/// Generators build their source face in one of these over a `PixelRegion`, then composite.
struct PlaneRGB: Sendable {
    var width: Int
    var height: Int
    var values: [Float]

    init(width: Int, height: Int, values: [Float]) {
        precondition(values.count == width * height * 3, "PlaneRGB \(width)x\(height) needs \(width * height * 3) values")
        self.width = width
        self.height = height
        self.values = values
    }

    init(width: Int, height: Int) {
        self.init(width: width, height: height, values: [Float](repeating: 0, count: width * height * 3))
    }
}

// MARK: - Extract and sample

/// Copies `region` of `image` into a float buffer. `[H, W, 3] UInt8 -> [h, w, 3] Float`.
func extract(_ image: RGBImage, region: PixelRegion) -> PlaneRGB {
    var out = PlaneRGB(width: region.width, height: region.height)
    let frameWidth = image.width
    image.pixels.withUnsafeBufferPointer { src in
        out.values.withUnsafeMutableBufferPointer { dst in
            for y in 0..<region.height {
                let srcRow = ((region.y + y) * frameWidth + region.x) * 3
                let dstRow = y * region.width * 3
                for i in 0..<(region.width * 3) {
                    dst[dstRow + i] = Float(src[srcRow + i])
                }
            }
        }
    }
    return out
}

/// Samples `image` bilinearly at `map(p)` for every pixel `p` of `region` (frame coordinates,
/// pixel centres at integers), clamping to the image edge. `[H, W, 3] -> [h, w, 3]`.
///
/// `map` takes an output pixel to the position to read in `image` (the inverse of the warp that is
/// being applied).
func sampleBilinear(_ image: RGBImage, region: PixelRegion, map: Affine2D) -> PlaneRGB {
    var out = PlaneRGB(width: region.width, height: region.height)
    let width = image.width, height = image.height
    let maxX = Float(width - 1), maxY = Float(height - 1)
    let a = Float(map.a), c = Float(map.c)
    image.pixels.withUnsafeBufferPointer { src in
        out.values.withUnsafeMutableBufferPointer { dst in
            var o = 0
            for y in 0..<region.height {
                let fy = Double(region.y + y)
                let fx0 = Double(region.x)
                var sx = Float(map.a * fx0 + map.b * fy + map.tx)
                var sy = Float(map.c * fx0 + map.d * fy + map.ty)
                for _ in 0..<region.width {
                    let cx = min(max(sx, 0), maxX), cy = min(max(sy, 0), maxY)
                    let x0 = Int(cx), y0 = Int(cy)
                    let x1 = min(x0 + 1, width - 1), y1 = min(y0 + 1, height - 1)
                    let wx = cx - Float(x0), wy = cy - Float(y0)
                    let p00 = (y0 * width + x0) * 3, p01 = (y0 * width + x1) * 3
                    let p10 = (y1 * width + x0) * 3, p11 = (y1 * width + x1) * 3
                    for ch in 0..<3 {
                        let top = Float(src[p00 + ch]) + (Float(src[p01 + ch]) - Float(src[p00 + ch])) * wx
                        let bottom = Float(src[p10 + ch]) + (Float(src[p11 + ch]) - Float(src[p10 + ch])) * wx
                        dst[o + ch] = top + (bottom - top) * wy
                    }
                    o += 3
                    sx += a
                    sy += c
                }
            }
        }
    }
    return out
}

// MARK: - Composite

/// Blends `source` into a copy of `target` inside `region`:
/// ```
/// out = m * source + (1 - m) * target,   m = mask[y, x] in [0, 1]
/// ```
/// Mask values below 1/1024 are set to exactly 0 so that the returned frame-size mask is zero
/// wherever the frame is unchanged. `[h, w, 3] + [h, w] -> [H, W, 3] + [H, W]`.
func composite(target: RGBImage, source: PlaneRGB, mask: [Float], region: PixelRegion) -> SynthesizedFrame {
    precondition(source.width == region.width && source.height == region.height, "composite: source must match the region")
    precondition(mask.count == region.count, "composite: mask must match the region")
    var pixels = target.pixels
    var full = [Float](repeating: 0, count: target.width * target.height)
    let frameWidth = target.width
    pixels.withUnsafeMutableBufferPointer { dst in
        full.withUnsafeMutableBufferPointer { fullMask in
            source.values.withUnsafeBufferPointer { src in
                mask.withUnsafeBufferPointer { m in
                    for y in 0..<region.height {
                        let frameRow = (region.y + y) * frameWidth + region.x
                        for x in 0..<region.width {
                            var alpha = m[y * region.width + x]
                            if !(alpha >= 1.0 / 1024) { continue }  // also skips NaN
                            if alpha > 1 { alpha = 1 }
                            fullMask[frameRow + x] = alpha
                            let s = (y * region.width + x) * 3, t = (frameRow + x) * 3
                            for ch in 0..<3 {
                                let tv = Float(dst[t + ch])
                                let v = tv + (src[s + ch] - tv) * alpha
                                dst[t + ch] = UInt8(min(max(v + 0.5, 0), 255))
                            }
                        }
                    }
                }
            }
        }
    }
    return SynthesizedFrame(image: RGBImage(width: target.width, height: target.height, pixels: pixels),
                            mask: GrayImage(width: target.width, height: target.height, values: full))
}

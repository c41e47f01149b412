import Imaging

/// An 8-bit gray image, row-major `[H, W]`: the detector's working format.
struct GrayBytes: Sendable {
    var width: Int
    var height: Int
    var pixels: [UInt8]

    /// Gray of an RGB image with OpenCV's rounding (see `RGBImage.lumaBytes()`).
    init(_ image: RGBImage) {
        width = image.width; height = image.height; pixels = image.lumaBytes()
    }

    init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height, "GrayBytes \(width)x\(height) needs \(width * height) bytes")
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// The sub-image `x ..< x+w`, `y ..< y+h` (must lie inside).
    func cropped(x: Int, y: Int, width w: Int, height h: Int) -> GrayBytes {
        precondition(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= width && y + h <= height, "gray crop outside the image")
        var out = [UInt8](repeating: 0, count: w * h)
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for row in 0..<h { for col in 0..<w { dst[row * w + col] = src[(y + row) * width + x + col] } }
            }
        }
        return GrayBytes(width: w, height: h, pixels: out)
    }

    /// Resized with the bilinear filter of Imaging (antialiased when shrinking if `antialias`).
    func resized(width newWidth: Int, height newHeight: Int, antialias: Bool) -> GrayBytes {
        if newWidth == width && newHeight == height { return self }
        let gray = GrayImage(width: width, height: height, values: pixels.map { Float($0) })
        let small = gray.resized(width: newWidth, height: newHeight, antialias: antialias)
        var out = [UInt8](repeating: 0, count: newWidth * newHeight)
        out.withUnsafeMutableBufferPointer { dst in
            small.values.withUnsafeBufferPointer { src in
                for i in 0..<src.count { dst[i] = UInt8(min(max(src[i] + 0.5, 0), 255)) }
            }
        }
        return GrayBytes(width: newWidth, height: newHeight, pixels: out)
    }
}

/// Summed-area tables of a gray image (Crow, SIGGRAPH 1984; Viola and Jones, CVPR 2001).
///
/// Layout: `(H + 1)` rows of `stride >= W + 1` entries, row-major, with a zero first row and column
/// (columns beyond `W` unused), so for `0 <= x <= W`, `0 <= y <= H`:
/// ```
/// sum[y * stride + x]    = Σ_{y' < y, x' < x} I(x', y')
/// square[y * stride + x] = Σ_{y' < y, x' < x} I(x', y')²
/// tilted[y * stride + x] = Σ_{y' < y, |x' - x + 1| <= y - y' - 1} I(x', y')    (OpenCV's rotated table)
/// ```
/// Sums are kept in wrapping 32-bit arithmetic, as OpenCV does: differences over a window are exact
/// whenever the window's true sum fits in 32 bits, however large the image.
struct IntegralImage {
    let width: Int
    let height: Int
    /// Row length of the tables, at least `width + 1`; a common stride lets one bound cascade serve
    /// every pyramid level.
    let stride: Int
    var sum: [Int32]
    var square: [Int32]
    var tilted: [Int32]?

    init(_ gray: GrayBytes, stride requestedStride: Int? = nil, tilted withTilted: Bool = false) {
        width = gray.width; height = gray.height
        let stride = max(requestedStride ?? 0, gray.width + 1)
        self.stride = stride
        var sum = [Int32](repeating: 0, count: stride * (gray.height + 1))
        var square = [Int32](repeating: 0, count: stride * (gray.height + 1))
        let w = gray.width, h = gray.height
        sum.withUnsafeMutableBufferPointer { s in
            square.withUnsafeMutableBufferPointer { q in
                gray.pixels.withUnsafeBufferPointer { p in
                    for y in 0..<h {
                        var rowSum: Int32 = 0, rowSquare: Int32 = 0
                        let above = y * stride, here = (y + 1) * stride
                        for x in 0..<w {
                            let v = Int32(p[y * w + x])
                            rowSum &+= v
                            rowSquare &+= v &* v
                            s[here + x + 1] = s[above + x + 1] &+ rowSum
                            q[here + x + 1] = q[above + x + 1] &+ rowSquare
                        }
                    }
                }
            }
        }
        self.sum = sum
        self.square = square
        self.tilted = withTilted ? IntegralImage.tiltedTable(gray, stride: stride) : nil
    }

    /// The rotated summed-area table by the recurrence (Lienhart and Maydt, ICIP 2002)
    /// `T(X, Y) = T(X-1, Y-1) + T(X+1, Y-1) - T(X, Y-2) + I(X-1, Y-1) + I(X-1, Y-2)`,
    /// evaluated on columns widened by `H + 1` on each side so that the neighbours exist, then cut to `W + 1`.
    static func tiltedTable(_ gray: GrayBytes, stride: Int) -> [Int32] {
        let w = gray.width, h = gray.height, pad = h + 1
        let wide = w + 1 + 2 * pad  // columns X = -pad ... w + pad
        var t = [Int32](repeating: 0, count: wide * (h + 1))
        t.withUnsafeMutableBufferPointer { t in
            gray.pixels.withUnsafeBufferPointer { p in
                @inline(__always) func pixel(_ x: Int, _ y: Int) -> Int32 {
                    (x >= 0 && x < w && y >= 0 && y < h) ? Int32(p[y * w + x]) : 0
                }
                for y in 1...max(1, h) where h >= 1 {
                    for column in 1..<(wide - 1) {
                        let x = column - pad
                        var value = t[(y - 1) * wide + column - 1] &+ t[(y - 1) * wide + column + 1]
                        if y >= 2 { value &-= t[(y - 2) * wide + column] }
                        value &+= pixel(x - 1, y - 1) &+ pixel(x - 1, y - 2)
                        t[y * wide + column] = value
                    }
                }
            }
        }
        var out = [Int32](repeating: 0, count: stride * (h + 1))
        for y in 0...h { for x in 0...w { out[y * stride + x] = t[y * wide + x + pad] } }
        return out
    }

    /// Sum of the pixels in `x ..< x+w`, `y ..< y+h` (a convenience for tests and small uses).
    func rectSum(x: Int, y: Int, width w: Int, height h: Int) -> Int {
        let s = stride
        return Int(sum[y * s + x] &- sum[y * s + x + w] &- sum[(y + h) * s + x] &+ sum[(y + h) * s + x + w])
    }

    /// Sum over OpenCV's tilted rectangle with top corner (x, y), extending `w` down-right and `h` down-left.
    func tiltedSum(x: Int, y: Int, width w: Int, height h: Int) -> Int {
        guard let t = tilted else { preconditionFailure("tiltedSum needs an IntegralImage built with tilted: true") }
        let s = stride
        return Int(t[y * s + x] &- t[(y + h) * s + x - h] &- t[(y + w) * s + x + w] &+ t[(y + w + h) * s + x + w - h])
    }
}

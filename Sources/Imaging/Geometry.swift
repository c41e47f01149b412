import Foundation

// Crops with out-of-bounds padding and affine / similarity warps (bilinear sampling).
//
// Coordinates: pixel (i, j) covers [i, i+1) x [j, j+1); its centre is (i + 0.5, j + 0.5).

/// What to read outside the image.
public enum Padding: Sendable, Equatable {
    /// Repeat the nearest edge pixel (`BORDER_REPLICATE`).
    case edge
    /// A fixed colour (`BORDER_CONSTANT`).
    case constant(UInt8, UInt8, UInt8)

    /// Black constant padding.
    public static let black = Padding.constant(0, 0, 0)
}

/// A 2-D affine map `p' = A p + t`:
/// ```
/// x' = a * x + b * y + tx
/// y' = c * x + d * y + ty
/// ```
/// in the continuous pixel coordinates of Imaging (pixel centres at half-integers).
public struct AffineTransform: Sendable, Equatable, Codable {
    public var a: Double, b: Double, c: Double, d: Double, tx: Double, ty: Double

    public init(a: Double, b: Double, c: Double, d: Double, tx: Double, ty: Double) {
        self.a = a; self.b = b; self.c = c; self.d = d; self.tx = tx; self.ty = ty
    }

    /// The identity map.
    public static let identity = AffineTransform(a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0)

    /// A similarity: rotate by `angle` (radians; positive angles turn +x towards +y, which is clockwise
    /// on screen since y points down), scale uniformly, then translate.
    public static func similarity(scale: Double, angle: Double = 0, translationX: Double = 0,
                                  translationY: Double = 0) -> AffineTransform {
        let cosA = scale * cos(angle), sinA = scale * sin(angle)
        return AffineTransform(a: cosA, b: -sinA, c: sinA, d: cosA, tx: translationX, ty: translationY)
    }

    /// The map that sends `source` box onto `destination` box (scale per axis, no rotation).
    public static func mapping(_ source: Box, onto destination: Box) -> AffineTransform {
        let sx = destination.width / source.width, sy = destination.height / source.height
        return AffineTransform(a: sx, b: 0, c: 0, d: sy,
                               tx: destination.x - source.x * sx, ty: destination.y - source.y * sy)
    }

    /// Applies the map to a point.
    public func apply(x: Double, y: Double) -> (x: Double, y: Double) {
        (a * x + b * y + tx, c * x + d * y + ty)
    }

    /// `self` after `other` (first `other`, then `self`).
    public func concatenating(_ other: AffineTransform) -> AffineTransform {
        AffineTransform(a: a * other.a + b * other.c, b: a * other.b + b * other.d,
                        c: c * other.a + d * other.c, d: c * other.b + d * other.d,
                        tx: a * other.tx + b * other.ty + tx, ty: c * other.tx + d * other.ty + ty)
    }

    /// The inverse map; a programmer error when the map is singular.
    public var inverted: AffineTransform {
        let det = a * d - b * c
        precondition(abs(det) > 1e-12, "AffineTransform is singular (determinant \(det))")
        let ia = d / det, ib = -b / det, ic = -c / det, id = a / det
        return AffineTransform(a: ia, b: ib, c: ic, d: id, tx: -(ia * tx + ib * ty), ty: -(ic * tx + id * ty))
    }

    /// Least-squares similarity (scale, rotation, translation) taking `source` points to `destination`
    /// points (Umeyama, "Least-squares estimation of transformation parameters between two point
    /// patterns", TPAMI 1991, without reflection). Used for landmark alignment.
    /// - Parameters:
    ///   - source: at least two points.
    ///   - destination: as many points as `source`.
    public static func similarity(from source: [(x: Double, y: Double)],
                                  to destination: [(x: Double, y: Double)]) -> AffineTransform {
        precondition(source.count == destination.count && source.count >= 2,
                     "similarity estimation needs two equal lists of at least 2 points")
        let n = Double(source.count)
        let msx = source.map(\.x).reduce(0, +) / n, msy = source.map(\.y).reduce(0, +) / n
        let mdx = destination.map(\.x).reduce(0, +) / n, mdy = destination.map(\.y).reduce(0, +) / n
        var sxx = 0.0, sxy = 0.0, variance = 0.0
        for (s, t) in zip(source, destination) {
            let px = s.x - msx, py = s.y - msy, qx = t.x - mdx, qy = t.y - mdy
            sxx += px * qx + py * qy   // sum of dot products
            sxy += px * qy - py * qx   // sum of cross products
            variance += px * px + py * py
        }
        precondition(variance > 0, "similarity estimation needs distinct source points")
        let a = sxx / variance, c = sxy / variance
        return AffineTransform(a: a, b: -c, c: c, d: a, tx: mdx - (a * msx - c * msy), ty: mdy - (c * msx + a * msy))
    }
}

extension RGBImage {
    /// Cuts out the integer rectangle `x ..< x+width`, `y ..< y+height`, reading `padding` outside.
    /// - Parameters:
    ///   - x: left column, may be negative.
    ///   - y: top row, may be negative.
    ///   - width: output width, at least 1.
    ///   - height: output height, at least 1.
    ///   - padding: what to read outside the image.
    public func cropped(x: Int, y: Int, width outWidth: Int, height outHeight: Int,
                        padding: Padding = .edge) -> RGBImage {
        precondition(outWidth > 0 && outHeight > 0, "crop size must be positive, got \(outWidth)x\(outHeight)")
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        let w = width, h = height
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for row in 0..<outHeight {
                    let sy = y + row
                    let inRow = sy >= 0 && sy < h
                    let clampedY = min(max(sy, 0), h - 1)
                    for col in 0..<outWidth {
                        let sx = x + col
                        let o = (row * outWidth + col) * 3
                        if inRow && sx >= 0 && sx < w {
                            let s = (sy * w + sx) * 3
                            dst[o] = src[s]; dst[o + 1] = src[s + 1]; dst[o + 2] = src[s + 2]
                        } else {
                            switch padding {
                            case .edge:
                                let s = (clampedY * w + min(max(sx, 0), w - 1)) * 3
                                dst[o] = src[s]; dst[o + 1] = src[s + 1]; dst[o + 2] = src[s + 2]
                            case let .constant(r, g, b):
                                dst[o] = r; dst[o + 1] = g; dst[o + 2] = b
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }

    /// Cuts out `box` rounded to whole pixels (`x`, `y` rounded down, size rounded to nearest, at least 1).
    public func cropped(to box: Box, padding: Padding = .edge) -> RGBImage {
        let x0 = Int(box.x.rounded(.down)), y0 = Int(box.y.rounded(.down))
        return cropped(x: x0, y: y0, width: max(1, Int(box.width.rounded())),
                       height: max(1, Int(box.height.rounded())), padding: padding)
    }

    /// Resamples the image through an affine map with bilinear interpolation.
    ///
    /// Output pixel centre `q` reads the source at `transform.inverted.apply(q)`; that is,
    /// `transform` maps source coordinates to output coordinates, as `cv2.warpAffine`'s matrix does.
    /// The map should not shrink by more than about 2x (bilinear sampling aliases); blur first or
    /// resize with antialiasing for larger reductions.
    /// - Parameters:
    ///   - transform: source -> output map.
    ///   - width: output width.
    ///   - height: output height.
    ///   - padding: what to read outside the source.
    public func warped(by transform: AffineTransform, width outWidth: Int, height outHeight: Int,
                       padding: Padding = .edge) -> RGBImage {
        precondition(outWidth > 0 && outHeight > 0, "warp size must be positive, got \(outWidth)x\(outHeight)")
        let inverse = transform.inverted
        let w = width, h = height
        var fill: (Float, Float, Float) = (0, 0, 0)
        var useEdge = true
        if case let .constant(r, g, b) = padding { fill = (Float(r), Float(g), Float(b)); useEdge = false }
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for row in 0..<outHeight {
                    for col in 0..<outWidth {
                        let q = inverse.apply(x: Double(col) + 0.5, y: Double(row) + 0.5)
                        // Continuous -> index space (pixel i centred on i).
                        let fx = q.x - 0.5, fy = q.y - 0.5
                        let x0 = Int(fx.rounded(.down)), y0 = Int(fy.rounded(.down))
                        let ax = Float(fx - Double(x0)), ay = Float(fy - Double(y0))
                        var acc: (Float, Float, Float) = (0, 0, 0)
                        for (dy, wy) in [(0, 1 - ay), (1, ay)] where wy > 0 {
                            for (dx, wx) in [(0, 1 - ax), (1, ax)] where wx > 0 {
                                let sx = x0 + dx, sy = y0 + dy
                                let weight = wx * wy
                                if sx >= 0 && sx < w && sy >= 0 && sy < h {
                                    let s = (sy * w + sx) * 3
                                    acc.0 += weight * Float(src[s]); acc.1 += weight * Float(src[s + 1])
                                    acc.2 += weight * Float(src[s + 2])
                                } else if useEdge {
                                    let s = (min(max(sy, 0), h - 1) * w + min(max(sx, 0), w - 1)) * 3
                                    acc.0 += weight * Float(src[s]); acc.1 += weight * Float(src[s + 1])
                                    acc.2 += weight * Float(src[s + 2])
                                } else {
                                    acc.0 += weight * fill.0; acc.1 += weight * fill.1; acc.2 += weight * fill.2
                                }
                            }
                        }
                        let o = (row * outWidth + col) * 3
                        dst[o] = clampToByte(acc.0); dst[o + 1] = clampToByte(acc.1); dst[o + 2] = clampToByte(acc.2)
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }

    /// The square-or-rectangular `box` resampled to `width` x `height` (crop + resize in one step,
    /// padding outside). When the box is more than twice the output, the image is first shrunk with
    /// antialiasing so the result does not alias.
    public func resampled(box: Box, width outWidth: Int, height outHeight: Int,
                          padding: Padding = .edge) -> RGBImage {
        precondition(box.width > 0 && box.height > 0, "resampled(box:) needs a box of positive size, got \(box)")
        let factor = min(box.width / Double(outWidth), box.height / Double(outHeight))
        if factor > 2 {
            // Pre-shrink the whole image so the box is about twice the output, then warp.
            let shrink = 2 / factor
            let smallWidth = max(1, Int((Double(width) * shrink).rounded()))
            let smallHeight = max(1, Int((Double(height) * shrink).rounded()))
            let small = resized(width: smallWidth, height: smallHeight)
            let sx = Double(smallWidth) / Double(width), sy = Double(smallHeight) / Double(height)
            let smallBox = Box(x: box.x * sx, y: box.y * sy, width: box.width * sx, height: box.height * sy)
            return small.warped(by: .mapping(smallBox, onto: Box(x: 0, y: 0, width: Double(outWidth), height: Double(outHeight))),
                                width: outWidth, height: outHeight, padding: padding)
        }
        return warped(by: .mapping(box, onto: Box(x: 0, y: 0, width: Double(outWidth), height: Double(outHeight))),
                      width: outWidth, height: outHeight, padding: padding)
    }

    /// Mirrors the image left-right.
    public func flippedHorizontally() -> RGBImage {
        var out = pixels
        let w = width
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for y in 0..<height {
                    let row = y * w * 3
                    for x in 0..<w {
                        let s = row + x * 3, d = row + (w - 1 - x) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}

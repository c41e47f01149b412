// Colour maps for attribution maps, overlays, and simple drawing for annotated images.

/// A colour map from `[0, 1]` to RGB, by linear interpolation between evenly spaced anchors.
public struct ColorMap: Sendable, Equatable {
    /// Evenly spaced anchors from 0 to 1.
    public let anchors: [(UInt8, UInt8, UInt8)]

    public init(anchors: [(UInt8, UInt8, UInt8)]) {
        precondition(anchors.count >= 2, "a colour map needs at least two anchors")
        self.anchors = anchors
    }

    public static func == (lhs: ColorMap, rhs: ColorMap) -> Bool {
        lhs.anchors.count == rhs.anchors.count && zip(lhs.anchors, rhs.anchors).allSatisfy { $0 == $1 }
    }

    /// MATLAB-style jet: dark blue, blue, cyan, yellow, red, dark red.
    public static let jet = ColorMap(anchors: [(0, 0, 128), (0, 0, 255), (0, 255, 255), (255, 255, 0), (255, 0, 0), (128, 0, 0)])
    /// An approximation of matplotlib's perceptually uniform `inferno` (9 anchors).
    public static let inferno = ColorMap(anchors: [(0, 0, 4), (31, 12, 72), (85, 15, 109), (136, 34, 106), (186, 54, 85),
                                                   (227, 89, 51), (249, 140, 10), (249, 201, 50), (252, 255, 164)])
    /// Diverging blue-white-red for signed maps (0.5 is white).
    public static let blueWhiteRed = ColorMap(anchors: [(33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43)])
    /// Black to white.
    public static let gray = ColorMap(anchors: [(0, 0, 0), (255, 255, 255)])

    /// The colour of `t` (clamped to `[0, 1]`; NaN maps to 0), as Float channels 0...255.
    @inline(__always) public func color(at t: Float) -> (Float, Float, Float) {
        let u = t.isNaN ? 0 : min(max(t, 0), 1) * Float(anchors.count - 1)
        let i = min(Int(u), anchors.count - 2)
        let f = u - Float(i)
        let a = anchors[i], b = anchors[i + 1]
        return (Float(a.0) + f * (Float(b.0) - Float(a.0)), Float(a.1) + f * (Float(b.1) - Float(a.1)),
                Float(a.2) + f * (Float(b.2) - Float(a.2)))
    }
}

extension GrayImage {
    /// Colours the map: `(value - low) / (high - low)` through `colorMap`.
    /// - Parameters:
    ///   - colorMap: the colours (jet by default).
    ///   - range: values mapped to the ends; `nil` uses the image's min and max (a constant image maps to 0).
    public func colorMapped(_ colorMap: ColorMap = .jet, range: ClosedRange<Float>? = nil) -> RGBImage {
        let (low, high) = range.map { ($0.lowerBound, $0.upperBound) } ?? self.range
        let span = high - low
        let scale: Float = span > 0 ? 1 / span : 0
        var out = [UInt8](repeating: 0, count: width * height * 3)
        out.withUnsafeMutableBufferPointer { dst in
            values.withUnsafeBufferPointer { src in
                for i in 0..<src.count {
                    let (r, g, b) = colorMap.color(at: (src[i] - low) * scale)
                    dst[3 * i] = clampToByte(r); dst[3 * i + 1] = clampToByte(g); dst[3 * i + 2] = clampToByte(b)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}

extension RGBImage {
    /// Alpha-blends `layer` over the image: `out = (1 - alpha) * self + alpha * layer`.
    /// - Parameters:
    ///   - layer: an image of any size; it is resized to this image's size.
    ///   - alpha: opacity of `layer`, 0...1.
    public func blended(with layer: RGBImage, alpha: Float) -> RGBImage {
        precondition((0...1).contains(alpha), "alpha must be in 0...1, got \(alpha)")
        let top = layer.resized(width: width, height: height)
        var out = [UInt8](repeating: 0, count: pixels.count)
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { base in
                top.pixels.withUnsafeBufferPointer { over in
                    for i in 0..<dst.count { dst[i] = clampToByte((1 - alpha) * Float(base[i]) + alpha * Float(over[i])) }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Overlays a heat map: colours `heatmap` (resized to the image) and blends it in.
    /// - Parameters:
    ///   - heatmap: the map, any size.
    ///   - alpha: opacity, 0...1.
    ///   - colorMap: the colours.
    ///   - range: values mapped to the ends of the colour map; `nil` for the map's min and max.
    public func overlaying(heatmap: GrayImage, alpha: Float = 0.5, colorMap: ColorMap = .jet,
                           range: ClosedRange<Float>? = nil) -> RGBImage {
        let resizedMap = heatmap.resized(width: width, height: height)
        return blended(with: resizedMap.colorMapped(colorMap, range: range ?? heatmap.range.min...max(heatmap.range.min, heatmap.range.max)),
                       alpha: alpha)
    }

    /// Draws the outline of `box` (clipped to the image).
    /// - Parameters:
    ///   - box: the rectangle, in pixel coordinates.
    ///   - color: the line colour.
    ///   - thickness: line width in pixels, drawn inside the box.
    public mutating func drawRectangle(_ box: Box, color: (UInt8, UInt8, UInt8), thickness: Int = 2) {
        let x0 = Int(box.x.rounded()), y0 = Int(box.y.rounded())
        let x1 = Int((box.x + box.width).rounded()) - 1, y1 = Int((box.y + box.height).rounded()) - 1
        guard x1 >= x0, y1 >= y0 else { return }
        let w = width, h = height
        pixels.withUnsafeMutableBufferPointer { dst in
            func put(_ x: Int, _ y: Int) {
                guard x >= 0, x < w, y >= 0, y < h else { return }
                let o = (y * w + x) * 3
                dst[o] = color.0; dst[o + 1] = color.1; dst[o + 2] = color.2
            }
            for t in 0..<max(1, thickness) {
                for x in x0...x1 { put(x, y0 + t); put(x, y1 - t) }
                for y in y0...y1 { put(x0 + t, y); put(x1 - t, y) }
            }
        }
    }
}

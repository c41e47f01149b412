/// An 8-bit RGB image, row-major, channels interleaved (`[H, W, 3]`).
///
/// The common currency between video decoding, face detection, synthesis and the detector's
/// preprocessing. Value semantics: `pixels` is a Swift array, so copies are copy-on-write.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width * height * 3` bytes, `R G B` per pixel, rows top to bottom.
    public var pixels: [UInt8]

    /// Wraps existing pixel bytes.
    /// - Parameters:
    ///   - width: width in pixels, at least 1.
    ///   - height: height in pixels, at least 1.
    ///   - pixels: exactly `width * height * 3` bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "RGBImage needs a positive size, got \(width)x\(height)")
        precondition(pixels.count == width * height * 3,
                     "RGBImage \(width)x\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A uniform image.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        precondition(width > 0 && height > 0, "RGBImage needs a positive size, got \(width)x\(height)")
        var bytes = [UInt8](repeating: 0, count: width * height * 3)
        bytes.withUnsafeMutableBufferPointer { buffer in
            for index in 0..<(width * height) {
                buffer[3 * index] = fill.0
                buffer[3 * index + 1] = fill.1
                buffer[3 * index + 2] = fill.2
            }
        }
        self.width = width
        self.height = height
        self.pixels = bytes
    }

    /// Byte offset of channel `channel` of pixel (`x`, `y`).
    @inlinable public func offset(x: Int, y: Int, channel: Int = 0) -> Int {
        (y * width + x) * 3 + channel
    }

    /// The pixel at (`x`, `y`); a programmer error outside the image.
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
            let base = offset(x: x, y: y)
            return (pixels[base], pixels[base + 1], pixels[base + 2])
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
            let base = offset(x: x, y: y)
            pixels[base] = newValue.r
            pixels[base + 1] = newValue.g
            pixels[base + 2] = newValue.b
        }
    }
}

/// A single-channel Float32 image (`[H, W]`), used for luminance, masks and attribution maps.
public struct GrayImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height` values, row-major.
    public var values: [Float]

    public init(width: Int, height: Int, values: [Float]) {
        precondition(width > 0 && height > 0, "GrayImage needs a positive size, got \(width)x\(height)")
        precondition(values.count == width * height,
                     "GrayImage \(width)x\(height) needs \(width * height) values, got \(values.count)")
        self.width = width
        self.height = height
        self.values = values
    }

    public init(width: Int, height: Int, fill: Float = 0) {
        self.init(width: width, height: height, values: [Float](repeating: fill, count: width * height))
    }

    public subscript(x: Int, y: Int) -> Float {
        get { values[y * width + x] }
        set { values[y * width + x] = newValue }
    }
}

/// An axis-aligned rectangle in pixel coordinates (origin top-left), in floating point so that
/// smoothed tracks and scaled crops keep sub-pixel positions.
public struct Box: Sendable, Equatable, Codable, Hashable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var centerX: Double { x + width / 2 }
    public var centerY: Double { y + height / 2 }
    public var area: Double { max(0, width) * max(0, height) }

    /// Intersection over union with another box; 0 when they do not overlap.
    public func intersectionOverUnion(_ other: Box) -> Double {
        let left = max(x, other.x), top = max(y, other.y)
        let right = min(x + width, other.x + other.width), bottom = min(y + height, other.y + other.height)
        let intersection = max(0, right - left) * max(0, bottom - top)
        let union = area + other.area - intersection
        return union > 0 ? intersection / union : 0
    }

    /// A square box with the same centre, side `scale * max(width, height)`.
    public func squared(scale: Double = 1) -> Box {
        let side = max(width, height) * scale
        return Box(x: centerX - side / 2, y: centerY - side / 2, width: side, height: side)
    }
}

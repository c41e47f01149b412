import Foundation

// Luma, colour adjustments, Gaussian blur and the detector's planar Float input.

extension RGBImage {
    /// ITU-R BT.601 luma `0.299 R + 0.587 G + 0.114 B`, in the byte range 0...255.
    public func luma() -> GrayImage {
        var values = [Float](repeating: 0, count: width * height)
        values.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for i in 0..<dst.count {
                    dst[i] = 0.299 * Float(src[3 * i]) + 0.587 * Float(src[3 * i + 1]) + 0.114 * Float(src[3 * i + 2])
                }
            }
        }
        return GrayImage(width: width, height: height, values: values)
    }

    /// BT.601 luma rounded to bytes exactly as OpenCV's `cvtColor(RGB2GRAY)` (14-bit fixed point:
    /// `(4899 R + 9617 G + 1868 B + 8192) >> 14`). Row-major `[H, W]`.
    public func lumaBytes() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height)
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for i in 0..<dst.count {
                    let v = 4899 * Int32(src[3 * i]) + 9617 * Int32(src[3 * i + 1]) + 1868 * Int32(src[3 * i + 2])
                    dst[i] = UInt8((v + 8192) >> 14)
                }
            }
        }
        return out
    }

    /// Brightness: multiplies every channel by `factor` (torchvision's `adjust_brightness`).
    public func adjustedBrightness(_ factor: Float) -> RGBImage {
        mapped { r, g, b in (r * factor, g * factor, b * factor) }
    }

    /// Contrast: blends with the mean luma of the image, `mean + factor * (p - mean)`
    /// (torchvision's `adjust_contrast`; `0` gives a uniform gray, `1` the image).
    public func adjustedContrast(_ factor: Float) -> RGBImage {
        let mean = luma().values.reduce(0, +) / Float(width * height)
        return mapped { r, g, b in
            (mean + factor * (r - mean), mean + factor * (g - mean), mean + factor * (b - mean))
        }
    }

    /// Saturation: blends each pixel with its own luma, `luma + factor * (p - luma)`
    /// (torchvision's `adjust_saturation`; `0` gives grayscale, `1` the image).
    public func adjustedSaturation(_ factor: Float) -> RGBImage {
        mapped { r, g, b in
            let y = 0.299 * r + 0.587 * g + 0.114 * b
            return (y + factor * (r - y), y + factor * (g - y), y + factor * (b - y))
        }
    }

    /// Applies a per-pixel function on Float channels (0...255); results are rounded and clamped.
    public func mapped(_ transform: (Float, Float, Float) -> (Float, Float, Float)) -> RGBImage {
        var out = [UInt8](repeating: 0, count: pixels.count)
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for i in 0..<(width * height) {
                    let (r, g, b) = transform(Float(src[3 * i]), Float(src[3 * i + 1]), Float(src[3 * i + 2]))
                    dst[3 * i] = clampToByte(r); dst[3 * i + 1] = clampToByte(g); dst[3 * i + 2] = clampToByte(b)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Separable Gaussian blur with edge replication.
    /// - Parameter sigma: standard deviation in pixels; `0` returns the image unchanged. The kernel
    ///   spans `±ceil(3 sigma)` pixels.
    public func gaussianBlurred(sigma: Double) -> RGBImage {
        precondition(sigma >= 0, "blur sigma must be non-negative, got \(sigma)")
        if sigma == 0 { return self }
        let floats = pixels.map { Float($0) }
        let out = floats.withUnsafeBufferPointer { separableFilter($0, width: width, height: height, channels: 3, kernel: gaussianTaps(sigma: sigma), edge: .clamp) }
        var bytes = [UInt8](repeating: 0, count: out.count)
        bytes.withUnsafeMutableBufferPointer { b in
            out.withUnsafeBufferPointer { o in for i in 0..<o.count { b[i] = clampToByte(o[i]) } }
        }
        return RGBImage(width: width, height: height, pixels: bytes)
    }

    /// The detector's input: planar Float `[3, H, W]` (R plane, G plane, B plane) with
    /// `value = (byte / 255 - mean[c]) / std[c]`.
    /// - Parameters:
    ///   - mean: per-channel mean in 0...1 units (e.g. ImageNet's `[0.485, 0.456, 0.406]`).
    ///   - std: per-channel standard deviation in 0...1 units, non-zero.
    public func planarFloats(mean: [Float] = [0, 0, 0], std: [Float] = [1, 1, 1]) -> [Float] {
        precondition(mean.count == 3 && std.count == 3 && !std.contains(0), "mean and std need 3 entries, std non-zero")
        let plane = width * height
        var out = [Float](repeating: 0, count: 3 * plane)
        let scale = (0..<3).map { 1 / (255 * std[$0]) }
        let shift = (0..<3).map { -mean[$0] / std[$0] }
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for c in 0..<3 {
                    let s = scale[c], t = shift[c]
                    for i in 0..<plane { dst[c * plane + i] = Float(src[3 * i + c]) * s + t }
                }
            }
        }
        return out
    }

    /// Inverse of ``planarFloats(mean:std:)``: planar `[3, H, W]` back to bytes (rounded, clamped).
    public init(planar: [Float], width: Int, height: Int, mean: [Float] = [0, 0, 0], std: [Float] = [1, 1, 1]) {
        precondition(planar.count == 3 * width * height, "planar RGB \(width)x\(height) needs \(3 * width * height) floats, got \(planar.count)")
        precondition(mean.count == 3 && std.count == 3, "mean and std need 3 entries")
        let plane = width * height
        var bytes = [UInt8](repeating: 0, count: 3 * plane)
        bytes.withUnsafeMutableBufferPointer { dst in
            planar.withUnsafeBufferPointer { src in
                for c in 0..<3 {
                    let s = 255 * std[c], t = 255 * mean[c]
                    for i in 0..<plane { dst[3 * i + c] = clampToByte(src[c * plane + i] * s + t) }
                }
            }
        }
        self.init(width: width, height: height, pixels: bytes)
    }
}

extension GrayImage {
    /// Separable Gaussian blur with edge replication; see ``RGBImage/gaussianBlurred(sigma:)``.
    public func gaussianBlurred(sigma: Double) -> GrayImage {
        precondition(sigma >= 0, "blur sigma must be non-negative, got \(sigma)")
        if sigma == 0 { return self }
        let out = values.withUnsafeBufferPointer { separableFilter($0, width: width, height: height, channels: 1, kernel: gaussianTaps(sigma: sigma), edge: .clamp) }
        return GrayImage(width: width, height: height, values: out)
    }

    /// Smallest and largest value.
    public var range: (min: Float, max: Float) {
        values.withUnsafeBufferPointer { v in
            var lo = Float.infinity, hi = -Float.infinity
            for x in v { lo = min(lo, x); hi = max(hi, x) }
            return (lo, hi)
        }
    }
}


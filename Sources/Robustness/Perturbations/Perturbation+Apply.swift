import Foundation
import Imaging

extension Perturbation {
    /// Applies the perturbation to every frame.
    ///
    /// Frame-wise kinds transform each frame on its own; `h264` encodes the sequence as one clip
    /// (so inter-frame prediction is part of the damage); `noise` draws frame `i` from
    /// `mixSeed(seed, i)`, so the same seed gives the same noise.
    /// - Parameters:
    ///   - frames: the clip, all frames of one size (an empty clip returns empty).
    ///   - codecs: the encoders behind `h264` and `jpeg` (``CodecBackend/standard`` by default).
    ///   - fps: frame rate given to the video encoder.
    /// - Returns: as many frames as given, each the size of the input.
    /// - Throws: the codec's error for `h264`/`jpeg`, e.g. ``RobustnessError/codecUnavailable(codec:reason:)``.
    public func apply(_ frames: [RGBImage], codecs: CodecBackend = .standard, fps: Double = 25) throws -> [RGBImage] {
        if frames.isEmpty { return frames }
        switch kind {
        case .none:
            return frames
        case .h264:
            return try checkedSizes(codecs.h264(frames, Int(level), fps), like: frames, codec: "h264 via \(codecs.name)")
        case .jpeg:
            return try checkedSizes(codecs.jpeg(frames, Int(level)), like: frames, codec: "jpeg via \(codecs.name)")
        default:
            return frames.enumerated().map { apply(toFrame: $0.element, index: $0.offset) }
        }
    }

    /// Applies a frame-wise kind to one frame; `index` seeds the random kinds.
    /// A programmer error for `h264` and `jpeg`, which need a codec (use ``apply(_:codecs:fps:)``).
    public func apply(toFrame frame: RGBImage, index: Int = 0) -> RGBImage {
        if isIdentity { return frame }
        switch kind {
        case .none: return frame
        case .h264, .jpeg: preconditionFailure("\(id) needs a codec; call apply(_:codecs:) on the sequence")
        case .downscale: return frame.downscaledAndBack(factor: level)
        case .blur: return fastGaussianBlur(frame, sigma: level)
        case .noise: return frame.withGaussianNoise(std: level, seed: mixSeed(seed, UInt64(index)))
        case .saturation: return frame.adjustedSaturation(Float(level))
        case .contrast: return frame.adjustedContrast(Float(level))
        case .pixelate: return frame.pixelated(block: Int(level))
        }
    }

    private func checkedSizes(_ output: [RGBImage], like input: [RGBImage], codec: String) throws -> [RGBImage] {
        guard output.count == input.count else {
            throw RobustnessError.codecUnavailable(codec: codec, reason: "returned \(output.count) frames for \(input.count)")
        }
        for (a, b) in zip(output, input) where a.width != b.width || a.height != b.height {
            throw RobustnessError.codecUnavailable(codec: codec, reason: "returned \(a.width)x\(a.height) for \(b.width)x\(b.height)")
        }
        return output
    }
}

extension RGBImage {
    /// Shrinks by `factor` (antialiased triangle filter) and enlarges back to the original size
    /// (bilinear): the detail above the reduced Nyquist frequency is lost.
    /// - Parameter factor: in (0, 1]; 1 returns the image.
    public func downscaledAndBack(factor: Double) -> RGBImage {
        precondition(factor > 0 && factor <= 1, "downscale factor must be in (0, 1], got \(factor)")
        if factor == 1 { return self }
        let smallWidth = max(1, Int((Double(width) * factor).rounded()))
        let smallHeight = max(1, Int((Double(height) * factor).rounded()))
        return resized(width: smallWidth, height: smallHeight, antialias: true)
            .resized(width: width, height: height, antialias: false)
    }

    /// Adds white Gaussian noise of standard deviation `std` (byte units) to every channel of every
    /// pixel, rounding and clamping to 0...255. Deterministic in `seed`. Samples come from a
    /// 65,536-quantile table of N(0, 1) (tails clipped at ±4.4 σ; variance within 0.1%).
    public func withGaussianNoise(std: Double, seed: UInt64) -> RGBImage {
        precondition(std >= 0, "noise std must be non-negative, got \(std)")
        if std == 0 { return self }
        var out = pixels
        addGaussianNoise(&out, std: Float(std), seed: seed)
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Mosaic: every `block` x `block` tile (the last ones clipped at the border) becomes its mean
    /// colour. `block == 1` returns the image.
    public func pixelated(block: Int) -> RGBImage {
        precondition(block >= 1, "pixelation block must be at least 1, got \(block)")
        if block == 1 { return self }
        var out = pixels
        let w = width, h = height
        out.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                var ty = 0
                while ty < h {
                    let y1 = min(h, ty + block)
                    var tx = 0
                    while tx < w {
                        let x1 = min(w, tx + block)
                        var sum = (0, 0, 0)
                        for y in ty..<y1 {
                            for x in tx..<x1 {
                                let o = (y * w + x) * 3
                                sum.0 += Int(src[o]); sum.1 += Int(src[o + 1]); sum.2 += Int(src[o + 2])
                            }
                        }
                        let n = (y1 - ty) * (x1 - tx)
                        let mean = (UInt8((sum.0 + n / 2) / n), UInt8((sum.1 + n / 2) / n), UInt8((sum.2 + n / 2) / n))
                        for y in ty..<y1 {
                            for x in tx..<x1 {
                                let o = (y * w + x) * 3
                                dst[o] = mean.0; dst[o + 1] = mean.1; dst[o + 2] = mean.2
                            }
                        }
                        tx = x1
                    }
                    ty = y1
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}

import CFFmpeg
import Imaging

/// Limits that separate a real video from a corrupt or hostile header.
public enum VideoLimits {
    /// Largest accepted frame width or height in pixels.
    public static let maxSide = 16_384
    /// Largest accepted frame area in pixels (8192 x 8192: above 8K UHD).
    public static let maxPixels = 8_192 * 8_192

    /// Whether `width x height` is a plausible frame size.
    public static func accepts(width: Int, height: Int) -> Bool {
        width > 0 && height > 0 && width <= maxSide && height <= maxSide && width * height <= maxPixels
    }
}

/// Converts decoded `AVFrame`s (any pixel format libswscale reads) to packed RGB24.
///
/// Owns one `SwsContext`, rebuilt when the frame size, pixel format, colour matrix or range
/// changes mid-stream. The colour matrix follows the frame's `colorspace` tag (BT.709, BT.601,
/// BT.2020, ...; untagged means BT.601, as in FFmpeg) and its range tag (limited or full).
final class FrameConverter {
    private var context: OpaquePointer?
    private var key = Key(width: 0, height: 0, format: -1, colorspace: -1, range: -1)
    private let path: String

    private struct Key: Equatable {
        var width: Int32, height: Int32, format: Int32, colorspace: Int32, range: Int32
    }

    init(path: String) { self.path = path }

    /// Spare bytes past the image in each pixel array's capacity. libswscale's SIMD RGB writers
    /// work in blocks of pixels and overrun the last row by up to 42 bytes for narrow frames
    /// (measured with a guard region); the slack keeps that inside our allocation.
    static let writeSlack = 1024

    deinit { sws_freeContext(context) }

    /// The frame as an RGB image of the same size.
    /// - Throws: ``VideoError`` (`.badInput`) for absurd sizes or pixel formats libswscale cannot read.
    func convert(_ frame: UnsafeMutablePointer<AVFrame>) throws -> RGBImage {
        let width = Int(frame.pointee.width), height = Int(frame.pointee.height)
        guard VideoLimits.accepts(width: width, height: height) else {
            throw VideoError(path: path, operation: "decode", reason: "absurd frame size \(width)x\(height)",
                             kind: .badInput)
        }
        try prepare(frame)
        let byteCount = width * height * 3
        let slack = FrameConverter.writeSlack
        let pixels = try [UInt8](unsafeUninitializedCapacity: byteCount + slack) { buffer, initialized in
            var destination: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress, nil, nil, nil]
            var destinationStride: [Int32] = [Int32(width * 3), 0, 0, 0]
            let rows = withUnsafePointer(to: &frame.pointee.data) { dataTuple in
                dataTuple.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { source in
                    withUnsafePointer(to: &frame.pointee.linesize) { strideTuple in
                        strideTuple.withMemoryRebound(to: Int32.self, capacity: 8) { sourceStride in
                            sws_scale(context, source, sourceStride, 0, Int32(height),
                                      &destination, &destinationStride)
                        }
                    }
                }
            }
            try check(rows, "sws_scale", path: path, kind: .internal)
            guard rows == Int32(height) else {
                throw VideoError(path: path, operation: "sws_scale", reason: "sws_scale wrote \(rows) of \(height) rows",
                                 kind: .internal)
            }
            initialized = byteCount
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    private func prepare(_ frame: UnsafeMutablePointer<AVFrame>) throws {
        let next = Key(width: frame.pointee.width, height: frame.pointee.height, format: frame.pointee.format,
                       colorspace: Int32(frame.pointee.colorspace.rawValue),
                       range: Int32(frame.pointee.color_range.rawValue))
        if next == key, context != nil { return }
        let format = AVPixelFormat(rawValue: next.format)
        guard next.format >= 0, sws_isSupportedInput(format) > 0 else {
            let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: next.format)).map { String(cString: $0) }
            throw VideoError(path: path, operation: "sws_getContext",
                             reason: "unsupported pixel format \(name ?? String(next.format))", kind: .badInput)
        }
        // libswscale wants the yuvj* (full-range) formats as their yuv* twins plus a range flag.
        let (plainFormat, isJPEGFormat) = unJPEG(format)
        sws_freeContext(context)
        context = nil
        context = sws_getContext(next.width, next.height, plainFormat, next.width, next.height, AV_PIX_FMT_RGB24,
                                 gb_sws_bilinear(), nil, nil, nil)
        guard context != nil else {
            throw VideoError(path: path, operation: "sws_getContext",
                             reason: "cannot convert \(next.width)x\(next.height) frames to RGB", kind: .badInput)
        }
        let isRGB = (gb_pix_fmt_flags(format) & UInt64(AV_PIX_FMT_FLAG_RGB)) != 0
        if !isRGB {
            // Colour matrix and range from the frame's tags.
            let matrix: Int32
            switch AVColorSpace(rawValue: UInt32(next.colorspace)) {
            case AVCOL_SPC_BT709: matrix = SWS_CS_ITU709
            case AVCOL_SPC_FCC: matrix = SWS_CS_FCC
            case AVCOL_SPC_SMPTE240M: matrix = SWS_CS_SMPTE240M
            case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: matrix = SWS_CS_BT2020
            default: matrix = SWS_CS_ITU601
            }
            let fullRange: Int32 = (next.range == Int32(AVCOL_RANGE_JPEG.rawValue) || isJPEGFormat) ? 1 : 0
            // Returns -1 only for formats it cannot adjust; the default matrix stays in place then.
            _ = sws_setColorspaceDetails(context, sws_getCoefficients(matrix), fullRange,
                                         sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16)
        }
        key = next
    }
}

/// The yuv* twin of a yuvj* (full-range) pixel format, and whether it was one.
func unJPEG(_ format: AVPixelFormat) -> (AVPixelFormat, Bool) {
    switch format {
    case AV_PIX_FMT_YUVJ420P: return (AV_PIX_FMT_YUV420P, true)
    case AV_PIX_FMT_YUVJ422P: return (AV_PIX_FMT_YUV422P, true)
    case AV_PIX_FMT_YUVJ444P: return (AV_PIX_FMT_YUV444P, true)
    case AV_PIX_FMT_YUVJ440P: return (AV_PIX_FMT_YUV440P, true)
    case AV_PIX_FMT_YUVJ411P: return (AV_PIX_FMT_YUV411P, true)
    default: return (format, false)
    }
}

extension RGBImage {
    /// The image turned clockwise by `degrees` (0, 90, 180 or 270).
    func rotatedClockwise(_ degrees: Int) -> RGBImage {
        let turn = ((degrees % 360) + 360) % 360
        if turn == 0 { return self }
        precondition(turn % 90 == 0, "rotation must be a multiple of 90 degrees, got \(degrees)")
        let w = width, h = height
        let outW = turn == 180 ? w : h, outH = turn == 180 ? h : w
        var out = [UInt8](repeating: 0, count: w * h * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w {
                        // (x, y) in the source lands at (ox, oy) in the output.
                        let ox: Int, oy: Int
                        switch turn {
                        case 90: ox = h - 1 - y; oy = x
                        case 180: ox = w - 1 - x; oy = h - 1 - y
                        default: ox = y; oy = w - 1 - x
                        }
                        let s = (y * w + x) * 3, d = (oy * outW + ox) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: outW, height: outH, pixels: out)
    }
}

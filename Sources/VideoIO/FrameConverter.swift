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
/// Owns one `SwsContext` (sliced over automatic threads, as the `ffmpeg` tool's scale filter is),
/// rebuilt when the frame size, pixel format, colour matrix or range changes mid-stream, plus two
/// helper frames. The colour matrix follows the frame's `colorspace` tag (BT.709, BT.601, BT.2020,
/// ...; untagged means BT.601, as in FFmpeg) and its range tag (limited or full).
///
/// Layout: the output is `[H, W, 3]` with rows exactly `3 * W` bytes. libswscale's SIMD
/// converters work in blocks of 8 or 16 pixels; with such a tight stride they leave the last
/// `W % 8` pixels of each row unwritten (measured: garbage right-hand columns for W = 17, 65, 642).
/// So widths that are a multiple of 16 are converted straight into the image's storage; other
/// widths go through an aligned, padded staging frame and are copied row by row.
final class FrameConverter {
    private var context: OpaquePointer?
    private var key = Key(width: 0, height: 0, format: -1, colorspace: -1, range: -1)
    private let path: String
    /// Wraps the destination memory (direct path) or owns the staging buffer (padded path).
    private let destination: UnsafeMutablePointer<AVFrame>
    /// A reference to the source frame with the yuvj* format renamed to its yuv* twin.
    private let source: UnsafeMutablePointer<AVFrame>
    private var plainFormat: AVPixelFormat = AV_PIX_FMT_NONE

    private struct Key: Equatable {
        var width: Int32, height: Int32, format: Int32, colorspace: Int32, range: Int32
    }

    /// Spare bytes past the image in each pixel array's capacity: insurance against SIMD writers
    /// that overrun the last row (seen: up to 42 bytes for frames narrower than 16 pixels).
    static let writeSlack = 1024

    /// - Parameters:
    ///   - path: the file named in errors.
    ///   - threads: libswscale slice threads; 0 = one per CPU.
    init(path: String, threads: Int = 0) {
        self.path = path
        self.threads = threads
        guard let destination = av_frame_alloc(), let source = av_frame_alloc() else {
            fatalError("av_frame_alloc failed: out of memory")
        }
        self.destination = destination
        self.source = source
    }

    private let threads: Int

    deinit {
        sws_freeContext(context)
        var destinationPointer: UnsafeMutablePointer<AVFrame>? = destination
        var sourcePointer: UnsafeMutablePointer<AVFrame>? = source
        av_frame_free(&destinationPointer)
        av_frame_free(&sourcePointer)
    }

    /// The frame as an RGB image of the same size.
    /// - Throws: ``VideoError`` (`.badInput`) for absurd sizes or pixel formats libswscale cannot read.
    func convert(_ frame: UnsafeMutablePointer<AVFrame>) throws -> RGBImage {
        let width = Int(frame.pointee.width), height = Int(frame.pointee.height)
        guard VideoLimits.accepts(width: width, height: height) else {
            throw VideoError(path: path, operation: "decode", reason: "absurd frame size \(width)x\(height)",
                             kind: .badInput)
        }
        try prepare(frame)
        try check(av_frame_ref(source, frame), "av_frame_ref", path: path, kind: .internal)
        defer { av_frame_unref(source) }
        source.pointee.format = plainFormat.rawValue

        let rowBytes = width * 3
        let byteCount = rowBytes * height
        let direct = width % 16 == 0
        let pixels = try [UInt8](unsafeUninitializedCapacity: byteCount + FrameConverter.writeSlack) { buffer, initialized in
            let base = buffer.baseAddress!
            if direct {
                // Lend our storage to libswscale as a non-owning AVBuffer.
                guard let wrapper = av_buffer_create(base, byteCount, { _, _ in }, nil, 0) else {
                    try check(gb_averror_enomem(), "av_buffer_create", path: path, kind: .internal)
                    return
                }
                destination.pointee.buf.0 = wrapper
                destination.pointee.data.0 = base
                destination.pointee.linesize.0 = Int32(rowBytes)
                destination.pointee.width = Int32(width)
                destination.pointee.height = Int32(height)
                destination.pointee.format = AV_PIX_FMT_RGB24.rawValue
                defer { av_frame_unref(destination) }
                try check(sws_scale_frame(context, destination, source), "sws_scale_frame", path: path, kind: .internal)
            } else {
                if destination.pointee.buf.0 == nil || destination.pointee.width != Int32(width)
                    || destination.pointee.height != Int32(height) {
                    av_frame_unref(destination)
                    destination.pointee.width = Int32(width)
                    destination.pointee.height = Int32(height)
                    destination.pointee.format = AV_PIX_FMT_RGB24.rawValue
                    try check(av_frame_get_buffer(destination, 0), "av_frame_get_buffer", path: path, kind: .internal)
                }
                try check(sws_scale_frame(context, destination, source), "sws_scale_frame", path: path, kind: .internal)
                let stride = Int(destination.pointee.linesize.0)
                let staged = UnsafePointer(destination.pointee.data.0!)
                for y in 0..<height {
                    (base + y * rowBytes).update(from: staged + y * stride, count: rowBytes)
                }
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
            throw VideoError(path: path, operation: "sws_init_context",
                             reason: "unsupported pixel format \(name ?? String(next.format))", kind: .badInput)
        }
        // libswscale wants the yuvj* (full-range) formats as their yuv* twins plus a range flag.
        let (plain, isJPEGFormat) = unJPEG(format)
        sws_freeContext(context)
        context = nil
        key = Key(width: 0, height: 0, format: -1, colorspace: -1, range: -1)
        av_frame_unref(destination)
        let created = try checkAlloc(sws_alloc_context(), "sws_alloc_context", path: path)
        context = created
        let options: [(String, Int64)] = [
            ("srcw", Int64(next.width)), ("srch", Int64(next.height)), ("src_format", Int64(plain.rawValue)),
            ("dstw", Int64(next.width)), ("dsth", Int64(next.height)), ("dst_format", Int64(AV_PIX_FMT_RGB24.rawValue)),
            ("sws_flags", Int64(gb_sws_bilinear())), ("threads", Int64(threads)),
        ]
        for (name, value) in options {
            try check(av_opt_set_int(UnsafeMutableRawPointer(created), name, value, 0), "av_opt_set_int(\(name))",
                      path: path, kind: .internal)
        }
        try check(sws_init_context(created, nil, nil), "sws_init_context", path: path, kind: .badInput,
                  context: "cannot convert \(next.width)x\(next.height) frames to RGB")
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
            _ = sws_setColorspaceDetails(created, sws_getCoefficients(matrix), fullRange,
                                         sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16)
        }
        plainFormat = plain
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

import CFFmpeg
import Imaging

/// A video codec and its quality setting, for ``VideoWriter``, ``reencode(input:output:codec:sampling:)``
/// and ``roundTrip(_:codec:fps:)``.
public enum VideoCodec: Sendable, Equatable {
    /// H.264 through libx264: constant rate factor 0...51 (lower is better, 23 is x264's default)
    /// and an x264 preset (`ultrafast` ... `veryslow`). 4:2:0, BT.601 limited range; odd sizes are
    /// padded to even by repeating the last column/row.
    case h264(crf: Int, preset: String = "veryfast")
    /// Motion JPEG at a fixed quantiser scale 1...31 (lower is better; `ffmpeg -q:v`). FFmpeg's
    /// MJPEG quantises with the MPEG-1 intra matrix times `quality / 8`; 4:2:0 full range.
    /// For libjpeg-style quality 1...100 use ``jpegRoundTrip(_:quality:)``.
    case mjpeg(quality: Int)
    /// MPEG-4 part 2 at a fixed quantiser scale 1...31 (lower is better; `ffmpeg -q:v`), 4:2:0.
    case mpeg4(quality: Int)
    /// Lossless PNG frames (RGB24).
    case png

    /// FFmpeg encoder name.
    var encoderName: String {
        switch self {
        case .h264: return "libx264"
        case .mjpeg: return "mjpeg"
        case .mpeg4: return "mpeg4"
        case .png: return "png"
        }
    }

    var pixelFormat: AVPixelFormat {
        switch self {
        case .h264, .mpeg4: return AV_PIX_FMT_YUV420P
        case .mjpeg: return AV_PIX_FMT_YUVJ420P
        case .png: return AV_PIX_FMT_RGB24
        }
    }

    /// Whether the encoder needs even frame sizes (libx264 with 4:2:0).
    var needsEvenSize: Bool {
        if case .h264 = self { return true }
        return false
    }

    func validate() {
        switch self {
        case .h264(let crf, let preset):
            precondition((0...51).contains(crf), "H.264 CRF must be in 0...51, got \(crf)")
            precondition(!preset.isEmpty, "H.264 preset must not be empty")
        case .mjpeg(let quality):
            precondition((1...31).contains(quality), "MJPEG quality (qscale) must be in 1...31, got \(quality)")
        case .mpeg4(let quality):
            precondition((1...31).contains(quality), "MPEG-4 quality (qscale) must be in 1...31, got \(quality)")
        case .png:
            break
        }
    }
}

/// Quantisation tables in natural (row-major) order for the MJPEG encoder: luma and chroma.
struct QuantTables {
    var luma: [UInt16]
    var chroma: [UInt16]
}

/// Encodes RGB images with one codec: owns the `AVCodecContext`, the input `AVFrame`, one packet and
/// the RGB-to-YUV `SwsContext`. Packets go to a caller-supplied sink (a muxer or a decoder).
final class FrameEncoder {
    let context: UnsafeMutablePointer<AVCodecContext>
    let codec: VideoCodec
    /// The size of the images given to ``encode(_:sink:)``.
    let imageWidth: Int, imageHeight: Int
    /// The coded size (the image size, padded to even for codecs that need it).
    let codedWidth: Int, codedHeight: Int
    let timeBase: AVRational
    let frameRate: AVRational
    private let frame: UnsafeMutablePointer<AVFrame>
    private let packet: UnsafeMutablePointer<AVPacket>
    private var scaler: OpaquePointer?
    /// The coded-size RGB input with replicated right and bottom edges (see ``fill(from:)``).
    private let staging: UnsafeMutablePointer<UInt8>
    private let stagingStride: Int
    private var nextPTS: Int64 = 0
    private var flushed = false
    private let path: String

    /// - Parameters:
    ///   - codec: codec and quality.
    ///   - width, height: image size (checked against ``VideoLimits``).
    ///   - fps: frame rate (positive).
    ///   - globalHeader: put codec headers in extradata (containers with `AVFMT_GLOBALHEADER`).
    ///   - threads: encoder threads, 0 = automatic. 1 makes output independent of the machine.
    ///   - quantTables: MJPEG only: replaces the quantiser tables (used with qscale 8).
    ///   - path: the file (or pseudo-path) named in errors.
    init(codec: VideoCodec, width: Int, height: Int, fps: Double, globalHeader: Bool, threads: Int32,
         quantTables: QuantTables? = nil, path: String) throws {
        FFmpegLog.install()
        codec.validate()
        precondition(fps > 0 && fps.isFinite, "frame rate must be positive, got \(fps)")
        guard VideoLimits.accepts(width: width, height: height) else {
            throw VideoError(path: path, operation: "encode", reason: "absurd frame size \(width)x\(height)",
                             kind: .badInput)
        }
        guard let encoder = avcodec_find_encoder_by_name(codec.encoderName) else {
            throw VideoError(path: path, operation: "avcodec_find_encoder_by_name", code: gb_averror_encoder_not_found(),
                             reason: "FFmpeg has no \(codec.encoderName) encoder", kind: .internal)
        }
        var contextPointer: UnsafeMutablePointer<AVCodecContext>? = nil
        var framePointer: UnsafeMutablePointer<AVFrame>? = nil
        var packetPointer: UnsafeMutablePointer<AVPacket>? = nil
        var success = false
        defer {
            if !success {
                av_packet_free(&packetPointer)
                av_frame_free(&framePointer)
                avcodec_free_context(&contextPointer)
            }
        }
        contextPointer = try checkAlloc(avcodec_alloc_context3(encoder), "avcodec_alloc_context3", path: path)
        let context = contextPointer!
        let even = codec.needsEvenSize
        let codedWidth = even ? (width + 1) & ~1 : width
        let codedHeight = even ? (height + 1) & ~1 : height
        let rate = av_d2q(fps, 65_535)
        context.pointee.width = Int32(codedWidth)
        context.pointee.height = Int32(codedHeight)
        context.pointee.pix_fmt = codec.pixelFormat
        context.pointee.time_base = av_inv_q(rate)
        context.pointee.framerate = rate
        context.pointee.thread_count = threads
        if globalHeader { context.pointee.flags |= gb_av_codec_flag_global_header() }
        switch codec {
        case .h264(let crf, let preset):
            context.pointee.colorspace = AVCOL_SPC_SMPTE170M
            context.pointee.color_range = AVCOL_RANGE_MPEG
            try check(av_opt_set(context.pointee.priv_data, "crf", String(crf), 0), "av_opt_set(crf)", path: path,
                      kind: .internal)
            try check(av_opt_set(context.pointee.priv_data, "preset", preset, 0), "av_opt_set(preset)", path: path,
                      kind: .badInput, context: "unknown x264 preset \"\(preset)\"")
        case .mpeg4(let quality):
            context.pointee.colorspace = AVCOL_SPC_SMPTE170M
            context.pointee.color_range = AVCOL_RANGE_MPEG
            context.pointee.flags |= gb_av_codec_flag_qscale()
            context.pointee.global_quality = Int32(quality) * gb_ff_qp2lambda()
            context.pointee.qmin = 1
            context.pointee.qmax = 31
        case .mjpeg(let quality):
            context.pointee.color_range = AVCOL_RANGE_JPEG
            context.pointee.flags |= gb_av_codec_flag_qscale()
            context.pointee.qmin = 1
            context.pointee.qmax = 31
            if let quantTables {
                // qscale 8 leaves the tables as given: FFmpeg uses (table * qscale) >> 3.
                context.pointee.global_quality = 8 * gb_ff_qp2lambda()
                context.pointee.intra_matrix = try FrameEncoder.copyMatrix(quantTables.luma, path: path)
                context.pointee.chroma_intra_matrix = try FrameEncoder.copyMatrix(quantTables.chroma, path: path)
            } else {
                context.pointee.global_quality = Int32(quality) * gb_ff_qp2lambda()
            }
        case .png:
            break
        }
        try check(avcodec_open2(context, encoder, nil), "avcodec_open2", path: path, kind: .internal,
                  context: "cannot open the \(codec.encoderName) encoder")
        framePointer = try checkAlloc(av_frame_alloc(), "av_frame_alloc", path: path)
        framePointer!.pointee.format = codec.pixelFormat.rawValue
        framePointer!.pointee.width = Int32(codedWidth)
        framePointer!.pointee.height = Int32(codedHeight)
        framePointer!.pointee.color_range = context.pointee.color_range
        framePointer!.pointee.colorspace = context.pointee.colorspace
        try check(av_frame_get_buffer(framePointer, 0), "av_frame_get_buffer", path: path, kind: .internal)
        packetPointer = try checkAlloc(av_packet_alloc(), "av_packet_alloc", path: path)
        if codec.pixelFormat != AV_PIX_FMT_RGB24 {
            let (plainFormat, fullRange) = unJPEG(codec.pixelFormat)
            scaler = sws_getContext(Int32(codedWidth), Int32(codedHeight), AV_PIX_FMT_RGB24, Int32(codedWidth),
                                    Int32(codedHeight), plainFormat, gb_sws_bilinear(), nil, nil, nil)
            guard scaler != nil else {
                throw VideoError(path: path, operation: "sws_getContext",
                                 reason: "cannot convert RGB to \(codec.encoderName) input", kind: .internal)
            }
            // BT.601 matrix; full range for the JPEG formats, limited otherwise.
            _ = sws_setColorspaceDetails(scaler, sws_getCoefficients(SWS_CS_ITU601), 1,
                                         sws_getCoefficients(SWS_CS_ITU601), fullRange ? 1 : 0, 0, 1 << 16, 1 << 16)
        }
        let stagingStride = ((codedWidth + 1) * 3 + 63) / 64 * 64
        let stagingBytes = stagingStride * (codedHeight + 1) + FrameConverter.writeSlack
        self.stagingStride = stagingStride
        self.staging = .allocate(capacity: stagingBytes)
        self.staging.initialize(repeating: 0, count: stagingBytes)
        self.context = context
        self.codec = codec
        self.imageWidth = width
        self.imageHeight = height
        self.codedWidth = codedWidth
        self.codedHeight = codedHeight
        self.timeBase = context.pointee.time_base
        self.frameRate = rate
        self.frame = framePointer!
        self.packet = packetPointer!
        self.path = path
        success = true
    }

    deinit {
        staging.deallocate()
        sws_freeContext(scaler)
        var packetPointer: UnsafeMutablePointer<AVPacket>? = packet
        var framePointer: UnsafeMutablePointer<AVFrame>? = frame
        var contextPointer: UnsafeMutablePointer<AVCodecContext>? = context
        av_packet_free(&packetPointer)
        av_frame_free(&framePointer)
        // avcodec_free_context frees intra_matrix but (in FFmpeg 5.1) not chroma_intra_matrix.
        av_freep(&context.pointee.chroma_intra_matrix)
        avcodec_free_context(&contextPointer)
    }

    private static func copyMatrix(_ values: [UInt16], path: String) throws -> UnsafeMutablePointer<UInt16> {
        precondition(values.count == 64, "a quantisation table has 64 entries, got \(values.count)")
        let raw = try checkAlloc(av_malloc(64 * MemoryLayout<UInt16>.stride), "av_malloc", path: path)
        let matrix = raw.bindMemory(to: UInt16.self, capacity: 64)
        for index in 0..<64 { matrix[index] = values[index] }
        return matrix
    }

    /// Encodes one image (or flushes with `nil`) and hands every finished packet to `sink`.
    /// The packet's timestamps are in ``timeBase``; the sink may keep a reference or move it.
    func encode(_ image: RGBImage?, sink: (UnsafeMutablePointer<AVPacket>) throws -> Void) throws {
        precondition(!flushed, "the encoder was already flushed")
        if let image {
            precondition(image.width == imageWidth && image.height == imageHeight,
                         "frame is \(image.width)x\(image.height) but the encoder was opened for \(imageWidth)x\(imageHeight)")
            try check(av_frame_make_writable(frame), "av_frame_make_writable", path: path, kind: .internal)
            try fill(from: image)
            frame.pointee.pts = nextPTS
            nextPTS += 1
            if case .png = codec {} else { frame.pointee.quality = context.pointee.global_quality }
            try check(avcodec_send_frame(context, frame), "avcodec_send_frame", path: path, kind: .internal)
        } else {
            flushed = true
            try check(avcodec_send_frame(context, nil), "avcodec_send_frame", path: path, kind: .internal)
        }
        while true {
            let code = avcodec_receive_packet(context, packet)
            if code == gb_averror_eagain() || code == gb_averror_eof() { return }
            try check(code, "avcodec_receive_packet", path: path, kind: .internal)
            defer { av_packet_unref(packet) }
            try sink(packet)
        }
    }

    /// Writes `image` into `frame`, padding by edge replication and converting to the codec's format.
    private func fill(from image: RGBImage) throws {
        let source = (codedWidth == imageWidth && codedHeight == imageHeight) ? image : padded(image)
        // Staging layout: rows of `stagingStride` bytes, each the image row plus a copy of its last
        // pixel, and one extra copy of the last row. libswscale's 4:2:0 RGB readers average pixel
        // pairs without clamping at the right edge (an odd width reads pixel W) and may read past
        // the last row; replicated edges make those reads harmless and the chroma exact.
        let rowBytes = codedWidth * 3
        source.pixels.withUnsafeBufferPointer { pixels in
            let from = pixels.baseAddress!
            for y in 0...codedHeight {
                let sourceRow = from + min(y, codedHeight - 1) * rowBytes
                let row = staging + y * stagingStride
                row.update(from: sourceRow, count: rowBytes)
                (row + rowBytes).update(from: sourceRow + rowBytes - 3, count: 3)
            }
        }
        do {
            let base = UnsafePointer(staging)
            if let scaler {
                var sourcePlanes: [UnsafePointer<UInt8>?] = [base, nil, nil, nil]
                var sourceStride: [Int32] = [Int32(stagingStride), 0, 0, 0]
                let rows = withUnsafePointer(to: &frame.pointee.data) { dataTuple in
                    dataTuple.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { destination in
                        withUnsafePointer(to: &frame.pointee.linesize) { strideTuple in
                            strideTuple.withMemoryRebound(to: Int32.self, capacity: 8) { destinationStride in
                                sws_scale(scaler, &sourcePlanes, &sourceStride, 0, Int32(codedHeight),
                                          destination, destinationStride)
                            }
                        }
                    }
                }
                try check(rows, "sws_scale", path: path, kind: .internal)
            } else {
                // RGB24 straight into the frame, row by row (its rows may be padded).
                let stride = Int(frame.pointee.linesize.0)
                let destination = frame.pointee.data.0!
                for y in 0..<codedHeight {
                    (destination + y * stride).update(from: base + y * stagingStride, count: rowBytes)
                }
            }
        }
    }

    /// `image` grown to the coded size by repeating its last column and row.
    private func padded(_ image: RGBImage) -> RGBImage {
        let w = imageWidth, h = imageHeight, outW = codedWidth, outH = codedHeight
        var out = [UInt8](repeating: 0, count: outW * outH * 3)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outH {
                    let sy = min(y, h - 1)
                    for x in 0..<outW {
                        let sx = min(x, w - 1)
                        let s = (sy * w + sx) * 3, d = (y * outW + x) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: outW, height: outH, pixels: out)
    }
}

/// Decodes packets from a ``FrameEncoder`` straight back to RGB (no container), for round trips.
final class PacketDecoder {
    private let context: UnsafeMutablePointer<AVCodecContext>
    private let frame: UnsafeMutablePointer<AVFrame>
    private let converter: FrameConverter
    private let path: String

    init(codecID: AVCodecID, path: String) throws {
        guard let decoder = avcodec_find_decoder(codecID) else {
            throw VideoError(path: path, operation: "avcodec_find_decoder", code: gb_averror_decoder_not_found(),
                             reason: "no decoder for \(String(cString: avcodec_get_name(codecID)))", kind: .internal)
        }
        var contextPointer: UnsafeMutablePointer<AVCodecContext>? = try checkAlloc(
            avcodec_alloc_context3(decoder), "avcodec_alloc_context3", path: path)
        var success = false
        defer { if !success { avcodec_free_context(&contextPointer) } }
        contextPointer!.pointee.thread_count = 1
        try check(avcodec_open2(contextPointer, decoder, nil), "avcodec_open2", path: path, kind: .internal)
        let frame = try checkAlloc(av_frame_alloc(), "av_frame_alloc", path: path)
        self.context = contextPointer!
        self.frame = frame
        self.converter = FrameConverter(path: path)
        self.path = path
        success = true
    }

    deinit {
        var framePointer: UnsafeMutablePointer<AVFrame>? = frame
        var contextPointer: UnsafeMutablePointer<AVCodecContext>? = context
        av_frame_free(&framePointer)
        avcodec_free_context(&contextPointer)
    }

    /// Sends one packet (or `nil` to flush) and appends the frames that come out.
    func decode(_ packet: UnsafeMutablePointer<AVPacket>?, into images: inout [RGBImage]) throws {
        try check(avcodec_send_packet(context, packet), "avcodec_send_packet", path: path, kind: .internal)
        while true {
            let code = avcodec_receive_frame(context, frame)
            if code == gb_averror_eagain() || code == gb_averror_eof() { return }
            try check(code, "avcodec_receive_frame", path: path, kind: .internal)
            images.append(try converter.convert(frame))
            av_frame_unref(frame)
        }
    }
}

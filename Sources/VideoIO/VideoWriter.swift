import CFFmpeg
import Foundation
import Imaging

/// Writes RGB frames to a video file, whole or nothing.
///
/// The container comes from the path's extension (`.mp4`, `.mkv`, `.avi`, `.mov`, ...). Frames go to
/// `"<path>.partial"`, which ``finish()`` renames to `path`; a writer dropped before `finish()` (or
/// after a failure) deletes the partial file, so `path` never holds a half-written video.
/// Owns the muxer (`AVFormatContext` and its `AVIOContext`) and a ``FrameEncoder``.
public final class VideoWriter {
    /// The final path.
    public let path: String
    /// Frame size every appended image must have.
    public let width: Int
    public let height: Int
    public let fps: Double
    public let codec: VideoCodec
    /// Frames appended so far.
    public private(set) var frameCount = 0

    private let partialPath: String
    private let format: UnsafeMutablePointer<AVFormatContext>
    private let stream: UnsafeMutablePointer<AVStream>
    private let encoder: FrameEncoder
    private var finished = false
    private var failed = false

    /// Opens `"<path>.partial"` and writes the container header.
    ///
    /// - Parameters:
    ///   - path: the output file; its extension picks the container.
    ///   - width, height: frame size (H.264 pads odd sizes to even in the file).
    ///   - fps: frames per second (positive).
    ///   - codec: codec and quality.
    /// - Throws: ``VideoError``: `.badInput` for an unknown extension, a codec the container cannot
    ///   hold, or an absurd size; `.io` when the file cannot be created; `.internal` for a missing encoder.
    public init(path: String, width: Int, height: Int, fps: Double, codec: VideoCodec) throws {
        FFmpegLog.install()
        precondition(fps > 0 && fps.isFinite, "frame rate must be positive, got \(fps)")
        var formatPointer: UnsafeMutablePointer<AVFormatContext>? = nil
        try check(avformat_alloc_output_context2(&formatPointer, nil, nil, path), "avformat_alloc_output_context2",
                  path: path, kind: .badInput, context: "unknown container for this file extension")
        let partialPath = path + ".partial"
        var ioOpened = false
        var success = false
        defer {
            if !success {
                if ioOpened {
                    avio_closep(&formatPointer!.pointee.pb)
                    unlink(partialPath)
                }
                avformat_free_context(formatPointer)
            }
        }
        let format = formatPointer!
        let globalHeader = (format.pointee.oformat.pointee.flags & gb_avfmt_globalheader()) != 0
        let encoder = try FrameEncoder(codec: codec, width: width, height: height, fps: fps,
                                       globalHeader: globalHeader, threads: 0, path: path)
        let stream = try checkAlloc(avformat_new_stream(format, nil), "avformat_new_stream", path: path)
        stream.pointee.time_base = encoder.timeBase
        stream.pointee.avg_frame_rate = encoder.frameRate
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, encoder.context),
                  "avcodec_parameters_from_context", path: path, kind: .internal)
        try check(avio_open(&format.pointee.pb, partialPath, gb_avio_flag_write()), "avio_open", path: path,
                  kind: .io, context: "cannot create \(partialPath)")
        ioOpened = true
        try check(avformat_write_header(format, nil), "avformat_write_header", path: path, kind: .badInput,
                  context: "cannot write \(codec.encoderName) into this container")
        self.path = path
        self.width = width
        self.height = height
        self.fps = fps
        self.codec = codec
        self.partialPath = partialPath
        self.format = format
        self.stream = stream
        self.encoder = encoder
        success = true
    }

    deinit {
        if !finished {
            avio_closep(&format.pointee.pb)
            unlink(partialPath)
        }
        avformat_free_context(format)
    }

    /// Encodes one frame.
    /// - Parameter image: a `width x height` image (a different size is a programmer error).
    /// - Throws: ``VideoError`` when encoding or writing fails; the writer is then unusable.
    public func append(_ image: RGBImage) throws {
        precondition(!finished, "append after finish()")
        precondition(image.width == width && image.height == height,
                     "VideoWriter for \(width)x\(height) got a \(image.width)x\(image.height) frame")
        guard !failed else { throw failure("append") }
        do {
            try encoder.encode(image, sink: write)
            frameCount += 1
        } catch {
            failed = true
            throw error
        }
    }

    /// Flushes the encoder, writes the trailer and renames `"<path>.partial"` to `path`.
    /// - Throws: ``VideoError``; the partial file is deleted and `path` is left untouched.
    public func finish() throws {
        precondition(!finished, "finish() called twice")
        guard !failed else { throw failure("finish") }
        do {
            try encoder.encode(nil, sink: write)
            try check(av_write_trailer(format), "av_write_trailer", path: path, kind: .io)
            try check(avio_closep(&format.pointee.pb), "avio_closep", path: path, kind: .io)
            if rename(partialPath, path) != 0 {
                let code = errno
                throw VideoError(path: path, operation: "rename", code: gb_averror(code),
                                 reason: "cannot rename \(partialPath): \(String(cString: strerror(code)))", kind: .io)
            }
            finished = true
        } catch {
            failed = true
            throw error
        }
    }

    private func write(_ packet: UnsafeMutablePointer<AVPacket>) throws {
        av_packet_rescale_ts(packet, encoder.timeBase, stream.pointee.time_base)
        packet.pointee.stream_index = stream.pointee.index
        try check(av_interleaved_write_frame(format, packet), "av_interleaved_write_frame", path: path, kind: .io)
    }

    private func failure(_ operation: String) -> VideoError {
        VideoError(path: path, operation: operation, reason: "the writer failed earlier; nothing was written",
                   kind: .internal)
    }
}

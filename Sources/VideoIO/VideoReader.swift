import CFFmpeg
import Foundation
import Imaging

/// Streams the frames of one video file as RGB images.
///
/// Owns the demuxer (`AVFormatContext`), the decoder (`AVCodecContext`, frame and slice threading
/// with an automatic thread count), one packet, one frame and the RGB converter (`SwsContext`); all
/// are freed in `deinit`. Only the current frame is held in memory, so a long video decodes in
/// bounded memory. Not thread-safe: use one reader per thread.
///
/// ```swift
/// let reader = try VideoReader(path: "clip.mp4")
/// try reader.forEachFrame(.init(sampling: .targetFPS(5), maxFrames: 100)) { frame in
///     print(frame.index, frame.timeSeconds, frame.image.width)
///     return true
/// }
/// ```
///
/// Damaged packets are skipped the way the `ffmpeg` tool skips them (``decodeErrorCount`` counts
/// them); a stream that yields no frame at all, or hundreds of failures in a row, is an error.
public final class VideoReader {
    /// The path the reader was opened with.
    public let path: String
    /// Metadata read when the file was opened (`frameCount` may be estimated; see ``probe(path:)``).
    public let info: VideoInfo
    /// Whether frames are turned upright using ``VideoInfo/rotationDegrees``.
    public let autorotate: Bool
    /// Packets or frames the decoder rejected so far (corrupt data that was skipped).
    public private(set) var decodeErrorCount = 0

    private let format: UnsafeMutablePointer<AVFormatContext>
    private let decoder: UnsafeMutablePointer<AVCodecContext>
    private let packet: UnsafeMutablePointer<AVPacket>
    private let frame: UnsafeMutablePointer<AVFrame>
    private let converter: FrameConverter
    private let streamIndex: Int32
    private let timeBase: AVRational
    private let streamStart: Int64

    private var packetPending = false
    private var draining = false
    private var ended = false
    private var everDecoded = false
    private var consecutiveErrors = 0
    private var lastErrorCode: Int32 = 0
    private var nextIndex = 0
    private var resyncIndex = false
    private var lastTime: Double? = nil

    /// Consecutive decoder failures after which the stream counts as garbage.
    static let maxConsecutiveErrors = 256

    /// Opens a video file and its decoder.
    ///
    /// - Parameters:
    ///   - path: a file FFmpeg can read (MP4, MKV, WebM, AVI, MOV, still images, ...).
    ///   - autorotate: turn frames upright using the display matrix (default false: coded orientation).
    /// - Throws: ``VideoError``: `.missing` for no such file; `.badInput` for a directory, an empty
    ///   or unreadable file, no video stream, no decoder, or an absurd frame size; `.io` for
    ///   permission and I/O failures.
    public init(path: String, autorotate: Bool = false) throws {
        FFmpegLog.install()
        try preflight(path: path)
        var formatPointer: UnsafeMutablePointer<AVFormatContext>? = nil
        var decoderPointer: UnsafeMutablePointer<AVCodecContext>? = nil
        var packetPointer: UnsafeMutablePointer<AVPacket>? = nil
        var framePointer: UnsafeMutablePointer<AVFrame>? = nil
        var success = false
        defer {
            if !success {
                av_frame_free(&framePointer)
                av_packet_free(&packetPointer)
                avcodec_free_context(&decoderPointer)
                avformat_close_input(&formatPointer)
            }
        }
        let opened = try openInput(path: path)
        formatPointer = opened.format
        let streamIndex = opened.streamIndex
        let stream = opened.format.pointee.streams[Int(streamIndex)]!
        let parameters = stream.pointee.codecpar!

        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            throw VideoError(path: path, operation: "avcodec_find_decoder", code: gb_averror_decoder_not_found(),
                             reason: "no decoder for video codec \(String(cString: avcodec_get_name(parameters.pointee.codec_id)))",
                             kind: .badInput)
        }
        decoderPointer = try checkAlloc(avcodec_alloc_context3(codec), "avcodec_alloc_context3", path: path)
        try check(avcodec_parameters_to_context(decoderPointer, parameters), "avcodec_parameters_to_context", path: path)
        decoderPointer!.pointee.pkt_timebase = stream.pointee.time_base
        gb_codec_set_threads(decoderPointer, 0)
        try check(avcodec_open2(decoderPointer, codec, nil), "avcodec_open2", path: path,
                  context: "cannot open the video decoder")
        packetPointer = try checkAlloc(av_packet_alloc(), "av_packet_alloc", path: path)
        framePointer = try checkAlloc(av_frame_alloc(), "av_frame_alloc", path: path)

        self.path = path
        self.autorotate = autorotate
        self.format = opened.format
        self.decoder = decoderPointer!
        self.packet = packetPointer!
        self.frame = framePointer!
        self.streamIndex = streamIndex
        self.timeBase = stream.pointee.time_base
        let start = stream.pointee.start_time
        self.streamStart = start == gb_av_nopts_value() ? 0 : start
        self.converter = FrameConverter(path: path)
        self.info = describe(path: path, format: opened.format, stream: stream)
        success = true
    }

    deinit {
        var framePointer: UnsafeMutablePointer<AVFrame>? = frame
        var packetPointer: UnsafeMutablePointer<AVPacket>? = packet
        var decoderPointer: UnsafeMutablePointer<AVCodecContext>? = decoder
        var formatPointer: UnsafeMutablePointer<AVFormatContext>? = format
        av_frame_free(&framePointer)
        av_packet_free(&packetPointer)
        avcodec_free_context(&decoderPointer)
        avformat_close_input(&formatPointer)
    }

    // MARK: - Streaming

    /// Decodes the next frame.
    /// - Returns: the frame in RGB, or `nil` at the end of the stream.
    /// - Throws: ``VideoError`` when the stream is unreadable (see the type's discussion).
    public func nextFrame() throws -> VideoFrame? {
        guard let (index, time) = try decodeNext() else { return nil }
        return VideoFrame(index: index, timeSeconds: time, image: try currentImage())
    }

    /// Calls `body` with each sampled frame, decoding as it goes.
    ///
    /// Decoding continues from the reader's current position. With `startSeconds`, earlier frames
    /// are skipped; when the start lies more than two seconds ahead (or behind), the reader seeks to
    /// the keyframe before it first, and frame indices are then derived from timestamps. Frames that
    /// are not kept are decoded but never converted to RGB.
    ///
    /// - Parameters:
    ///   - options: sampling, time range and frame cap.
    ///   - body: receives each kept frame; return `false` to stop.
    /// - Throws: ``VideoError`` from decoding, or what `body` throws.
    public func forEachFrame(_ options: SamplingOptions, _ body: (VideoFrame) throws -> Bool) throws {
        options.validate()
        if options.maxFrames == 0 { return }
        if let start = options.startSeconds {
            let position = lastTime ?? 0
            if start > position + 2 || start < position { seek(toSeconds: start) }
        }
        var selector = FrameSelector(options: options, info: info, frameCounter: { [path] in
            try VideoReader.countFrames(path: path)
        })
        var kept = 0
        while let (index, time) = try decodeNext() {
            if let start = options.startSeconds, time < start - 1e-6 { continue }
            if let end = options.endSeconds, time >= end - 1e-6 { break }
            let decision = try selector.decide(time: time)
            if decision == .stop { break }
            if decision == .skip { continue }
            let frame = VideoFrame(index: index, timeSeconds: time, image: try currentImage())
            kept += 1
            if try !body(frame) { break }
            if let maxFrames = options.maxFrames, kept >= maxFrames { break }
            if selector.isDone { break }
        }
    }

    /// The sampled frames as an array.
    ///
    /// Holds every returned frame in memory (1080p RGB is about 6 MB a frame): bound it with
    /// `maxFrames`, a sparse sampling or a time range, or use ``forEachFrame(_:_:)``.
    /// - Parameter options: sampling, time range and frame cap.
    /// - Returns: the kept frames in presentation order.
    /// - Throws: ``VideoError`` from decoding.
    public func frames(_ options: SamplingOptions) throws -> [VideoFrame] {
        var result: [VideoFrame] = []
        try forEachFrame(options) { frame in
            result.append(frame)
            return true
        }
        return result
    }

    /// Opens `path` and reports its metadata, counting the video packets when the container does
    /// not store a frame count (Matroska, WebM, some AVI): one demux pass, no decoding.
    ///
    /// - Parameter path: the video file.
    /// - Returns: the metadata; `frameCountIsEstimated` is false when the count was read or counted.
    /// - Throws: ``VideoError`` as ``init(path:autorotate:)`` does.
    public static func probe(path: String) throws -> VideoInfo {
        let reader = try VideoReader(path: path)
        var info = reader.info
        if info.frameCountIsEstimated, let counted = try? reader.countRemainingPackets() {
            info.frameCount = counted.count
            info.frameCountIsEstimated = false
            if info.durationSeconds <= 0, counted.duration > 0 { info.durationSeconds = counted.duration }
        }
        return info
    }

    /// The number of frames in the video stream: the container's count or a packet count.
    static func countFrames(path: String) throws -> Int {
        try probe(path: path).frameCount
    }

    // MARK: - Internals

    /// Reads the rest of the file counting video packets; returns the count and the end time.
    private func countRemainingPackets() throws -> (count: Int, duration: Double) {
        var count = 0
        var endTimestamp: Int64 = .min
        while true {
            let code = av_read_frame(format, packet)
            if code == gb_averror_eof() { break }
            if code == gb_averror_eagain() { continue }
            try check(code, "av_read_frame", path: path, context: "cannot count frames")
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == streamIndex else { continue }
            count += 1
            if packet.pointee.pts != gb_av_nopts_value() {
                endTimestamp = max(endTimestamp, packet.pointee.pts + max(0, packet.pointee.duration))
            }
        }
        let duration = endTimestamp == .min ? 0 : Double(endTimestamp - streamStart) * av_q2d(timeBase)
        return (count, duration)
    }

    /// The current decoded frame in RGB (turned upright when `autorotate`).
    private func currentImage() throws -> RGBImage {
        let image = try converter.convert(frame)
        return autorotate ? image.rotatedClockwise(info.rotationDegrees) : image
    }

    /// Seeks to the keyframe at or before `seconds`; false (and no change) when the file cannot seek.
    @discardableResult
    private func seek(toSeconds seconds: Double) -> Bool {
        let ticks = seconds / av_q2d(timeBase)
        guard ticks.isFinite, abs(ticks) < 9e18 else { return false }
        let target = streamStart + Int64(ticks)
        do {
            try check(av_seek_frame(format, streamIndex, target, gb_avseek_flag_backward()), "av_seek_frame", path: path)
        } catch {
            return false
        }
        avcodec_flush_buffers(decoder)
        if packetPending { av_packet_unref(packet); packetPending = false }
        draining = false
        ended = false
        resyncIndex = true
        return true
    }

    /// Decodes until a frame is ready in `frame`; returns its index and time, or nil at the end.
    private func decodeNext() throws -> (Int, Double)? {
        if ended { return nil }
        while true {
            let received = avcodec_receive_frame(decoder, frame)
            if received >= 0 {
                consecutiveErrors = 0
                everDecoded = true
                return stamp()
            }
            if received == gb_averror_eof() {
                ended = true
                if !everDecoded {
                    let detail = decodeErrorCount > 0
                        ? "no decodable video frames (\(decodeErrorCount) failures, last: \(ffmpegErrorString(lastErrorCode)))"
                        : "the video stream has no frames"
                    throw VideoError(path: path, operation: "avcodec_receive_frame",
                                     code: decodeErrorCount > 0 ? lastErrorCode : nil, reason: detail, kind: .badInput)
                }
                return nil
            }
            if received != gb_averror_eagain() {
                try recordDecodeError(received, "avcodec_receive_frame")
                continue
            }
            // The decoder wants input.
            if draining {
                // A decoder in draining mode never asks for more input; treat as the end.
                ended = true
                return nil
            }
            if !packetPending {
                let read = av_read_frame(format, packet)
                if read == gb_averror_eof() {
                    try check(avcodec_send_packet(decoder, nil), "avcodec_send_packet", path: path, kind: .internal)
                    draining = true
                    continue
                }
                if read == gb_averror_eagain() { continue }
                try check(read, "av_read_frame", path: path, context: "cannot read the video")
                if packet.pointee.stream_index != streamIndex {
                    av_packet_unref(packet)
                    continue
                }
                packetPending = true
            }
            let sent = avcodec_send_packet(decoder, packet)
            if sent == gb_averror_eagain() { continue }  // receive first, then resend this packet
            av_packet_unref(packet)
            packetPending = false
            if sent < 0 { try recordDecodeError(sent, "avcodec_send_packet") }
        }
    }

    /// Counts a rejected packet or frame; throws for fatal codes or too many failures in a row.
    private func recordDecodeError(_ code: Int32, _ operation: String) throws {
        if code == gb_averror_enomem() || code == gb_averror_bug() {
            try check(code, operation, path: path, kind: .internal)
        }
        decodeErrorCount += 1
        consecutiveErrors += 1
        lastErrorCode = code
        if consecutiveErrors >= VideoReader.maxConsecutiveErrors {
            try check(code, operation, path: path, kind: .badInput,
                      context: "corrupt video (\(consecutiveErrors) undecodable packets in a row)")
        }
    }

    /// Index and time of the frame just decoded.
    private func stamp() -> (Int, Double) {
        var timestamp = frame.pointee.best_effort_timestamp
        if timestamp == gb_av_nopts_value() { timestamp = frame.pointee.pts }
        let fps = info.fps > 0 ? info.fps : 25
        let time: Double
        if timestamp == gb_av_nopts_value() {
            time = lastTime.map { $0 + 1 / fps } ?? 0
        } else {
            time = Double(timestamp - streamStart) * av_q2d(timeBase)
        }
        if resyncIndex {
            nextIndex = max(0, Int((time * fps).rounded()))
            resyncIndex = false
        }
        let index = nextIndex
        nextIndex += 1
        lastTime = time
        return (index, time)
    }
}

// MARK: - Opening and describing

/// Checks the path before FFmpeg sees it: existence, directories, empty files.
func preflight(path: String) throws {
    var status = stat()
    if stat(path, &status) != 0 {
        let error = errno
        if error == ENOENT || error == ENOTDIR {
            throw VideoError(path: path, operation: "stat", code: gb_averror(error), reason: "no such file", kind: .missing)
        }
        throw VideoError(path: path, operation: "stat", code: gb_averror(error),
                         reason: "cannot access: \(String(cString: strerror(error)))", kind: .io)
    }
    if (status.st_mode & S_IFMT) == S_IFDIR {
        throw VideoError(path: path, operation: "stat", reason: "is a directory, not a video file", kind: .badInput)
    }
    if (status.st_mode & S_IFMT) == S_IFREG && status.st_size == 0 {
        throw VideoError(path: path, operation: "stat", reason: "empty file (0 bytes)", kind: .badInput)
    }
}

/// Opens the container, reads stream info and picks the video stream (not cover art).
/// The caller owns the returned context (close with `avformat_close_input`).
func openInput(path: String) throws -> (format: UnsafeMutablePointer<AVFormatContext>, streamIndex: Int32) {
    var formatPointer: UnsafeMutablePointer<AVFormatContext>? = nil
    try check(avformat_open_input(&formatPointer, path, nil, nil), "avformat_open_input", path: path,
              context: "not a video FFmpeg can read")
    var success = false
    defer { if !success { avformat_close_input(&formatPointer) } }
    let format = formatPointer!
    try check(avformat_find_stream_info(format, nil), "avformat_find_stream_info", path: path,
              context: "cannot read the streams")

    var best: Int32 = -1
    var bestArea = -1
    var kinds: [String] = []
    for index in 0..<Int(format.pointee.nb_streams) {
        guard let stream = format.pointee.streams[index], let parameters = stream.pointee.codecpar else { continue }
        let type = parameters.pointee.codec_type
        kinds.append(av_get_media_type_string(type).map { String(cString: $0) } ?? "unknown")
        let isCoverArt = (stream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0
        if type == AVMEDIA_TYPE_VIDEO && !isCoverArt {
            let area = Int(parameters.pointee.width) * Int(parameters.pointee.height)
            if area > bestArea { best = Int32(index); bestArea = area }
        }
    }
    guard best >= 0 else {
        let found = kinds.isEmpty ? "no streams" : "streams: " + kinds.joined(separator: ", ")
        throw VideoError(path: path, operation: "avformat_find_stream_info", code: gb_averror_stream_not_found(),
                         reason: "no video stream (\(found))", kind: .badInput)
    }
    for index in 0..<Int(format.pointee.nb_streams) where Int32(index) != best {
        format.pointee.streams[index]?.pointee.discard = AVDISCARD_ALL
    }
    let parameters = format.pointee.streams[Int(best)]!.pointee.codecpar!
    // FFmpeg renders text files as "video" (tty demuxer, ANSI art codecs); that is not a video here.
    let textCodecs: Set<UInt32> = [AV_CODEC_ID_ANSI.rawValue, AV_CODEC_ID_BINTEXT.rawValue, AV_CODEC_ID_XBIN.rawValue,
                                   AV_CODEC_ID_IDF.rawValue]
    if textCodecs.contains(parameters.pointee.codec_id.rawValue) {
        throw VideoError(path: path, operation: "avformat_open_input", code: gb_averror_invaliddata(),
                         reason: "a text file, not a video", kind: .badInput)
    }
    let width = Int(parameters.pointee.width), height = Int(parameters.pointee.height)
    guard VideoLimits.accepts(width: width, height: height) else {
        let reason = width <= 0 || height <= 0
            ? "the video stream has no frame size (\(width)x\(height)); corrupt header?"
            : "absurd frame size \(width)x\(height) (limit \(VideoLimits.maxSide) per side, \(VideoLimits.maxPixels) pixels)"
        throw VideoError(path: path, operation: "avformat_find_stream_info", reason: reason, kind: .badInput)
    }
    success = true
    return (format, best)
}

/// Reads ``VideoInfo`` from an opened container and its chosen video stream.
func describe(path: String, format: UnsafeMutablePointer<AVFormatContext>,
              stream: UnsafeMutablePointer<AVStream>) -> VideoInfo {
    let parameters = stream.pointee.codecpar!.pointee
    let rate = av_guess_frame_rate(format, stream, nil)
    var fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0
    if !fps.isFinite || fps > 10_000 { fps = 0 }
    var duration = 0.0
    if stream.pointee.duration != gb_av_nopts_value() && stream.pointee.duration > 0 {
        duration = Double(stream.pointee.duration) * av_q2d(stream.pointee.time_base)
    } else if format.pointee.duration != gb_av_nopts_value() && format.pointee.duration > 0 {
        duration = Double(format.pointee.duration) / Double(gb_av_time_base())
    }
    if !duration.isFinite || duration < 0 { duration = 0 }
    let stored = Int(stream.pointee.nb_frames)
    let estimated = stored <= 0
    let frameCount = estimated ? Int((duration * fps).rounded()) : stored
    let bitRate = parameters.bit_rate > 0 ? Int(parameters.bit_rate)
        : (format.pointee.bit_rate > 0 ? Int(format.pointee.bit_rate) : nil)
    let rotation = gb_stream_display_rotation(stream)
    var degrees = 0
    if !rotation.isNaN {
        // The display matrix turns counter-clockwise by `rotation`; showing upright needs the opposite.
        let clockwise = (-rotation / 90).rounded() * 90
        degrees = ((Int(clockwise) % 360) + 360) % 360
    }
    return VideoInfo(path: path,
                     container: format.pointee.iformat.map { String(cString: $0.pointee.name) } ?? "unknown",
                     codec: String(cString: avcodec_get_name(parameters.codec_id)),
                     width: Int(parameters.width), height: Int(parameters.height), fps: fps,
                     durationSeconds: duration, frameCount: frameCount, frameCountIsEstimated: estimated,
                     bitRate: bitRate, rotationDegrees: degrees)
}

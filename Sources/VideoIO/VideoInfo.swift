import Imaging

/// What a video file is: container, codec, size, timing, rotation.
///
/// `frameCount` comes from the container's index (`nb_frames`) when it has one. Otherwise
/// ``VideoReader/probe(path:)`` counts the video packets (a demux pass, no decoding) and
/// ``VideoReader/info`` estimates `durationSeconds * fps`; `frameCountIsEstimated` says which.
public struct VideoInfo: Codable, Sendable, Equatable {
    /// The file this describes.
    public var path: String
    /// FFmpeg's demuxer short name (`"mov,mp4,m4a,3gp,3g2,mj2"`, `"matroska,webm"`, `"avi"`).
    public var container: String
    /// FFmpeg's codec name of the video stream (`"h264"`, `"hevc"`, `"vp9"`, `"mpeg4"`, `"mjpeg"`).
    public var codec: String
    /// Coded frame width in pixels (before rotation).
    public var width: Int
    /// Coded frame height in pixels (before rotation).
    public var height: Int
    /// Frames per second (average frame rate, or FFmpeg's best guess); 0 when unknown.
    public var fps: Double
    /// Duration of the video stream in seconds (or of the container when the stream has none).
    public var durationSeconds: Double
    /// Number of video frames: from the container, counted packets, or estimated.
    public var frameCount: Int
    /// True when `frameCount` is `durationSeconds * fps` rather than read or counted.
    public var frameCountIsEstimated: Bool
    /// Bits per second of the video stream when known, else of the whole container; nil if unknown.
    public var bitRate: Int?
    /// Clockwise rotation, in degrees (0, 90, 180 or 270), that shows the frames upright, from the
    /// stream's display matrix (the same convention as the legacy `rotate` tag).
    public var rotationDegrees: Int

    public init(path: String, container: String, codec: String, width: Int, height: Int, fps: Double,
                durationSeconds: Double, frameCount: Int, frameCountIsEstimated: Bool, bitRate: Int?,
                rotationDegrees: Int) {
        self.path = path
        self.container = container
        self.codec = codec
        self.width = width
        self.height = height
        self.fps = fps
        self.durationSeconds = durationSeconds
        self.frameCount = frameCount
        self.frameCountIsEstimated = frameCountIsEstimated
        self.bitRate = bitRate
        self.rotationDegrees = rotationDegrees
    }
}

/// Which decoded frames to keep.
public enum FrameSampling: Sendable, Equatable {
    /// Every frame.
    case every
    /// Frames 0, n, 2n, ... counted from the first frame in the time range (n >= 1).
    case everyNth(Int)
    /// n frames spread evenly over the time range: the first frame at or after each of the times
    /// `start + (end - start) * k / n`, k = 0..<n (fewer when the range holds fewer frames).
    case evenlySpaced(Int)
    /// Frames thinned to at most this rate: the first frame at or after each tick `start + k / fps`.
    case targetFPS(Double)
}

/// Frame sampling and a time range, for ``VideoReader/frames(_:)`` and ``VideoReader/forEachFrame(_:_:)``.
public struct SamplingOptions: Sendable, Equatable {
    /// Which frames to keep.
    public var sampling: FrameSampling
    /// Skip frames before this time (seconds from the start of the stream). Seeks when far ahead.
    public var startSeconds: Double?
    /// Stop at the first frame at or after this time (exclusive end).
    public var endSeconds: Double?
    /// Stop after this many kept frames.
    public var maxFrames: Int?

    /// - Parameters:
    ///   - sampling: which frames to keep (default every frame).
    ///   - startSeconds: start of the time range (default: the current position).
    ///   - endSeconds: exclusive end of the time range (default: end of stream).
    ///   - maxFrames: cap on the number of kept frames (default: none).
    public init(sampling: FrameSampling = .every, startSeconds: Double? = nil, endSeconds: Double? = nil,
                maxFrames: Int? = nil) {
        self.sampling = sampling
        self.startSeconds = startSeconds
        self.endSeconds = endSeconds
        self.maxFrames = maxFrames
    }

    /// Checks the options for programmer errors (negative counts, empty ranges).
    func validate() {
        switch sampling {
        case .every: break
        case .everyNth(let n): precondition(n >= 1, "everyNth needs n >= 1, got \(n)")
        case .evenlySpaced(let n): precondition(n >= 1, "evenlySpaced needs n >= 1, got \(n)")
        case .targetFPS(let fps): precondition(fps > 0 && fps.isFinite, "targetFPS needs a positive rate, got \(fps)")
        }
        if let maxFrames { precondition(maxFrames >= 0, "maxFrames must not be negative, got \(maxFrames)") }
        if let startSeconds { precondition(startSeconds.isFinite, "startSeconds must be finite") }
        if let endSeconds { precondition(!endSeconds.isNaN, "endSeconds must not be NaN") }
        if let startSeconds, let endSeconds {
            precondition(startSeconds <= endSeconds, "startSeconds \(startSeconds) is after endSeconds \(endSeconds)")
        }
    }
}

/// One decoded frame.
public struct VideoFrame: Sendable {
    /// 0-based index of the frame among all decoded frames of the stream (after a seek, derived
    /// from the timestamp as `round(timeSeconds * fps)`).
    public var index: Int
    /// Presentation time in seconds from the start of the stream.
    public var timeSeconds: Double
    /// The picture, converted to 8-bit RGB.
    public var image: RGBImage

    public init(index: Int, timeSeconds: Double, image: RGBImage) {
        self.index = index
        self.timeSeconds = timeSeconds
        self.image = image
    }
}

import Foundation
import Imaging
import VideoIO

/// The score of one face in one sampled frame.
public struct FrameScore: Codable, Sendable, Equatable {
    /// Decoded frame index in the video (0-based).
    public var index: Int
    public var timeSeconds: Double
    /// The (smoothed) face box in frame pixels.
    public var box: Box
    /// The square crop window in frame pixels that the network saw (`margin` times the face).
    public var cropBox: Box
    /// Raw fake logit of the spatial network.
    public var logit: Double
    /// Calibrated p(fake).
    public var probability: Double
}

/// The verdict for one face track.
public struct TrackVerdict: Codable, Sendable, Equatable {
    public var id: Int
    public var frames: [FrameScore]
    /// The temporal head's logit over the track's embeddings, when the track was long enough.
    public var temporalLogit: Double?
    /// Calibrated p(fake) of the track.
    public var probability: Double
    public var label: VerdictLabel
}

/// The verdict for a whole video.
public struct VideoVerdict: Codable, Sendable, Equatable {
    public var label: VerdictLabel
    /// Calibrated p(fake) of the video (the most suspicious track), nil when no face was found.
    public var probability: Double?
    /// A sentence a person can read.
    public var summary: String
}

/// Everything a scan learned about a video, before explanation.
public struct VideoScan: Sendable {
    public var info: VideoInfo
    public var sampling: SamplingOptions
    public var sampledFrames: Int
    public var framesWithFace: Int
    public var tracks: [TrackVerdict]
    public var verdict: VideoVerdict
    /// The crops and embeddings of each track, in `tracks` order (kept for explanations).
    public var evidence: [TrackEvidence]

    /// Index (into `tracks` and `evidence`) of the track with the highest p(fake): the one the
    /// video's verdict comes from. Nil when no face was scored.
    public var mostSuspiciousTrackIndex: Int? {
        tracks.indices.max { tracks[$0].probability < tracks[$1].probability }
    }
}

/// The network inputs and activations of one track, kept so that explanations and robustness
/// checks can re-use them without decoding again.
public struct TrackEvidence: Sendable {
    public var trackID: Int
    /// The aligned crops, one per scored frame.
    public var crops: [RGBImage]
    /// `[frames, embeddingSize]` row-major.
    public var embeddings: [Float]
    /// The face's region of the scanned frames on the frame's codec grid, when the scan kept them
    /// (``ScanOptions/keepsCodecWindows``): at most ``ScanOptions/maxCodecWindows`` per track,
    /// evenly spread over its frames.
    public var codecWindows: [CodecWindow]?
}

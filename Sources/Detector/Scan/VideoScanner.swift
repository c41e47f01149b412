import Faces
import Foundation
import Imaging
import VideoIO

/// How a scan samples a video.
public struct ScanOptions: Sendable {
    /// Frames to sample; nil picks `defaultSampling(for:)` from the video's duration.
    public var sampling: SamplingOptions?
    /// Crops scored per network call.
    public var batchSize: Int = 16
    /// Keep each track's ``CodecWindow``s (for the quality ladder of the shortcut check).
    public var keepsCodecWindows = false
    /// Most windows kept per track, evenly spread over its frames: the frames the quality ladder
    /// re-encodes and re-scores (14 times). 16 keeps a scan with explanations of a 10 s clip under
    /// 5 s on 2 cores, and memory bounded whatever the sampling.
    public static let maxCodecWindows = 16

    /// Every how many of a track's crops a window is kept, so that at most `maxCodecWindows` spread
    /// over `plannedFrames` sampled frames are.
    static func codecWindowStride(plannedFrames: Int) -> Int {
        max(1, (plannedFrames + maxCodecWindows - 1) / maxCodecWindows)
    }

    public init(sampling: SamplingOptions? = nil, keepsCodecWindows: Bool = false) {
        self.sampling = sampling
        self.keepsCodecWindows = keepsCodecWindows
    }

    /// Four frames a second, spread evenly, at least 8 and at most 64: enough for the tracker to
    /// follow faces and for the temporal head, few enough that a 10 s clip scans in well under 2 s.
    public static func defaultSampling(for info: VideoInfo) -> SamplingOptions {
        let frames = min(64, max(8, Int((info.durationSeconds * 4).rounded())))
        return SamplingOptions(sampling: .evenlySpaced(frames))
    }
}

/// Decodes a video, tracks its faces, scores the aligned crops and aggregates a verdict.
///
/// Streaming: only the current frame and the small crops are held in memory, whatever the
/// video's length. Only frames where the detector found the face are scored; boxes the tracker
/// merely carried over are not, so nothing without a face is silently scored.
public struct VideoScanner: Sendable {
    public let model: DetectorModel
    public let detector: FaceDetector

    public init(model: DetectorModel, detector: FaceDetector) {
        self.model = model
        self.detector = detector
    }

    /// Scans one video file.
    /// - Parameters:
    ///   - path: the video.
    ///   - options: sampling.
    ///   - progress: called after each sampled frame with (frames done, frames planned).
    /// - Returns: per-frame, per-track and per-video scores with the crops kept as evidence.
    /// - Throws: `VideoError` for unreadable input.
    public func scan(path: String, options: ScanOptions = ScanOptions(),
                     progress: (Int, Int) -> Void = { _, _ in }) throws -> VideoScan {
        let reader = try VideoReader(path: path)
        let info = reader.info
        let sampling = options.sampling ?? ScanOptions.defaultSampling(for: info)
        let planned = Self.plannedFrames(sampling, info: info)
        var accumulator = TrackAccumulator(scanner: self, windowStride: options.keepsCodecWindows
                                           ? ScanOptions.codecWindowStride(plannedFrames: planned) : nil)
        try reader.forEachFrame(sampling) { frame in
            accumulator.add(frame)
            progress(accumulator.sampled, planned)
            return true
        }
        return accumulator.finish(info: info, sampling: sampling, batchSize: options.batchSize)
    }

    /// Scans frames already in memory (for example perturbed copies of a clip's frames).
    /// - Parameters:
    ///   - frames: the sampled frames in order.
    ///   - info: the video they came from (for the report).
    ///   - keepsCodecWindows: keep the tracks' ``CodecWindow``s (see ``ScanOptions``).
    public func scan(frames: [VideoFrame], info: VideoInfo, sampling: SamplingOptions = SamplingOptions(),
                     batchSize: Int = 16, keepsCodecWindows: Bool = false) -> VideoScan {
        var accumulator = TrackAccumulator(scanner: self, windowStride: keepsCodecWindows
                                           ? ScanOptions.codecWindowStride(plannedFrames: frames.count) : nil)
        for frame in frames { accumulator.add(frame) }
        return accumulator.finish(info: info, sampling: sampling, batchSize: batchSize)
    }

    /// Follows faces through sampled frames, keeping only the small crops.
    struct TrackAccumulator {
        let scanner: VideoScanner
        var tracker = FaceTracker()
        var crops: [Int: [(score: FrameScore, crop: RGBImage)]] = [:]
        /// Every `windowStride`-th crop of a track keeps its codec window; nil keeps none.
        let windowStride: Int?
        var windows: [Int: [CodecWindow]] = [:]
        var sampled = 0
        var framesWithFace = Set<Int>()

        init(scanner: VideoScanner, windowStride: Int? = nil) {
            self.scanner = scanner
            self.windowStride = windowStride
        }

        mutating func add(_ frame: VideoFrame) {
            sampled += 1
            let format = scanner.model.format
            for face in tracker.update(frameIndex: frame.index, image: frame.image, detector: scanner.detector)
            where face.observation.detected {
                let (crop, cropBox) = alignedCrop(frame.image, box: face.observation.box, margin: format.margin, size: format.size)
                let score = FrameScore(index: frame.index, timeSeconds: frame.timeSeconds, box: face.observation.box,
                                       cropBox: cropBox, logit: 0, probability: 0)
                let position = crops[face.trackID]?.count ?? 0
                if let stride = windowStride, position % stride == 0,
                   windows[face.trackID, default: []].count < ScanOptions.maxCodecWindows {
                    windows[face.trackID, default: []].append(CodecWindow(frame: frame.image, cropBox: cropBox, position: position))
                }
                crops[face.trackID, default: []].append((score, crop))
                framesWithFace.insert(frame.index)
            }
        }

        func finish(info: VideoInfo, sampling: SamplingOptions, batchSize: Int) -> VideoScan {
            let kept = Set(tracker.finish().map(\.id))
            var tracks: [TrackVerdict] = []
            var evidence: [TrackEvidence] = []
            for id in crops.keys.sorted() where kept.contains(id) {
                let (verdict, scored) = scanner.score(trackID: id, items: crops[id]!, batchSize: batchSize)
                var trackEvidence = scored
                if windowStride != nil { trackEvidence.codecWindows = windows[id] ?? [] }
                tracks.append(verdict)
                evidence.append(trackEvidence)
            }
            let scoredFrames = Set(tracks.flatMap { $0.frames.map(\.index) })
            return VideoScan(info: info, sampling: sampling, sampledFrames: sampled,
                             framesWithFace: framesWithFace.intersection(scoredFrames).count, tracks: tracks,
                             verdict: scanner.videoVerdict(tracks: tracks, sampled: sampled), evidence: evidence)
        }
    }

    /// Scores one track's crops: frame logits, temporal logit, calibrated track probability.
    func score(trackID: Int, items: [(score: FrameScore, crop: RGBImage)], batchSize: Int) -> (TrackVerdict, TrackEvidence) {
        var inputs: [Float] = []
        inputs.reserveCapacity(items.count * 3 * model.format.size * model.format.size)
        for item in items { inputs.append(contentsOf: model.format.tensorValues(item.crop)) }
        let (embeddings, logits) = model.embedAndScore(inputs, count: items.count, batchSize: batchSize)
        var frames = items.map(\.score)
        for position in frames.indices {
            frames[position].logit = logits[position]
            frames[position].probability = model.calibration.probability(logit: logits[position])
        }
        let (temporal, probability) = model.trackScore(frameLogits: logits, embeddings: embeddings)
        return (TrackVerdict(id: trackID, frames: frames, temporalLogit: temporal, probability: probability,
                             label: model.rule.label(probability: probability)),
                TrackEvidence(trackID: trackID, crops: items.map(\.crop), embeddings: embeddings))
    }

    func videoVerdict(tracks: [TrackVerdict], sampled: Int) -> VideoVerdict {
        guard let probability = Aggregation.videoProbability(trackProbabilities: tracks.map(\.probability)) else {
            return VideoVerdict(label: .noFace, probability: nil,
                                summary: "No face found in \(sampled) sampled frames; nothing was scored.")
        }
        let label = model.rule.label(probability: probability)
        let worst = tracks.max { $0.probability < $1.probability }!
        let facePart = tracks.count == 1 ? "1 face track" : "\(tracks.count) face tracks"
        let summary: String
        switch label {
        case .fake: summary = String(format: "Likely manipulated: p(fake) = %.3f, from track %d (%@, %d scored frames).",
                                     probability, worst.id, facePart, worst.frames.count)
        case .real: summary = String(format: "No sign of manipulation: p(fake) = %.3f over %@.", probability, facePart)
        case .unsure: summary = String(format: "Unsure: p(fake) = %.3f is inside the band around the threshold (%@).",
                                       probability, facePart)
        case .noFace: summary = "No face found."
        }
        return VideoVerdict(label: label, probability: probability, summary: summary)
    }

    static func plannedFrames(_ sampling: SamplingOptions, info: VideoInfo) -> Int {
        var planned: Int
        switch sampling.sampling {
        case .every: planned = info.frameCount
        case .everyNth(let n): planned = (info.frameCount + n - 1) / max(n, 1)
        case .evenlySpaced(let n): planned = n
        case .targetFPS(let fps): planned = Int(info.durationSeconds * fps) + 1
        }
        if let cap = sampling.maxFrames { planned = min(planned, cap) }
        return max(planned, 1)
    }
}

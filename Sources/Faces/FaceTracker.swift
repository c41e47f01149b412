import Imaging

/// A face in one sampled frame, as part of a track.
public struct FaceObservation: Sendable, Codable, Equatable {
    /// Index of the frame in the video (as given to ``FaceTracker/update(frameIndex:image:detector:)``).
    public var frameIndex: Int
    /// The smoothed box (exponential moving average of the detections); held when not detected.
    public var box: Box
    /// The detector's box in this frame, `nil` when the face was not detected (coasting).
    public var rawBox: Box?
    /// Whether the detector found the face in this frame.
    public var detected: Bool

    public init(frameIndex: Int, box: Box, rawBox: Box?, detected: Bool) {
        self.frameIndex = frameIndex
        self.box = box
        self.rawBox = rawBox
        self.detected = detected
    }
}

/// The observations of one face over time.
public struct FaceTrack: Sendable, Codable, Equatable {
    /// Track id, unique within one tracker, in order of appearance (starting at 0).
    public var id: Int
    /// Observations in frame order.
    public var observations: [FaceObservation]

    public init(id: Int, observations: [FaceObservation]) {
        self.id = id
        self.observations = observations
    }

    /// Number of frames in which the face was detected.
    public var detectedCount: Int { observations.lazy.filter(\.detected).count }
}

/// One face in the current frame with the id of its track (what ``FaceTracker/update(frameIndex:image:detector:)`` returns).
public struct TrackedFace: Sendable, Codable, Equatable {
    public var trackID: Int
    public var observation: FaceObservation

    public init(trackID: Int, observation: FaceObservation) {
        self.trackID = trackID
        self.observation = observation
    }
}

/// Links face detections across sampled frames into tracks.
///
/// Each update detects faces — a full search every `fullSearchInterval` updates or when nothing is
/// tracked, otherwise only near the live tracks (``FaceDetector/detect(in:near:)``, several times
/// cheaper) — and associates them to live tracks by IoU, greedily from the best pair down to
/// `iouThreshold` (with so few faces per frame this equals the Hungarian assignment in practice).
/// Matched tracks smooth their box with an exponential moving average
/// ```
/// box = smoothing * previous + (1 - smoothing) * detection
/// ```
/// unmatched tracks coast on their last box for up to `maxMissedFrames` updates, and unmatched
/// detections start new tracks (only in full-search frames).
///
/// ```swift
/// var tracker = FaceTracker()
/// while let frame = try reader.nextFrame() { _ = tracker.update(frameIndex: frame.index, image: frame.image, detector: detector) }
/// let tracks = tracker.finish()
/// ```
public struct FaceTracker {
    public let iouThreshold: Double
    public let maxMissedFrames: Int
    public let smoothing: Double
    public let fullSearchInterval: Int
    /// ``finish()`` drops tracks detected in fewer than this many frames (or in fewer than half of
    /// all updates when the video had few sampled frames).
    public let minTrackLength: Int

    private struct LiveTrack {
        var id: Int
        var box: Box
        var missed: Int
        var observations: [FaceObservation]
    }

    private var live: [LiveTrack] = []
    private var ended: [FaceTrack] = []
    private var nextID = 0
    private var updates = 0

    /// Number of updates that ran a full search (for diagnostics).
    public private(set) var fullSearches = 0

    /// - Parameters:
    ///   - iouThreshold: least IoU between a track's box and a detection to link them.
    ///   - maxMissedFrames: updates a track may go undetected before it ends.
    ///   - smoothing: weight of the previous box in the moving average, `0..<1` (0: no smoothing).
    ///   - fullSearchInterval: a full search every this many updates (1: always).
    ///   - minTrackLength: see ``minTrackLength``.
    public init(iouThreshold: Double = 0.3, maxMissedFrames: Int = 3, smoothing: Double = 0.6,
                fullSearchInterval: Int = 5, minTrackLength: Int = 3) {
        precondition((0..<1).contains(smoothing), "smoothing must be in 0..<1, got \(smoothing)")
        precondition(fullSearchInterval >= 1 && maxMissedFrames >= 0 && iouThreshold >= 0,
                     "fullSearchInterval must be >= 1, maxMissedFrames and iouThreshold >= 0")
        self.iouThreshold = iouThreshold
        self.maxMissedFrames = maxMissedFrames
        self.smoothing = smoothing
        self.fullSearchInterval = fullSearchInterval
        self.minTrackLength = minTrackLength
    }

    /// Detects and associates faces in the next sampled frame.
    /// - Parameters:
    ///   - frameIndex: the frame's index in the video (increasing).
    ///   - image: the frame.
    ///   - detector: the face detector.
    /// - Returns: the faces of live tracks in this frame (detected or coasting), by track id.
    public mutating func update(frameIndex: Int, image: RGBImage, detector: FaceDetector) -> [TrackedFace] {
        let full = live.isEmpty || updates % fullSearchInterval == 0
        var detections: [FaceDetection]
        if full {
            fullSearches += 1
            detections = detector.detect(in: image)
            // Tracks the full search missed get the (denser, more permissive) local search too.
            let missed = live.filter { track in !detections.contains { $0.box.intersectionOverUnion(track.box) >= iouThreshold } }
            if !missed.isEmpty { detections += detector.detect(in: image, near: missed.map(\.box)) }
        } else {
            detections = detector.detect(in: image, near: live.map(\.box))
        }
        return update(frameIndex: frameIndex, detections: detections, mayStartTracks: full)
    }

    /// Associates given detections (the part of ``update(frameIndex:image:detector:)`` after detection;
    /// useful with an external detector and in tests).
    /// - Parameters:
    ///   - frameIndex: the frame's index.
    ///   - detections: the faces found in this frame.
    ///   - mayStartTracks: whether unmatched detections start new tracks.
    public mutating func update(frameIndex: Int, detections: [FaceDetection], mayStartTracks: Bool = true) -> [TrackedFace] {
        updates += 1
        // Candidate pairs by IoU, best first (ties: older track, higher score).
        var pairs: [(iou: Double, track: Int, detection: Int)] = []
        for (t, track) in live.enumerated() {
            for (d, detection) in detections.enumerated() {
                let iou = track.box.intersectionOverUnion(detection.box)
                if iou >= iouThreshold && iou > 0 { pairs.append((iou, t, d)) }
            }
        }
        pairs.sort { $0.iou != $1.iou ? $0.iou > $1.iou : ($0.track != $1.track ? $0.track < $1.track : $0.detection < $1.detection) }
        var trackTaken = [Bool](repeating: false, count: live.count)
        var detectionTaken = [Bool](repeating: false, count: detections.count)
        var result: [TrackedFace] = []
        for pair in pairs where !trackTaken[pair.track] && !detectionTaken[pair.detection] {
            trackTaken[pair.track] = true
            detectionTaken[pair.detection] = true
            let raw = detections[pair.detection].box
            let previous = live[pair.track].box
            let s = smoothing
            let smoothed = Box(x: s * previous.x + (1 - s) * raw.x, y: s * previous.y + (1 - s) * raw.y,
                               width: s * previous.width + (1 - s) * raw.width, height: s * previous.height + (1 - s) * raw.height)
            live[pair.track].box = smoothed
            live[pair.track].missed = 0
            let observation = FaceObservation(frameIndex: frameIndex, box: smoothed, rawBox: raw, detected: true)
            live[pair.track].observations.append(observation)
        }
        // Unmatched tracks coast or end.
        var stillLive: [LiveTrack] = []
        for (t, var track) in live.enumerated() {
            if !trackTaken[t] {
                track.missed += 1
                if track.missed > maxMissedFrames {
                    ended.append(FaceTrack(id: track.id, observations: track.observations))
                    continue
                }
                track.observations.append(FaceObservation(frameIndex: frameIndex, box: track.box, rawBox: nil, detected: false))
            }
            stillLive.append(track)
        }
        live = stillLive
        // Unmatched detections start tracks.
        if mayStartTracks {
            for (d, detection) in detections.enumerated() where !detectionTaken[d] {
                // Skip a detection that mostly overlaps a live track (a duplicate of a face already followed).
                if live.contains(where: { $0.box.intersectionOverUnion(detection.box) > 0.5 * iouThreshold && $0.missed == 0 }) { continue }
                let observation = FaceObservation(frameIndex: frameIndex, box: detection.box, rawBox: detection.box, detected: true)
                live.append(LiveTrack(id: nextID, box: detection.box, missed: 0, observations: [observation]))
                nextID += 1
            }
        }
        for track in live { if let last = track.observations.last, last.frameIndex == frameIndex {
            result.append(TrackedFace(trackID: track.id, observation: last))
        } }
        return result.sorted { $0.trackID < $1.trackID }
    }

    /// Ends all tracks and returns those worth keeping, by id: trailing undetected observations are
    /// trimmed and tracks detected in fewer than `min(minTrackLength, max(1, updates / 2))` frames dropped.
    public func finish() -> [FaceTrack] {
        let all = ended + live.map { FaceTrack(id: $0.id, observations: $0.observations) }
        let required = max(1, min(minTrackLength, max(1, updates / 2)))
        return all.compactMap { track -> FaceTrack? in
            var track = track
            while let last = track.observations.last, !last.detected { track.observations.removeLast() }
            return track.detectedCount >= required ? track : nil
        }.sorted { $0.id < $1.id }
    }
}

/// A square crop around a face, resized: the detector's input.
///
/// The crop is the square of side `margin * max(box.width, box.height)` centred on the box, read with
/// edge replication where it leaves the image, resampled (antialiased) to `size` x `size`.
/// - Parameters:
///   - image: the frame.
///   - box: the face box.
///   - margin: side of the square relative to the box's larger side.
///   - size: output side in pixels.
/// - Returns: the crop and the square box it was cut from (in image pixels, possibly reaching outside).
public func alignedCrop(_ image: RGBImage, box: Box, margin: Double = 1.3, size: Int = 128) -> (crop: RGBImage, cropBox: Box) {
    precondition(size > 0 && margin > 0, "alignedCrop needs a positive size and margin")
    precondition(box.width > 0 && box.height > 0, "alignedCrop needs a box of positive size, got \(box)")
    let square = box.squared(scale: margin)
    return (image.resampled(box: square, width: size, height: size, padding: .edge), square)
}

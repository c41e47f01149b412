import Foundation
import Faces
import Imaging
import VideoIO

/// Cuts face crops out of the training sources: tracks faces through videos, detects them in
/// stills, and stores square crops with generous context so that training can jitter the
/// framing and still end up with the same framing as inference.
///
/// Geometry: a stored crop covers `storeMargin` times the face box's longer side; inference
/// crops cover `FaceFraming.margin` (1.3) times. Training re-crops a random window of about
/// 1.3x (see `TrainingSampler`), so the network sees the framing it will see at scan time.
public struct CropExtractor {
    public var storeSize: Int = 160
    public var storeMargin: Double = 1.6
    public var detector: FaceDetector

    public init(detector: FaceDetector) {
        self.detector = detector
    }

    /// Extracts crops of every source into a store.
    /// - Parameters:
    ///   - sources: the corpus sources (videos and stills).
    ///   - progress: called after each source with (done, total, source path, crops found).
    /// - Returns: the store and a list of per-source problems (unreadable files, no face).
    public func extract(_ sources: [CorpusSource],
                        progress: (Int, Int, String, Int) -> Void = { _, _, _, _ in }) -> (CropStore, [String]) {
        var store = CropStore(size: storeSize)
        var problems: [String] = []
        for (position, source) in sources.enumerated() {
            let before = store.count
            do {
                if Self.isStill(source.path) {
                    try extractStill(source, into: &store)
                } else {
                    try extractVideo(source, into: &store)
                }
                if store.count == before { problems.append("\(source.path): no face found") }
            } catch {
                problems.append("\(error)")
            }
            progress(position + 1, sources.count, source.path, store.count - before)
        }
        return (store, problems)
    }

    static func isStill(_ path: String) -> Bool {
        ["jpg", "jpeg", "png", "bmp", "webp"].contains(URL(fileURLWithPath: path).pathExtension.lowercased())
    }

    /// The stored crop of a face and the face box in the crop's coordinates.
    func cut(_ image: RGBImage, face: Box) -> (RGBImage, Box) {
        let window = face.squared(scale: storeMargin)
        let crop = image.resampled(box: window, width: storeSize, height: storeSize)
        let scale = Double(storeSize) / window.width
        let inside = Box(x: (face.x - window.x) * scale, y: (face.y - window.y) * scale,
                         width: face.width * scale, height: face.height * scale)
        return (crop, inside)
    }

    func extractStill(_ source: CorpusSource, into store: inout CropStore) throws {
        let image = try loadImage(path: source.path)
        var faces = detector.detect(in: image).map(\.box)
        // Reading order (rows of about one face height, then left to right) gives group photos
        // stable face indices, and so a stable identity split.
        let rowHeight = faces.map(\.height).min() ?? 1
        faces.sort { (Int($0.centerY / rowHeight), $0.centerX) < (Int($1.centerY / rowHeight), $1.centerX) }
        if !source.isGroupPhoto, let largest = faces.max(by: { $0.area < $1.area }) { faces = [largest] }
        for (index, face) in faces.enumerated() {
            let (crop, inside) = cut(image, face: face)
            let identity = source.isGroupPhoto ? "\(source.identity)-face\(index)" : source.identity
            store.append(crop, record: CropRecord(identity: identity, split: source.split(ofGroupFace: index),
                                                  source: source.path, frameIndex: 0, faceBox: inside))
        }
    }

    func extractVideo(_ source: CorpusSource, into store: inout CropStore) throws {
        let crops = try trackedCrops(path: source.path, sampling: SamplingOptions(sampling: .everyNth(max(1, source.frameStride))),
                                     faces: .detector(detector))
        for item in crops {
            store.append(item.crop, record: CropRecord(identity: source.identity, split: source.split, source: source.path,
                                                       frameIndex: item.frameIndex, faceBox: item.faceBox))
        }
    }

    /// The stored crop of the largest face in a still image, or nil when there is no face.
    /// - Throws: when the image cannot be read.
    public func stillCrop(path: String, faces: FaceSource) throws -> VideoCrop? {
        let image = try loadImage(path: path)
        let boxes: [Box]
        switch faces {
        case .detector(let detector): boxes = detector.detect(in: image).map(\.box)
        case .given(let find): boxes = find(image)
        }
        guard let largest = boxes.max(by: { $0.area < $1.area }) else { return nil }
        let (crop, inside) = cut(image, face: largest)
        return VideoCrop(crop: crop, frameIndex: 0, faceBox: inside)
    }

    /// One stored crop of a video frame.
    public struct VideoCrop {
        public var crop: RGBImage
        public var frameIndex: Int
        /// The face box in the crop's pixel coordinates.
        public var faceBox: Box
    }

    /// Follows the main face of a video and cuts a stored crop wherever the face was detected.
    ///
    /// One person per training video: the longest track is kept, and only frames where the detector
    /// itself fired (not coasted boxes), so every crop holds a face.
    /// - Parameters:
    ///   - path: the video.
    ///   - sampling: which frames to decode and look at (all sampled frames are held until the
    ///     track is known, so keep it bounded).
    ///   - faces: how faces are found.
    /// - Returns: the crops in frame order; empty when no face was found.
    /// - Throws: `VideoError` when the video cannot be opened or decoded.
    public func trackedCrops(path: String, sampling: SamplingOptions, faces: FaceSource) throws -> [VideoCrop] {
        let reader = try VideoReader(path: path)
        var tracker = FaceTracker()
        var frames: [Int: RGBImage] = [:]
        try reader.forEachFrame(sampling) { frame in
            switch faces {
            case .detector(let detector):
                _ = tracker.update(frameIndex: frame.index, image: frame.image, detector: detector)
            case .given(let find):
                _ = tracker.update(frameIndex: frame.index, detections: find(frame.image).map { FaceDetection(box: $0, score: 1) })
            }
            frames[frame.index] = frame.image
            return true
        }
        guard let track = tracker.finish().max(by: { $0.observations.count < $1.observations.count }) else { return [] }
        var crops: [VideoCrop] = []
        for observation in track.observations where observation.detected {
            guard let image = frames[observation.frameIndex] else { continue }
            let (crop, inside) = cut(image, face: observation.box)
            crops.append(VideoCrop(crop: crop, frameIndex: observation.frameIndex, faceBox: inside))
        }
        return crops
    }
}

/// How faces are found in video frames.
public enum FaceSource: Sendable {
    /// The Viola–Jones detector, with the tracker's cheaper local searches between full ones.
    case detector(FaceDetector)
    /// Boxes from elsewhere (tests, or a better external detector).
    case given(@Sendable (RGBImage) -> [Box])
}

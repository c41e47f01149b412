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
        let reader = try VideoReader(path: source.path)
        var tracker = FaceTracker()
        var frames: [Int: RGBImage] = [:]
        try reader.forEachFrame(SamplingOptions(sampling: .everyNth(max(1, source.frameStride)))) { frame in
            _ = tracker.update(frameIndex: frame.index, image: frame.image, detector: detector)
            frames[frame.index] = frame.image
            return true
        }
        // One person per training video: keep the longest track, and only frames where the
        // detector itself fired (not coasted boxes), so every crop holds a face.
        guard let track = tracker.finish().max(by: { $0.observations.count < $1.observations.count }) else { return }
        for observation in track.observations where observation.detected {
            guard let image = frames[observation.frameIndex] else { continue }
            let (crop, inside) = cut(image, face: observation.box)
            store.append(crop, record: CropRecord(identity: source.identity, split: source.split, source: source.path,
                                                  frameIndex: observation.frameIndex, faceBox: inside))
        }
    }
}

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

    /// The crop geometry of this extractor.
    public var cropper: FaceCropper { FaceCropper(storeSize: storeSize, storeMargin: storeMargin) }

    func extractStill(_ source: CorpusSource, into store: inout CropStore) throws {
        let image = try loadImage(path: source.path)
        var faces = detector.detect(in: image).map(\.box)
        // Reading order (rows of about one face height, then left to right) gives group photos
        // stable face indices, and so a stable identity split.
        let rowHeight = faces.map(\.height).min() ?? 1
        faces.sort { (Int($0.centerY / rowHeight), $0.centerX) < (Int($1.centerY / rowHeight), $1.centerX) }
        if !source.isGroupPhoto, let largest = faces.max(by: { $0.area < $1.area }) { faces = [largest] }
        for (index, face) in faces.enumerated() {
            let (crop, inside) = cropper.cut(image, face: face)
            let identity = source.isGroupPhoto ? "\(source.identity)-face\(index)" : source.identity
            store.append(crop, record: CropRecord(identity: identity, split: source.split(ofGroupFace: index),
                                                  source: source.path, frameIndex: 0, faceBox: inside))
        }
    }

    func extractVideo(_ source: CorpusSource, into store: inout CropStore) throws {
        let crops = try cropper.trackedCrops(path: source.path, sampling: SamplingOptions(sampling: .everyNth(max(1, source.frameStride))),
                                     faces: .detector(detector))
        for item in crops {
            store.append(item.crop, record: CropRecord(identity: source.identity, split: source.split, source: source.path,
                                                       frameIndex: item.frameIndex, faceBox: item.faceBox))
        }
    }

}

import Foundation
import Imaging
import VideoIO

/// Face crops of single videos, cut once and kept as one small `.gbcrops` file per video, so that
/// a rerun (or a run resumed after an interruption halfway through a large set) decodes only the
/// videos it has not seen.
///
/// A cache file is named by a hash of the video's absolute path, size and modification time and
/// of the extraction settings, so an edited video or a different `framesPerVideo` is cut again.
/// A video without a face is cached too (as an empty store); a video that fails to decode is not,
/// so a rerun retries it.
public struct VideoCropCache {
    public let folder: String
    public let cropper: FaceCropper
    public let faces: FaceSource
    /// Frames sampled per video, evenly spread over its duration.
    public let framesPerVideo: Int

    public init(folder: String, cropper: FaceCropper = FaceCropper(), faces: FaceSource, framesPerVideo: Int) {
        precondition(framesPerVideo >= 1, "framesPerVideo must be at least 1")
        self.folder = folder
        self.cropper = cropper
        self.faces = faces
        self.framesPerVideo = framesPerVideo
    }

    /// The crops of one video or still (records carry `source` = `path`, frame index and face box;
    /// identity, split and label are the caller's to set).
    /// - Parameter path: the media file.
    /// - Returns: the crops (possibly none) and whether they came from the cache.
    /// - Throws: when the file is missing or cannot be decoded (nothing is cached then).
    public func crops(of path: String) throws -> (store: CropStore, cached: Bool) {
        let file = try cacheFile(for: path)
        if FileManager.default.fileExists(atPath: file), let store = try? CropStore.read(from: file), store.size == cropper.storeSize {
            return (store, true)
        }
        var store = CropStore(size: cropper.storeSize)
        let found: [FaceCropper.VideoCrop]
        if CropExtractor.isStill(path) {
            found = try cropper.stillCrop(path: path, faces: faces).map { [$0] } ?? []
        } else {
            found = try cropper.trackedCrops(path: path, sampling: SamplingOptions(sampling: .evenlySpaced(framesPerVideo)),
                                               faces: faces)
        }
        for item in found {
            store.append(item.crop, record: CropRecord(identity: "", split: .train, source: path, frameIndex: item.frameIndex,
                                                       faceBox: item.faceBox))
        }
        try store.write(to: file)
        return (store, false)
    }

    /// `<folder>/<hash>.gbcrops` for a media file.
    func cacheFile(for path: String) throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let key = "\(path)|\(size)|\(modified)|\(framesPerVideo)|\(cropper.storeSize)|\(cropper.storeMargin)"
        return folder + "/" + String(format: "%016llx", SetSplit.stableHash(key)) + ".gbcrops"
    }
}

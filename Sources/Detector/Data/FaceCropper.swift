import Foundation
import Faces
import Imaging
import VideoIO

/// Cuts stored face crops: square, `storeMargin` times the face box's longer side, `storeSize`
/// pixels, with the face box in the crop's coordinates. Finding the faces is the caller's choice
/// (`FaceSource`), so tests and other detectors can supply boxes.
public struct FaceCropper: Sendable {
    public var storeSize: Int = 160
    public var storeMargin: Double = 1.6

    public init(storeSize: Int = 160, storeMargin: Double = 1.6) {
        self.storeSize = storeSize
        self.storeMargin = storeMargin
    }

    /// The stored crop of a face and the face box in the crop's coordinates.
    public func cut(_ image: RGBImage, face: Box) -> (RGBImage, Box) {
        let window = face.squared(scale: storeMargin)
        let crop = image.resampled(box: window, width: storeSize, height: storeSize)
        let scale = Double(storeSize) / window.width
        let inside = Box(x: (face.x - window.x) * scale, y: (face.y - window.y) * scale,
                         width: face.width * scale, height: face.height * scale)
        return (crop, inside)
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
}

/// How faces are found in video frames.
public enum FaceSource: Sendable {
    /// The Viola–Jones detector, with the tracker's cheaper local searches between full ones.
    case detector(FaceDetector)
    /// Boxes from elsewhere (tests, or a better external detector).
    case given(@Sendable (RGBImage) -> [Box])
}

import Foundation
import Imaging
import Testing
@testable import Faces

@Suite struct TrackerTests {
    func face(_ x: Double, _ y: Double, _ side: Double = 40) -> FaceDetection {
        FaceDetection(box: Box(x: x, y: y, width: side, height: side), score: 5)
    }

    @Test func twoMovingFacesKeepTheirIDs() {
        var tracker = FaceTracker(smoothing: 0)
        for frame in 0..<10 {
            let faces = [face(10 + 2 * Double(frame), 10), face(200 - 3 * Double(frame), 50)]
            let out = tracker.update(frameIndex: frame, detections: frame % 2 == 0 ? faces : faces.reversed())
            #expect(out.map(\.trackID) == [0, 1])
            #expect(out[0].observation.box == faces[0].box)
        }
        let tracks = tracker.finish()
        #expect(tracks.map(\.id) == [0, 1])
        #expect(tracks.allSatisfy { $0.observations.count == 10 && $0.detectedCount == 10 })
        #expect(tracks[1].observations.last?.rawBox == face(173, 50).box)
    }

    @Test func smoothingIsAnExponentialMovingAverage() {
        var tracker = FaceTracker(smoothing: 0.5)
        _ = tracker.update(frameIndex: 0, detections: [face(0, 0)])
        let out = tracker.update(frameIndex: 1, detections: [face(10, 4)])
        #expect(out[0].observation.box == Box(x: 5, y: 2, width: 40, height: 40))
        #expect(out[0].observation.rawBox == Box(x: 10, y: 4, width: 40, height: 40))
    }

    @Test func shortGapsCoastAndLongGapsEndTracks() {
        var tracker = FaceTracker(maxMissedFrames: 2, smoothing: 0)
        var frame = 0
        func step(_ detections: [FaceDetection]) -> [TrackedFace] {
            defer { frame += 1 }
            return tracker.update(frameIndex: frame, detections: detections)
        }
        for _ in 0..<3 { _ = step([face(10, 10)]) }
        let coasting = step([])
        #expect(coasting.count == 1 && coasting[0].observation.detected == false && coasting[0].observation.rawBox == nil)
        #expect(coasting[0].observation.box == face(10, 10).box)
        _ = step([])
        #expect(step([face(12, 10)]).map(\.trackID) == [0])  // back within maxMissedFrames: same track
        for _ in 0..<3 { _ = step([]) }                        // 3 misses > 2: the track ends
        #expect(step([face(12, 10)]).map(\.trackID) == [1])
        for _ in 0..<3 { _ = step([face(12, 10)]) }
        let tracks = tracker.finish()
        #expect(tracks.map(\.id) == [0, 1])
        #expect(tracks[0].observations.count == 6)            // trailing misses trimmed
        #expect(tracks[0].observations.map(\.detected) == [true, true, true, false, false, true])
    }

    @Test func finishDropsOneFrameFalsePositives() {
        var tracker = FaceTracker()
        for frame in 0..<8 {
            var faces = [face(10, 10)]
            if frame == 4 { faces.append(face(300, 300, 30)) }
            _ = tracker.update(frameIndex: frame, detections: faces)
        }
        let tracks = tracker.finish()
        #expect(tracks.count == 1 && tracks[0].id == 0)
    }

    @Test func detectionsOnlyStartTracksWhenAllowed() {
        var tracker = FaceTracker()
        #expect(tracker.update(frameIndex: 0, detections: [face(0, 0)], mayStartTracks: false).isEmpty)
        #expect(tracker.update(frameIndex: 1, detections: [face(0, 0)]).count == 1)
    }
}

@Suite struct DetectorEdgeCaseTests {
    @Test func tinyAndFlatImagesGiveNoFaces() throws {
        let cascade = try CascadeClassifier(xml: Data(syntheticCascadeXML().utf8))
        let detector = FaceDetector(cascades: [cascade], minFaceSize: 8)
        #expect(detector.detect(in: RGBImage(width: 1, height: 1)).isEmpty)
        #expect(detector.detect(in: RGBImage(width: 7, height: 30)).isEmpty)
        #expect(detector.detect(in: RGBImage(width: 64, height: 48, fill: (80, 80, 80))).isEmpty)
        #expect(detector.detect(in: RGBImage(width: 64, height: 48), near: []).isEmpty)
        #expect(detector.detect(in: RGBImage(width: 64, height: 48), near: [Box(x: -50, y: -50, width: 10, height: 10)]).isEmpty)
    }
}

@Suite struct AlignedCropTests {
    @Test func squareCropInsideTheImage() {
        var image = RGBImage(width: 100, height: 80)
        for y in 0..<80 { for x in 0..<100 { image[x, y] = (UInt8(x), UInt8(y), 7) } }
        let (crop, box) = alignedCrop(image, box: Box(x: 40, y: 30, width: 20, height: 10), margin: 1.5, size: 30)
        #expect(box == Box(x: 35, y: 20, width: 30, height: 30))
        #expect(crop.width == 30 && crop.height == 30)
        #expect(crop[0, 0] == image[35, 20] && crop[29, 29] == image[64, 49])
    }

    @Test func cropAtTheBorderReplicatesEdges() {
        var image = RGBImage(width: 50, height: 50)
        for y in 0..<50 { for x in 0..<50 { image[x, y] = (UInt8(x * 5), UInt8(y * 5), 0) } }
        let (crop, box) = alignedCrop(image, box: Box(x: -10, y: 30, width: 20, height: 20), margin: 1, size: 20)
        #expect(box == Box(x: -10, y: 30, width: 20, height: 20))
        #expect(crop[0, 0] == image[0, 30])    // left of the image: edge column
        #expect(crop[5, 19] == image[0, 49])
        #expect(crop[15, 10] == image[5, 40])
        // A large face is shrunk with antialiasing: a constant region stays constant.
        let big = alignedCrop(RGBImage(width: 300, height: 300, fill: (9, 99, 199)), box: Box(x: 50, y: 50, width: 200, height: 200), size: 16)
        #expect(big.crop == RGBImage(width: 16, height: 16, fill: (9, 99, 199)))
    }
}

import Foundation
import Imaging
import Testing
@testable import Faces

extension Tag { @Tag static var slow: Self }

/// Tests on fetched real images; each is skipped with a message when the file is absent
/// (run scripts/fetch-data.sh; CI does).
@Suite struct RealFaceTests {
    @Test func astronautHasOneFace() throws {
        let path = dataPath("skimage/astronaut.png")
        guard FileManager.default.fileExists(atPath: path) else { print("skipped: \(path) missing (run scripts/fetch-data.sh)"); return }
        guard FileManager.default.fileExists(atPath: FaceDetector.cascadeDirectory) else { print("skipped: no cascades (apt-get install opencv-data)"); return }
        let image = try RGBImage(contentsOfPNG: path)
        let faces = try FaceDetector.standard().detect(in: image)
        #expect(faces.count == 1)
        // Eileen Collins' face is around x 170-270, y 60-190 in the 512x512 image.
        let face = try #require(faces.first)
        #expect(face.box.centerX > 170 && face.box.centerX < 270 && face.box.centerY > 60 && face.box.centerY < 190)
        let (crop, _) = alignedCrop(image, box: face.box)
        #expect(crop.width == 128 && crop.height == 128)
    }

    @Test(.tags(.slow)) func solvayConferenceHasTwentyNineFaces() throws {
        let path = dataPath("solvay/Solvay_conference_1927_Version2_1024x705.png")
        guard FileManager.default.fileExists(atPath: path) else { print("skipped: \(path) missing (run scripts/fetch-data.sh)"); return }
        guard FileManager.default.fileExists(atPath: FaceDetector.cascadeDirectory) else { print("skipped: no cascades (apt-get install opencv-data)"); return }
        let image = try RGBImage(contentsOfPNG: path)
        var detector = try FaceDetector.standard()
        detector.minFaceSize = 20
        detector.scaleFactor = 1.1
        detector.maxFaceSize = 64  // keeps the test quick; the faces are smaller
        let faces = detector.detect(in: image)
        // 29 people; the faces are 25-40 px wide. Allow one miss or one extra.
        #expect((28...30).contains(faces.count), "found \(faces.count) faces")
        #expect(faces.allSatisfy { $0.box.width >= 20 && $0.box.width <= 60 && $0.box.y > 200 && $0.box.y < 450 })
    }
}

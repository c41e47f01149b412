import Foundation
import Imaging
import Testing
@testable import Faces

@Suite struct CascadeParsingTests {
    @Test func parsesStagesTreesAndTiltedFeatures() throws {
        let cascade = try CascadeClassifier(xml: Data(syntheticCascadeXML().utf8))
        #expect(cascade.windowWidth == 8 && cascade.windowHeight == 8)
        #expect(cascade.stageCount == 2 && cascade.weakClassifierCount == 2)
        #expect(cascade.features.count == 3 && cascade.hasTiltedFeatures)
        #expect(cascade.features[0].rects == [HaarRect(x: 0, y: 0, width: 8, height: 8, weight: -1),
                                              HaarRect(x: 4, y: 0, width: 4, height: 8, weight: 2)])
        #expect(cascade.nodeLeft == [0, 1, 0] && cascade.nodeRight == [-1, -1, -2])
        #expect(cascade.leaves == [-1, 1, -1, 0.25, 1])
        #expect(cascade.stageThreshold == [0, -0.5])
    }

    @Test func reportsBadFilesClearly() throws {
        #expect(throws: CascadeError.unreadable(path: "/nonexistent/cascade.xml")) {
            try CascadeClassifier(contentsOf: "/nonexistent/cascade.xml")
        }
        let notXML = #expect(throws: CascadeError.self) { try CascadeClassifier(xml: Data("not xml at all".utf8), source: "t.xml") }
        #expect(notXML.map { if case .invalidXML = $0 { true } else { false } } == true)
        let lbp = syntheticCascadeXML().replacingOccurrences(of: "<featureType>HAAR", with: "<featureType>LBP")
        #expect(throws: CascadeError.unsupported(path: "lbp.xml", reason: "feature type LBP; only HAAR is implemented")) {
            try CascadeClassifier(xml: Data(lbp.utf8), source: "lbp.xml")
        }
        let badIndex = syntheticCascadeXML().replacingOccurrences(of: "0 -1 0 0.</internalNodes>", with: "0 -1 7 0.</internalNodes>")
        let error = #expect(throws: CascadeError.self) { try CascadeClassifier(xml: Data(badIndex.utf8), source: "bad.xml") }
        #expect(error?.description.contains("feature 7 out of range") == true)
        let badNumber = syntheticCascadeXML().replacingOccurrences(of: "-1. 1.</leafValues>", with: "-1. one</leafValues>")
        #expect(throws: CascadeError.self) { try CascadeClassifier(xml: Data(badNumber.utf8)) }
        let outside = syntheticCascadeXML().replacingOccurrences(of: "4 0 4 8 2.", with: "4 0 5 8 2.")
        #expect(throws: CascadeError.self) { try CascadeClassifier(xml: Data(outside.utf8)) }
        #expect(throws: CascadeError.self) { try CascadeClassifier(xml: Data("<opencv_storage></opencv_storage>".utf8)) }
    }

    @Test func readsTheOpenCVFrontalCascadeWhenInstalled() throws {
        let path = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
        guard FileManager.default.fileExists(atPath: path) else { print("skipped: \(path) missing (apt-get install opencv-data)"); return }
        let cascade = try CascadeClassifier(contentsOf: path)
        #expect(cascade.windowWidth == 24 && cascade.windowHeight == 24)
        #expect(cascade.stageCount == 25 && cascade.weakClassifierCount == 2913 && !cascade.hasTiltedFeatures)
        let mirrored = try #require(cascade.mirrored())
        #expect(mirrored.features[0].rects[0].x == 24 - cascade.features[0].rects[0].x - cascade.features[0].rects[0].width)
    }
}

@Suite struct IntegralImageTests {
    @Test func sumsMatchBruteForce() {
        let gray = randomGray(width: 13, height: 9, seed: 7)
        let integral = IntegralImage(gray, stride: 20, tilted: true)
        #expect(integral.stride == 20)
        for (x, y, w, h) in [(0, 0, 13, 9), (2, 3, 5, 4), (12, 8, 1, 1), (4, 0, 0, 3)] {
            var expected = 0
            for yy in y..<(y + h) { for xx in x..<(x + w) { expected += Int(gray.pixels[yy * 13 + xx]) } }
            #expect(integral.rectSum(x: x, y: y, width: w, height: h) == expected)
        }
        let tilted = try! #require(integral.tilted)
        for Y in 0...9 { for X in 0...13 { #expect(Int(tilted[Y * 20 + X]) == bruteTilted(gray, X: X, Y: Y)) } }
    }

    @Test func tiltedRectangleOfOnesHasAreaTwoWH() {
        let ones = GrayBytes(width: 20, height: 20, pixels: [UInt8](repeating: 1, count: 400))
        let integral = IntegralImage(ones, tilted: true)
        #expect(integral.tiltedSum(x: 8, y: 2, width: 3, height: 2) == 12)
        #expect(integral.tiltedSum(x: 10, y: 1, width: 4, height: 5) == 40)
    }
}

@Suite struct CascadeEvaluationTests {
    @Test func fastScanAgreesWithNaiveEvaluationEverywhere() throws {
        let cascade = try CascadeClassifier(xml: Data(syntheticCascadeXML().utf8))
        for seed in [1, 2, 3] as [UInt64] {
            var gray = randomGray(width: 30, height: 22, seed: seed)
            // A flat patch: windows inside it must be rejected by the variance test.
            for y in 12..<22 { for x in 0..<12 { gray.pixels[y * 30 + x] = 90 } }
            let integral = IntegralImage(gray, stride: 31, tilted: true)
            let bound = BoundCascade(cascade, stride: 31)
            #expect(!bound.stumps)
            // Step 1 would skip after first-stage rejections; compare window by window instead.
            var fast = Set<[Int]>()
            for y in 0..<(22 - 8) { for x in 0..<(30 - 8) {
                if !bound.scan(integral, xRange: x..<(x + 1), yRange: y..<(y + 1), step: 1).isEmpty { fast.insert([x, y]) }
            } }
            var naive = Set<[Int]>()
            for y in 0..<(22 - 8) { for x in 0..<(30 - 8) where naiveAccepts(cascade, gray, x: x, y: y) { naive.insert([x, y]) } }
            #expect(fast == naive)
            #expect(!naive.isEmpty && naive.count < 14 * 22)
            #expect(!fast.contains([1, 13]))  // inside the flat patch
        }
    }

    @Test func edgeCascadeFindsTheEdgeAndMirrorFindsTheOpposite() throws {
        // Dark left, bright right edge in the middle of a 40x24 image with mild texture.
        var image = RGBImage(width: 40, height: 24)
        for y in 0..<24 { for x in 0..<40 {
            let base: Int = x < 20 ? 40 : 210
            let v = UInt8(base + (x * 7 + y * 13) % 9)
            image[x, y] = (v, v, v)
        } }
        let xml = syntheticCascadeXML().replacingOccurrences(of: "<tilted>1</tilted>", with: "")
            .replacingOccurrences(of: "4 0 3 2 -1.", with: "0 0 8 8 -1.").replacingOccurrences(of: "4 1 2 1 2.", with: "0 0 8 8 1.")
        let cascade = try CascadeClassifier(xml: Data(xml.utf8), source: "edge.xml")
        var detector = FaceDetector(cascades: [cascade], minFaceSize: 8, scaleFactor: 1.5, minNeighbors: 0)
        detector.windowStep = 1
        let found = detector.detect(in: image)
        #expect(!found.isEmpty)
        // Every accepted window straddles the edge at x = 20 with the bright side on the right.
        for detection in found { #expect(detection.box.x < 20 && detection.box.x + detection.box.width > 20) }
        var mirrored = FaceDetector(cascades: [cascade], minFaceSize: 8, scaleFactor: 1.5, minNeighbors: 0)
        mirrored.windowStep = 1
        #expect(mirrored.detect(in: image.flippedHorizontally()).isEmpty)
        mirrored.mirrored = [true]
        #expect(!mirrored.detect(in: image.flippedHorizontally()).isEmpty)
    }

    @Test func levelsScannedOnAllCoresGiveTheSequentialWindows() throws {
        // A stripe pattern that the edge cascade accepts at many places and scales, on an image
        // large enough for the parallel path.
        var image = RGBImage(width: 320, height: 200)
        for y in 0..<200 { for x in 0..<320 {
            let v: UInt8 = (x / 20) % 2 == 0 ? 40 : 210
            image[x, y] = (v, v, v)
        } }
        let xml = syntheticCascadeXML().replacingOccurrences(of: "<tilted>1</tilted>", with: "")
            .replacingOccurrences(of: "4 0 3 2 -1.", with: "0 0 8 8 -1.").replacingOccurrences(of: "4 1 2 1 2.", with: "0 0 8 8 1.")
        let cascade = try CascadeClassifier(xml: Data(xml.utf8), source: "edge.xml")
        let detector = FaceDetector(cascades: [cascade], minFaceSize: 8, scaleFactor: 1.2, minNeighbors: 0)
        let gray = GrayBytes(image)
        #expect(detector.pyramidPlan([cascade], width: gray.width, height: gray.height, sizeRange: nil).count > 4)
        let parallel = detector.scan([cascade], gray: gray, sizeRange: nil)
        let sequential = detector.scan([cascade], gray: gray, sizeRange: nil, parallelLevels: false)
        #expect(!parallel[0].isEmpty)
        #expect(parallel == sequential)
    }
}

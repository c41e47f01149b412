import Detector
import Faces
import Foundation
import Testing
@testable import Report

/// The proof that the shortcut flag means something, on committed weights: a detector trained with
/// fakes always at JPEG quality 30 and reals never (`Tests/Fixtures/shortcut-detector.safetensors`,
/// made by the command in `Tests/Fixtures/README.md`) leans on compression, and the check says so.
@Suite("Compression-shortcut check on a deliberately shortcut-prone model")
struct ShortcutFixtureTests {
    static let samples = ["Samples/real/single_face.mp4", "Samples/fake/selfBlend/single_face.mp4",
                          "Samples/real/WolfgangLanger_Pexels.mp4"]

    func flags(weights: String, frameWindows: Bool) throws -> [Bool] {
        let model = try DetectorModel.load(from: repositoryRoot.appendingPathComponent(weights).path)
        let scanner = VideoScanner(model: model, detector: try FaceDetector.standard())
        return try Self.samples.map { sample in
            let scan = try scanner.scan(path: repositoryRoot.appendingPathComponent(sample).path,
                                        options: ScanOptions(sampling: .init(sampling: .evenlySpaced(4)), keepsCodecWindows: frameWindows))
            let section = try #require(try ShortcutCheck(model: model).check(scan: scan, maps: [:], codecFeatureShare: nil))
            #expect(section.method.contains("frame's own 16-pixel grid") == frameWindows, "\(section.method)")
            // Seven rungs per ladder: the frame ladder and the crop ladder, or the crop ladder alone.
            #expect(section.shortcut.rungs.count == (frameWindows ? 14 : 7))
            #expect(section.shortcut.rungs.filter { $0.name.hasPrefix("crop-") }.count == (frameWindows ? 7 : 0))
            return section.shortcut.flag
        }
    }

    @Test("the shortcut-prone fixture is flagged on every sample clip (frame and crop ladders)", .tags(.slow))
    func shortcutModelIsFlagged() throws {
        let flagged = try flags(weights: "Tests/Fixtures/shortcut-detector.safetensors", frameWindows: true)
        #expect(flagged.allSatisfy { $0 }, "flags: \(flagged)")
    }

    @Test("without frame windows the check falls back to re-encoding the crops, and still flags", .tags(.slow))
    func cropFallbackFlags() throws {
        let flagged = try flags(weights: "Tests/Fixtures/shortcut-detector.safetensors", frameWindows: false)
        #expect(flagged.allSatisfy { $0 }, "flags: \(flagged)")
    }
}

import Foundation
import Imaging
import Testing
import VideoIO
@testable import Robustness

extension Tag {
    @Tag static var slow: Self
}

@Suite("End to end with real files")
struct EndToEndTests {
    /// A scorer that reads compression: p(fake) rises with the loss of high-frequency energy, so a
    /// "detector" that keys on codec quality. Its verdicts should be flagged by the ladder.
    static func compressionScore(_ frames: [RGBImage]) -> Double {
        let energy = frames.map(highFrequencyEnergy).reduce(0, +) / Double(frames.count)
        return 1 / (1 + exp((energy - 1800) / 150))
    }

    @Test("a set folder on disk: clips decoded, perturbed with FFmpeg, a corrupt clip skipped", .tags(.slow))
    func setOnDisk() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let set = folder.appendingPathComponent("set")
        for (name, crf) in [("real/r0.mp4", 10), ("real/r1.mp4", 12), ("fake/soft/f0.mp4", 40), ("fake/soft/f1.mp4", 38)] {
            let url = set.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let writer = try VideoWriter(path: url.path, width: 64, height: 48, fps: 25, codec: .h264(crf: crf))
            for i in 0..<8 { try writer.append(texturedFrame(width: 64, height: 48, variant: i)) }
            try writer.finish()
        }
        try Data("garbage".utf8).write(to: set.appendingPathComponent("fake/soft/broken.mp4"))
        let out = folder.appendingPathComponent("out")
        let run = try RobustnessRun(setPath: set.path, outputDir: out.path,
                                    perturbations: try Perturbation.parse("h264:30,jpeg:50,blur:2"),
                                    scorer: .frames(load: FrameLoading.evenlySpaced(count: 4), score: { frames, p in
                                        let probability = Self.compressionScore(frames)
                                        let check = ShortcutAssessment(evidence: .init(originalProbability: probability,
                                                                                       rungs: [.init(name: "jpeg:20", probability: Self.compressionScore(
                                                                                           try Perturbation(.jpeg, level: 20).apply(frames, codecs: .ffmpeg)))]))
                                        return ItemScore(probability: probability, shortcutFlag: check.flag)
                                    }), threads: 2, codecs: .ffmpeg)
        let report = try run.run()
        #expect(report.realCount == 2 && report.fakeCount == 3)
        #expect(report.failedClips == 1 && report.failures.count == 4)
        #expect(report.failures.allSatisfy { $0.path.hasSuffix("broken.mp4") })
        let clean = try #require(report.cells.first { $0.id == "none" })
        #expect(clean.metrics.auc == 1, "the compression reader separates CRF 10/12 from CRF 38/40")
        let blur = try #require(report.cells.first { $0.id == "blur:2" })
        #expect(blur.metrics.auc != nil && blur.metrics.accuracy <= clean.metrics.accuracy)
        #expect(report.cells.allSatisfy { $0.shortcutRate != nil })
        let lines = try String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == 5 * 4)
    }

    @Test("a compression-reading scorer gets flagged by the quality ladder; a content scorer does not", .tags(.slow))
    func ladderFlagsShortcut() throws {
        let frames = (0..<4).map { texturedFrame(width: 64, height: 48, variant: $0) }
        let shortcut = try ShortcutAssessment.measure(frames: frames, originalProbability: Self.compressionScore(frames),
                                                      codecs: .ffmpeg, score: Self.compressionScore)
        #expect(shortcut.rungs.count == 7)
        #expect(shortcut.flag && shortcut.verdictFlips && shortcut.label == .unsure, "\(shortcut.rungs.map(\.probability))")
        // A scorer that looks at mean colour barely moves under re-encoding.
        let content: ([RGBImage]) -> Double = { frames in
            let mean = frames[0].pixels.reduce(0) { $0 + Double($1) } / Double(frames[0].pixels.count)
            return mean / 255 * 0.2 + 0.75
        }
        let honest = try ShortcutAssessment.measure(frames: frames, originalProbability: content(frames), codecs: .ffmpeg, score: content)
        #expect(!honest.flag && honest.label == .fake && honest.spread < 0.02)
    }
}

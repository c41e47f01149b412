import Faces
import Foundation
import Imaging
import Synthesis
import VideoIO
@testable import Detector
import Randomness

/// Small generated manipulation sets for the supervised-training tests.
enum SupervisedFixtures {
    /// A fresh empty temporary directory.
    static func temporaryDirectory(_ name: String = #function) throws -> String {
        let path = NSTemporaryDirectory() + "glassbox-supervised-\(name.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Frame size and the face box every frame has (the tests give the box instead of running the detector).
    static let frameSide = 96
    static let faceBox = Box(x: 28, y: 28, width: 40, height: 40)

    /// A face-like frame: a textured background, a skin ellipse, two eyes and a mouth, a little
    /// motion and noise. Fakes get a differently coloured, smoothed face region (a crude "swap").
    static func frame(person: Int, index: Int, fake: Bool) -> RGBImage {
        var rng = SplitMix64(seed: UInt64(person * 1000 + index) &+ (fake ? 77 : 0))
        let side = frameSide
        var pixels = [UInt8](repeating: 0, count: side * side * 3)
        let cx = faceBox.centerX + Double(index % 3) - 1, cy = faceBox.centerY
        let tone: (Double, Double, Double) = fake ? (225, 150, 110) : (200 - Double(person * 10), 160, 130)
        for y in 0..<side {
            for x in 0..<side {
                var colour = (Double(40 + (x * 3 + person * 7) % 50), Double(70 + (y * 5) % 40), Double(90 + ((x + y) * 2) % 60))
                let u = (Double(x) - cx) / 17, v = (Double(y) - cy) / 22
                if u * u + v * v < 1 {
                    colour = tone
                    if abs(Double(y) - (cy - 5)) < 2, abs(abs(Double(x) - cx) - 7) < 3 { colour = (40, 30, 30) }
                    if abs(Double(y) - (cy + 11)) < 2, abs(Double(x) - cx) < 6 { colour = (170, 50, 60) }
                }
                let noise = fake && u * u + v * v < 1 ? 0 : rng.uniform(-10...10)
                let o = (y * side + x) * 3
                pixels[o] = UInt8(max(0, min(255, colour.0 + noise)))
                pixels[o + 1] = UInt8(max(0, min(255, colour.1 + noise)))
                pixels[o + 2] = UInt8(max(0, min(255, colour.2 + noise)))
            }
        }
        return RGBImage(width: side, height: side, pixels: pixels)
    }

    /// Writes a set of `people` sources, each with a real clip and one fake clip per method, and a
    /// manifest recording each file's source as `glassbox synth` does; optionally one corrupt fake.
    /// - Returns: the set folder.
    static func writeSet(in folder: String, people: Int = 4, methods: [String] = ["swapA", "swapB"], frames: Int = 8,
                         corrupt: Bool = false) throws -> String {
        let root = folder + "/set"
        var entries: [ManipulationEntry] = []
        for person in 0..<people {
            let source = "/originals/person\(person).mp4"
            let realPath = "real/person\(person).mp4"
            try writeClip(root + "/" + realPath, person: person, frames: frames, fake: false)
            entries.append(ManipulationEntry(path: realPath, label: "real", source: source, identity: "person\(person)"))
            for method in methods {
                let fakePath = "fake/\(method)/person\(person).mp4"
                try writeClip(root + "/" + fakePath, person: person, frames: frames, fake: true)
                entries.append(ManipulationEntry(path: fakePath, label: "fake", method: method, source: source, identity: "person\(person)"))
            }
        }
        if corrupt {
            let broken = "fake/\(methods[0])/broken.mp4"
            try Data("this is not a video".utf8).write(to: URL(fileURLWithPath: root + "/" + broken))
            entries.append(ManipulationEntry(path: broken, label: "fake", method: methods[0], source: "/originals/person0.mp4"))
        }
        try ManipulationSet(root: root, entries: entries).writeManifest()
        return root
    }

    static func writeClip(_ path: String, person: Int, frames: Int, fake: Bool) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let writer = try VideoWriter(path: path, width: frameSide, height: frameSide, fps: 10, codec: .h264(crf: 20))
        for index in 0..<frames { try writer.append(frame(person: person, index: index, fake: fake)) }
        try writer.finish()
    }

    /// A cache that finds the fixture's face without the Viola–Jones detector.
    static func cache(in folder: String, framesPerVideo: Int = 8) throws -> VideoCropCache {
        VideoCropCache(folder: folder + "/set-crops",
                       faces: .given { _ in [faceBox] }, framesPerVideo: framesPerVideo)
    }

    /// A tiny network for fast training runs.
    static func tinyConfiguration(steps: Int) -> TrainingConfiguration {
        var config = TrainingConfiguration()
        config.mode = .supervised
        config.steps = steps
        config.pairsPerBatch = 4
        config.validateEvery = 2
        config.validationPairs = 8
        config.warmupSteps = 1
        config.temporalSteps = 2
        config.temporalFrames = 4
        config.boundaryLossWeight = 0
        config.network = SpatialNetworkConfiguration(inputSize: 32, stemChannels: 8, stageChannels: [8, 16], blocksPerStage: 1)
        return config
    }
}

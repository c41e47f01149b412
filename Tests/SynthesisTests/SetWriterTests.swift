import Foundation
import Imaging
import Testing
import VideoIO
@testable import Synthesis

extension Tag {
    @Tag static var slow: Self
}

@Suite struct SetWriterTests {
    /// A 12-frame 128x96 clip of the generated face (new noise each frame) and a still of another face.
    func writeSources(in folder: String) throws -> (clip: String, still: String, box: Box) {
        let clipPath = folder + "/clip.mkv"
        let writer = try VideoWriter(path: clipPath, width: 128, height: 96, fps: 12, codec: .png)
        var box = Box(x: 0, y: 0, width: 1, height: 1)
        for t in 0..<12 {
            let face = Fixtures.face(width: 128, height: 96, seed: UInt64(t + 1), faceCenter: (64, 48), faceSize: 52)
            box = face.box
            try writer.append(face.image)
        }
        try writer.finish()
        let stillPath = folder + "/still.png"
        let still = Fixtures.face(width: 128, height: 96, seed: 77, tint: (150, 110, 90), faceCenter: (64, 48), faceSize: 52)
        try still.image.writePNG(to: stillPath)
        return (clipPath, stillPath, box)
    }

    @Test(.tags(.slow)) func writesARealAndOneFakePerMethodPerSource() throws {
        let folder = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (clip, still, box) = try writeSources(in: folder)
        let writer = SetWriter(options: SetWriterOptions(seed: 5, maxSeconds: 1, fps: 12), findFaces: { _ in [box] })
        let out = folder + "/set"
        var messages: [String] = []
        let result = try writer.write(sources: [clip, still, folder + "/missing.mp4"], to: out) { messages.append($0.message) }
        #expect(result.skipped.map(\.source) == [folder + "/missing.mp4"])
        #expect(!messages.isEmpty)
        let set = result.set
        #expect(set.entries.count == 2 * (1 + ManipulationMethod.allCases.count))
        let loaded = try ManipulationSet.load(path: out)
        #expect(loaded.entries == set.entries)
        for entry in set.entries {
            #expect(FileManager.default.fileExists(atPath: set.absolutePath(entry.path)), "missing \(entry.path)")
            let sameSource = set.entries.filter { $0.source == entry.source }
            #expect(sameSource.allSatisfy { $0.codec == entry.codec }, "real and fakes of \(entry.source ?? "?") differ in codec")
            if entry.isFake {
                let mask = try #require(entry.mask)
                #expect(FileManager.default.fileExists(atPath: set.absolutePath(mask)), "missing \(mask)")
                #expect(entry.manipulationMethod != nil && entry.parameters != nil)
            }
        }
        // Cross swaps take their donor from the other source.
        let swaps = set.entries.filter { $0.method == "crossSwap" }
        #expect(swaps.map(\.donor) == [still, clip])
        // The clip's fake has as many frames as its real, and its mask video marks the face.
        let realClip = try #require(set.entries.first { $0.label == "real" && $0.source == clip })
        let fakeClip = try #require(set.entries.first { $0.method == "selfBlend" && $0.source == clip })
        let realFrames = try VideoReader(path: set.absolutePath(realClip.path)).frames(SamplingOptions())
        let fakeFrames = try VideoReader(path: set.absolutePath(fakeClip.path)).frames(SamplingOptions())
        let maskFrames = try VideoReader(path: set.absolutePath(fakeClip.mask!)).frames(SamplingOptions())
        #expect(realFrames.count == 12 && fakeFrames.count == 12 && maskFrames.count == 12)
        let mask = maskFrames[0].image
        #expect(mask[64, 50].r > 100 && mask[0, 0].r == 0)
        // Still: the mask is a grayscale PNG of the same size.
        let stillFake = try #require(set.entries.first { $0.method == "upsampling" && $0.source == still })
        let stillMask = try RGBImage(contentsOfPNG: set.absolutePath(stillFake.mask!))
        #expect(stillMask.width == 128 && stillMask.height == 96)
        #expect(stillFake.codec?.name == "jpeg")
        // Same seed, same manifest bytes.
        let again = folder + "/again"
        _ = try writer.write(sources: [clip, still], to: again)
        let first = try String(contentsOfFile: out + "/manifest.json", encoding: .utf8)
        let second = try String(contentsOfFile: again + "/manifest.json", encoding: .utf8)
        #expect(first == second)
    }

    @Test func failsWhenNoSourceHasAFace() throws {
        let folder = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (_, still, _) = try writeSources(in: folder)
        let writer = SetWriter(options: SetWriterOptions(methods: [.selfBlend]), findFaces: { _ in [] })
        #expect(throws: ManipulationSetError.self) { try writer.write(sources: [still], to: folder + "/set") }
        #expect(!FileManager.default.fileExists(atPath: folder + "/set/manifest.json"))
    }
}

import Foundation
import Imaging
import Testing
import VideoIO
@testable import Robustness

@Suite("Codecs through FFmpeg")
struct CodecTests {
    let frames = (0..<4).map { texturedFrame(width: 64, height: 48, variant: $0) }

    @Test("JPEG through FFmpeg: lower quality gives larger error, close to the simulated codec")
    func jpegLadder() throws {
        let errors = try [90, 50, 20].map {
            meanSquaredError(try Perturbation(.jpeg, level: Double($0)).apply([frames[0]], codecs: .ffmpeg)[0], frames[0])
        }
        #expect(errors[0] < errors[1] && errors[1] < errors[2], "\(errors)")
        // The simulated codec makes the same kind of damage: same order of magnitude at each quality.
        for (quality, error) in zip([90, 50, 20], errors) {
            let simulated = meanSquaredError(SimulatedJPEG.roundTrip(frames[0], quality: quality), frames[0])
            #expect(simulated > error / 3 && simulated < error * 3, "q\(quality): ffmpeg \(error), simulated \(simulated)")
        }
    }

    @Test("H.264 CRF ladder: higher CRF gives larger error; count and size kept")
    func h264Ladder() throws {
        var errors: [Double] = []
        for crf in [18, 30, 40] {
            let out = try Perturbation(.h264, level: Double(crf)).apply(frames, codecs: .ffmpeg)
            #expect(out.count == frames.count && out.allSatisfy { $0.width == 64 && $0.height == 48 })
            errors.append(zip(out, frames).map { meanSquaredError($0, $1) }.reduce(0, +) / Double(frames.count))
        }
        #expect(errors[0] < errors[1] && errors[1] < errors[2], "\(errors)")
        #expect(try Perturbation(.h264, level: 30).apply(frames, codecs: .ffmpeg) == Perturbation(.h264, level: 30).apply(frames, codecs: .ffmpeg),
                "x264 with one thread is deterministic")
    }

    @Test("the evenly-spaced loader reads a clip and an image; a corrupt file throws")
    func loader() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let video = folder.appendingPathComponent("clip.mp4").path
        let writer = try VideoWriter(path: video, width: 64, height: 48, fps: 25, codec: .h264(crf: 18))
        for i in 0..<20 { try writer.append(texturedFrame(width: 64, height: 48, variant: i)) }
        try writer.finish()
        let load = FrameLoading.evenlySpaced(count: 5, maxSide: 32)
        let loaded = try load(SetItem(path: video, label: 0))
        #expect(loaded.count == 5 && loaded.allSatisfy { $0.width == 32 && $0.height == 24 })
        let png = folder.appendingPathComponent("still.png").path
        try frames[0].writePNG(to: png)
        #expect(try load(SetItem(path: png, label: 1)) == [frames[0].resized(width: 32, height: 24)])
        let bad = folder.appendingPathComponent("bad.mp4").path
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: bad))
        #expect(throws: (any Error).self) { try load(SetItem(path: bad, label: 1)) }
    }
}

import Faces
import Foundation
import Imaging
import VideoIO

/// `glassbox bench faces`: milliseconds per frame of face finding, full search against tracking.
///
/// Frames are decoded into memory first so decoding is not in the figure. A full search runs the
/// cascades over the whole frame at every scale; the tracker searches the whole frame only every
/// `fullSearchInterval` frames and otherwise near the boxes it follows, which is what scans use.
enum BenchFaces {
    static let help = """
    faces   Face finding in the first --frames (default 60) frames of FILE (default
            Samples/real/WolfgangLanger_Pexels.mp4, 640x360): median
            milliseconds per frame of a full-frame search, and of the tracker scans use (full
            search every 5th frame, local search between), over --rounds (default 3).
    """

    static func run(_ arguments: inout Arguments) throws {
        let frameLimit = try arguments.int("--frames", default: 60, range: 1...100_000)
        let rounds = try arguments.int("--rounds", default: 3, range: 1...100)
        let json = arguments.flag("--json")
        let words = arguments.positionals()
        try arguments.finish()
        guard words.count <= 2 else { throw CLIError.usage("bench faces takes at most one FILE") }
        let path = words.count == 2 ? words[1] : defaultClip()
        try FileOutput.requireFile(path)
        let detector: FaceDetector
        do { detector = try FaceDetector.standard() } catch { throw CLIError.noInput("\(error)") }
        var frames: [RGBFrame] = []
        do {
            let reader = try VideoReader(path: path)
            try reader.forEachFrame(SamplingOptions()) { frame in
                frames.append(RGBFrame(index: frame.index, image: frame.image))
                return frames.count < frameLimit
            }
        } catch { throw mapError(error) }
        guard !frames.isEmpty else { throw CLIError.dataError("\(path): no frames decoded") }

        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        var fullTimes: [Double] = [], trackedTimes: [Double] = []
        var facesFull = 0, facesTracked = 0
        for _ in 0..<rounds {
            facesFull = 0
            for frame in frames {
                let start = Date()
                facesFull += detector.detect(in: frame.image).count
                fullTimes.append(Date().timeIntervalSince(start) * 1000)
            }
            facesTracked = 0
            var tracker = FaceTracker()
            for frame in frames {
                let start = Date()
                facesTracked += tracker.update(frameIndex: frame.index, image: frame.image, detector: detector)
                    .filter(\.observation.detected).count
                trackedTimes.append(Date().timeIntervalSince(start) * 1000)
            }
        }
        struct Result: Codable {
            var file: String, width: Int, height: Int, frames: Int, rounds: Int
            var fullSearchMilliseconds: Double, trackedMilliseconds: Double, ratio: Double
            var facesFullSearch: Int, facesTracked: Int
        }
        let result = Result(file: path, width: frames[0].image.width, height: frames[0].image.height, frames: frames.count, rounds: rounds,
                            fullSearchMilliseconds: median(fullTimes), trackedMilliseconds: median(trackedTimes),
                            ratio: median(fullTimes) / max(median(trackedTimes), 1e-9),
                            facesFullSearch: facesFull, facesTracked: facesTracked)
        if json {
            FileHandle.standardOutput.write(try FileOutput.encodeJSON(result))
        } else {
            Console.out("face finding in \(result.frames) frames of \(path) (\(result.width)x\(result.height)), median ms per frame over \(rounds) rounds")
            Console.out(String(format: "  full search  %7.1f ms  (%d faces found)", result.fullSearchMilliseconds, facesFull))
            Console.out(String(format: "  tracked      %7.1f ms  (%d faces found; %.1fx faster)", result.trackedMilliseconds, facesTracked, result.ratio))
        }
    }

    private struct RGBFrame { var index: Int; var image: RGBImage }

    static func defaultClip() -> String { Resources.locate("Samples/real/WolfgangLanger_Pexels.mp4") }
}

import Faces
import Foundation
import Imaging
import VideoIO

/// `glassbox faces FILE [--out DIR] [--json]`: face tracks of a video.
enum FacesCommand: Command {
    static let name = "faces"
    static let summary = "find and track faces in a video; optionally write aligned face crops"
    static let help = """
    Usage: glassbox faces FILE [--out DIR] [--json] [options]

    Decodes the video, detects faces with the Viola-Jones detector (OpenCV's frontal alt2 and
    profile Haar cascades from /usr/share/opencv4, or $GLASSBOX_CASCADES) and links them into
    tracks (overlap association, smoothed boxes; a full search every few frames, a cheaper search
    around known faces in between). A video without a face says so ("no face found") and its
    JSON has framesWithFace 0 and no tracks.

    Options:
      --json            print JSON on stdout: path, width, height, sampledFrames, framesWithFace,
                        noFace, tracks [{id, observations: [{frameIndex, box {x, y, width, height},
                        detected}]}] (boxes in frame pixels; detected false = held through a miss)
      --out DIR         write each tracked face as an aligned square crop:
                        DIR/track<ID>_frame<INDEX>.png
      --crop-size N     crop side in pixels (default 128); --margin M box scale (default 1.3)
      --frames N        look at N frames spread evenly (default: every frame)
      --fps F           look at F frames per second instead
      --min-face N      smallest face side in pixels (default 40)
      --full-search K   full search every K sampled frames (default 5; 1 = always)

    Examples:
      glassbox faces clip.mp4
      glassbox faces clip.mp4 --json --out out/faces | jq .framesWithFace
    """

    /// The JSON written by `--json`.
    struct Output: Codable {
        struct Observation: Codable {
            var frameIndex: Int
            var box: Box
            var detected: Bool
        }
        struct Track: Codable {
            var id: Int
            var observations: [Observation]
        }
        var path: String
        var width: Int
        var height: Int
        var sampledFrames: Int
        var framesWithFace: Int
        var noFace: Bool
        var tracks: [Track]
    }

    static func run(_ arguments: inout Arguments) throws {
        let json = arguments.flag("--json")
        let outDirectory = try arguments.option("--out")
        let cropSize = try arguments.int("--crop-size", default: 128, range: 8...1024)
        let margin = try arguments.double("--margin", default: 1.3, range: 0.5...4)
        let frames = try arguments.option("--frames")
        let fps = try arguments.option("--fps")
        let minFace = try arguments.int("--min-face", default: 40, range: 8...4096)
        let fullSearch = try arguments.int("--full-search", default: 5, range: 1...1000)
        let inputs = arguments.positionals()
        try arguments.finish()
        guard inputs.count == 1, let path = inputs.first else { throw CLIError.usage("give exactly one video FILE") }

        var sampling = SamplingOptions(sampling: .every)
        if let frames {
            guard let n = Int(frames), n > 0 else { throw CLIError.usage("--frames expects a positive integer") }
            sampling.sampling = .evenlySpaced(n)
        }
        if let fps {
            guard let rate = Double(fps), rate > 0, rate.isFinite else { throw CLIError.usage("--fps expects a positive number") }
            sampling.sampling = .targetFPS(rate)
        }

        var detector: FaceDetector
        do { detector = try FaceDetector.standard() } catch let error as CascadeError {
            throw CLIError.noInput("\(error.description)")
        }
        detector.minFaceSize = minFace

        let reader: VideoReader
        do {
            try FileOutput.requireFile(path)
            reader = try VideoReader(path: path)
        } catch { throw mapError(error) }
        let info = reader.info

        let planned: Int
        switch sampling.sampling {
        case .evenlySpaced(let n): planned = min(n, max(info.frameCount, 1))
        case .targetFPS(let rate): planned = max(1, Int((info.durationSeconds * rate).rounded(.up)))
        default: planned = max(info.frameCount, 1)
        }
        let progress = ProgressLine("faces", total: planned)
        var tracker = FaceTracker(fullSearchInterval: fullSearch)
        var sampled = 0
        var framesWithFace = Set<Int>()
        var pendingCrops: [(track: Int, frame: Int, crop: RGBImage)] = []
        do {
            try reader.forEachFrame(sampling) { frame in
                sampled += 1
                for face in tracker.update(frameIndex: frame.index, image: frame.image, detector: detector) where face.observation.detected {
                    framesWithFace.insert(frame.index)
                    if outDirectory != nil {
                        let (crop, _) = alignedCrop(frame.image, box: face.observation.box, margin: margin, size: cropSize)
                        pendingCrops.append((face.trackID, frame.index, crop))
                    }
                }
                progress.advance()
                return true
            }
        } catch { progress.finish(); throw mapError(error) }
        progress.finish()

        let tracks = tracker.finish()
        let kept = Set(tracks.map(\.id))
        if let outDirectory {
            for item in pendingCrops where kept.contains(item.track) {
                let file = (outDirectory as NSString).appendingPathComponent("track\(item.track)_frame\(item.frame).png")
                try FileOutput.write(Data(item.crop.pngData()), to: file)
            }
        }
        // Frames counted only for kept tracks, so a one-frame false positive does not count as a face.
        let keptFrames = Set(tracks.flatMap { $0.observations.filter(\.detected).map(\.frameIndex) })
        let output = Output(path: path, width: info.width, height: info.height, sampledFrames: sampled,
                            framesWithFace: keptFrames.count, noFace: tracks.isEmpty,
                            tracks: tracks.map { track in
                                Output.Track(id: track.id, observations: track.observations.map {
                                    Output.Observation(frameIndex: $0.frameIndex, box: rounded($0.box), detected: $0.detected)
                                })
                            })
        if json {
            FileHandle.standardOutput.write(try FileOutput.encodeJSON(output))
        } else {
            Console.out(describe(output, writtenTo: outDirectory))
        }
    }

    /// Boxes to 1/100 pixel, so the JSON is short and stable.
    static func rounded(_ box: Box) -> Box {
        func r(_ v: Double) -> Double { (v * 100).rounded() / 100 }
        return Box(x: r(box.x), y: r(box.y), width: r(box.width), height: r(box.height))
    }

    static func describe(_ output: Output, writtenTo directory: String?) -> String {
        var lines = ["\(output.path)"]
        let share = output.sampledFrames > 0 ? 100 * Double(output.framesWithFace) / Double(output.sampledFrames) : 0
        lines.append("  sampled frames    \(output.sampledFrames)")
        lines.append(String(format: "  frames with face  %d (%.1f%%)", output.framesWithFace, share))
        if output.noFace {
            lines.append("  no face found")
        }
        for track in output.tracks {
            let detected = track.observations.filter(\.detected).count
            let first = track.observations.first?.frameIndex ?? 0, last = track.observations.last?.frameIndex ?? 0
            let box = track.observations.first?.box
            let size = box.map { "\(Int($0.width.rounded()))x\(Int($0.height.rounded()))" } ?? "?"
            lines.append("  track \(track.id): frames \(first)-\(last), detected in \(detected), first box \(size)")
        }
        if let directory, !output.noFace { lines.append("  crops in \(directory)") }
        return lines.joined(separator: "\n")
    }
}

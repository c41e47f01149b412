import Faces
import Foundation
import Imaging
import Randomness
import VideoIO

/// Options of `SetWriter`.
public struct SetWriterOptions: Sendable, Equatable {
    /// Methods to make one fake each of, per source.
    public var methods: [ManipulationMethod]
    /// Base seed; every random choice derives from it, the source's position and the method.
    public var seed: UInt64
    /// Longest clip taken from each video, from its start, in seconds.
    public var maxSeconds: Double
    /// Frame rate the clips are sampled at (at most the source's).
    public var fps: Double
    /// Frames larger than this (longest side, pixels) are downscaled first.
    public var maxSide: Int
    /// Face detections per second of clip; boxes in between are interpolated.
    public var detectionsPerSecond: Double
    /// Donor frames kept per source for cross swaps.
    public var donorFrames: Int

    /// - Parameters: see the properties; defaults make 3-second 15 fps clips at most 640 pixels wide.
    public init(methods: [ManipulationMethod] = ManipulationMethod.allCases, seed: UInt64 = 0, maxSeconds: Double = 3,
                fps: Double = 15, maxSide: Int = 640, detectionsPerSecond: Double = 5, donorFrames: Int = 8) {
        precondition(!methods.isEmpty, "SetWriterOptions needs at least one method")
        precondition(maxSeconds > 0 && fps > 0 && maxSide >= 32 && detectionsPerSecond > 0 && donorFrames >= 1,
                     "SetWriterOptions: durations, rates and sizes must be positive")
        self.methods = methods
        self.seed = seed
        self.maxSeconds = maxSeconds
        self.fps = fps
        self.maxSide = maxSide
        self.detectionsPerSecond = detectionsPerSecond
        self.donorFrames = donorFrames
    }
}

/// What the set writer is doing, for a progress line.
public struct SynthesisProgress: Sendable {
    /// `"analyse"` (decode, find the face) or `"write"` (make and encode the fakes).
    public var phase: String
    /// 0-based position of the current source.
    public var sourceIndex: Int
    /// Number of sources.
    public var sourceCount: Int
    /// The current source path.
    public var source: String
    /// A short human message (what was written, or why a source was skipped).
    public var message: String
}

/// A source the writer could not use, and why.
public struct SkippedSource: Sendable, Equatable {
    public var source: String
    public var reason: String
}

/// The result of writing a set.
public struct SetWriterResult: Sendable {
    /// The set as written (its manifest is on disk).
    public var set: ManipulationSet
    /// Sources that were left out.
    public var skipped: [SkippedSource]
}

/// Writes a manipulation set from real videos and images.
///
/// For each source: decode a short sampled clip (still images are one-frame clips), follow the largest
/// face, write the real clip and one fake clip per method with its per-frame mask, then the manifest.
///
/// Layout of the output folder (`<stem>` is the source's file stem, made unique):
/// ```
/// real/<stem>.mp4|.avi|.png                  the real clip (or still)
/// fake/<method>/<stem>.mp4|.avi|.png         one fake per method
/// masks/<method>/<stem>.mkv|.png             its blend mask: lossless PNG-in-Matroska video, one grey
///                                            frame per fake frame (255 = fully replaced); PNG for stills
/// manifest.json                              JSON array of ManipulationEntry
/// ```
/// The real and the fakes of one source share one randomly drawn compression: H.264 with CRF 18–35
/// (70 %) or MJPEG with qscale 2–10 (30 %) for clips, JPEG quality 60–95 for stills (saved as PNG after
/// the JPEG round trip), so that compression carries no label signal. Parameters are drawn once per
/// fake clip (temporal flicker then varies them per frame), and the fake follows the tracked box.
/// Donors for cross swaps are other sources of the same run (assumed to be other people); with a
/// single source the mirrored target is the donor. Every file is written whole or not at all.
public struct SetWriter {
    public var options: SetWriterOptions
    /// Finds faces in a frame (boxes in frame pixels); the largest one is followed.
    public var findFaces: (RGBImage) -> [Box]

    /// A writer that finds faces with a Viola–Jones detector.
    public init(options: SetWriterOptions = SetWriterOptions(), detector: FaceDetector) {
        self.options = options
        self.findFaces = { image in detector.detect(in: image).map(\.box) }
    }

    /// A writer with any face finder (tests use a known box; callers may plug in a better detector).
    public init(options: SetWriterOptions = SetWriterOptions(), findFaces: @escaping (RGBImage) -> [Box]) {
        self.options = options
        self.findFaces = findFaces
    }

    /// The file extensions read as still images; everything else is opened as video.
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff"]

    /// Writes the set.
    /// - Parameters:
    ///   - sources: real videos and images.
    ///   - out: the set folder (created if needed; files of the same names are replaced).
    ///   - progress: called as sources are analysed and written.
    /// - Returns: the set and the sources that were skipped (unreadable, or no face found).
    /// - Throws: `ManipulationSetError.noUsableSource` when no source could be used; file-system and
    ///   `VideoError`s from writing.
    public func write(sources: [String], to out: String,
                      progress: ((SynthesisProgress) -> Void)? = nil) throws -> SetWriterResult {
        precondition(!sources.isEmpty, "SetWriter.write needs at least one source")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var skipped: [SkippedSource] = []
        // Pass 1: decode, track, keep donor samples. Frames are dropped to bound memory.
        var analysed: [(index: Int, analysis: SourceAnalysis)] = []
        for (index, source) in sources.enumerated() {
            func report(_ message: String) {
                progress?(SynthesisProgress(phase: "analyse", sourceIndex: index, sourceCount: sources.count,
                                            source: source, message: message))
            }
            do {
                let clip = try loadClip(source)
                guard let boxes = trackPrimaryFace(clip.frames, fps: clip.fps) else {
                    skipped.append(SkippedSource(source: source, reason: "no face found"))
                    report("skipped: no face found")
                    continue
                }
                let analysis = SourceAnalysis(source: source, isStill: clip.isStill, fps: clip.fps, boxes: boxes,
                                              donorSamples: donorSamples(clip.frames, boxes: boxes))
                analysed.append((index, analysis))
                report("\(clip.frames.count) frames, face found")
            } catch {
                skipped.append(SkippedSource(source: source, reason: "\(error)"))
                report("skipped: \(error)")
            }
        }
        guard !analysed.isEmpty else {
            throw ManipulationSetError.noUsableSource(reasons: skipped.map { "\($0.source): \($0.reason)" })
        }
        // Pass 2: decode again, make and write the fakes.
        var entries: [ManipulationEntry] = []
        var usedStems = Set<String>()
        for (position, item) in analysed.enumerated() {
            let analysis = item.analysis
            let stem = uniqueStem(for: analysis.source, used: &usedStems)
            var rng = SplitMix64(seed: SplitMix64.derive(options.seed, UInt64(item.index)))
            let codec = drawCodec(isStill: analysis.isStill, using: &rng)
            let others = analysed.indices.filter { $0 != position }
            let donorPosition = others.isEmpty ? nil : others[rng.integer(0...(others.count - 1))]
            var clip = try loadClip(analysis.source)
            if clip.frames.count != analysis.boxes.count {
                // A decoder that is not deterministic about the last frames: keep the common prefix.
                let count = min(clip.frames.count, analysis.boxes.count)
                guard count > 0 else { continue }
                clip.frames = Array(clip.frames.prefix(count))
            }
            let boxes = Array(analysis.boxes.prefix(clip.frames.count))
            let identity = stem
            let realPath = "real/\(stem).\(codec.fileExtension)"
            let realSink = try MediaSink(relative: realPath, root: out, kind: codec.sinkKind, fps: clip.fps,
                                         width: clip.frames[0].width, height: clip.frames[0].height)
            for frame in clip.frames { try realSink.append(frame) }
            try realSink.finish()
            entries.append(ManipulationEntry(path: realPath, label: "real", source: analysis.source, codec: codec.setting,
                                             identity: identity, frames: clip.frames.count, fps: analysis.isStill ? nil : clip.fps))
            progress?(SynthesisProgress(phase: "write", sourceIndex: item.index, sourceCount: sources.count,
                                        source: analysis.source, message: "wrote \(realPath)"))
            for method in options.methods {
                let methodIndex = UInt64(ManipulationMethod.allCases.firstIndex(of: method)!)
                var methodRng = SplitMix64(seed: SplitMix64.derive(options.seed, UInt64(item.index), 1000 + methodIndex))
                let frameCount = clip.frames.count
                let hasReference = frameCount >= 3
                var parameters = ManipulationParameters.random(for: method, using: &methodRng, hasReference: hasReference)
                let donorSamples = donorPosition.map { analysed[$0].analysis.donorSamples } ?? []
                if donorSamples.isEmpty, case .crossSwap(var p) = parameters {
                    p.mirrorDonor = true
                    parameters = .crossSwap(p)
                }
                let referenceOffset = hasReference ? methodRng.integer((frameCount / 3)...max(frameCount / 3, (2 * frameCount) / 3)) : 0
                let fakePath = "fake/\(method.rawValue)/\(stem).\(codec.fileExtension)"
                let maskPath = "masks/\(method.rawValue)/\(stem).\(analysis.isStill ? "png" : "mkv")"
                // Frames stream into the writers; files appear only when complete.
                let fakeSink = try MediaSink(relative: fakePath, root: out, kind: codec.sinkKind, fps: clip.fps,
                                             width: clip.frames[0].width, height: clip.frames[0].height)
                let maskSink = try MediaSink(relative: maskPath, root: out, kind: analysis.isStill ? .png : .video(.png),
                                             fps: clip.fps, width: clip.frames[0].width, height: clip.frames[0].height)
                for t in 0..<frameCount {
                    let donor = donorSamples.isEmpty ? nil : donorSamples[t * donorSamples.count / frameCount]
                    let reference: FaceSample? = hasReference
                        ? FaceSample(image: clip.frames[(t + referenceOffset) % frameCount], box: boxes[(t + referenceOffset) % frameCount])
                        : nil
                    let fake = Synthesizer.makeFake(parameters: parameters, target: clip.frames[t], box: boxes[t],
                                                    donor: donor, reference: reference, frameIndex: t)
                    try fakeSink.append(fake.image)
                    try maskSink.append(maskImage(fake.mask))
                }
                try fakeSink.finish()
                try maskSink.finish()
                entries.append(ManipulationEntry(path: fakePath, label: "fake", method: method.rawValue, source: analysis.source,
                                                 parameters: parameters.json, mask: maskPath, codec: codec.setting,
                                                 identity: identity,
                                                 donor: method == .crossSwap ? donorPosition.map { analysed[$0].analysis.source } : nil,
                                                 frames: frameCount, fps: analysis.isStill ? nil : clip.fps))
                progress?(SynthesisProgress(phase: "write", sourceIndex: item.index, sourceCount: sources.count,
                                            source: analysis.source, message: "wrote \(fakePath)"))
            }
        }
        let set = ManipulationSet(root: out, entries: entries)
        try set.writeManifest()
        return SetWriterResult(set: set, skipped: skipped)
    }

    // MARK: - Decoding

    struct Clip {
        var frames: [RGBImage]
        var fps: Double
        var isStill: Bool
    }

    struct SourceAnalysis {
        var source: String
        var isStill: Bool
        var fps: Double
        var boxes: [Box]
        var donorSamples: [FaceSample]
    }

    /// Decodes a short sampled clip (or a still), downscaled to `maxSide` and cropped to even sizes.
    func loadClip(_ source: String) throws -> Clip {
        let ext = (source as NSString).pathExtension.lowercased()
        if Self.imageExtensions.contains(ext) {
            return Clip(frames: [normalise(try loadImage(path: source))], fps: 1, isStill: true)
        }
        let reader = try VideoReader(path: source, autorotate: true)
        let sourceFPS = reader.info.fps > 0 ? reader.info.fps : 25
        let fps = min(sourceFPS, options.fps)
        let maxFrames = max(1, Int((options.maxSeconds * fps).rounded()))
        let frames = try reader.frames(SamplingOptions(sampling: fps < sourceFPS - 1e-6 ? .targetFPS(fps) : .every,
                                                       maxFrames: maxFrames))
        guard !frames.isEmpty else {
            throw ManipulationSetError.badEntry(path: source, index: 0, reason: "no frames decoded")
        }
        return Clip(frames: frames.map { normalise($0.image) }, fps: fps, isStill: false)
    }

    /// Downscales to at most `maxSide` and drops a last odd row/column (H.264 4:2:0 needs even sizes,
    /// and the masks must match the coded size).
    func normalise(_ image: RGBImage) -> RGBImage {
        var image = image
        let side = max(image.width, image.height)
        if side > options.maxSide {
            let scale = Double(options.maxSide) / Double(side)
            image = image.resized(width: max(2, Int((Double(image.width) * scale).rounded())),
                                  height: max(2, Int((Double(image.height) * scale).rounded())))
        }
        let width = image.width & ~1, height = image.height & ~1
        if width != image.width || height != image.height {
            image = image.cropped(x: 0, y: 0, width: max(2, width), height: max(2, height))
        }
        return image
    }

    // MARK: - Face track

    /// Boxes of the clip's main face, one per frame: detections every few frames (the largest face
    /// first, then the detection overlapping the previous box most), linear interpolation between,
    /// held at the ends. `nil` when no face is found at all.
    func trackPrimaryFace(_ frames: [RGBImage], fps: Double) -> [Box]? {
        let step = max(1, Int((fps / options.detectionsPerSecond).rounded()))
        var keyIndices = Array(stride(from: 0, to: frames.count, by: step))
        if keyIndices.last != frames.count - 1 { keyIndices.append(frames.count - 1) }
        var keys: [(index: Int, box: Box)] = []
        var previous: Box?
        for index in keyIndices {
            let detections = findFaces(frames[index]).filter { $0.width > 1 && $0.height > 1 }
            guard !detections.isEmpty else { continue }
            let chosen: Box
            if let previous {
                let best = detections.max { $0.intersectionOverUnion(previous) < $1.intersectionOverUnion(previous) }!
                guard best.intersectionOverUnion(previous) > 0.1 else { continue }
                chosen = best
            } else {
                chosen = detections.max { $0.area < $1.area }!
            }
            keys.append((index, chosen))
            previous = chosen
        }
        guard let first = keys.first, let last = keys.last else { return nil }
        var boxes = [Box](repeating: first.box, count: frames.count)
        for t in 0..<frames.count {
            if t <= first.index { boxes[t] = first.box; continue }
            if t >= last.index { boxes[t] = last.box; continue }
            let upper = keys.firstIndex { $0.index >= t }!
            let a = keys[upper - 1], b = keys[upper]
            let w = Double(t - a.index) / Double(b.index - a.index)
            boxes[t] = Box(x: a.box.x + (b.box.x - a.box.x) * w, y: a.box.y + (b.box.y - a.box.y) * w,
                           width: a.box.width + (b.box.width - a.box.width) * w,
                           height: a.box.height + (b.box.height - a.box.height) * w)
        }
        return boxes
    }

    /// Up to `donorFrames` evenly spaced face crops (twice the box, face at most 192 pixels) with their
    /// boxes in crop coordinates: what cross swaps of other sources draw from.
    func donorSamples(_ frames: [RGBImage], boxes: [Box]) -> [FaceSample] {
        let count = min(options.donorFrames, frames.count)
        return (0..<count).map { k in
            let t = k * frames.count / count
            let box = boxes[t]
            let cropBox = box.squared(scale: 2.2)
            let side = max(32, min(Int(cropBox.width.rounded()), Int(192 * 2.2)))
            let crop = frames[t].resampled(box: cropBox, width: side, height: side)
            let scale = Double(side) / cropBox.width
            return FaceSample(image: crop, box: Box(x: (box.x - cropBox.x) * scale, y: (box.y - cropBox.y) * scale,
                                                    width: box.width * scale, height: box.height * scale))
        }
    }

    // MARK: - Writing

    /// A drawn compression setting.
    enum DrawnCodec {
        case video(VideoCodec, CodecSetting)
        case jpeg(Int)

        var setting: CodecSetting {
            switch self {
            case .video(_, let setting): setting
            case .jpeg(let quality): CodecSetting(name: "jpeg", quality: quality)
            }
        }

        var sinkKind: MediaSink.Kind {
            switch self {
            case .video(let codec, _): .video(codec)
            case .jpeg(let quality): .jpegStill(quality)
            }
        }

        var fileExtension: String {
            switch self {
            case .video(.h264, _): "mp4"
            case .video: "avi"
            case .jpeg: "png"
            }
        }
    }

    func drawCodec(isStill: Bool, using rng: inout SplitMix64) -> DrawnCodec {
        if isStill { return .jpeg(rng.integer(60...95)) }
        if rng.chance(0.7) {
            let crf = rng.integer(18...35)
            return .video(.h264(crf: crf, preset: "veryfast"), CodecSetting(name: "h264", quality: crf))
        }
        let quality = rng.integer(2...10)
        return .video(.mjpeg(quality: quality), CodecSetting(name: "mjpeg", quality: quality))
    }

    /// A mask as an RGB frame, grey = `mask * 255` rounded (what the mask videos and PNGs hold).
    func maskImage(_ mask: GrayImage) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: mask.width * mask.height * 3)
        mask.values.withUnsafeBufferPointer { m in
            pixels.withUnsafeMutableBufferPointer { p in
                for i in 0..<m.count {
                    let byte = UInt8(max(0, min(255, m[i] * 255 + 0.5)))
                    p[3 * i] = byte
                    p[3 * i + 1] = byte
                    p[3 * i + 2] = byte
                }
            }
        }
        return RGBImage(width: mask.width, height: mask.height, pixels: pixels)
    }

    func uniqueStem(for source: String, used: inout Set<String>) -> String {
        let raw = ((source as NSString).lastPathComponent as NSString).deletingPathExtension
        var stem = String(raw.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        if stem.isEmpty { stem = "source" }
        var candidate = stem
        var counter = 2
        while used.contains(candidate) {
            candidate = "\(stem)-\(counter)"
            counter += 1
        }
        used.insert(candidate)
        return candidate
    }
}

/// Writes a manipulation set with the standard face detector: see `SetWriter`.
/// - Parameters:
///   - sources: real videos and images.
///   - out: the set folder.
///   - methods: the manipulations (default all).
///   - seed: base seed.
///   - maxSeconds: longest clip per video.
///   - progress: called as sources are analysed and written.
/// - Returns: the set and the skipped sources.
/// - Throws: `CascadeError` when the detector's cascades are missing; otherwise as
///   `SetWriter.write(sources:to:progress:)`.
public func synthesizeSet(from sources: [String], out: String,
                          methods: [ManipulationMethod] = ManipulationMethod.allCases, seed: UInt64 = 0,
                          maxSeconds: Double = 3,
                          progress: ((SynthesisProgress) -> Void)? = nil) throws -> SetWriterResult {
    let writer = SetWriter(options: SetWriterOptions(methods: methods, seed: seed, maxSeconds: maxSeconds),
                           detector: try FaceDetector.standard())
    return try writer.write(sources: sources, to: out, progress: progress)
}

extension SetWriter {
    /// Expands folders among `paths` into the media files inside them (recursively, sorted, by
    /// extension); files are kept as given, in order, without duplicates.
    public static func expandSources(_ paths: [String]) -> [String] {
        var result: [String] = []
        var seen = Set<String>()
        for path in paths {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                for file in ManipulationSet.mediaFiles(under: path) {
                    let full = (path as NSString).appendingPathComponent(file)
                    if seen.insert(full).inserted { result.append(full) }
                }
            } else if seen.insert(path).inserted {
                result.append(path)
            }
        }
        return result
    }
}

/// Where the frames of one output file go: a video writer, or a still written as PNG (optionally after
/// a JPEG round trip). Whole or nothing: nothing appears at the final path before `finish()`.
final class MediaSink {
    enum Kind {
        case video(VideoCodec)
        /// One frame, JPEG round trip at this quality, saved as PNG.
        case jpegStill(Int)
        /// One frame saved as PNG; grey frames are saved as grayscale PNG.
        case png
    }

    let path: String
    let kind: Kind
    private var writer: VideoWriter?
    private var still: RGBImage?

    init(relative: String, root: String, kind: Kind, fps: Double, width: Int, height: Int) throws {
        path = (root as NSString).appendingPathComponent(relative)
        self.kind = kind
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        if case .video(let codec) = kind {
            writer = try VideoWriter(path: path, width: width, height: height, fps: fps, codec: codec)
        }
    }

    func append(_ image: RGBImage) throws {
        if let writer {
            try writer.append(image)
        } else {
            precondition(still == nil, "a still sink takes one frame")
            still = image
        }
    }

    func finish() throws {
        if let writer {
            try writer.finish()
            return
        }
        guard let still else { preconditionFailure("a still sink needs its frame before finish()") }
        switch kind {
        case .jpegStill(let quality):
            try writeAtomically(Data(PNG.encode(try jpegRoundTrip(still, quality: quality))), to: path)
        default:
            // Grey (mask) frames as 8-bit grayscale PNG.
            var grey = GrayImage(width: still.width, height: still.height)
            still.pixels.withUnsafeBufferPointer { p in
                grey.values.withUnsafeMutableBufferPointer { g in
                    for i in 0..<g.count { g[i] = Float(p[3 * i]) }
                }
            }
            try writeAtomically(Data(PNG.encode(grey)), to: path)
        }
    }
}

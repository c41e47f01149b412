import Detector
import Explain
import Foundation
import Imaging
import Robustness

/// `robustness` in the scan document: does the verdict lean on compression rather than on the
/// manipulation?
public struct RobustnessSection: Codable, Sendable {
    /// The track the check ran on (the verdict's most suspicious one).
    public var track: Int
    /// The combined assessment: `flag`, `score`, `reasons`, the quality-ladder rungs, the
    /// block-grid energy ratio and the codec-linked feature share.
    public var shortcut: ShortcutAssessment
    /// How the ladder was applied.
    public var method: String
}

/// Runs the compression-shortcut check on the verdict's most suspicious track.
public struct ShortcutCheck: Sendable {
    public let model: DetectorModel

    static let cropLadderMethod =
        "the track's aligned crops re-encoded as a clip at each rung (H.264 CRF 18/28/35/40, JPEG 90/50/20) and re-scored "
        + "(no frame windows were kept, so the codec grid is the crop's)"

    static func frameLadderMethod(windows: Int, frames: Int) -> String {
        "two ladders (H.264 CRF 18/28/35/40, JPEG 90/50/20) on \(windows) of the track's \(frames) scanned frames: "
            + "rungs named by codec re-encode the face's region of each frame, cut on the frame's own 16-pixel grid, as a clip "
            + "and cut the crops again (a re-upload); rungs named crop-... re-encode the aligned crops (block artefacts at the "
            + "network's input scale)"
    }

    /// `n` rounded up to a multiple of 16 (encoder-friendly clip size).
    static func roundedUp(_ n: Int) -> Int { (n + 15) / 16 * 16 }

    public init(model: DetectorModel) {
        self.model = model
    }

    /// - Parameters:
    ///   - scan: the scan.
    ///   - maps: the track's IG maps (channel-summed, crop size), with their frames; the top one's
    ///     block-grid energy is used.
    ///   - codecFeatureShare: share of the verdict's feature contributions on codec-linked features.
    /// - Returns: nil when nothing was scored.
    public func check(scan: VideoScan, maps: [Int: [(frame: FrameScore, map: [Float])]],
                      codecFeatureShare: Double?) throws -> RobustnessSection? {
        guard let worst = scan.mostSuspiciousTrackIndex else {
            return nil
        }
        let track = scan.tracks[worst]
        let crops = scan.evidence[worst].crops
        let s = model.format.size
        var grid: BlockGridEnergy?
        if let top = maps[track.id]?.first {
            grid = BlockGridEnergy(map: top.map, width: s, height: s, cropBox: top.frame.cropBox)
        }
        let model = self.model
        func probability(_ crops: [RGBImage]) -> Double {
            var inputs: [Float] = []
            for crop in crops { inputs.append(contentsOf: model.format.tensorValues(crop)) }
            let (embeddings, logits) = model.embedAndScore(inputs, count: crops.count)
            return model.trackScore(frameLogits: logits, embeddings: embeddings).probability
        }
        let fps = max(scan.info.fps, 1)
        guard let windows = scan.evidence[worst].codecWindows, !windows.isEmpty else {
            // No frame windows kept: re-encode the aligned crops themselves (their own block grid).
            let shortcut = try ShortcutAssessment.measure(
                frames: crops, originalProbability: track.probability, gridEnergy: grid, codecFeatureShare: codecFeatureShare,
                rule: model.rule, fps: fps, score: probability)
            return RobustnessSection(track: track.id, shortcut: shortcut, method: Self.cropLadderMethod)
        }
        // Two ladders on the same frames. Frame rungs: the face's region of each frame, on the frame's
        // own grid, re-encoded as one clip and the crops cut again, i.e. what a re-upload does. Crop
        // rungs: the aligned crops re-encoded, i.e. block artefacts at the network's own input scale,
        // the scale a detector trained on compressed crops would have learned them at.
        let positions = windows.map(\.position)
        let scannedCrops = positions.map { crops[$0] }
        let original = positions.count == crops.count ? track.probability : probability(scannedCrops)
        let width = Self.roundedUp(windows.map(\.image.width).max()!), height = Self.roundedUp(windows.map(\.image.height).max()!)
        let clip = windows.map { $0.padded(toWidth: width, height: height) }
        let frameRungs = try QualityLadder.measure(frames: clip, fps: fps) { decoded in
            probability(zip(windows, decoded).map { $0.crop(from: $1, size: s) })
        }
        let cropRungs = try QualityLadder.measure(frames: scannedCrops, fps: fps, score: probability)
            .map { ShortcutEvidence.Rung(name: "crop-" + $0.name, probability: $0.probability) }
        let shortcut = ShortcutAssessment(
            evidence: ShortcutEvidence(originalProbability: original, rungs: frameRungs + cropRungs, gridEnergy: grid,
                                       codecFeatureShare: codecFeatureShare),
            rule: model.rule)
        return RobustnessSection(track: track.id, shortcut: shortcut, method: Self.frameLadderMethod(windows: windows.count, frames: crops.count))
    }
}

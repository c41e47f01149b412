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
        let shortcut = try ShortcutAssessment.measure(
            frames: crops, originalProbability: track.probability, gridEnergy: grid, codecFeatureShare: codecFeatureShare,
            rule: model.rule, fps: max(scan.info.fps, 1)) { perturbed in
                var inputs: [Float] = []
                for crop in perturbed { inputs.append(contentsOf: model.format.tensorValues(crop)) }
                let (embeddings, logits) = model.embedAndScore(inputs, count: perturbed.count)
                return model.trackScore(frameLogits: logits, embeddings: embeddings).probability
            }
        return RobustnessSection(track: track.id, shortcut: shortcut,
                                 method: "the track's aligned crops re-encoded as a clip at each rung (H.264 CRF 18/28/35/40, JPEG 90/50/20) and re-scored")
    }
}

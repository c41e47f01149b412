import Foundation

/// Where each shortcut signal starts and stops counting, and when the combination raises the flag.
///
/// Each signal is mapped linearly to a component in `0...1`: `0` at its `clean` value (what an
/// honest detector shows by chance), `1` at its `shortcut` value (what a detector that reads codec
/// artefacts shows). The components combine as a noisy-OR,
/// ```
/// score = 1 − Π_i (1 − c_i)
/// ```
/// so one strong signal, or several moderate ones, raise the score. The flag is raised when
/// `score >= flagScore` or when the quality ladder flips the verdict.
///
/// Why these defaults:
/// - Ladder shift (the larger of the rise of p(fake) at any rung and its fall at a mild rung; see
///   ``ShortcutAssessment`` for why a fall under heavy compression does not count): `0.05` is the
///   jitter of a calibrated detector between near-identical re-encodings; `0.45` is almost half the
///   probability range, i.e. the verdict is decided by the codec more than by the face. With the
///   default `flagScore` the ladder alone flags at a shift of `0.25`: FaceForensics++ detectors that
///   lose 15-25 accuracy points between c23 and c40 move that much per video.
/// - Block-grid energy ratio (Explain's `BlockGridEnergy.ratio`: attribution energy on the pixels
///   either side of the frame's own 8x8 block edges, over the mean for grids shifted off it): `1`
///   means the attributions ignore where block edges are. Boundary pixels are 28 of the 64 grid
///   phases, so a map whose boundary pixels carry twice the energy of interior ones scores about
///   1.45, and a map entirely on block edges about 2.65 (the ceiling). `2` (boundary pixels at
///   roughly five times the interior energy) counts fully; alone the signal flags at `1.5`, a map
///   clearly drawn to block edges, the signature "Fake or JPEG?" (Grommelt et al., 2024) found in
///   detectors that separate JPEG from PNG rather than fake from real.
/// - Codec-linked feature share (fraction of the verdict's logit carried by SAE features that track
///   codec quality rather than manipulation): `0.1` is what unrelated features carry by chance in a
///   sparse code; `0.5` means half the evidence is about compression. Alone it flags at `0.3`.
public struct ShortcutThresholds: Codable, Sendable, Equatable {
    /// Ladder shift that counts as nothing (component 0).
    public var ladderShiftClean: Double
    /// Ladder shift that counts fully (component 1).
    public var ladderShiftShortcut: Double
    /// Block-grid energy ratio that counts as nothing.
    public var gridRatioClean: Double
    /// Block-grid energy ratio that counts fully.
    public var gridRatioShortcut: Double
    /// Codec-linked feature share that counts as nothing.
    public var featureShareClean: Double
    /// Codec-linked feature share that counts fully.
    public var featureShareShortcut: Double
    /// Combined score at which the flag is raised.
    public var flagScore: Double
    /// A component at or above this level is named in `reasons` on its own.
    public var reasonComponent: Double

    /// The documented defaults (see the type's discussion).
    public init(ladderShiftClean: Double = 0.05, ladderShiftShortcut: Double = 0.45,
                gridRatioClean: Double = 1.0, gridRatioShortcut: Double = 2.0,
                featureShareClean: Double = 0.1, featureShareShortcut: Double = 0.5,
                flagScore: Double = 0.5, reasonComponent: Double = 0.5) {
        precondition(ladderShiftShortcut > ladderShiftClean, "ladder shortcut shift must exceed the clean shift")
        precondition(gridRatioShortcut > gridRatioClean, "grid shortcut ratio must exceed the clean ratio")
        precondition(featureShareShortcut > featureShareClean, "feature shortcut share must exceed the clean share")
        precondition((0...1).contains(flagScore) && (0...1).contains(reasonComponent), "flagScore and reasonComponent are in 0...1")
        self.ladderShiftClean = ladderShiftClean
        self.ladderShiftShortcut = ladderShiftShortcut
        self.gridRatioClean = gridRatioClean
        self.gridRatioShortcut = gridRatioShortcut
        self.featureShareClean = featureShareClean
        self.featureShareShortcut = featureShareShortcut
        self.flagScore = flagScore
        self.reasonComponent = reasonComponent
    }

    /// `(value − clean) / (shortcut − clean)` clamped to `0...1`.
    static func component(_ value: Double, clean: Double, shortcut: Double) -> Double {
        min(1, max(0, (value - clean) / (shortcut - clean)))
    }
}

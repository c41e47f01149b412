import Foundation

/// What Glassbox concludes about a frame, a face track or a video.
public enum VerdictLabel: String, Codable, Sendable, CaseIterable {
    /// p(fake) below the unsure band.
    case real
    /// p(fake) above the unsure band.
    case fake
    /// p(fake) inside the band around the threshold, or a robustness check disagreed.
    case unsure
    /// No face was found, so nothing was scored.
    case noFace
}

/// The decision rule from a calibrated probability to a label.
///
/// The band is symmetric around the threshold: with threshold 0.5 and band 0.1, p in [0.4, 0.6]
/// is `unsure`. The band exists because a calibrated 0.55 is not evidence anyone should act on.
public struct DecisionRule: Codable, Sendable, Equatable {
    public var threshold: Double
    public var unsureBand: Double

    public init(threshold: Double = 0.5, unsureBand: Double = 0.1) {
        precondition((0...1).contains(threshold), "threshold must be a probability")
        precondition(unsureBand >= 0, "unsure band must be non-negative")
        self.threshold = threshold
        self.unsureBand = unsureBand
    }

    /// The label for a calibrated p(fake).
    public func label(probability: Double) -> VerdictLabel {
        if probability >= threshold + unsureBand { return .fake }
        if probability <= threshold - unsureBand { return .real }
        return .unsure
    }
}

/// Rules that turn per-frame scores into a track score and track scores into a video score.
public enum Aggregation {
    /// A track's logit: the mean of its frame logits blended with its temporal-head logit when
    /// there is one. Averaging logits (not probabilities) keeps strong evidence from being diluted
    /// by squashing.
    /// - Parameters:
    ///   - frameLogits: per-frame fake logits of the track, in frame order.
    ///   - temporalLogit: the temporal head's clip logit, if the track was long enough.
    ///   - temporalWeight: weight of the temporal logit in [0, 1].
    public static func trackLogit(frameLogits: [Double], temporalLogit: Double?, temporalWeight: Double = 0.5) -> Double {
        precondition(!frameLogits.isEmpty, "a track needs at least one scored frame")
        let mean = frameLogits.reduce(0, +) / Double(frameLogits.count)
        guard let temporalLogit else { return mean }
        return (1 - temporalWeight) * mean + temporalWeight * temporalLogit
    }

    /// A video is fake if any of its tracks is: its probability is the maximum over tracks.
    /// Returns nil when there are no tracks (the video gets `noFace`).
    public static func videoProbability(trackProbabilities: [Double]) -> Double? {
        trackProbabilities.max()
    }
}

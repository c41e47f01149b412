import Foundation

/// Threshold-free and thresholded metrics of a binary detector, where label 1 = fake.
///
/// Scores are "higher means more fake" (probabilities or logits). Ties are handled exactly:
/// AUC counts a tied positive/negative pair as one half (the Mann–Whitney U statistic).
public struct BinaryMetrics: Codable, Sendable, Equatable {
    /// Number of real (label 0) and fake (label 1) samples.
    public var realCount: Int
    public var fakeCount: Int
    /// Area under the ROC curve; nil when one class is missing.
    public var auc: Double?
    /// Average precision (area under the precision–recall curve, step interpolation).
    public var averagePrecision: Double?
    /// Equal error rate: the point where false-positive and false-negative rates meet.
    public var equalErrorRate: Double?
    /// Accuracy at `threshold`.
    public var accuracy: Double
    /// The decision threshold used for accuracy.
    public var threshold: Double
    /// Expected calibration error over 15 equal-width bins; only meaningful for probabilities.
    public var expectedCalibrationError: Double?

    /// Computes every metric.
    /// - Parameters:
    ///   - scores: one score per sample, higher = more fake.
    ///   - labels: 1 for fake, 0 for real; same count as `scores`.
    ///   - threshold: decision threshold for accuracy (0.5 for probabilities).
    ///   - scoresAreProbabilities: when true, ECE is computed too.
    public init(scores: [Double], labels: [Int], threshold: Double = 0.5, scoresAreProbabilities: Bool = true) {
        precondition(scores.count == labels.count, "BinaryMetrics needs one label per score (\(scores.count) vs \(labels.count))")
        realCount = labels.filter { $0 == 0 }.count
        fakeCount = labels.count - realCount
        self.threshold = threshold
        let correct = zip(scores, labels).filter { ($0.0 >= threshold ? 1 : 0) == $0.1 }.count
        accuracy = labels.isEmpty ? 0 : Double(correct) / Double(labels.count)
        auc = Self.areaUnderROC(scores: scores, labels: labels)
        averagePrecision = Self.averagePrecision(scores: scores, labels: labels)
        equalErrorRate = Self.equalErrorRate(scores: scores, labels: labels)
        expectedCalibrationError = scoresAreProbabilities && !labels.isEmpty
            ? Self.expectedCalibrationError(probabilities: scores, labels: labels) : nil
    }

    /// ROC AUC by the rank-sum formula with average ranks for ties.
    /// ```
    /// AUC = (Σ rank(positives) − P(P+1)/2) / (P·N)
    /// ```
    public static func areaUnderROC(scores: [Double], labels: [Int]) -> Double? {
        let positives = labels.filter { $0 == 1 }.count
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let averageRank = Double(start + end) / 2 + 1
            for position in start...end where labels[order[position]] == 1 { rankSum += averageRank }
            start = end + 1
        }
        let p = Double(positives), n = Double(negatives)
        return (rankSum - p * (p + 1) / 2) / (p * n)
    }

    /// Average precision: Σ over thresholds of (recall step) × precision, tied scores taken together.
    public static func averagePrecision(scores: [Double], labels: [Int]) -> Double? {
        let positives = labels.filter { $0 == 1 }.count
        guard positives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var truePositives = 0, seen = 0, total = 0.0, previousRecall = 0.0
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            for position in start...end {
                seen += 1
                if labels[order[position]] == 1 { truePositives += 1 }
            }
            let recall = Double(truePositives) / Double(positives)
            let precision = Double(truePositives) / Double(seen)
            total += (recall - previousRecall) * precision
            previousRecall = recall
            start = end + 1
        }
        return total
    }

    /// Equal error rate, interpolated between the two ROC points where FPR and FNR cross.
    public static func equalErrorRate(scores: [Double], labels: [Int]) -> Double? {
        let positives = labels.filter { $0 == 1 }.count
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        // Sweep thresholds from high to low: FPR rises, FNR falls.
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var falsePositives = 0, truePositives = 0
        var previous = (fpr: 0.0, fnr: 1.0)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            for position in start...end {
                if labels[order[position]] == 1 { truePositives += 1 } else { falsePositives += 1 }
            }
            let current = (fpr: Double(falsePositives) / Double(negatives),
                           fnr: 1 - Double(truePositives) / Double(positives))
            if current.fpr >= current.fnr {
                // Crossing between `previous` and `current`: linear interpolation of (fpr - fnr) = 0.
                let before = previous.fnr - previous.fpr, after = current.fpr - current.fnr
                let t = before + after > 0 ? before / (before + after) : 0
                return previous.fpr + t * (current.fpr - previous.fpr)
            }
            previous = current
            start = end + 1
        }
        return previous.fpr
    }

    /// Expected calibration error (Naeini et al. 2015; Guo et al. 2017) of p(fake) with `bins`
    /// equal-width bins: Σ_b (n_b / n) · |mean label_b − mean p_b|.
    public static func expectedCalibrationError(probabilities: [Double], labels: [Int], bins: Int = 15) -> Double {
        precondition(bins > 0, "ECE needs at least one bin")
        var count = [Int](repeating: 0, count: bins)
        var sumProbability = [Double](repeating: 0, count: bins)
        var sumLabel = [Double](repeating: 0, count: bins)
        for (probability, label) in zip(probabilities, labels) {
            let bin = min(bins - 1, max(0, Int(probability * Double(bins))))
            count[bin] += 1
            sumProbability[bin] += probability
            sumLabel[bin] += Double(label)
        }
        let total = Double(probabilities.count)
        var error = 0.0
        for bin in 0..<bins where count[bin] > 0 {
            error += Double(count[bin]) / total * abs(sumLabel[bin] - sumProbability[bin]) / Double(count[bin])
        }
        return error
    }
}

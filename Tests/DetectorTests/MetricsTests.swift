import Foundation
import Testing
@testable import Detector

@Suite("Binary metrics")
struct MetricsTests {
    @Test func perfectSeparationGivesAUCOneAndEERZero() {
        let metrics = BinaryMetrics(scores: [0.1, 0.2, 0.3, 0.7, 0.8, 0.9], labels: [0, 0, 0, 1, 1, 1])
        #expect(metrics.auc == 1)
        #expect(metrics.equalErrorRate == 0)
        #expect(metrics.accuracy == 1)
        #expect(metrics.averagePrecision == 1)
    }

    @Test func reversedScoresGiveAUCZero() {
        let metrics = BinaryMetrics(scores: [0.9, 0.8, 0.2, 0.1], labels: [0, 0, 1, 1])
        #expect(metrics.auc == 0)
        #expect(metrics.accuracy == 0)
    }

    @Test func aucMatchesPairCountingWithTies() {
        // Brute force: fraction of (fake, real) pairs ordered correctly, ties count 1/2.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let count = 30
            let scores = (0..<count).map { _ in Double(Int.random(in: 0...6, using: &generator)) / 6 }
            var labels = (0..<count).map { _ in Int.random(in: 0...1, using: &generator) }
            labels[0] = 0; labels[1] = 1
            var pairs = 0.0, good = 0.0
            for i in 0..<count where labels[i] == 1 {
                for j in 0..<count where labels[j] == 0 {
                    pairs += 1
                    good += scores[i] > scores[j] ? 1 : (scores[i] == scores[j] ? 0.5 : 0)
                }
            }
            let auc = try! #require(BinaryMetrics.areaUnderROC(scores: scores, labels: labels))
            #expect(abs(auc - good / pairs) < 1e-12)
        }
    }

    @Test func averagePrecisionOfKnownRanking() {
        // Ranking: fake, real, fake. Precision at recall 0.5 is 1, at recall 1 is 2/3. AP = 0.5 + 0.5*2/3.
        let ap = BinaryMetrics.averagePrecision(scores: [0.9, 0.5, 0.1], labels: [1, 0, 1])
        #expect(abs(ap! - (0.5 + 1.0 / 3.0)) < 1e-12)
    }

    @Test func equalErrorRateOfOverlappingClasses() {
        // One real above one fake among four each: at the crossing FPR = FNR = 0.25.
        let scores = [0.1, 0.2, 0.3, 0.65, 0.6, 0.7, 0.8, 0.9]
        let labels = [0, 0, 0, 0, 1, 1, 1, 1]
        let eer = try! #require(BinaryMetrics.equalErrorRate(scores: scores, labels: labels))
        #expect(abs(eer - 0.25) < 1e-9)
    }

    @Test func singleClassHasNoAUC() {
        let metrics = BinaryMetrics(scores: [0.2, 0.4], labels: [0, 0])
        #expect(metrics.auc == nil)
        #expect(metrics.equalErrorRate == nil)
    }

    @Test func eceIsZeroForPerfectCalibrationAndLargeForOverconfidence() {
        let calibrated = BinaryMetrics.expectedCalibrationError(probabilities: [0, 0, 1, 1], labels: [0, 0, 1, 1])
        #expect(calibrated == 0)
        let overconfident = BinaryMetrics.expectedCalibrationError(probabilities: [0.99, 0.99, 0.99, 0.99], labels: [0, 1, 0, 1])
        #expect(abs(overconfident - 0.49) < 1e-9)
    }
}

@Suite("Calibration and verdicts")
struct CalibrationTests {
    @Test func temperatureScalingRecoversAKnownTemperature() {
        // Labels drawn from sigmoid(z / 3): the fitted temperature should be near 3.
        var state: UInt64 = 42
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        var logits: [Double] = [], labels: [Int] = []
        for _ in 0..<20000 {
            let z = (uniform() - 0.5) * 24
            logits.append(z)
            labels.append(uniform() < sigmoid(z / 3) ? 1 : 0)
        }
        let fitted = TemperatureScaling.fit(logits: logits, labels: labels)
        #expect(abs(fitted.temperature - 3) < 0.3)
    }

    @Test func decisionRuleHasAnUnsureBand() {
        let rule = DecisionRule(threshold: 0.5, unsureBand: 0.1)
        #expect(rule.label(probability: 0.95) == .fake)
        #expect(rule.label(probability: 0.55) == .unsure)
        #expect(rule.label(probability: 0.45) == .unsure)
        #expect(rule.label(probability: 0.05) == .real)
    }

    @Test func videoIsFakeIfAnyTrackIs() {
        #expect(Aggregation.videoProbability(trackProbabilities: [0.1, 0.95, 0.2]) == 0.95)
        #expect(Aggregation.videoProbability(trackProbabilities: []) == nil)
        #expect(Aggregation.trackLogit(frameLogits: [1, 3], temporalLogit: nil) == 2)
        #expect(Aggregation.trackLogit(frameLogits: [1, 3], temporalLogit: 4, temporalWeight: 0.5) == 3)
    }

    @Test func stableSigmoidAndLoss() {
        #expect(sigmoid(800) == 1)
        #expect(sigmoid(-800) == 0)
        #expect(abs(binaryCrossEntropy(logit: 0, label: 1) - log(2)) < 1e-12)
        #expect(binaryCrossEntropy(logit: -1000, label: 1) == 1000)
    }
}

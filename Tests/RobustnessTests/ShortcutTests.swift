import Detector
import Explain
import Imaging
import Foundation
import Randomness
import Testing
@testable import Robustness

@Suite("Shortcut assessment")
struct ShortcutTests {
    func rungs(_ probabilities: [Double]) -> [ShortcutEvidence.Rung] {
        zip(QualityLadder.perVerdict, probabilities).map { .init(name: $0.id, probability: $1) }
    }

    @Test("a stable ladder and no other signal: no flag, label kept")
    func stable() {
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.91, rungs: rungs([0.9, 0.92, 0.89, 0.88, 0.91, 0.9, 0.87]),
                                                   gridEnergyRatio: 1.05, codecFeatureShare: 0.05))
        #expect(!a.flag)
        #expect(!a.verdictFlips)
        #expect(a.reasons.isEmpty)
        #expect(a.label == .fake && a.originalLabel == .fake)
        #expect(abs(a.spread - 0.05) < 1e-12)
        #expect(a.score < 0.1)
        #expect(a.rungs.count == 7 && a.rungs.allSatisfy { !$0.crossesThreshold })
    }

    @Test("a ladder that flips the verdict: flag, unsure, the reason names the rungs")
    func flipping() throws {
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.85, rungs: rungs([0.84, 0.7, 0.45, 0.2, 0.83, 0.6, 0.3])))
        #expect(a.flag && a.verdictFlips)
        #expect(a.label == .unsure && a.originalLabel == .fake)
        #expect(a.score == 1)
        let reason = try #require(a.reasons.first)
        #expect(reason.contains("flips") && reason.contains("h264:35") && reason.contains("h264:40") && reason.contains("jpeg:20"))
        #expect(!reason.contains("h264:28"))
        #expect(a.rungs.filter(\.crossesThreshold).map(\.name) == ["h264:35", "h264:40", "jpeg:20"])
        #expect(a.components.ladder == 1)
    }

    @Test("a real verdict pushed to fake by compression also flips")
    func realToFake() {
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.1, rungs: rungs([0.12, 0.3, 0.55])))
        #expect(a.verdictFlips && a.label == .unsure && a.originalLabel == .real)
        #expect(a.reasons[0].contains("towards fake"))
    }

    @Test("a large spread without a flip still flags")
    func spreadWithoutFlip() {
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.95, rungs: rungs([0.93, 0.8, 0.65, 0.6])))
        #expect(!a.verdictFlips)
        #expect(a.flag, "spread 0.35 is past the ladder's half point (0.25)")
        #expect(a.label == .fake)
        #expect(a.reasons.count == 1 && a.reasons[0].contains("moves by 0.35"))
    }

    @Test("an unsure verdict has no decision to flip: jitter across the threshold inside the band does not flag")
    func unsureVerdictsDoNotFlip() {
        let b = ShortcutAssessment(evidence: .init(originalProbability: 0.55, rungs: rungs([0.45])))
        #expect(!b.verdictFlips && b.label == .unsure && b.originalLabel == .unsure)
        #expect(b.rungs[0].crossesThreshold, "the rung still records that it crossed")
        #expect(!b.flag && b.reasons.isEmpty, "spread 0.10 is ladder component 0.125")
        // A large move out of the band still counts, through the spread.
        let c = ShortcutAssessment(evidence: .init(originalProbability: 0.45, rungs: rungs([0.5, 0.75])))
        #expect(!c.verdictFlips && c.flag && c.label == .unsure)
        #expect(c.reasons.count == 1 && c.reasons[0].contains("moves by 0.30"))
    }

    @Test("high block-grid energy alone raises the flag with its reason")
    func gridEnergy() {
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.9, gridEnergyRatio: 2.4))
        #expect(a.flag && !a.verdictFlips)
        #expect(a.components.gridEnergy == 1 && a.components.ladder == nil)
        #expect(a.reasons == ["attributions concentrate on the 8x8 codec block grid (2.40x the energy of shifted grids)"])
        #expect(a.label == .fake, "only a ladder flip changes the label")
        let mild = ShortcutAssessment(evidence: .init(originalProbability: 0.9, gridEnergyRatio: 1.2))
        #expect(!mild.flag && abs(mild.score - 0.2) < 1e-12)
    }

    @Test("Explain's block-grid energy feeds the assessment: grid-locked maps flag, grid-blind maps do not")
    func blockGridEnergy() {
        // 32x32 crop at frame (16, 8), scale 1: the crop pixel (x, y) has phase (x mod 8, y mod 8).
        let box = Box(x: 16, y: 8, width: 32, height: 32)
        let locked = (0..<1024).map { i -> Float in
            let x = i % 32, y = i / 32
            return (x % 8 == 0 || x % 8 == 7 || y % 8 == 0 || y % 8 == 7) ? 1 : 0.2
        }
        var generator = SplitMix64(seed: 5)
        let blind = (0..<1024).map { _ in Float(generator.openUnit()) }
        let lockedEnergy = BlockGridEnergy(map: locked, width: 32, height: 32, cropBox: box)
        let blindEnergy = BlockGridEnergy(map: blind, width: 32, height: 32, cropBox: box)
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.9, gridEnergy: lockedEnergy))
        let b = ShortcutAssessment(evidence: .init(originalProbability: 0.9, gridEnergy: blindEnergy))
        #expect(lockedEnergy.ratio > 2 && a.flag && a.reasons.first?.contains("block grid") == true)
        #expect(abs(blindEnergy.ratio - 1) < 0.15 && !b.flag)
    }

    @Test("codec-linked features alone raise the flag with their reason")
    func features() {
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.9, codecFeatureShare: 0.6))
        #expect(a.flag && a.reasons == ["codec-linked SAE features carry 60% of the verdict's logit"])
    }

    @Test("moderate signals combine as a noisy-OR and the reason says so")
    func combination() {
        // ladder spread 0.17 -> 0.3; grid 1.3 -> 0.3; features 0.22 -> 0.3: score = 1 - 0.7^3 = 0.657.
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.9, rungs: rungs([0.9, 0.8, 0.73]),
                                                   gridEnergyRatio: 1.3, codecFeatureShare: 0.22))
        #expect(abs(a.score - (1 - 0.7 * 0.7 * 0.7)) < 1e-9)
        #expect(a.flag)
        #expect(a.reasons.count == 1 && a.reasons[0].hasPrefix("moderate signals together"))
        let two = ShortcutAssessment(evidence: .init(originalProbability: 0.9, gridEnergyRatio: 1.2, codecFeatureShare: 0.18))
        #expect(!two.flag, "0.2 and 0.2 give 0.36 < 0.5")
    }

    @Test("thresholds and the decision rule are honoured; assessments round-trip through JSON")
    func thresholdsAndCodable() throws {
        let strict = ShortcutThresholds(gridRatioClean: 1, gridRatioShortcut: 1.2)
        #expect(ShortcutAssessment(evidence: .init(originalProbability: 0.9, gridEnergyRatio: 1.15), thresholds: strict).flag)
        let rule = DecisionRule(threshold: 0.7, unsureBand: 0.05)
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.8, rungs: rungs([0.65])), rule: rule)
        #expect(a.verdictFlips && a.label == .unsure)
        let data = try JSONEncoder().encode(a)
        #expect(try JSONDecoder().decode(ShortcutAssessment.self, from: data) == a)
        let empty = ShortcutAssessment(evidence: .init(originalProbability: 0.2))
        #expect(!empty.flag && empty.score == 0 && empty.label == .real)
    }

    @Test("the quality ladder measures every rung; unavailable codecs are skipped")
    func ladderMeasure() throws {
        let frame = texturedFrame()
        let measured = try QualityLadder.measure(frames: [frame], codecs: .simulated) { frames in
            Double(frames[0].pixels.reduce(0) { $0 + Int($1) }) / Double(frames[0].pixels.count * 255)
        }
        #expect(measured.map(\.name) == ["jpeg:90", "jpeg:50", "jpeg:20"])
        #expect(QualityLadder.perVerdict.map(\.id) == ["h264:18", "h264:28", "h264:35", "h264:40", "jpeg:90", "jpeg:50", "jpeg:20"])
    }
}

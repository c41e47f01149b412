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

    @Test("compression pushing a real verdict to fake: flag, unsure, the reason names the rungs")
    func realToFake() throws {
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.1, rungs: rungs([0.12, 0.3, 0.55, 0.7, 0.1, 0.2, 0.52])))
        #expect(a.flag && a.verdictFlips)
        #expect(a.label == .unsure && a.originalLabel == .real)
        #expect(a.score == 1 && a.components.ladder == 1)
        let reason = try #require(a.reasons.first)
        #expect(reason.contains("towards fake") && reason.contains("h264:35") && reason.contains("h264:40") && reason.contains("jpeg:20"))
        #expect(!reason.contains("h264:28"))
        #expect(a.rungs.filter(\.crossesThreshold).map(\.name) == ["h264:35", "h264:40", "jpeg:20"])
        #expect(abs(a.rise - 0.6) < 1e-12 && a.mildFall == 0)
    }

    @Test("heavy compression erasing a fake verdict: unsure with the reason, but not a shortcut")
    func erosion() throws {
        // Mild rungs (h264:18, jpeg:90) hold; heavy ones lose the evidence.
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.85, rungs: rungs([0.84, 0.7, 0.45, 0.2, 0.83, 0.6, 0.3])))
        #expect(a.verdictFlips && a.label == .unsure && a.originalLabel == .fake)
        #expect(!a.flag && a.components.ladder == 0)
        #expect(abs(a.mildFall - 0.02) < 1e-12 && a.rise == 0 && abs(a.spread - 0.65) < 1e-12)
        let reason = try #require(a.reasons.first)
        #expect(reason.hasPrefix("heavy re-encoding erases the evidence") && reason.contains("h264:35") && reason.contains("jpeg:20"))
    }

    @Test("a mild rung undoing a fake verdict flags: the verdict rested on the absence of compression")
    func mildRungFlip() throws {
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.85, rungs: rungs([0.3, 0.25, 0.2, 0.2, 0.35])))
        #expect(a.flag && a.verdictFlips && a.label == .unsure)
        let reason = try #require(a.reasons.first)
        #expect(reason.contains("towards real") && reason.contains("h264:18") && reason.contains("jpeg:90") && !reason.contains("h264:28"))
        // A large fall at a mild rung without crossing also counts.
        let b = ShortcutAssessment(evidence: .init(originalProbability: 0.95, rungs: rungs([0.65, 0.6, 0.6, 0.6, 0.9])))
        #expect(!b.verdictFlips && b.flag && b.label == .fake)
        #expect(b.reasons.count == 1 && b.reasons[0].hasPrefix("mild re-encoding lowers p(fake) by 0.30"))
        #expect(QualityLadder.isMild("crop-jpeg:90") && QualityLadder.isMild("h264:23") && !QualityLadder.isMild("h264:28")
                && !QualityLadder.isMild("jpeg:50") && !QualityLadder.isMild("blur:2"))
    }

    @Test("a large rise without a flip still flags; a large fall under heavy compression does not")
    func riseWithoutFlip() {
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.05, rungs: rungs([0.06, 0.2, 0.35, 0.4])))
        #expect(!a.verdictFlips)
        #expect(a.flag, "rise 0.35 is past the ladder's half point (0.25)")
        #expect(a.label == .real)
        #expect(a.reasons.count == 1 && a.reasons[0].contains("raises p(fake) by 0.35") && a.reasons[0].contains("h264:40"))
        let b = ShortcutAssessment(evidence: .init(originalProbability: 0.95, rungs: rungs([0.93, 0.8, 0.65, 0.6])))
        #expect(!b.verdictFlips && !b.flag && b.reasons.isEmpty && b.label == .fake)
        #expect(abs(b.spread - 0.35) < 1e-12, "the spread is still reported")
    }

    @Test("an unsure verdict has no decision to flip: jitter across the threshold inside the band does not flag")
    func unsureVerdictsDoNotFlip() {
        let b = ShortcutAssessment(evidence: .init(originalProbability: 0.55, rungs: rungs([0.45])))
        #expect(!b.verdictFlips && b.label == .unsure && b.originalLabel == .unsure)
        #expect(b.rungs[0].crossesThreshold, "the rung still records that it crossed")
        #expect(!b.flag && b.reasons.isEmpty, "a mild fall of 0.10 is ladder component 0.125")
        // A large move out of the band still counts, through the rise.
        let c = ShortcutAssessment(evidence: .init(originalProbability: 0.45, rungs: rungs([0.5, 0.75])))
        #expect(!c.verdictFlips && c.flag && c.label == .unsure)
        #expect(c.reasons.count == 1 && c.reasons[0].contains("raises p(fake) by 0.30"))
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
        // ladder rise 0.17 -> 0.3; grid 1.3 -> 0.3; features 0.22 -> 0.3: score = 1 - 0.7^3 = 0.657.
        let a = ShortcutAssessment(evidence: .init(originalProbability: 0.7, rungs: rungs([0.7, 0.8, 0.87]),
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

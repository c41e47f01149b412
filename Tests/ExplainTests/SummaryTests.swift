import Foundation
import Imaging
import Testing
@testable import Explain

@Suite struct AttributionSummaryTests {
    let face = Box(x: 10, y: 10, width: 40, height: 40)

    func pointMap(_ points: [(Int, Int)], width: Int = 60, height: Int = 60) -> [Float] {
        var map = [Float](repeating: 0, count: width * height)
        for (x, y) in points { map[y * width + x] = 1 }
        return map
    }

    @Test func regionsFollowFaceBoxGeometry() {
        #expect(FaceRegion.classify(x: 22, y: 25, faceBox: face) == .eyes)      // u 0.3, v 0.375
        #expect(FaceRegion.classify(x: 30, y: 32, faceBox: face) == .nose)      // u 0.5, v 0.55
        #expect(FaceRegion.classify(x: 30, y: 41, faceBox: face) == .mouth)     // u 0.5, v 0.775
        #expect(FaceRegion.classify(x: 30, y: 11, faceBox: face) == .boundary)  // top of the outline
        #expect(FaceRegion.classify(x: 18, y: 32, faceBox: face) == .faceRest)  // cheek
        #expect(FaceRegion.classify(x: 1, y: 1, faceBox: face) == .background)
        let shares = AttributionSummary.regions(map: pointMap([(22, 25), (37, 25), (30, 41), (1, 1)]), width: 60, height: 60, faceBox: face)
        let byRegion = Dictionary(uniqueKeysWithValues: shares.map { ($0.region, $0) })
        #expect(byRegion[.eyes]!.positiveShare == 0.5)
        #expect(byRegion[.mouth]!.positiveShare == 0.25)
        #expect(byRegion[.background]!.positiveShare == 0.25)
        #expect(abs(shares.map(\.areaShare).reduce(0, +) - 1) < 1e-12)
        // A uniform map's shares equal the area shares; negative values count only in signedSum.
        let uniform = AttributionSummary.regions(map: [Float](repeating: 2, count: 3600), width: 60, height: 60, faceBox: face)
        for r in uniform { #expect(abs(r.positiveShare - r.areaShare) < 1e-12) }
        var signed = pointMap([(22, 25)])
        signed[41 * 60 + 30] = -3
        let s = Dictionary(uniqueKeysWithValues: AttributionSummary.regions(map: signed, width: 60, height: 60, faceBox: face).map { ($0.region, $0) })
        #expect(s[.eyes]!.positiveShare == 1 && s[.mouth]!.positiveShare == 0 && s[.mouth]!.signedSum == -3)
    }

    @Test func topPatchesRankByNetContribution() {
        var map = [Float](repeating: 0, count: 64 * 48)
        for y in 32..<48 { for x in 16..<32 { map[y * 64 + x] = 1 } }     // net +256, half the positive mass
        map[0] = 256                                                        // the other half of the positive mass,
        map[5] = -100                                                       // but a net of +156
        // Speckle: alternating +-3 holds more positive mass than either, and nets to -8.
        for y in 0..<16 { for x in 48..<64 { map[y * 64 + x] = (x + y) % 2 == 0 ? 3 : -3 } }
        map[15 * 64 + 63] = -5
        let patches = AttributionSummary.topPatches(map: map, width: 64, height: 48, patchSize: 16, count: 3)
        #expect(patches.count == 3)
        #expect(patches[0].x == 16 && patches[0].y == 32 && patches[0].signedSum == 256)
        #expect(patches[1].x == 0 && patches[1].y == 0 && patches[1].signedSum == 156)
        // The third is one of the zero patches (first by position), not the speckled one.
        #expect(patches[2].signedSum == 0 && patches[2].x == 16 && patches[2].y == 0)
        let speckle = AttributionSummary.topPatches(map: map, width: 64, height: 48, patchSize: 16, count: 12).last!
        #expect(speckle.x == 48 && speckle.y == 0 && speckle.signedSum == -8)
        #expect(speckle.positiveShare > patches[0].positiveShare)
    }

    @Test func heatmapIsAPNGOfTheCropSize() throws {
        let crop = RGBImage(width: 40, height: 30, fill: (120, 90, 60))
        var map = [Float](repeating: 0, count: 20 * 15)
        map[7 * 20 + 10] = 5
        let bytes = AttributionHeatmap.pngData(map: map, width: 20, height: 15, crop: crop)
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let decoded = try PNG.decode(bytes)
        #expect(decoded.width == 40 && decoded.height == 30)
        let signed = AttributionHeatmap.image(map: map.map { $0 - 1 }, width: 20, height: 15, style: .signed)
        #expect(signed.width == 20)
        // Negative values are blue-ish, the peak red-ish.
        #expect(signed[0, 0].b > signed[0, 0].r && signed[10, 7].r > signed[10, 7].b)
    }

    @Test func displaySmoothingShowsNetEvidenceNotSpeckle() {
        // A +-1 checkerboard everywhere, and a net-positive blob in the top-left corner.
        let w = 32, h = 32
        var map = [Float](repeating: 0, count: w * h)
        for y in 0..<h { for x in 0..<w { map[y * w + x] = (x + y) % 2 == 0 ? 1 : -1 } }
        for y in 2..<8 { for x in 2..<8 { map[y * w + x] += 1 } }
        func brightness(_ image: RGBImage, _ x: Int, _ y: Int) -> Int { let p = image[x, y]; return Int(p.r) + Int(p.g) + Int(p.b) }
        let raw = AttributionHeatmap.image(map: map, width: w, height: h)
        let smoothed = AttributionHeatmap.image(map: map, width: w, height: h, smoothing: AttributionHeatmap.displaySmoothing)
        // Unsmoothed, a positive speckle pixel far from the blob is lit; smoothed it is dark and the blob is lit.
        #expect(brightness(raw, 24, 24) > 100)
        #expect(brightness(smoothed, 24, 24) < 30 && brightness(smoothed, 24, 25) < 30)
        #expect(brightness(smoothed, 5, 5) > 200)
    }
}

@Suite struct BlockGridEnergyTests {
    @Test func gridLockedMapHasHighRatioAndUniformMapRatioOne() {
        let w = 40, h = 40
        let crop = Box(x: 3, y: 5, width: 40, height: 40)   // scale 1, offset (3, 5)
        var locked = [Float](repeating: 0, count: w * h)
        for y in 0..<h { for x in 0..<w where (x + 3) % 8 == 0 || (y + 5) % 8 == 0 { locked[y * w + x] = 1 } }
        let e = BlockGridEnergy(map: locked, width: w, height: h, cropBox: crop)
        #expect(abs(e.boundaryShare - 1) < 1e-12)
        #expect(e.ratio > 1.5)
        #expect(abs(e.phaseShares.reduce(0, +) - 1) < 1e-12)
        // The same map read with a wrong offset is not on the grid.
        let shifted = BlockGridEnergy(map: locked, width: w, height: h, cropBox: Box(x: 7, y: 9, width: 40, height: 40))
        #expect(shifted.ratio < e.ratio)
        let uniform = BlockGridEnergy(map: [Float](repeating: 0.3, count: w * h), width: w, height: h, cropBox: crop, energy: .absolute)
        #expect(abs(uniform.ratio - 1) < 1e-9)
        #expect(abs(uniform.boundaryShare - 28.0 / 64) < 1e-9)
    }

    @Test func cropScaleMapsToFramePixels() {
        // 20x20 crop of a 40x40 frame region: crop pixel x has its centre at frame x 2x + 1, so
        // crop columns 3, 7, 11, … sit at frame phase 7, next to a block edge.
        let crop = Box(x: 0, y: 0, width: 40, height: 40)
        var map = [Float](repeating: 0, count: 400)
        for y in 0..<20 { for x in 0..<20 where Int((Double(x) + 0.5) * 2) % 8 == 7 { map[y * 20 + x] = 1 } }
        let e = BlockGridEnergy(map: map, width: 20, height: 20, cropBox: crop)
        #expect(abs(e.boundaryShare - 1) < 1e-12)
    }
}

@Suite struct FaithfulnessTests {
    @Test func spearmanKnownValues() {
        #expect(abs(Faithfulness.spearman([1, 2, 3, 4], [10, 20, 30, 40]) - 1) < 1e-12)
        #expect(abs(Faithfulness.spearman([1, 2, 3, 4], [4, 3, 2, 1]) + 1) < 1e-12)
        #expect(abs(Faithfulness.spearman([1, 2, 3, 4], [1, 8, 27, 1000]) - 1) < 1e-12)  // monotone
        #expect(Faithfulness.ranks([5, 1, 5, 2]) == [3.5, 1, 3.5, 2])
        #expect(abs(Faithfulness.spearman([-3, 1, 2], [3, 1, 2], absolute: true) - 1) < 1e-12)
        #expect(Faithfulness.spearman([1, 1, 1], [1, 2, 3]) == 0)
    }

    @Test func deletionByAttributionBeatsRandomOnALinearModel() throws {
        let shape = InputShape(channels: 3, height: 8, width: 8)
        var weights = [Float](repeating: 0.01, count: shape.count)
        for c in 0..<3 { for i in 0..<16 { weights[c * 64 + i] = 1 } }   // the top two rows carry the evidence
        let model = LinearToyModel(inputShape: shape, weights: weights, bias: -2)
        let input = [Float](repeating: 0.5, count: shape.count)
        let baseline = Baseline.black.make(for: input, shape: shape, normalization: .identity())
        let attribution = try IntegratedGradients(.init(steps: 4, baseline: .black, normalization: .identity()))
            .attribute(model, inputs: input, count: 1)[0]
        let result = try Faithfulness.deletion(model: model, input: input, map: attribution.channelSum, replacement: baseline,
                                               steps: 8, randomRuns: 4, seed: 1)
        #expect(result.fractions.count == 9 && result.attributionOrder.count == 9)
        #expect(result.attributionOrder[0] == result.randomOrder[0])
        #expect(abs(result.attributionOrder[8] - result.randomOrder[8]) < 1e-12)
        // After 1/4 of the pixels (the top two rows) the evidence is gone.
        #expect(result.attributionOrder[2] < result.randomOrder[2])
        #expect(result.areaBetween > 0.05)
    }

    @Test func maskShareAndPointingGame() {
        let w = 10, h = 10
        var mask = [Float](repeating: 0, count: 100)
        for y in 0..<5 { for x in 0..<5 { mask[y * w + x] = 1 } }     // 25 % of the crop
        var map = [Float](repeating: 0, count: 100)
        map[2 * w + 2] = 3; map[9 * w + 9] = 1; map[0] = -5
        let a = Faithfulness.maskAgreement(map: map, mask: mask, width: w, height: h, dilation: 0)
        #expect(a.positiveShareInMask == 0.75 && a.maskAreaShare == 0.25 && a.enrichment == 3 && a.pointingHit)
        // A blend at 40% opacity covers the same region: inside is above half the mask's peak, not 0.5.
        let faint = mask.map { $0 * 0.4 }
        #expect(Faithfulness.maskAgreement(map: map, mask: faint, width: w, height: h, dilation: 0) == a)
        map[9 * w + 9] = 10
        #expect(!Faithfulness.maskAgreement(map: map, mask: mask, width: w, height: h, dilation: 3).pointingHit)
        #expect(Faithfulness.maskAgreement(map: map, mask: mask, width: w, height: h, dilation: 5).pointingHit)
        #expect(Faithfulness.maskAgreement(map: map, mask: faint, width: w, height: h, dilation: 5).pointingHit)
        // No mask at all: nothing is inside.
        let none = Faithfulness.maskAgreement(map: map, mask: [Float](repeating: 0, count: 100), width: w, height: h, dilation: 5)
        #expect(none.maskAreaShare == 0 && none.enrichment == 0 && !none.pointingHit)
    }

    @Test func smoothedPointingFollowsTheMassNotTheBrightestPixel() {
        // One bright speck outside the mask, a broad patch of moderate values inside it: the raw
        // peak misses, the smoothed peak hits.
        let w = 32, h = 32
        var mask = [Float](repeating: 0, count: w * h)
        for y in 0..<12 { for x in 0..<12 { mask[y * w + x] = 1 } }
        var map = [Float](repeating: 0, count: w * h)
        for y in 2..<10 { for x in 2..<10 { map[y * w + x] = 1 } }
        map[28 * w + 28] = 5
        let a = Faithfulness.maskAgreement(map: map, mask: mask, width: w, height: h, dilation: 2, peakSmoothing: 2)
        #expect(!a.pointingHit)
        #expect(a.smoothedPointingHit)
        let unsmoothed = Faithfulness.maskAgreement(map: map, mask: mask, width: w, height: h, dilation: 2, peakSmoothing: 0)
        #expect(!unsmoothed.smoothedPointingHit)
    }

    @Test func patchEnrichmentCountsNetEvidenceNotCancellingSpeckle() {
        // A +-1 checkerboard over the whole crop (nets to zero in every 4 px patch) and net evidence
        // of +0.5 per pixel in one 4x4 patch inside the mask, which covers the top-left quarter.
        let w = 16, h = 16
        var mask = [Float](repeating: 0, count: w * h)
        for y in 0..<8 { for x in 0..<8 { mask[y * w + x] = 1 } }
        var map = [Float](repeating: 0, count: w * h)
        for y in 0..<h { for x in 0..<w { map[y * w + x] = (x + y) % 2 == 0 ? 1 : -1 } }
        for y in 4..<8 { for x in 4..<8 { map[y * w + x] += 0.5 } }
        let a = Faithfulness.maskAgreement(map: map, mask: mask, width: w, height: h, dilation: 0, patchSize: 4)
        // Per pixel, the speckle's positive halves spread evenly and the enrichment stays near 1;
        // per patch, only the evidence patch has a positive sum, and it lies in the mask.
        #expect(a.enrichment > 1 && a.enrichment < 1.3)
        #expect(a.patchEnrichment == 4)
        // A patch half inside the mask counts half: a mask of columns 0..<6 cuts the patch at x 4..<8.
        var leftColumns = [Float](repeating: 0, count: w * h)
        for y in 0..<h { for x in 0..<6 { leftColumns[y * w + x] = 1 } }
        var evidence = [Float](repeating: 0, count: w * h)
        for y in 0..<4 { for x in 4..<8 { evidence[y * w + x] = 1 } }
        let b = Faithfulness.maskAgreement(map: evidence, mask: leftColumns, width: w, height: h, dilation: 0, patchSize: 4)
        // Half the evidence inside a mask of 6/16 of the crop: (1/2) / (6/16) = 4/3 both ways.
        #expect(abs(b.patchEnrichment - 4.0 / 3) < 1e-12 && abs(b.enrichment - 4.0 / 3) < 1e-12)
        // Edge patches smaller than the patch size are summed like the rest (15 px wide crop).
        let c = Faithfulness.maskAgreement(map: Array(repeating: 1, count: 15 * 15), mask: Array(repeating: 1, count: 15 * 15),
                                           width: 15, height: 15, dilation: 0, patchSize: 4)
        #expect(c.patchEnrichment == 1 && c.enrichment == 1)
    }
}

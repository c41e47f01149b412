import Foundation
import Imaging
import Randomness
import Testing
@testable import Synthesis

@Suite struct SplitMix64Tests {
    @Test func matchesReferenceSequence() {
        // Reference outputs of splitmix64.c (Vigna) from state 0.
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test func unitIsInRangeAndDeriveSeparatesStreams() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<1000 {
            let u = rng.unit()
            #expect(u >= 0 && u < 1)
        }
        #expect(SplitMix64.derive(7, 1) != SplitMix64.derive(7, 2))
        #expect(SplitMix64.derive(7, 1, 2) == SplitMix64.derive(7, 1, 2))
    }
}

@Suite struct GeneratorTests {
    /// Checks the contract every generator keeps: frame-size mask in [0, 1]; the fake equals the
    /// target wherever the mask is 0; something changed where it is positive.
    func checkContract(_ frame: SynthesizedFrame, target: RGBImage, method: ManipulationMethod) {
        #expect(frame.image.width == target.width && frame.image.height == target.height)
        #expect(frame.mask.width == target.width && frame.mask.height == target.height)
        #expect(frame.mask.values.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(method): mask outside [0, 1]")
        var changedOutside = 0, changedInside = 0, inside = 0
        for p in 0..<(target.width * target.height) {
            let differs = (0..<3).contains { frame.image.pixels[3 * p + $0] != target.pixels[3 * p + $0] }
            if frame.mask.values[p] == 0 {
                if differs { changedOutside += 1 }
            } else {
                inside += 1
                if differs { changedInside += 1 }
            }
        }
        #expect(changedOutside == 0, "\(method): \(changedOutside) pixels changed where the mask is 0")
        #expect(inside > 0, "\(method): empty mask")
        #expect(changedInside > inside / 10, "\(method): only \(changedInside) of \(inside) masked pixels changed")
    }

    @Test(arguments: ManipulationMethod.allCases)
    func changesPixelsOnlyUnderTheMask(method: ManipulationMethod) {
        let (target, box) = Fixtures.face(seed: 1)
        let (donorImage, donorBox) = Fixtures.face(width: 80, height: 112, seed: 2, tint: (150, 110, 90), faceSize: 48)
        let (referenceImage, referenceBox) = Fixtures.face(seed: 3, faceCenter: (50, 47))
        for seed in UInt64(0)..<6 {
            let (frame, parameters) = Synthesizer.makeFake(method, target: target, box: box,
                                                           donor: FaceSample(image: donorImage, box: donorBox),
                                                           reference: FaceSample(image: referenceImage, box: referenceBox),
                                                           frameIndex: Int(seed), seed: seed)
            #expect(parameters.method == method)
            checkContract(frame, target: target, method: method)
        }
    }

    @Test(arguments: ManipulationMethod.allCases)
    func worksWithoutDonorOrReference(method: ManipulationMethod) {
        let (target, box) = Fixtures.face(width: 128, height: 128, seed: 5)
        let (frame, _) = Synthesizer.makeFake(method, target: target, box: box, seed: 11)
        checkContract(frame, target: target, method: method)
    }

    @Test(arguments: ManipulationMethod.allCases)
    func sameSeedSameOutputDifferentSeedDifferentParameters(method: ManipulationMethod) {
        let (target, box) = Fixtures.face(seed: 4)
        let donor = Fixtures.face(seed: 9, tint: (120, 90, 70))
        let a = Synthesizer.makeFake(method, target: target, box: box, donor: FaceSample(image: donor.image, box: donor.box), seed: 123)
        let b = Synthesizer.makeFake(method, target: target, box: box, donor: FaceSample(image: donor.image, box: donor.box), seed: 123)
        let c = Synthesizer.makeFake(method, target: target, box: box, donor: FaceSample(image: donor.image, box: donor.box), seed: 124)
        #expect(a.frame == b.frame)
        #expect(a.parameters == b.parameters)
        #expect(a.parameters != c.parameters)
    }

    @Test func faceMaskCoversTheFaceAndNotTheCorners() {
        let (target, box) = Fixtures.face(width: 160, height: 160, seed: 6)
        var rng = SplitMix64(seed: 3)
        let parameters = SelfBlendParameters(jitter: .none, warp: .identity, mask: .randomFace(using: &rng), blendRatio: 1)
        let frame = SelfBlend.apply(target: target, box: box, parameters: parameters)
        #expect(frame.mask[80, 82] > 0.95)
        #expect(frame.mask[0, 0] == 0 && frame.mask[159, 159] == 0)
        // Identity warp and no jitter: resampling at the same positions changes nothing.
        #expect(frame.image == target)
    }

    @Test func blendRatioScalesTheMask() {
        let (target, box) = Fixtures.face(seed: 7)
        var rng = SplitMix64(seed: 1)
        var parameters = SelfBlendParameters.random(using: &rng)
        parameters.blendRatio = 1
        let full = SelfBlend.apply(target: target, box: box, parameters: parameters)
        parameters.blendRatio = 0.5
        let half = SelfBlend.apply(target: target, box: box, parameters: parameters)
        let peakFull = full.mask.values.max() ?? 0, peakHalf = half.mask.values.max() ?? 0
        #expect(abs(peakHalf - 0.5 * peakFull) < 1e-4)
    }

    @Test func regionSpliceMaskSitsOnItsRegion() {
        let (target, box) = Fixtures.face(width: 120, height: 120, seed: 8)
        for region in FaceRegion.allCases {
            let parameters = RegionSpliceParameters(region: region, warp: FaceWarp(shiftY: 0.05), colourTransfer: 0,
                                                    mask: region.nominalShape, blendRatio: 1)
            let frame = RegionSplice.apply(target: target, box: box, reference: nil, parameters: parameters)
            // Row of the mask's centre of mass, relative to the box.
            var total: Float = 0, weighted: Float = 0
            for y in 0..<120 { for x in 0..<120 { total += frame.mask[x, y]; weighted += frame.mask[x, y] * Float(y) } }
            let row = (Double(weighted / total) + 0.5 - box.y) / box.height
            if region == .eyes { #expect(row > 0.3 && row < 0.45) } else { #expect(row > 0.7 && row < 0.85) }
        }
    }

    @Test func temporalFlickerVariesFromFrameToFrame() {
        var rng = SplitMix64(seed: 99)
        let parameters = TemporalFlickerParameters.random(using: &rng)
        let ratios = (0..<12).map { parameters.frame($0).blendRatio }
        #expect(Set(ratios).count > 6)
        #expect(ratios.allSatisfy { $0 > 0 && $0 <= 1 })
        #expect(parameters.frame(5) == parameters.frame(5))
        let (target, box) = Fixtures.face(seed: 10)
        let frames = TemporalFlicker.apply(frames: [target, target, target], boxes: [box, box, box], parameters: parameters)
        #expect(frames[0].mask != frames[1].mask)
    }

    @Test func checkerboardTransposedConvolutionIsPeriodic() {
        // A flat input through stride-2 taps [0.5, 1, 0.5]: even outputs get 0.5 + 0.5, odd get 1:
        // flat. With [2/3, 2/3, 2/3] evens get 4/3 and odds 2/3: a checkerboard.
        let flat = PlaneRGB(width: 4, height: 4, values: [Float](repeating: 90, count: 48))
        let out = transposedConvolution(flat, stride: 2, taps: [2.0 / 3, 2.0 / 3, 2.0 / 3], width: 8, height: 8)
        let value = { (x: Int, y: Int) in out.values[(y * 8 + x) * 3] }
        #expect(abs(value(2, 2) - 90 * 16.0 / 9) < 1e-3)
        #expect(abs(value(3, 3) - 90 * 4.0 / 9) < 1e-3)
        #expect(abs(value(2, 3) - 90 * 8.0 / 9) < 1e-3)
    }

    @Test func reinhardTransferMatchesStatistics() {
        var source = PlaneRGB(width: 8, height: 8, values: (0..<192).map { Float(60 + ($0 % 7) * 3) })
        let reference = PlaneRGB(width: 8, height: 8, values: (0..<192).map { Float(150 + ($0 % 5) * 6) })
        let weights = [Float](repeating: 1, count: 64)
        reinhardTransfer(&source, reference: reference, weights: weights, strength: 1)
        var a = source, b = reference
        toYCbCr(&a)
        toYCbCr(&b)
        let sa = weightedStatistics(a, weights: weights), sb = weightedStatistics(b, weights: weights)
        #expect(abs(sa.mean[0] - sb.mean[0]) < 0.5)
    }

    @Test(arguments: ManipulationMethod.allCases)
    func parametersRoundTripThroughJSON(method: ManipulationMethod) throws {
        var rng = SplitMix64(seed: 5)
        let parameters = ManipulationParameters.random(for: method, using: &rng)
        let data = try JSONEncoder().encode(parameters.json)
        let json = try JSONDecoder().decode(JSONValue.self, from: data)
        #expect(try ManipulationParameters(method: method, json: json) == parameters)
    }

    @Test func parsesMethodLists() {
        #expect(ManipulationMethod.parseList("selfBlend, cross-swap,UPSAMPLING").methods == [.selfBlend, .crossSwap, .upsampling])
        #expect(ManipulationMethod.parseList("selfBlend,bogus").invalid == "bogus")
    }
}

@Suite struct GeneratorEdgeCaseTests {
    @Test(arguments: ManipulationMethod.allCases)
    func facesAtTheBorderAndTinyImagesDoNotBreakTheContract(method: ManipulationMethod) {
        let cases: [(RGBImage, Box)] = [
            (Fixtures.face(width: 64, height: 48, seed: 1).image, Box(x: 40, y: -10, width: 40, height: 40)),
            (Fixtures.face(width: 64, height: 48, seed: 2).image, Box(x: -30, y: 20, width: 50, height: 50)),
            (Fixtures.face(width: 6, height: 5, seed: 3).image, Box(x: 1, y: 1, width: 4, height: 3)),
            (Fixtures.face(width: 32, height: 32, seed: 4).image, Box(x: -100, y: -100, width: 400, height: 400)),
        ]
        for (index, (image, box)) in cases.enumerated() {
            for seed in UInt64(0)..<4 {
                let donor = FaceSample(image: Fixtures.face(width: 20, height: 30, seed: 9).image, box: Box(x: 2, y: 5, width: 15, height: 15))
                let (frame, _) = Synthesizer.makeFake(method, target: image, box: box, donor: donor, reference: donor,
                                                      frameIndex: index, seed: seed)
                #expect(frame.image.width == image.width && frame.mask.height == image.height)
                #expect(frame.mask.values.allSatisfy { $0 >= 0 && $0 <= 1 })
                for p in 0..<(image.width * image.height) where frame.mask.values[p] == 0 {
                    #expect(frame.image.pixels[3 * p] == image.pixels[3 * p] && frame.image.pixels[3 * p + 2] == image.pixels[3 * p + 2])
                }
            }
        }
    }
}

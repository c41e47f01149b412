import Foundation
import Imaging
import Synthesis
import Testing
@testable import Detector
import Randomness

@Suite("codec augmentation")
struct CodecAugmentationTests {
    /// A 64x64 image with fine detail (a checkerboard of 1-pixel cells over a gradient), which both a
    /// rescale and a strong JPEG pass visibly change.
    static func detailed() -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: 64 * 64 * 3)
        for y in 0..<64 {
            for x in 0..<64 {
                let base = (x + y) % 2 == 0 ? 200 : 40
                pixels[(y * 64 + x) * 3] = UInt8(base)
                pixels[(y * 64 + x) * 3 + 1] = UInt8((x * 4) % 256)
                pixels[(y * 64 + x) * 3 + 2] = UInt8((y * 4) % 256)
            }
        }
        return RGBImage(width: 64, height: 64, pixels: pixels)
    }

    /// Grey texture in 4-pixel cells over a gradient: luminance detail that survives H.264's 4:2:0
    /// chroma subsampling, so only the quantiser decides how much of it is lost.
    static func textured() -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: 64 * 64 * 3)
        for y in 0..<64 {
            for x in 0..<64 {
                let value = UInt8(60 + x + y / 2 + ((x / 4 + y / 4) % 2 == 0 ? 50 : 0))
                for c in 0..<3 { pixels[(y * 64 + x) * 3 + c] = value }
            }
        }
        return RGBImage(width: 64, height: 64, pixels: pixels)
    }

    static func meanAbsoluteDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
        zip(a.pixels, b.pixels).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(a.pixels.count)
    }

    @Test func drawsStayInTheirRangesAndFollowTheProbabilities() {
        let codec = CodecAugmentation(compressionProbability: 0.6, jpegQualities: 20...30, h264Share: 0.5, h264CRFs: 30...35,
                                      rescaleProbability: 0.25, rescaleFactors: 0.4...0.6)
        var rng = SplitMix64(seed: 3)
        var jpeg = 0, h264 = 0, rescaled = 0
        let draws = 4000
        for _ in 0..<draws {
            let draw = codec.draw(using: &rng)
            #expect(draw.jpegQuality == nil || draw.h264CRF == nil, "one codec per pair")
            if let quality = draw.jpegQuality { jpeg += 1; #expect((20...30).contains(quality)) }
            if let crf = draw.h264CRF { h264 += 1; #expect((30...35).contains(crf)) }
            if let factor = draw.rescale { rescaled += 1; #expect((0.4...0.6).contains(factor)) }
        }
        #expect(abs(Double(jpeg) / Double(draws) - 0.3) < 0.03)
        #expect(abs(Double(h264) / Double(draws) - 0.3) < 0.03)
        #expect(abs(Double(rescaled) / Double(draws) - 0.25) < 0.03)
        var a = SplitMix64(seed: 9), b = SplitMix64(seed: 9)
        #expect((0..<50).map { _ in codec.draw(using: &a) } == (0..<50).map { _ in codec.draw(using: &b) })
    }

    @Test func applyingADrawIsDeterministicAndDegradesDetail() {
        let image = Self.detailed()
        let none = CodecAugmentation.Draw()
        #expect(none.apply(to: image) == image, "an empty draw leaves the image alone")
        let rescale = CodecAugmentation.Draw(rescale: 0.5)
        let softened = rescale.apply(to: image)
        #expect(softened.width == 64 && softened.height == 64)
        #expect(Self.meanAbsoluteDifference(softened, image) > 20, "halving a 1-pixel checkerboard erases it")
        let jpeg = CodecAugmentation.Draw(jpegQuality: 20)
        let compressed = jpeg.apply(to: image)
        #expect(compressed == jpeg.apply(to: image), "the same draw gives the same image")
        #expect(Self.meanAbsoluteDifference(compressed, image) > 5)
        let mild = CodecAugmentation.Draw(jpegQuality: 95).apply(to: image)
        #expect(Self.meanAbsoluteDifference(mild, image) < Self.meanAbsoluteDifference(compressed, image))
        let texture = Self.textured()
        let h264 = CodecAugmentation.Draw(h264CRF: 42)
        let intra = h264.apply(to: texture)
        #expect(intra.width == 64 && intra.height == 64)
        #expect(intra == h264.apply(to: texture), "one-threaded x264: the same draw gives the same image")
        let fine = Self.meanAbsoluteDifference(CodecAugmentation.Draw(h264CRF: 18).apply(to: texture), texture)
        let coarse = Self.meanAbsoluteDifference(intra, texture)
        #expect(coarse > 2 * fine, "CRF 42 loses more than CRF 18 (\(coarse) vs \(fine))")
    }

    @Test func configurationsWrittenBeforeTheFieldTrainWithTheLegacyRecipe() throws {
        var config = TrainingConfiguration()
        #expect(config.effectiveCodecAugmentation == .standard)
        config.codecAugmentation = nil
        config.jpegProbability = 0.3
        let data = try JSONEncoder().encode(config)
        let json = try #require(String(data: data, encoding: .utf8))
        #expect(!json.contains("codecAugmentation"))
        let decoded = try JSONDecoder().decode(TrainingConfiguration.self, from: data)
        #expect(decoded.effectiveCodecAugmentation == CodecAugmentation(compressionProbability: 0.3, jpegQualities: 50...95))
        var current = TrainingConfiguration()
        current.codecAugmentation = CodecAugmentation(compressionProbability: 1, jpegQualities: 10...12)
        let roundTrip = try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(current))
        #expect(roundTrip.effectiveCodecAugmentation.jpegQualities == 10...12)
    }
}

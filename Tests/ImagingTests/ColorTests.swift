import Testing
@testable import Imaging

@Suite struct ColorTests {
    @Test func lumaOfPrimaries() {
        let image = RGBImage(width: 3, height: 1, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255])
        let luma = image.luma().values
        #expect(abs(luma[0] - 76.245) < 1e-3 && abs(luma[1] - 149.685) < 1e-3 && abs(luma[2] - 29.07) < 1e-3)
        // OpenCV's fixed-point rounding: (4899*255 + 8192) >> 14 = 76, (9617*255 + 8192) >> 14 = 150, 29.
        #expect(image.lumaBytes() == [76, 150, 29])
    }

    @Test func neutralAdjustmentsAreIdentity() {
        let image = gradientImage(width: 5, height: 4)
        #expect(image.adjustedBrightness(1) == image)
        #expect(image.adjustedContrast(1) == image)
        #expect(image.adjustedSaturation(1) == image)
    }

    @Test func adjustmentsHaveKnownEffects() {
        let image = RGBImage(width: 2, height: 1, pixels: [200, 100, 0, 100, 100, 100])
        #expect(image.adjustedBrightness(0.5).pixels == [100, 50, 0, 50, 50, 50])
        #expect(image.adjustedBrightness(2).pixels == [255, 200, 0, 200, 200, 200])
        let gray = image.adjustedSaturation(0)
        #expect(gray.pixels[0] == gray.pixels[1] && gray.pixels[1] == gray.pixels[2])
        #expect(gray.pixels[0] == 119)  // 0.299*200 + 0.587*100 = 118.5
        let flat = image.adjustedContrast(0)
        #expect(Set(flat.pixels).count == 1)
    }

    @Test func gaussianBlurKeepsConstantsAndMass() {
        let constant = GrayImage(width: 9, height: 7, fill: 3)
        #expect(constant.gaussianBlurred(sigma: 1.5).values.allSatisfy { abs($0 - 3) < 1e-5 })
        var impulse = GrayImage(width: 21, height: 21)
        impulse[10, 10] = 1
        let blurred = impulse.gaussianBlurred(sigma: 2)
        #expect(abs(blurred.values.reduce(0, +) - 1) < 1e-5)
        #expect(abs(blurred[8, 10] - blurred[12, 10]) < 1e-7 && abs(blurred[10, 8] - blurred[8, 10]) < 1e-7)
        #expect(blurred[10, 10] > blurred[11, 10] && blurred[11, 10] > blurred[12, 10])
        // Separable Gaussian: the peak is the square of the 1-D centre tap, about 1 / (2 pi sigma^2).
        #expect(abs(blurred[10, 10] - 0.0398) < 0.001)
        let rgb = RGBImage(width: 6, height: 6, fill: (10, 20, 30))
        #expect(rgb.gaussianBlurred(sigma: 1) == rgb)
    }

    @Test func planarFloatsLayoutAndRoundTrip() {
        let image = gradientImage(width: 3, height: 2)
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        let planar = image.planarFloats(mean: mean, std: std)
        #expect(planar.count == 18)
        // [3, H, W]: channel 1 (G) of pixel (2, 1) sits at 1*6 + 1*3 + 2.
        let g = Float(image[2, 1].g)
        #expect(abs(planar[6 + 5] - (g / 255 - 0.456) / 0.224) < 1e-5)
        #expect(RGBImage(planar: planar, width: 3, height: 2, mean: mean, std: std) == image)
        #expect(image.planarFloats()[0] == Float(image[0, 0].r) / 255)
    }
}

@Suite struct HeatmapTests {
    @Test func colorMapEndsAndMiddle() {
        let map = GrayImage(width: 3, height: 1, values: [-1, 0, 1])
        let jet = map.colorMapped(.jet)
        #expect(jet[0, 0] == (0, 0, 128) && jet[2, 0] == (128, 0, 0))
        let gray = map.colorMapped(.gray)
        #expect(gray[1, 0] == (128, 128, 128))
        let clipped = map.colorMapped(.gray, range: 0...0.5)
        #expect(clipped[0, 0] == (0, 0, 0) && clipped[2, 0] == (255, 255, 255))
        #expect(GrayImage(width: 2, height: 2, fill: 5).colorMapped(.gray)[1, 1] == (0, 0, 0))
    }

    @Test func overlayBlends() {
        let image = RGBImage(width: 4, height: 4, fill: (100, 100, 100))
        let heat = GrayImage(width: 2, height: 2, fill: 1)
        #expect(image.overlaying(heatmap: heat, alpha: 0) == image)
        let half = image.blended(with: RGBImage(width: 1, height: 1, fill: (200, 0, 50)), alpha: 0.5)
        #expect(half[3, 3] == (150, 50, 75))
    }

    @Test func rectangleOutline() {
        var image = RGBImage(width: 10, height: 10)
        image.drawRectangle(Box(x: 2, y: 3, width: 5, height: 4), color: (255, 0, 0), thickness: 1)
        #expect(image[2, 3] == (255, 0, 0) && image[6, 6] == (255, 0, 0) && image[4, 3] == (255, 0, 0))
        #expect(image[4, 5] == (0, 0, 0) && image[7, 7] == (0, 0, 0))
        image.drawRectangle(Box(x: -5, y: -5, width: 30, height: 30), color: (0, 255, 0))  // clipped, no crash
        #expect(image[0, 0] == (0, 0, 0))
    }
}

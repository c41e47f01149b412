import Testing
@testable import Imaging

/// A small RGB image whose pixel (x, y) is (10x + y, 100 + x, 200 - y).
func gradientImage(width: Int, height: Int) -> RGBImage {
    var image = RGBImage(width: width, height: height)
    for y in 0..<height { for x in 0..<width { image[x, y] = (UInt8(10 * x + y), UInt8(100 + x), UInt8(200 - y)) } }
    return image
}

func grayRow(_ values: [UInt8]) -> RGBImage {
    RGBImage(width: values.count, height: 1, pixels: values.flatMap { [$0, $0, $0] })
}

@Suite struct ResizeTests {
    @Test func constantImageStaysConstant() {
        let image = RGBImage(width: 7, height: 5, fill: (12, 34, 56))
        for (w, h) in [(3, 2), (14, 10), (7, 1), (1, 1)] {
            let out = image.resized(width: w, height: h)
            #expect(out.width == w && out.height == h)
            #expect(out == RGBImage(width: w, height: h, fill: (12, 34, 56)))
        }
    }

    @Test func upscaleIsBilinearWithAlignedCentres() {
        // Centres of the 4 outputs fall at -0.25, 0.25, 0.75, 1.25 in input index space.
        let out = grayRow([0, 255]).resized(width: 4, height: 1)
        #expect(stride(from: 0, to: 12, by: 3).map { out.pixels[$0] } == [0, 64, 191, 255])
    }

    @Test func antialiasedShrinkAveragesPairs() {
        let out = grayRow([0, 100, 200, 250]).resized(width: 2, height: 1)
        // Triangle of half-width 2 centred at 0.5 and 2.5: taps 1/8, 3/8, 3/8, 1/8, edges replicated:
        // 0 * 4/8 + 100 * 3/8 + 200 * 1/8 = 62.5 and 100 * 1/8 + 200 * 3/8 + 250 * 4/8 = 212.5.
        #expect(out.pixels[0] == 63)
        #expect(out.pixels[3] == 213)
    }

    @Test func plainBilinearShrinkSamplesBetweenPixels() {
        let out = grayRow([0, 100, 200, 250]).resized(width: 2, height: 1, antialias: false)
        #expect(out.pixels[0] == 50 && out.pixels[3] == 225)
    }

    @Test func grayResize() {
        let image = GrayImage(width: 2, height: 1, values: [0, 1])
        let out = image.resized(width: 4, height: 1)
        #expect(out.values == [0, 0.25, 0.75, 1])
    }
}

@Suite struct CropTests {
    @Test func cropInsideCopiesPixels() {
        let image = gradientImage(width: 6, height: 5)
        let crop = image.cropped(x: 2, y: 1, width: 3, height: 2)
        #expect(crop[0, 0] == image[2, 1])
        #expect(crop[2, 1] == image[4, 2])
    }

    @Test func cropOutsidePadsWithEdgeOrConstant() {
        let image = gradientImage(width: 3, height: 3)
        let edge = image.cropped(x: -2, y: -1, width: 7, height: 5, padding: .edge)
        #expect(edge[0, 0] == image[0, 0])
        #expect(edge[6, 4] == image[2, 2])
        #expect(edge[3, 2] == image[1, 1])
        let constant = image.cropped(x: -2, y: -1, width: 7, height: 5, padding: .constant(1, 2, 3))
        #expect(constant[0, 0] == (1, 2, 3))
        #expect(constant[6, 4] == (1, 2, 3))
        #expect(constant[2, 1] == image[0, 0])
    }

    @Test func cropToBoxRounds() {
        let image = gradientImage(width: 8, height: 8)
        let crop = image.cropped(to: Box(x: 1.7, y: 2.2, width: 3.4, height: 2.6))
        #expect(crop.width == 3 && crop.height == 3)
        #expect(crop[0, 0] == image[1, 2])
    }

    @Test func flipMirrorsColumns() {
        let image = gradientImage(width: 4, height: 2)
        let flipped = image.flippedHorizontally()
        #expect(flipped[0, 1] == image[3, 1])
        #expect(flipped.flippedHorizontally() == image)
    }
}

@Suite struct WarpTests {
    @Test func identityWarpIsTheImage() {
        let image = gradientImage(width: 9, height: 7)
        #expect(image.warped(by: .identity, width: 9, height: 7) == image)
    }

    @Test func integerTranslationShifts() {
        let image = gradientImage(width: 6, height: 6)
        let shifted = image.warped(by: AffineTransform(a: 1, b: 0, c: 0, d: 1, tx: -2, ty: -1), width: 4, height: 4,
                                   padding: .black)
        #expect(shifted[0, 0] == image[2, 1])
        #expect(shifted[3, 3] == image[5, 4])
        let outside = image.warped(by: AffineTransform(a: 1, b: 0, c: 0, d: 1, tx: 3, ty: 0), width: 6, height: 6,
                                   padding: .black)
        #expect(outside[0, 0] == (0, 0, 0))
        #expect(outside[3, 0] == image[0, 0])
    }

    @Test func boxMappingResamplesACrop() {
        let image = gradientImage(width: 10, height: 10)
        let out = image.resampled(box: Box(x: 2, y: 3, width: 4, height: 4), width: 4, height: 4)
        #expect(out == image.cropped(x: 2, y: 3, width: 4, height: 4))
    }

    @Test func quarterTurnRotatesPixels() {
        let image = gradientImage(width: 4, height: 4)
        // Rotate by +90 degrees about the image centre (2, 2): (x, y) -> (2 - (y - 2), 2 + (x - 2)).
        let rotation = AffineTransform.similarity(scale: 1, angle: Double.pi / 2, translationX: 4, translationY: 0)
        let out = image.warped(by: rotation, width: 4, height: 4)
        // Source pixel centre (0.5, 0.5) lands on (3.5, 0.5).
        #expect(out[3, 0] == image[0, 0])
        #expect(out[0, 3] == image[3, 3])
    }

    @Test func similarityFromPointsRecoversTheMap() {
        let truth = AffineTransform.similarity(scale: 1.7, angle: 0.3, translationX: 5, translationY: -2)
        let source: [(x: Double, y: Double)] = [(0, 0), (10, 2), (3, 8), (-4, 5)]
        let destination = source.map { truth.apply(x: $0.x, y: $0.y) }
        let estimate = AffineTransform.similarity(from: source, to: destination)
        for (u, v) in [(estimate.a, truth.a), (estimate.b, truth.b), (estimate.c, truth.c), (estimate.d, truth.d),
                       (estimate.tx, truth.tx), (estimate.ty, truth.ty)] {
            #expect(abs(u - v) < 1e-9)
        }
        let roundTrip = truth.concatenating(truth.inverted)
        #expect(abs(roundTrip.a - 1) < 1e-12 && abs(roundTrip.tx) < 1e-12 && abs(roundTrip.b) < 1e-12)
    }
}

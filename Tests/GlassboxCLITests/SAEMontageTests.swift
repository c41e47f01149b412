import Detector
import Foundation
import Imaging
import Testing
@testable import GlassboxCLI

@Suite("sae montage")
struct SAEMontageTests {
    /// A store of drawn faces (a skin ellipse with dark eyes and mouth on a coloured background),
    /// two identities on each side of the split.
    func drawnFaceStore() -> CropStore {
        var store = CropStore(size: 160)
        for person in 0..<4 {
            for frame in 0..<3 {
                var image = RGBImage(width: 160, height: 160, fill: (UInt8(40 * person), 120, UInt8(200 - 30 * frame)))
                for y in 0..<160 {
                    for x in 0..<160 {
                        let dx = Double(x - 80) / 38, dy = Double(y - 82) / 48
                        guard dx * dx + dy * dy <= 1 else { continue }
                        var colour: (UInt8, UInt8, UInt8) = (UInt8(200 - 10 * person), 160, 130)
                        let eye = (abs(x - 66) < 6 || abs(x - 94) < 6) && abs(y - 70) < 4
                        let mouth = abs(x - 80) < 14 && abs(y - 108) < 3
                        if eye || mouth { colour = (50, 30, 30) }
                        let o = (y * 160 + x) * 3
                        image.pixels[o] = colour.0; image.pixels[o + 1] = colour.1; image.pixels[o + 2] = colour.2
                    }
                }
                store.append(image, record: CropRecord(identity: "p\(person)", split: person < 2 ? .train : .validation,
                                                       source: "drawn\(person).png", frameIndex: frame,
                                                       faceBox: Box(x: 42, y: 34, width: 76, height: 96)))
            }
        }
        return store
    }

    /// The recipe must name the very crop `sae train` embedded as row `n`: chunk c of
    /// `batch(pairs: chunk, seed: seed + c * chunk)`, rows interleaved real, fake.
    @Test func recipeRowsAreTheCropsOfTheSampledBatches() {
        let store = drawnFaceStore()
        let sampler = TrainingSampler(store: store, split: .train, methods: [.selfBlend, .upsampling])
        var recipe = SAEMontage.Recipe(["pairs": "6", "seed": "17", "pairsPerChunk": "2"])
        #expect(recipe.pairs == 6 && recipe.seed == 17 && recipe.pairsPerChunk == 2)
        let format = InputFormat(size: 128)
        for chunk in 0..<3 {
            let batch = sampler.batch(pairs: 2, seed: 17 + UInt64(chunk * 2))
            for within in 0..<4 {
                let row = chunk * 4 + within
                let values = format.tensorValues(recipe.crop(row: row, sampler: sampler))
                let expected = Array(batch.inputs[(within * values.count)..<((within + 1) * values.count)])
                #expect(values == expected, "row \(row)")
            }
        }
        // Without provenance: sae train's defaults.
        recipe = SAEMontage.Recipe(nil)
        #expect(recipe.pairs == 6000 && recipe.seed == 3 && recipe.pairsPerChunk == SAECommand.pairsPerChunk)
    }

    @Test func gridPlacesImagesWithGutters() {
        let red = RGBImage(width: 4, height: 3, fill: (255, 0, 0)), blue = RGBImage(width: 4, height: 3, fill: (0, 0, 255))
        let grid = SAEMontage.grid([red, blue, red], columns: 2)
        #expect(grid.width == 2 * 4 + 3 * 2 && grid.height == 2 * 3 + 3 * 2)
        #expect(grid[2, 2] == (255, 0, 0))          // first image, top-left pixel
        #expect(grid[2 + 4 + 2, 2] == (0, 0, 255))  // second image
        #expect(grid[2, 2 + 3 + 2] == (255, 0, 0))  // third image, second row
        #expect(grid[0, 0] == (96, 96, 96))         // gutter
        #expect(grid[8 + 2, 9] == (96, 96, 96))     // empty fourth cell stays grey
    }

    @Test func labelsBecomeSafeFileNames() {
        #expect(SAEMontage.slug("selfBlend · mouth region") == "selfBlend-mouth-region")
        #expect(SAEMontage.slug("codec: low quality") == "codec-low-quality")
    }
}

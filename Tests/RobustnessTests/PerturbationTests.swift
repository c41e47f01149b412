import Foundation
import Imaging
import Testing
@testable import Robustness

@Suite("Perturbations")
struct PerturbationTests {
    let frame = texturedFrame()

    @Test("identity levels leave frames unchanged")
    func identities() throws {
        let frames = [frame, texturedFrame(variant: 1)]
        for kind in Perturbation.Kind.allCases {
            guard let level = kind.identityLevel else { continue }
            let p = Perturbation(kind, level: level, seed: 7)
            #expect(p.isIdentity)
            #expect(try p.apply(frames) == frames, "\(p.id) should be the identity")
        }
        #expect(Perturbation.Kind.h264.identityLevel == nil && Perturbation.Kind.jpeg.identityLevel == nil)
    }

    @Test("every frame-wise kind keeps count and size, and changes the frame at its default levels")
    func shapes() throws {
        let frames = [frame, texturedFrame(variant: 2), texturedFrame(variant: 3)]
        for p in Perturbation.standardSuite(seed: 1) where p.kind != .h264 {
            let out = try p.apply(frames, codecs: .simulated)
            #expect(out.count == frames.count)
            #expect(out.allSatisfy { $0.width == frame.width && $0.height == frame.height })
            #expect(out[0] != frames[0], "\(p.id) should change the frame")
        }
    }

    @Test("blur lowers high-frequency energy, more with larger sigma")
    func blur() throws {
        let energies = try [0.0, 1, 2, 3].map { try highFrequencyEnergy(Perturbation(.blur, level: $0).apply([frame])[0]) }
        #expect(energies[1] < 0.5 * energies[0])
        #expect(energies[2] < energies[1])
        #expect(energies[3] < energies[2])
    }

    @Test("noise raises variance by about std^2 on a flat frame, and is zero-mean")
    func noiseVariance() throws {
        let flat = RGBImage(width: 96, height: 96, fill: (128, 128, 128))
        for std in [5.0, 10, 20] {
            let noisy = try Perturbation(.noise, level: std, seed: 3).apply([flat])[0]
            let variance = byteVariance(noisy)
            // 27,648 samples: the sample variance is within a few percent of std^2 (+1/12 rounding).
            #expect(abs(variance - (std * std + 1.0 / 12)) < 0.08 * std * std, "std \(std): variance \(variance)")
            let mean = noisy.pixels.map(Double.init).reduce(0, +) / Double(noisy.pixels.count)
            #expect(abs(mean - 128) < 0.5)
        }
    }

    @Test("noise is deterministic in the seed, differs across seeds and across frames")
    func noiseDeterminism() throws {
        let frames = [frame, frame]
        let a = try Perturbation(.noise, level: 10, seed: 42).apply(frames)
        let b = try Perturbation(.noise, level: 10, seed: 42).apply(frames)
        let c = try Perturbation(.noise, level: 10, seed: 43).apply(frames)
        #expect(a == b)
        #expect(a != c)
        #expect(a[0] != a[1], "frames of a clip get different noise")
    }

    @Test("every kind is deterministic")
    func determinism() throws {
        for p in Perturbation.standardSuite(seed: 9) where p.kind != .h264 {
            #expect(try p.apply([frame], codecs: .simulated) == p.apply([frame], codecs: .simulated), "\(p.id)")
        }
    }

    @Test("the fast blur matches Imaging's Gaussian blur within one level")
    func fastBlurMatchesImaging() {
        for sigma in [0.6, 1.0, 2.5] {
            let fast = fastGaussianBlur(frame, sigma: sigma), reference = frame.gaussianBlurred(sigma: sigma)
            let worst = zip(fast.pixels, reference.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(worst <= 1, "sigma \(sigma): max difference \(worst)")
        }
    }

    @Test("the Gaussian quantile table has mean 0 and variance 1")
    func quantileTable() {
        let values = gaussianQuantiles.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + $1 * $1 } / Double(values.count)
        #expect(abs(mean) < 1e-6)
        #expect(abs(variance - 1) < 1e-3)
        #expect(abs(inverseNormalCDF(0.975) - 1.959963984540054) < 1e-9)
    }

    @Test("downscale-and-back loses detail, more at smaller scales")
    func downscale() throws {
        let errors = try [0.75, 0.5, 0.25].map { meanSquaredError(try Perturbation(.downscale, level: $0).apply([frame])[0], frame) }
        let energies = try [0.5, 0.25].map { highFrequencyEnergy(try Perturbation(.downscale, level: $0).apply([frame])[0]) }
        #expect(errors[0] > 1 && errors[0] < errors[1] && errors[1] < errors[2])
        #expect(energies[0] < highFrequencyEnergy(frame) && energies[1] < energies[0])
    }

    @Test("JPEG: lower quality gives larger error; errors are small at quality 95")
    func jpegLadder() throws {
        let errors = try [95, 90, 50, 20, 5].map {
            meanSquaredError(try Perturbation(.jpeg, level: Double($0)).apply([frame], codecs: .simulated)[0], frame)
        }
        for i in 1..<errors.count { #expect(errors[i] > errors[i - 1], "errors \(errors)") }
        // On a gray frame (no chroma to subsample) quality 95 is nearly lossless.
        let gray = frame.adjustedSaturation(0)
        #expect(meanSquaredError(SimulatedJPEG.roundTrip(gray, quality: 95), gray) < 3)
        #expect(meanSquaredError(SimulatedJPEG.roundTrip(gray, quality: 100), gray) < 1)
    }

    @Test("simulated JPEG keeps a flat frame flat and blocks lie on the 8x8 grid")
    func jpegGrid() {
        let flat = RGBImage(width: 24, height: 16, fill: (90, 140, 200))
        let out = SimulatedJPEG.roundTrip(flat, quality: 50)
        for i in 0..<out.pixels.count { #expect(abs(Int(out.pixels[i]) - Int(flat.pixels[i])) <= 2) }
        // A horizontal ramp at low quality: discontinuities concentrate at x = 8k.
        var ramp = RGBImage(width: 64, height: 16)
        for y in 0..<16 { for x in 0..<64 { let v = UInt8(x * 3 + 20); ramp[x, y] = (v, v, v) } }
        let coded = SimulatedJPEG.roundTrip(ramp, quality: 10).luma()
        var onGrid = 0.0, offGrid = 0.0
        for y in 0..<16 {
            for x in 1..<64 {
                let step = abs(Double(coded[x, y]) - Double(coded[x - 1, y]) - 3)
                if x % 8 == 0 { onGrid += step / 7 } else { offGrid += step / 49 }
            }
        }
        #expect(onGrid > 2 * offGrid, "block edges should carry the error: on \(onGrid), off \(offGrid)")
    }

    @Test("pixelation makes constant blocks; contrast and saturation move as documented")
    func pixelateAndColour() throws {
        let mosaic = try Perturbation(.pixelate, level: 4).apply([frame])[0]
        for y in 0..<4 { for x in 0..<4 { #expect(mosaic[x, y] == mosaic[0, 0]) } }
        #expect(mosaic[4, 0] != mosaic[0, 0] || mosaic[0, 4] != mosaic[0, 0])
        let gray = try Perturbation(.saturation, level: 0).apply([frame])[0]
        for y in stride(from: 0, to: 48, by: 7) { for x in stride(from: 0, to: 64, by: 5) {
            let p = gray[x, y]
            #expect(abs(Int(p.r) - Int(p.g)) <= 1 && abs(Int(p.g) - Int(p.b)) <= 1)
        } }
        let lowContrast = try Perturbation(.contrast, level: 0.35).apply([frame])[0]
        #expect(byteVariance(lowContrast) < 0.25 * byteVariance(frame))
    }

    @Test("H.264 through the simulated backend reports an unavailable codec")
    func h264Unavailable() throws {
        #expect(throws: RobustnessError.self) { try Perturbation(.h264, level: 23).apply([frame], codecs: .simulated) }
        #expect(try Perturbation(.h264, level: 23).apply([], codecs: .simulated).isEmpty)
    }

    @Test("a custom backend is used and its frame count is checked")
    func customBackend() throws {
        let shifted = CodecBackend(name: "test", jpeg: { frames, q in frames.map { $0.adjustedBrightness(Float(q) / 100) } },
                                   h264: { frames, _, _ in Array(frames.dropLast()) })
        let out = try Perturbation(.jpeg, level: 50).apply([frame], codecs: shifted)
        #expect(out[0] == frame.adjustedBrightness(0.5))
        #expect(throws: RobustnessError.self) { try Perturbation(.h264, level: 30).apply([frame, frame], codecs: shifted) }
    }

    @Test("parsing --perturbations")
    func parsing() throws {
        let a = try Perturbation.parse("blur:1,2,3,jpeg:90,50")
        #expect(a.map(\.id) == ["blur:1", "blur:2", "blur:3", "jpeg:90", "jpeg:50"])
        let b = try Perturbation.parse("h264, noise:5, scale:0.5,0.25 ,pixel")
        #expect(b.map(\.id) == ["h264:23", "h264:30", "h264:37", "noise:5", "downscale:0.5", "downscale:0.25",
                                "pixelate:2", "pixelate:4", "pixelate:6"])
        #expect(try Perturbation.parse("standard").count == 24)
        #expect(try Perturbation.parse("blur:1,blur:1,1").count == 1)
        #expect(try Perturbation.parse("noise:5", seed: 11)[0].seed == 11)
        for bad in ["", "3,blur", "wobble:2", "jpeg:0", "jpeg:101", "h264:23.5", "downscale:2", "blur:x", "standard:2",
                    "pixelate:0", "blur:-1"] {
            #expect(throws: RobustnessError.self, "'\(bad)' should be rejected") { try Perturbation.parse(bad) }
        }
    }

    @Test("ids format levels without trailing zeros; standard suite has 8 kinds x 3 levels")
    func ids() {
        #expect(Perturbation(.downscale, level: 0.5).id == "downscale:0.5")
        #expect(Perturbation(.h264, level: 23).id == "h264:23")
        #expect(Perturbation.none.id == "none")
        let suite = Perturbation.standardSuite()
        #expect(suite.count == 24 && Set(suite.map(\.kind)).count == 8 && Set(suite.map(\.id)).count == 24)
    }
}

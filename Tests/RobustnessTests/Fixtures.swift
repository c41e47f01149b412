import Foundation
import Imaging
@testable import Robustness

/// A textured test frame: gradients, a high-frequency checker patch and a sinusoid, so blur, resampling
/// and compression all have something to remove. Deterministic in `variant`.
func texturedFrame(width: Int = 64, height: Int = 48, variant: Int = 0) -> RGBImage {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let o = (y * width + x) * 3
            let checker = ((x / 2 + y / 2 + variant) % 2 == 0) ? 60.0 : -60.0
            let inPatch = x > width / 4 && x < 3 * width / 4 && y > height / 4 && y < 3 * height / 4
            let wave = 40 * sin(Double(x) * 0.9 + Double(variant)) * cos(Double(y) * 0.7)
            let base = 128 + (inPatch ? checker : wave)
            pixels[o] = UInt8(max(0, min(255, base + Double(x))))
            pixels[o + 1] = UInt8(max(0, min(255, base - Double(y))))
            pixels[o + 2] = UInt8(max(0, min(255, 255 - base + Double((x * y + variant) % 13))))
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// Mean squared error over all bytes.
func meanSquaredError(_ a: RGBImage, _ b: RGBImage) -> Double {
    precondition(a.pixels.count == b.pixels.count)
    var total = 0.0
    for (x, y) in zip(a.pixels, b.pixels) { let d = Double(x) - Double(y); total += d * d }
    return total / Double(a.pixels.count)
}

/// Mean squared horizontal + vertical neighbour difference of luma: a high-frequency energy.
func highFrequencyEnergy(_ image: RGBImage) -> Double {
    let luma = image.luma()
    var total = 0.0, count = 0
    for y in 0..<(luma.height - 1) {
        for x in 0..<(luma.width - 1) {
            let v = Double(luma[x, y])
            let dx = Double(luma[x + 1, y]) - v, dy = Double(luma[x, y + 1]) - v
            total += dx * dx + dy * dy
            count += 1
        }
    }
    return total / Double(count)
}

/// Variance of all bytes.
func byteVariance(_ image: RGBImage) -> Double {
    let values = image.pixels.map(Double.init)
    let mean = values.reduce(0, +) / Double(values.count)
    return values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
}

/// A fresh temporary folder, removed by the caller with `cleanup`.
func temporaryFolder(_ name: String = #function) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("robustness-tests-\(name.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

import Foundation
import Imaging
import Randomness
@testable import Synthesis

/// Small generated images for the Synthesis tests.
enum Fixtures {
    /// A face-like image: a textured background, a skin-coloured ellipse, two dark eyes, a red mouth,
    /// and per-pixel noise so that any warp or blur changes pixels. Returns the image and the face box.
    static func face(width: Int = 96, height: Int = 96, seed: UInt64 = 1, tint: (Float, Float, Float) = (205, 160, 130),
                     faceCenter: (Double, Double)? = nil, faceSize: Double? = nil) -> (image: RGBImage, box: Box) {
        var rng = SplitMix64(seed: seed)
        let side = faceSize ?? Double(min(width, height)) * 0.5
        let cx = faceCenter?.0 ?? Double(width) / 2, cy = faceCenter?.1 ?? Double(height) / 2
        let box = Box(x: cx - side / 2, y: cy - side / 2, width: side, height: side)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let fx = Double(x) + 0.5, fy = Double(y) + 0.5
                var colour: (Float, Float, Float) = (Float(40 + (x * 3) % 50), Float(70 + (y * 5) % 40), Float(90 + ((x + y) * 2) % 60))
                let u = (fx - cx) / (0.42 * side), v = (fy - cy - 0.05 * side) / (0.55 * side)
                if u * u + v * v < 1 { colour = tint }
                for eyeX in [cx - 0.18 * side, cx + 0.18 * side] {
                    let eu = (fx - eyeX) / (0.08 * side), ev = (fy - (cy - 0.12 * side)) / (0.04 * side)
                    if eu * eu + ev * ev < 1 { colour = (40, 30, 30) }
                }
                let mu = (fx - cx) / (0.16 * side), mv = (fy - (cy + 0.28 * side)) / (0.05 * side)
                if mu * mu + mv * mv < 1 { colour = (170, 50, 60) }
                let noise = Float(rng.uniform(-12...12))
                let base = (y * width + x) * 3
                pixels[base] = UInt8(max(0, min(255, colour.0 + noise)))
                pixels[base + 1] = UInt8(max(0, min(255, colour.1 + noise)))
                pixels[base + 2] = UInt8(max(0, min(255, colour.2 + noise)))
            }
        }
        return (RGBImage(width: width, height: height, pixels: pixels), box)
    }

    /// A fresh empty temporary directory.
    static func temporaryDirectory(_ name: String = #function) throws -> String {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let path = NSTemporaryDirectory() + "glassbox-synthesis-\(safe)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

import Foundation
import Imaging
import Randomness

/// One low-frequency radial deformation of an elliptical mask: the boundary radius is multiplied by
/// `1 + amplitude * cos(order * theta + phase)`.
public struct MaskHarmonic: Codable, Sendable, Equatable {
    /// Angular frequency (2 = oval squeeze, 3 = triangular, 4 = square-ish).
    public var order: Int
    /// Relative radius change, typically below 0.1.
    public var amplitude: Double
    /// Phase in radians.
    public var phase: Double

    public init(order: Int, amplitude: Double, phase: Double) {
        self.order = order
        self.amplitude = amplitude
        self.phase = phase
    }
}

/// A landmark-free soft blend mask: an ellipse placed relative to a face box, its boundary randomly
/// deformed by a few radial harmonics, then Gaussian-blurred.
///
/// This stands in for the landmark convex hull of Shiohara and Yamasaki (CVPR 2022, "Detecting
/// Deepfakes with Self-Blended Images"), whose mask is the hull of 81 landmarks, elastically deformed
/// and blurred twice. Without landmarks, an ellipse inside the detector's box approximates the face and
/// the harmonics play the part of the elastic deformation. All lengths are fractions of the box, so the
/// same shape follows a face through a clip.
public struct BlendMaskShape: Codable, Sendable, Equatable {
    /// Ellipse centre relative to the box centre, in box widths.
    public var centerX: Double
    /// Ellipse centre relative to the box centre, in box heights.
    public var centerY: Double
    /// Horizontal semi-axis in box widths.
    public var radiusX: Double
    /// Vertical semi-axis in box heights.
    public var radiusY: Double
    /// Rotation in radians (positive turns clockwise in image coordinates).
    public var angle: Double
    /// Radial deformations of the boundary.
    public var harmonics: [MaskHarmonic]
    /// Gaussian blur standard deviation in units of the mean box side.
    public var blurSigma: Double

    public init(centerX: Double, centerY: Double, radiusX: Double, radiusY: Double, angle: Double = 0,
                harmonics: [MaskHarmonic] = [], blurSigma: Double) {
        self.centerX = centerX
        self.centerY = centerY
        self.radiusX = radiusX
        self.radiusY = radiusY
        self.angle = angle
        self.harmonics = harmonics
        self.blurSigma = blurSigma
    }

    /// A random face-shaped mask: an ellipse covering roughly the inner face of a Viola–Jones box
    /// (brows to chin, cheek to cheek), jittered in size and position, deformed by harmonics of order
    /// 2–4, blurred by 2–8 % of the face size.
    public static func randomFace(using rng: inout SplitMix64, sizeRange: ClosedRange<Double> = 0.85...1.1) -> BlendMaskShape {
        let size = rng.uniform(sizeRange)
        let harmonics = (2...4).map { order in
            MaskHarmonic(order: order, amplitude: rng.uniform(0...0.07), phase: rng.uniform(0...(2 * Double.pi)))
        }
        return BlendMaskShape(centerX: rng.uniform(-0.03...0.03), centerY: rng.uniform(0.02...0.08),
                              radiusX: 0.38 * size * rng.uniform(0.92...1.08), radiusY: 0.50 * size * rng.uniform(0.92...1.08),
                              angle: rng.uniform(-0.08...0.08), harmonics: harmonics,
                              blurSigma: rng.uniform(0.02...0.08))
    }

    /// How far outside the box (in mean box sides from its centre) the blurred mask can reach;
    /// generators size their working region from it.
    var reach: Double {
        let boundary = max(radiusX, radiusY) * (1 + harmonics.reduce(0) { $0 + abs($1.amplitude) })
        return max(abs(centerX), abs(centerY)) + boundary + 3 * blurSigma + 0.02
    }

    /// The mask over `region` of a frame, for a face in `box`: values in [0, 1], `[h, w]` row-major,
    /// multiplied by `scale` (the blend ratio).
    func render(box: Box, region: PixelRegion, scale: Double = 1) -> [Float] {
        var mask = [Float](repeating: 0, count: region.count)
        let side = (box.width + box.height) / 2
        // Ellipse centre in pixel-centre coordinates.
        let cx = box.centerX - 0.5 + centerX * box.width, cy = box.centerY - 0.5 + centerY * box.height
        let rx = max(0.5, radiusX * box.width), ry = max(0.5, radiusY * box.height)
        let cosA = Float(cos(angle)), sinA = Float(sin(angle))
        // Up to four harmonics as (order, a cos(phase), a sin(phase)) so that
        // a cos(k t + p) = a cos p cos(k t) - a sin p sin(k t), with cos/sin(k t) by recurrence.
        let orders = harmonics.map { $0.order }
        let cosTerms = harmonics.map { Float($0.amplitude * cos($0.phase)) }
        let sinTerms = harmonics.map { Float($0.amplitude * sin($0.phase)) }
        let maxOrder = orders.max() ?? 0
        let antialias = Float(min(rx, ry))  // converts normalised radius to pixels for a 1-pixel ramp
        let frx = Float(rx), fry = Float(ry)
        mask.withUnsafeMutableBufferPointer { m in
            for y in 0..<region.height {
                let dy = Float(Double(region.y + y) - cy)
                for x in 0..<region.width {
                    let dx = Float(Double(region.x + x) - cx)
                    // Rotate into the ellipse frame, normalise by the semi-axes.
                    let u = (cosA * dx + sinA * dy) / frx
                    let v = (-sinA * dx + cosA * dy) / fry
                    let rho = (u * u + v * v).squareRoot()
                    var boundary: Float = 1
                    if maxOrder > 0 && rho > 1e-6 {
                        let c1 = u / rho, s1 = v / rho
                        var ck: Float = 1, sk: Float = 0  // cos/sin(k theta), k = 0
                        for k in 1...maxOrder {
                            let c = ck * c1 - sk * s1, s = sk * c1 + ck * s1
                            ck = c
                            sk = s
                            for h in 0..<orders.count where orders[h] == k {
                                boundary += cosTerms[h] * ck - sinTerms[h] * sk
                            }
                        }
                    }
                    let value = (boundary - rho) * antialias + 0.5
                    m[y * region.width + x] = min(1, max(0, value))
                }
            }
        }
        gaussianBlur(&mask, width: region.width, height: region.height, channels: 1,
                     sigma: Float(blurSigma * side), edge: .zero)
        if scale != 1 {
            let s = Float(scale)
            mask.withUnsafeMutableBufferPointer { m in for i in 0..<m.count { m[i] *= s } }
        }
        return mask
    }
}

import Foundation
import Imaging

/// An integer pixel rectangle inside a frame: the region of interest every generator works in.
/// Pixels outside it are never touched, so a generator's cost scales with the face, not the frame.
struct PixelRegion: Sendable, Equatable {
    var x: Int
    var y: Int
    var width: Int
    var height: Int

    /// The square of side `scale * max(box.width, box.height)` around the box centre, clipped to a
    /// `frameWidth x frameHeight` frame; at least one pixel.
    static func around(_ box: Box, scale: Double, frameWidth: Int, frameHeight: Int) -> PixelRegion {
        let side = max(box.width, box.height) * scale
        let x0 = max(0, min(frameWidth - 1, Int((box.centerX - side / 2).rounded(.down))))
        let y0 = max(0, min(frameHeight - 1, Int((box.centerY - side / 2).rounded(.down))))
        let x1 = max(x0 + 1, min(frameWidth, Int((box.centerX + side / 2).rounded(.up))))
        let y1 = max(y0 + 1, min(frameHeight, Int((box.centerY + side / 2).rounded(.up))))
        return PixelRegion(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    var count: Int { width * height }
}

/// A 2-D affine map `(x, y) -> (a x + b y + tx, c x + d y + ty)` in pixel coordinates (pixel centres
/// at integer positions).
struct Affine2D: Sendable, Equatable {
    var a: Double, b: Double, c: Double, d: Double, tx: Double, ty: Double

    static let identity = Affine2D(a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0)

    @inline(__always) func apply(_ x: Double, _ y: Double) -> (Double, Double) {
        (a * x + b * y + tx, c * x + d * y + ty)
    }

    /// `self` after `other`: `self(other(p))`.
    func composed(after other: Affine2D) -> Affine2D {
        Affine2D(a: a * other.a + b * other.c, b: a * other.b + b * other.d,
                 c: c * other.a + d * other.c, d: c * other.b + d * other.d,
                 tx: a * other.tx + b * other.ty + tx, ty: c * other.tx + d * other.ty + ty)
    }

    var inverse: Affine2D {
        let det = a * d - b * c
        precondition(abs(det) > 1e-12, "Affine2D is singular and has no inverse")
        let ia = d / det, ib = -b / det, ic = -c / det, id = a / det
        return Affine2D(a: ia, b: ib, c: ic, d: id, tx: -(ia * tx + ib * ty), ty: -(ic * tx + id * ty))
    }

    /// Scale `sx, sy`, rotation `angle` (radians) and translation `dx, dy` about a centre `(cx, cy)`:
    /// `p -> R S (p - c) + c + (dx, dy)`.
    static func about(cx: Double, cy: Double, scaleX: Double, scaleY: Double, angle: Double = 0,
                      dx: Double = 0, dy: Double = 0) -> Affine2D {
        let cosA = cos(angle), sinA = sin(angle)
        let a = cosA * scaleX, b = -sinA * scaleY, c = sinA * scaleX, d = cosA * scaleY
        return Affine2D(a: a, b: b, c: c, d: d,
                        tx: cx + dx - (a * cx + b * cy), ty: cy + dy - (c * cx + d * cy))
    }

    /// The similarity (uniform scale, rotation, translation) that maps box `from` onto box `to`:
    /// centre onto centre, mean side onto mean side, then rotated by `angle` about the target centre.
    static func similarity(from: Box, to: Box, angle: Double = 0) -> Affine2D {
        let fromSide = max(1e-6, (from.width + from.height) / 2)
        let scale = (to.width + to.height) / 2 / fromSide
        let cosA = cos(angle) * scale, sinA = sin(angle) * scale
        // p -> R s (p - cFrom) + cTo
        return Affine2D(a: cosA, b: -sinA, c: sinA, d: cosA,
                        tx: to.centerX - 0.5 - (cosA * (from.centerX - 0.5) - sinA * (from.centerY - 0.5)),
                        ty: to.centerY - 0.5 - (sinA * (from.centerX - 0.5) + cosA * (from.centerY - 0.5)))
    }
}

import Imaging

/// An RGB colour.
struct RGB: Sendable, Equatable {
    var r: UInt8, g: UInt8, b: UInt8
    static let white = RGB(r: 255, g: 255, b: 255)
    static let black = RGB(r: 0, g: 0, b: 0)
    static let gray = RGB(r: 128, g: 128, b: 128)
    static let lightGray = RGB(r: 225, g: 225, b: 225)
    /// Tableau 10: distinguishable line colours.
    static let palette: [RGB] = [
        RGB(r: 31, g: 119, b: 180), RGB(r: 255, g: 127, b: 14), RGB(r: 44, g: 160, b: 44), RGB(r: 214, g: 39, b: 40),
        RGB(r: 148, g: 103, b: 189), RGB(r: 140, g: 86, b: 75), RGB(r: 227, g: 119, b: 194), RGB(r: 127, g: 127, b: 127),
        RGB(r: 188, g: 189, b: 34), RGB(r: 23, g: 190, b: 207),
    ]
}

/// A tiny rasteriser: pixels, rectangles, thick lines, disc markers and 5x7 text, clipped to the
/// canvas. Interleaved `[H, W, 3]` bytes.
struct Canvas {
    let width: Int
    let height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int, background: RGB = .white) {
        precondition(width > 0 && height > 0, "canvas needs a positive size")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fillRect(x: 0, y: 0, width: width, height: height, color: background)
    }

    var image: RGBImage { RGBImage(width: width, height: height, pixels: pixels) }

    @inline(__always) mutating func set(_ x: Int, _ y: Int, _ color: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = (y * width + x) * 3
        pixels[o] = color.r; pixels[o + 1] = color.g; pixels[o + 2] = color.b
    }

    mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        pixels.withUnsafeMutableBufferPointer { p in
            for row in y0..<y1 {
                for col in x0..<x1 {
                    let o = (row * width + col) * 3
                    p[o] = color.r; p[o + 1] = color.g; p[o + 2] = color.b
                }
            }
        }
    }

    mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        fillRect(x: x, y: y, width: w, height: 1, color: color)
        fillRect(x: x, y: y + h - 1, width: w, height: 1, color: color)
        fillRect(x: x, y: y, width: 1, height: h, color: color)
        fillRect(x: x + w - 1, y: y, width: 1, height: h, color: color)
    }

    /// A filled disc of `radius` around (`cx`, `cy`).
    mutating func fillDisc(cx: Int, cy: Int, radius: Int, color: RGB) {
        for dy in -radius...radius {
            for dx in -radius...radius where dx * dx + dy * dy <= radius * radius + radius / 2 {
                set(cx + dx, cy + dy, color)
            }
        }
    }

    /// A line from (`x0`, `y0`) to (`x1`, `y1`) (Bresenham), stamped with a disc of `radius`
    /// (0 = one pixel wide).
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, color: RGB, radius: Int = 0) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var error = dx + dy
        while true {
            if radius == 0 { set(x, y, color) } else { fillDisc(cx: x, cy: y, radius: radius, color: color) }
            if x == x1 && y == y1 { break }
            let e2 = 2 * error
            if e2 >= dy { error += dy; x += sx }
            if e2 <= dx { error += dx; y += sy }
        }
    }

    /// A dashed horizontal line.
    mutating func dashedHorizontal(x0: Int, x1: Int, y: Int, color: RGB, dash: Int = 3) {
        var x = x0
        while x <= x1 {
            for k in 0..<dash where x + k <= x1 { set(x + k, y, color) }
            x += 2 * dash
        }
    }

    /// Draws `text` with its top-left corner at (`x`, `y`), each font pixel `scale` x `scale`.
    mutating func text(_ text: String, x: Int, y: Int, color: RGB, scale: Int = 1) {
        var penX = x
        for character in text {
            let rows = BitmapFont.rows(for: character)
            for (r, bits) in rows.enumerated() {
                for c in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(c)) != 0 {
                    fillRect(x: penX + c * scale, y: y + r * scale, width: scale, height: scale, color: color)
                }
            }
            penX += BitmapFont.advance * scale
        }
    }

    /// Draws `text` centred horizontally on `cx`.
    mutating func centredText(_ text: String, cx: Int, y: Int, color: RGB, scale: Int = 1) {
        self.text(text, x: cx - BitmapFont.width(of: text, scale: scale) / 2, y: y, color: color, scale: scale)
    }
}

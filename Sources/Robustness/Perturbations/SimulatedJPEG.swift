import Foundation
import Imaging

/// The lossy part of baseline JPEG (ITU-T T.81, JFIF), without the lossless entropy coding:
/// RGB -> YCbCr (JFIF full range), 4:2:0 chroma averaging, level shift, 8x8 DCT-II, quantisation
/// with the standard tables of Annex K scaled by quality as libjpeg does, dequantisation, inverse
/// DCT, chroma replication, YCbCr -> RGB.
///
/// Since Huffman coding is lossless, `decode(encode(x))` differs from this only by decoder choices
/// (libjpeg's "fancy" chroma upsampling and integer IDCT rounding): a few levels per pixel. It keeps
/// the property that matters for shortcut analysis, the 8x8 block grid anchored at the frame's
/// top-left corner, and it runs without FFmpeg.
public enum SimulatedJPEG {
    /// Annex K.1 luminance table, row-major.
    static let lumaTable: [Int] = [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ]
    /// Annex K.2 chrominance table, row-major.
    static let chromaTable: [Int] = [
        17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
        24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    ]

    /// libjpeg's `jpeg_quality_scaling` + `jpeg_add_quant_table` (baseline, clamped to 1...255).
    static func scaledTable(_ base: [Int], quality: Int) -> [Float] {
        let q = min(100, max(1, quality))
        let scale = q < 50 ? 5000 / q : 200 - 2 * q
        return base.map { Float(min(255, max(1, ($0 * scale + 50) / 100))) }
    }

    /// `cos((2x + 1) u pi / 16) * c(u)` with `c(0) = sqrt(1/8)`, `c(u) = sqrt(2/8)`: `[u, x]`.
    static let basis: [Float] = (0..<64).map { index in
        let u = index / 8, x = index % 8
        let c = u == 0 ? (1.0 / 8).squareRoot() : (2.0 / 8).squareRoot()
        return Float(c * cos(Double(2 * x + 1) * Double(u) * .pi / 16))
    }

    /// One frame through JPEG's lossy steps.
    /// - Parameters:
    ///   - image: any size (edges are replicated to whole 16x16 macroblocks internally).
    ///   - quality: 1...100 as in libjpeg (`cjpeg -quality`).
    /// - Returns: the decoded image, same size.
    public static func roundTrip(_ image: RGBImage, quality: Int) -> RGBImage {
        precondition((1...100).contains(quality), "JPEG quality must be in 1...100, got \(quality)")
        let w = image.width, h = image.height
        let pw = (w + 15) / 16 * 16, ph = (h + 15) / 16 * 16
        let cw = pw / 2, ch = ph / 2
        // Planes: Y [ph, pw]; Cb, Cr [ch, cw] (2x2 averaged), all level-shifted by -128.
        var y = [Float](repeating: 0, count: pw * ph)
        var cb = [Float](repeating: 0, count: cw * ch)
        var cr = [Float](repeating: 0, count: cw * ch)
        image.pixels.withUnsafeBufferPointer { src in
            y.withUnsafeMutableBufferPointer { yp in
                cb.withUnsafeMutableBufferPointer { cbp in
                    cr.withUnsafeMutableBufferPointer { crp in
                        for row in 0..<ph {
                            let sy = min(row, h - 1)
                            for col in 0..<pw {
                                let o = (sy * w + min(col, w - 1)) * 3
                                let r = Float(src[o]), g = Float(src[o + 1]), b = Float(src[o + 2])
                                yp[row * pw + col] = 0.299 * r + 0.587 * g + 0.114 * b - 128
                                let c = (row / 2) * cw + col / 2
                                cbp[c] += 0.25 * (-0.168736 * r - 0.331264 * g + 0.5 * b)
                                crp[c] += 0.25 * (0.5 * r - 0.418688 * g - 0.081312 * b)
                            }
                        }
                    }
                }
            }
        }
        let lumaQ = scaledTable(lumaTable, quality: quality)
        let chromaQ = scaledTable(chromaTable, quality: quality)
        quantizePlane(&y, width: pw, height: ph, table: lumaQ)
        quantizePlane(&cb, width: cw, height: ch, table: chromaQ)
        quantizePlane(&cr, width: cw, height: ch, table: chromaQ)
        var out = [UInt8](repeating: 0, count: w * h * 3)
        out.withUnsafeMutableBufferPointer { dst in
            y.withUnsafeBufferPointer { yp in
                cb.withUnsafeBufferPointer { cbp in
                    cr.withUnsafeBufferPointer { crp in
                        for row in 0..<h {
                            for col in 0..<w {
                                let l = yp[row * pw + col] + 128
                                let c = (row / 2) * cw + col / 2
                                let u = cbp[c], v = crp[c]
                                let o = (row * w + col) * 3
                                dst[o] = byte(l + 1.402 * v)
                                dst[o + 1] = byte(l - 0.344136 * u - 0.714136 * v)
                                dst[o + 2] = byte(l + 1.772 * u)
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// DCT, quantise, dequantise and inverse-DCT every 8x8 block of a plane in place.
    /// `width` and `height` are multiples of 8.
    static func quantizePlane(_ plane: inout [Float], width: Int, height: Int, table: [Float]) {
        var block = [Float](repeating: 0, count: 64)
        var temp = [Float](repeating: 0, count: 64)
        basis.withUnsafeBufferPointer { cosine in
            table.withUnsafeBufferPointer { q in
                plane.withUnsafeMutableBufferPointer { p in
                    block.withUnsafeMutableBufferPointer { blk in
                        temp.withUnsafeMutableBufferPointer { tmp in
                            for by in stride(from: 0, to: height, by: 8) {
                                for bx in stride(from: 0, to: width, by: 8) {
                                    for r in 0..<8 { for c in 0..<8 { blk[r * 8 + c] = p[(by + r) * width + bx + c] } }
                                    // Forward: rows then columns. tmp[r, u] = Σ_x blk[r, x] basis[u, x].
                                    for r in 0..<8 { for u in 0..<8 {
                                        var s: Float = 0
                                        for x in 0..<8 { s += blk[r * 8 + x] * cosine[u * 8 + x] }
                                        tmp[r * 8 + u] = s
                                    } }
                                    for v in 0..<8 { for u in 0..<8 {
                                        var s: Float = 0
                                        for r in 0..<8 { s += tmp[r * 8 + u] * cosine[v * 8 + r] }
                                        // Quantise and dequantise coefficient [v, u].
                                        let step = q[v * 8 + u]
                                        blk[v * 8 + u] = (s / step).rounded() * step
                                    } }
                                    // Inverse: tmp[r, u] = Σ_v blk[v, u] basis[v, r]; out[r, x] = Σ_u tmp[r, u] basis[u, x].
                                    for r in 0..<8 { for u in 0..<8 {
                                        var s: Float = 0
                                        for v in 0..<8 { s += blk[v * 8 + u] * cosine[v * 8 + r] }
                                        tmp[r * 8 + u] = s
                                    } }
                                    for r in 0..<8 { for x in 0..<8 {
                                        var s: Float = 0
                                        for u in 0..<8 { s += tmp[r * 8 + u] * cosine[u * 8 + x] }
                                        p[(by + r) * width + bx + x] = s
                                    } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always) static func byte(_ v: Float) -> UInt8 {
        if !(v > 0) { return 0 }
        if v >= 255 { return 255 }
        return UInt8(v + 0.5)
    }
}

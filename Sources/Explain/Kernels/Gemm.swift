import Dispatch

/// Dense matrix products for the sparse autoencoder's encoder.
///
/// A private, portable kernel (baseline x86-64 / any SIMD width the compiler lowers `SIMD8` to):
/// `B` is packed into panels of 8 columns and a 4x8 register tile is accumulated over `K`. Rows of
/// `C` are split across threads. Swap for the engine's GEMM (Sources/Tensor) once it is committed
/// if that is faster.
enum Gemm {
    static let panelWidth = 8

    /// Packs `B [N, K]` (row-major, rows are the output columns) into panels
    /// `[ceil(N/8), K, 8]`, zero-padded: the layout the micro-kernel streams.
    static func packTransposed(_ b: UnsafeBufferPointer<Float>, n: Int, k: Int) -> [Float] {
        let panels = (n + panelWidth - 1) / panelWidth
        var packed = [Float](repeating: 0, count: panels * k * panelWidth)
        packed.withUnsafeMutableBufferPointer { p in
            for panel in 0..<panels {
                let base = panel * k * panelWidth
                for j in 0..<panelWidth {
                    let col = panel * panelWidth + j
                    if col >= n { break }
                    let row = col * k
                    for kk in 0..<k { p[base + kk * panelWidth + j] = b[row + kk] }
                }
            }
        }
        return packed
    }

    /// `C[M, N] = A[M, K] · B[N, K]ᵀ + bias[N]`, with `B` given packed by ``packTransposed``.
    /// - Parameters:
    ///   - a: `[M, K]` row-major.
    ///   - packedB: panels of `B`.
    ///   - bias: `[N]` or empty.
    ///   - c: `[M, N]` output, overwritten.
    ///   - threads: worker count (rows are split in blocks of 4).
    static func multiply(a: UnsafeBufferPointer<Float>, packedB: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>,
                         c: UnsafeMutableBufferPointer<Float>, m: Int, n: Int, k: Int, threads: Int) {
        precondition(a.count >= m * k && c.count >= m * n, "GEMM buffers too small for \(m)x\(n)x\(k)")
        let blocks = (m + 3) / 4
        let workers = max(1, min(threads, blocks))
        nonisolated(unsafe) let aBase = a.baseAddress!, bBase = packedB.baseAddress!, cBase = c.baseAddress!
        nonisolated(unsafe) let biasBase = bias.isEmpty ? nil : bias.baseAddress
        let work: @Sendable (Int) -> Void = { worker in
            let first = blocks * worker / workers, last = blocks * (worker + 1) / workers
            for block in first..<last {
                let row = block * 4
                let rows = min(4, m - row)
                kernelRows(aBase + row * k, rows: rows, packedB: bBase, bias: biasBase, c: cBase + row * n, n: n, k: k)
            }
        }
        if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
    }

    /// Up to 4 rows of `C` against all panels.
    @inline(__always)
    private static func kernelRows(_ a: UnsafePointer<Float>, rows: Int, packedB: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                   c: UnsafeMutablePointer<Float>, n: Int, k: Int) {
        let panels = (n + panelWidth - 1) / panelWidth
        let a0 = a, a1 = a + (rows > 1 ? k : 0), a2 = a + (rows > 2 ? 2 * k : 0), a3 = a + (rows > 3 ? 3 * k : 0)
        for panel in 0..<panels {
            var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>(), c3 = SIMD8<Float>()
            var bp = UnsafeRawPointer(packedB + panel * k * panelWidth)
            for kk in 0..<k {
                let b = bp.loadUnaligned(as: SIMD8<Float>.self)
                c0 += a0[kk] * b
                c1 += a1[kk] * b
                c2 += a2[kk] * b
                c3 += a3[kk] * b
                bp += 32
            }
            let col = panel * panelWidth
            let width = min(panelWidth, n - col)
            if let bias {
                var bv = SIMD8<Float>()
                for j in 0..<width { bv[j] = bias[col + j] }
                c0 += bv; c1 += bv; c2 += bv; c3 += bv
            }
            let tiles = [c0, c1, c2, c3]
            for r in 0..<rows {
                let out = c + r * n + col
                let t = tiles[r]
                if width == panelWidth {
                    UnsafeMutableRawPointer(out).storeBytes(of: t, as: SIMD8<Float>.self)
                } else {
                    for j in 0..<width { out[j] = t[j] }
                }
            }
        }
    }
}

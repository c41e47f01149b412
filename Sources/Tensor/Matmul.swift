/// Dense matrix products on the packed, register-tiled SGEMM (see `TensorKernelsBaseline/Kernels.swift`).
///
/// Blocking (Goto and van de Geijn, "Anatomy of high-performance matrix multiplication", 2008):
/// `A` is packed once into 6-row panels, `B` into 16-column panels per block of `KC` reduction steps
/// so one B panel (KC x 16 floats = 16 KB) stays in L1 while the A panels stream from L2. Column
/// panels are split statically over `Parallel.threadCount` workers.
public enum GEMM {
    /// Reduction block length.
    static let KC = 256

    /// Packs rows `0..<m` of a strided matrix into 6-row panels `[ceil(m/6)][k][6]` (zero rows past `m`).
    /// `A[i, p] = src[i * rowStride + p * colStride]`.
    static func packA(_ src: UnsafePointer<Float>, m: Int, k: Int, rowStride: Int, colStride: Int,
                      into dst: UnsafeMutablePointer<Float>) {
        let panels = (m + MR - 1) / MR
        func pack(_ range: Range<Int>) {
            for ip in range {
                let d = dst + ip * k * MR, s = src + ip * MR * rowStride
                let rows = min(MR, m - ip * MR)
                if rows < MR { d.update(repeating: 0, count: k * MR) }
                // Along k outside, so the panel is written in order (and a transposed weight, colStride 1
                // across rows, is read six contiguous floats at a time).
                if rows == MR {
                    for p in 0..<k {
                        let dp = d + p * MR, sp = s + p * colStride
                        dp[0] = sp[0]; dp[1] = sp[rowStride]; dp[2] = sp[2 * rowStride]
                        dp[3] = sp[3 * rowStride]; dp[4] = sp[4 * rowStride]; dp[5] = sp[5 * rowStride]
                    }
                } else {
                    for p in 0..<k { for r in 0..<rows { d[p * MR + r] = s[r * rowStride + p * colStride] } }
                }
            }
        }
        // Big weights (deep convolutions: up to 590 K floats) are packed by all workers; panels are disjoint.
        if panels * k * MR >= 1 << 16 { Parallel.chunks(panels) { _, r in pack(r) } } else { pack(0..<panels) }
    }

    /// Packs `B[k0..<k0+kc, 16 jp ..< 16 jp + 16]` into `[kc][16]` (zero columns past `n`).
    /// `B[p, j] = src[p * rowStride + j * colStride]`.
    static func packBPanel(_ src: UnsafePointer<Float>, n: Int, jp: Int, k0: Int, kc: Int,
                           rowStride: Int, colStride: Int, into d: UnsafeMutablePointer<Float>) {
        let j0 = jp * NR, cols = min(NR, n - j0)
        if colStride == 1 && cols == NR {
            for p in 0..<kc { (d + p * NR).update(from: src + (k0 + p) * rowStride + j0, count: NR) }
            return
        }
        for p in 0..<kc {
            let s = src + (k0 + p) * rowStride
            for t in 0..<cols { d[p * NR + t] = s[(j0 + t) * colStride] }
            for t in cols..<NR { d[p * NR + t] = 0 }
        }
    }

    /// `C[m, n] (+)= op(A)[m, k] · op(B)[k, n]` on raw strided operands.
    ///
    /// - Parameters:
    ///   - a, aRowStride, aColStride: `op(A)[i, p] = a[i * aRowStride + p * aColStride]`.
    ///   - b, bRowStride, bColStride: `op(B)[p, j] = b[p * bRowStride + j * bColStride]`.
    ///   - c, ldc: row-major output with row stride `ldc`.
    ///   - accumulate: add into `C` instead of overwriting.
    public static func multiply(m: Int, n: Int, k: Int,
                                a: UnsafePointer<Float>, aRowStride: Int, aColStride: Int,
                                b: UnsafePointer<Float>, bRowStride: Int, bColStride: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        guard m > 0 && n > 0 else { return }
        if k == 0 {
            if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        let kernels = KernelSet.current
        let mPanels = (m + MR - 1) / MR, nPanels = (n + NR - 1) / NR
        let aPacked = UnsafeMutablePointer<Float>.allocate(capacity: mPanels * k * MR)
        defer { aPacked.deallocate() }
        packA(a, m: m, k: k, rowStride: aRowStride, colStride: aColStride, into: aPacked)
        // Split column panels; with few of them and many rows, split rows instead.
        Parallel.chunks(nPanels) { _, panels in
            let kcMax = min(KC, k)
            let bBuf = UnsafeMutablePointer<Float>.allocate(capacity: panels.count * kcMax * NR)
            let cPtrs = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: panels.count)
            let cCols = UnsafeMutablePointer<Int>.allocate(capacity: panels.count)
            defer { bBuf.deallocate(); cPtrs.deallocate(); cCols.deallocate() }
            for (j, jp) in panels.enumerated() {
                cPtrs[j] = c + jp * NR
                cCols[j] = min(NR, n - jp * NR)
            }
            var k0 = 0
            while k0 < k {
                let kc = min(KC, k - k0)
                for (j, jp) in panels.enumerated() {
                    packBPanel(b, n: n, jp: jp, k0: k0, kc: kc, rowStride: bRowStride, colStride: bColStride,
                               into: bBuf + j * kc * NR)
                }
                kernels.gemmPanels(m, kc, panels.count, aPacked + k0 * MR, k * MR, bBuf, kc * NR,
                                   cPtrs, cCols, ldc, accumulate || k0 > 0)
                k0 += kc
            }
        }
    }
}

/// Matrix product of rank-2 tensors: `op(a) · op(b)` where `op` optionally transposes.
///
/// ```
/// [M, K] x [K, N] -> [M, N]
/// ```
public func matmul(_ a: Tensor, _ b: Tensor, transposeA ta: Bool = false, transposeB tb: Bool = false) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2, "matmul: needs rank-2 operands, got \(a.shape) and \(b.shape)")
    let m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1]
    let kb = tb ? b.shape[1] : b.shape[0], n = tb ? b.shape[0] : b.shape[1]
    precondition(k == kb, "matmul: inner dimensions differ: \(a.shape)\(ta ? "ᵀ" : "") x \(b.shape)\(tb ? "ᵀ" : "")")
    var out = Tensor(zeros: [m, n])
    a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
            out.withUnsafeMutableBufferPointer { cp in
                GEMM.multiply(m: m, n: n, k: k,
                              a: ap.baseAddress!, aRowStride: ta ? 1 : k, aColStride: ta ? m : 1,
                              b: bp.baseAddress!, bRowStride: tb ? 1 : n, bColStride: tb ? k : 1,
                              c: cp.baseAddress!, ldc: n, accumulate: false)
            }
        }
    }
    return out
}

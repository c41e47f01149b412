// Hot numeric kernels of the Tensor module.
//
// This one source file is compiled twice: as `TensorKernelsBaseline` for any x86-64 CPU (SSE2) and,
// through a symbolic link, as `TensorKernelsAVX2` with `-target-cpu haswell` and `GLASSBOX_FMA`
// defined (AVX2 + FMA). `Tensor` picks one at run time from the CPU's feature flags
// (see `Tensor/CPU.swift`). Keep this file free of generic code that is not fully inlined, and of
// global state, so that nothing compiled for AVX2 can be reached from the baseline path.

/// Rows of the register tile of the GEMM micro-kernel (rows of `A` broadcast per step).
public let gemmMR = 6
/// Columns of the register tile of the GEMM micro-kernel (one `SIMD16<Float>` of `B`).
public let gemmNR = 16

@inline(__always)
func fma16(_ c: SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
#if GLASSBOX_FMA
    return c.addingProduct(a, b)
#else
    return c + a * b
#endif
}

@inline(__always)
func fma8(_ c: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
#if GLASSBOX_FMA
    return c.addingProduct(a, b)
#else
    return c + a * b
#endif
}

@inline(__always)
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// The 6x16 register-tiled micro-kernel: `C[0..<rows, 0..<cols] (+)= Apanel · Bpanel`.
///
/// Layouts: `a` is one packed A panel `[k][6]`, `b` one packed B panel `[k][16]`,
/// `c` row-major with row stride `ldc`. Twelve AVX2 accumulators (6 rows x 2 ymm).
@inline(__always)
func microKernel6x16(_ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                     _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool,
                     _ rows: Int, _ cols: Int) {
    var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>()
    var c3 = SIMD16<Float>(), c4 = SIMD16<Float>(), c5 = SIMD16<Float>()
    var ap = a, bp = b
    for _ in 0..<k {
        let bv = load16(bp)
        c0 = fma16(c0, SIMD16(repeating: ap[0]), bv)
        c1 = fma16(c1, SIMD16(repeating: ap[1]), bv)
        c2 = fma16(c2, SIMD16(repeating: ap[2]), bv)
        c3 = fma16(c3, SIMD16(repeating: ap[3]), bv)
        c4 = fma16(c4, SIMD16(repeating: ap[4]), bv)
        c5 = fma16(c5, SIMD16(repeating: ap[5]), bv)
        ap += 6; bp += 16
    }
    storeTile6x16(c0, c1, c2, c3, c4, c5, c, ldc, accumulate, rows, cols)
}

/// Writes (or adds) the 6x16 accumulator tile into `C`, clipped to `rows` x `cols`.
@inline(__always)
func storeTile6x16(_ c0: SIMD16<Float>, _ c1: SIMD16<Float>, _ c2: SIMD16<Float>,
                   _ c3: SIMD16<Float>, _ c4: SIMD16<Float>, _ c5: SIMD16<Float>,
                   _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool, _ rows: Int, _ cols: Int) {
    if rows == 6 && cols == 16 {
        if accumulate {
            store16(c0 + load16(c), c)
            store16(c1 + load16(c + ldc), c + ldc)
            store16(c2 + load16(c + 2 * ldc), c + 2 * ldc)
            store16(c3 + load16(c + 3 * ldc), c + 3 * ldc)
            store16(c4 + load16(c + 4 * ldc), c + 4 * ldc)
            store16(c5 + load16(c + 5 * ldc), c + 5 * ldc)
        } else {
            store16(c0, c); store16(c1, c + ldc); store16(c2, c + 2 * ldc)
            store16(c3, c + 3 * ldc); store16(c4, c + 4 * ldc); store16(c5, c + 5 * ldc)
        }
        return
    }
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 96) { t in
        let tp = t.baseAddress!
        store16(c0, tp); store16(c1, tp + 16); store16(c2, tp + 32)
        store16(c3, tp + 48); store16(c4, tp + 64); store16(c5, tp + 80)
        for r in 0..<rows {
            let dst = c + r * ldc, src = tp + r * 16
            if accumulate { for j in 0..<cols { dst[j] += src[j] } } else { for j in 0..<cols { dst[j] = src[j] } }
        }
    }
}

/// Packed GEMM macro-kernel: `C (+)= A · B` over `nPanels` column panels of 16.
///
/// - Parameters:
///   - m: rows of `C`; `A` holds `ceil(m / 6)` packed panels, panel `i` at `a + i * aPanelStride`,
///     each laid out `[k][6]` (rows past `m` zero).
///   - k: reduction length of this block.
///   - b: packed B panels, panel `j` at `b + j * bPanelStride`, each `[k][16]`.
///   - cPanels: for panel `j`, the address of `C[0, 16 j]`; `C[i, 16 j + t] = cPanels[j][i * ldc + t]`.
///   - cCols: valid columns (1...16) of panel `j`.
///   - accumulate: add to `C` instead of overwriting it.
public func gemmPanels(m: Int, k: Int, nPanels: Int,
                       a: UnsafePointer<Float>, aPanelStride: Int,
                       b: UnsafePointer<Float>, bPanelStride: Int,
                       cPanels: UnsafePointer<UnsafeMutablePointer<Float>>, cCols: UnsafePointer<Int>,
                       ldc: Int, accumulate: Bool) {
    let mPanels = (m + 5) / 6
    for jp in 0..<nPanels {
        let bp = b + jp * bPanelStride
        let cp = cPanels[jp]
        let cols = cCols[jp]
        for ip in 0..<mPanels {
            let rows = min(6, m - ip * 6)
            microKernel6x16(k, a + ip * aPanelStride, bp, cp + ip * 6 * ldc, ldc, accumulate, rows, cols)
        }
    }
}

// MARK: - Convolution data movement (runs of a padded, phase-split image; see `Convolution.DirectLayout`)

/// `dst[j] = src[j]` for `j < n`; the runs are short (4–130 floats), where a `memmove` call costs more.
@inline(__always)
func copyRun(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    var j = 0
    while j + 8 <= n { store8(load8(src + j), dst + j); j += 8 }
    if j + 4 <= n {
        UnsafeMutableRawPointer(dst + j).storeBytes(of: UnsafeRawPointer(src + j).loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
        j += 4
    }
    while j < n { dst[j] = src[j]; j += 1 }
}

/// `dst[j] += src[j]` for `j < n` (one IEEE addition per element, as the scalar loop).
@inline(__always)
func addRun(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    var j = 0
    while j + 8 <= n { store8(load8(dst + j) + load8(src + j), dst + j); j += 8 }
    while j < n { dst[j] += src[j]; j += 1 }
}

/// `dst[j] = src[2 j]` for `j < n`, never reading past `src[2 (n − 1)]`.
@inline(__always)
func copyEvenRun(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    var j = 0
    while j + 9 <= n { store8(load16(src + 2 * j).evenHalf, dst + j); j += 8 }
    if n >= 9 && j < n {
        // The last eight: odd lanes of the 16 floats ending at src[2 (n − 1)] (overlapping the loop's output).
        store8(load16(src + 2 * (n - 8) - 1).oddHalf, dst + n - 8)
        return
    }
    while j < n { dst[j] = src[2 * j]; j += 1 }
}

/// Packs one GEMM B panel from rows found at fixed offsets: `dst[16 p ..< 16 p + 16] = src[offsets[p] ..< offsets[p] + 16]`
/// for `p < count` (a convolution input in `Convolution.DirectLayout`, whose im2col rows are such runs).
public func gatherRows16(_ src: UnsafePointer<Float>, _ offsets: UnsafePointer<Int>, _ count: Int, _ dst: UnsafeMutablePointer<Float>) {
    for p in 0..<count { store16(load16(src + offsets[p]), dst + 16 * p) }
}

/// `dst[p · dstStride ..< + len] = src[offsets[p] ..< + len]` for `p < count`.
public func gatherRows(_ src: UnsafePointer<Float>, _ offsets: UnsafePointer<Int>, _ count: Int, _ len: Int,
                       _ dst: UnsafeMutablePointer<Float>, _ dstStride: Int) {
    for p in 0..<count { copyRun(src + offsets[p], dst + p * dstStride, len) }
}

/// `dst[offsets[p] ..< + len] += src[p · srcStride ..< + len]` for `p < count`, in that order.
public func scatterAddRows(_ src: UnsafePointer<Float>, _ srcStride: Int, _ offsets: UnsafePointer<Int>, _ count: Int, _ len: Int,
                           _ dst: UnsafeMutablePointer<Float>) {
    for p in 0..<count { addRun(src + p * srcStride, dst + offsets[p], len) }
}

/// Writes `rows` padded rows of one plane in the phase-split layout: padded row `y` reads input row `y − padTop`
/// of `src` (`[h][w]`; zeros outside), and its phase `r` (at `r · phaseWidth`) holds padded columns
/// `q · stride + r`, i.e. input columns `q · stride + r − padLeft`, zero outside `0 ..< w`.
public func padPhaseSplitPlane(_ src: UnsafePointer<Float>, h: Int, w: Int, padTop: Int, padLeft: Int, stride s: Int,
                               phaseWidth: Int, rows: Int, _ dst: UnsafeMutablePointer<Float>) {
    let row = s * phaseWidth
    // Valid q of phase r: 0 ≤ q·s + r − padLeft < w (worked out per row, the divisions cost more than short rows).
    @inline(__always) func validRange(_ r: Int) -> (Int, Int) {
        let q0 = min(phaseWidth, max(0, (padLeft - r + s - 1) / s))
        let last = w - 1 + padLeft - r
        return (q0, last < 0 ? q0 : max(q0, min(phaseWidth, last / s + 1)))
    }
    let range0 = validRange(0), range1 = s > 1 ? validRange(1) : range0
    for y in 0..<rows {
        let d = dst + y * row, iy = y - padTop
        if iy < 0 || iy >= h {
            var j = 0
            while j + 8 <= row { store8(SIMD8(), d + j); j += 8 }
            while j < row { d[j] = 0; j += 1 }
            continue
        }
        let line = src + iy * w
        for r in 0..<s {
            let (q0, q1) = r == 0 ? range0 : r == 1 ? range1 : validRange(r)
            let dp = d + r * phaseWidth
            var q = 0
            while q < q0 { dp[q] = 0; q += 1 }
            let first = line + (q0 * s + r - padLeft)
            if s == 1 { copyRun(first, dp + q0, q1 - q0) }
            else if s == 2 { copyEvenRun(first, dp + q0, q1 - q0) }
            else { for q in q0..<q1 { dp[q] = first[(q - q0) * s] } }
            q = q1
            while q < phaseWidth { dp[q] = 0; q += 1 }
        }
    }
}

/// `C[i, j] (+)= Σ_p A[i, p] · B[j, p]` with both operands row-major along the reduction
/// (the "A times B-transposed" product of weight gradients), register-tiled 4x3 over SIMD8 lanes.
///
/// Layouts: `A [m, p]` row stride `lda`, `B [n, p]` row stride `ldb`, `C [m, n]` row stride `ldc`.
public func gemmNT(m: Int, n: Int, p: Int,
                   a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                   c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    let pv = p & ~7
    var i = 0
    while i < m {
        let ri = min(4, m - i)
        var j = 0
        while j < n {
            let rj = min(3, n - j)
            if ri == 4 && rj == 3 {
                var s00 = SIMD8<Float>(), s01 = SIMD8<Float>(), s02 = SIMD8<Float>()
                var s10 = SIMD8<Float>(), s11 = SIMD8<Float>(), s12 = SIMD8<Float>()
                var s20 = SIMD8<Float>(), s21 = SIMD8<Float>(), s22 = SIMD8<Float>()
                var s30 = SIMD8<Float>(), s31 = SIMD8<Float>(), s32 = SIMD8<Float>()
                let a0 = a + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
                let b0 = b + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb
                var q = 0
                while q < pv {
                    let x0 = load8(b0 + q), x1 = load8(b1 + q), x2 = load8(b2 + q)
                    var y = load8(a0 + q)
                    s00 = fma8(s00, y, x0); s01 = fma8(s01, y, x1); s02 = fma8(s02, y, x2)
                    y = load8(a1 + q)
                    s10 = fma8(s10, y, x0); s11 = fma8(s11, y, x1); s12 = fma8(s12, y, x2)
                    y = load8(a2 + q)
                    s20 = fma8(s20, y, x0); s21 = fma8(s21, y, x1); s22 = fma8(s22, y, x2)
                    y = load8(a3 + q)
                    s30 = fma8(s30, y, x0); s31 = fma8(s31, y, x1); s32 = fma8(s32, y, x2)
                    q += 8
                }
                var r = (s00.sum(), s01.sum(), s02.sum(), s10.sum(), s11.sum(), s12.sum(),
                         s20.sum(), s21.sum(), s22.sum(), s30.sum(), s31.sum(), s32.sum())
                while q < p {
                    let x0 = b0[q], x1 = b1[q], x2 = b2[q]
                    r.0 += a0[q] * x0; r.1 += a0[q] * x1; r.2 += a0[q] * x2
                    r.3 += a1[q] * x0; r.4 += a1[q] * x1; r.5 += a1[q] * x2
                    r.6 += a2[q] * x0; r.7 += a2[q] * x1; r.8 += a2[q] * x2
                    r.9 += a3[q] * x0; r.10 += a3[q] * x1; r.11 += a3[q] * x2
                    q += 1
                }
                let c0 = c + i * ldc + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
                if accumulate {
                    c0[0] += r.0; c0[1] += r.1; c0[2] += r.2; c1[0] += r.3; c1[1] += r.4; c1[2] += r.5
                    c2[0] += r.6; c2[1] += r.7; c2[2] += r.8; c3[0] += r.9; c3[1] += r.10; c3[2] += r.11
                } else {
                    c0[0] = r.0; c0[1] = r.1; c0[2] = r.2; c1[0] = r.3; c1[1] = r.4; c1[2] = r.5
                    c2[0] = r.6; c2[1] = r.7; c2[2] = r.8; c3[0] = r.9; c3[1] = r.10; c3[2] = r.11
                }
            } else {
                for ii in i..<(i + ri) {
                    let ar = a + ii * lda
                    for jj in j..<(j + rj) {
                        let br = b + jj * ldb
                        var s = SIMD8<Float>()
                        var q = 0
                        while q < pv { s = fma8(s, load8(ar + q), load8(br + q)); q += 8 }
                        var t = s.sum()
                        while q < p { t += ar[q] * br[q]; q += 1 }
                        if accumulate { c[ii * ldc + jj] += t } else { c[ii * ldc + jj] = t }
                    }
                }
            }
            j += rj
        }
        i += ri
    }
}

// MARK: - Vectorised transcendental functions

/// `exp(x)` for 16 lanes: Cody–Waite range reduction and the Cephes degree-6 polynomial
/// (relative error about 2e-7). Inputs are clamped to [-87.3, 88.7].
///
/// Computed as two 8-lane halves (same operations per lane). When this is not inlined, the compiler
/// splits the 16 lanes into 4-lane (xmm) pieces even in the AVX2 build, so callers must inline it.
@inline(__always)
func vexp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    SIMD16(lowHalf: vexp8(x.lowHalf), highHalf: vexp8(x.highHalf))
}

@inline(__always)
func vexp8(_ xIn: SIMD8<Float>) -> SIMD8<Float> {
    var x = xIn.replacing(with: 88.7, where: xIn .> 88.7)
    x = x.replacing(with: -87.3, where: x .< -87.3)
    let magic = SIMD8<Float>(repeating: 12582912.0)  // 1.5 * 2^23: adds round to nearest integer
    let t = fma8(magic, x, SIMD8(repeating: 1.44269504088896341))
    let n = t - magic
    var r = fma8(x, n, SIMD8(repeating: -0.693359375))
    r = fma8(r, n, SIMD8(repeating: 2.12194440e-4))
    var p = SIMD8<Float>(repeating: 1.9875691500e-4)
    p = fma8(SIMD8(repeating: 1.3981999507e-3), p, r)
    p = fma8(SIMD8(repeating: 8.3334519073e-3), p, r)
    p = fma8(SIMD8(repeating: 4.1665795894e-2), p, r)
    p = fma8(SIMD8(repeating: 1.6666665459e-1), p, r)
    p = fma8(SIMD8(repeating: 5.0000001201e-1), p, r)
    let r2 = r * r
    let e = fma8(r + 1, p, r2)
    let ti = unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
    let scale = unsafeBitCast((ti &+ 127) &<< 23, to: SIMD8<Float>.self)
    return e * scale
}

@inline(__always)
func scalarExp(_ x: Float) -> Float {
    // Through `vexp8`: a scalar caller of the 16-lane `vexp` kept the compiler from inlining it elsewhere.
    vexp8(SIMD8(repeating: x))[0]
}

/// `y[i] = exp(x[i])` for `count` elements.
public func expArray(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    while i + 16 <= count { store16(vexp(load16(x + i)), y + i); i += 16 }
    while i < count { y[i] = scalarExp(x[i]); i += 1 }
}

/// SiLU (Hendrycks and Gimpel 2016; Elfwing et al. 2018): `y = x · σ(x)`.
public func siluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    let one = SIMD16<Float>(repeating: 1)
    while i + 16 <= count {
        let v = load16(x + i)
        store16(v / (one + vexp(-v)), y + i)
        i += 16
    }
    while i < count { let v = x[i]; y[i] = v / (1 + scalarExp(-v)); i += 1 }
}

/// SiLU backward: `dx = dy · σ(x) · (1 + x (1 − σ(x)))`, accumulated into `dx` when `accumulate`.
public func siluBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                         _ count: Int) {
    var i = 0
    let one = SIMD16<Float>(repeating: 1)
    while i + 16 <= count {
        let v = load16(x + i)
        let s = one / (one + vexp(-v))
        store16(load16(dy + i) * s * (one + v * (one - s)), dx + i)
        i += 16
    }
    while i < count {
        let v = x[i]; let s = 1 / (1 + scalarExp(-v))
        dx[i] = dy[i] * s * (1 + v * (1 - s)); i += 1
    }
}

/// Logistic sigmoid `y = 1 / (1 + exp(−x))`.
public func sigmoidForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    let one = SIMD16<Float>(repeating: 1)
    while i + 16 <= count { store16(one / (one + vexp(-load16(x + i))), y + i); i += 16 }
    while i < count { y[i] = 1 / (1 + scalarExp(-x[i])); i += 1 }
}

/// Per-channel affine map then optional SiLU over one plane: `y = x · scale + shift`, then
/// `y = silu(y)` when `silu`. `y` may be `x` (in place).
public func affineActivation(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int,
                             scale: Float, shift: Float, silu: Bool) {
    var i = 0
    let sc = SIMD16<Float>(repeating: scale), sh = SIMD16<Float>(repeating: shift), one = SIMD16<Float>(repeating: 1)
    // Two loops and explicit halves: with a select per vector the compiler called `vexp` out of line
    // (passing 16 lanes as four xmm halves) instead of inlining it.
    if silu {
        while i + 16 <= count {
            let z = fma16(sh, load16(x + i), sc)
            store16(z / (one + SIMD16(lowHalf: vexp8(-z.lowHalf), highHalf: vexp8(-z.highHalf))), y + i)
            i += 16
        }
    } else {
        while i + 16 <= count { store16(fma16(sh, load16(x + i), sc), y + i); i += 16 }
    }
    while i < count {
        let z = x[i] * scale + shift
        y[i] = silu ? z / (1 + scalarExp(-z)) : z
        i += 1
    }
}

/// Backward of `y = silu(z · scale + shift)` over one plane, with the pre-activation recomputed from `z`
/// exactly as `affineActivation` forms it:
/// `du = dy · σ(v) (1 + v (1 − σ(v)))`, `v = z · scale + shift`; writes `dz = du · gradScale`.
///
/// - Returns: `Σ du` and `Σ du · (z − center)` over the plane (batch-norm gradients need both).
public func affineSiLUBackward(_ z: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dz: UnsafeMutablePointer<Float>,
                               _ count: Int, scale: Float, shift: Float, gradScale: Float, center: Float) -> (Float, Float) {
    var i = 0
    let sc = SIMD16<Float>(repeating: scale), sh = SIMD16<Float>(repeating: shift), one = SIMD16<Float>(repeating: 1)
    let k = SIMD16<Float>(repeating: gradScale), m = SIMD16<Float>(repeating: center)
    var sumU = SIMD16<Float>(), sumUZ = SIMD16<Float>()
    while i + 16 <= count {
        let zv = load16(z + i)
        let v = fma16(sh, zv, sc)
        let s = one / (one + vexp(-v))
        let du = load16(dy + i) * s * (one + v * (one - s))
        sumU += du
        sumUZ = fma16(sumUZ, du, zv - m)
        store16(du * k, dz + i)
        i += 16
    }
    var a = sumU.sum(), b = sumUZ.sum()
    while i < count {
        let v = z[i] * scale + shift
        let s = 1 / (1 + scalarExp(-v))
        let du = dy[i] * s * (1 + v * (1 - s))
        a += du; b += du * (z[i] - center)
        dz[i] = du * gradScale
        i += 1
    }
    return (a, b)
}

/// Sums of one plane for batch-norm backward without an activation: `Σ dy` and `Σ dy · (x − center)`.
public func centeredSums(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ count: Int, center: Float) -> (Float, Float) {
    var i = 0
    let m = SIMD16<Float>(repeating: center)
    var sumU = SIMD16<Float>(), sumUZ = SIMD16<Float>()
    while i + 16 <= count {
        let du = load16(dy + i)
        sumU += du
        sumUZ = fma16(sumUZ, du, load16(x + i) - m)
        i += 16
    }
    var a = sumU.sum(), b = sumUZ.sum()
    while i < count { a += dy[i]; b += dy[i] * (x[i] - center); i += 1 }
    return (a, b)
}

/// Training-mode batch-norm input gradient over one plane, in place on `g`:
/// `g = k · (g − meanGrad − (x − mean) · invStd · meanGradXhat)`.
public func batchNormBackwardApply(_ x: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ count: Int,
                                   k: Float, meanGrad: Float, meanGradXhat: Float, mean: Float, invStd: Float) {
    var i = 0
    let kv = SIMD16<Float>(repeating: k), md = SIMD16<Float>(repeating: meanGrad), mq = SIMD16<Float>(repeating: meanGradXhat)
    let mu = SIMD16<Float>(repeating: mean), inv = SIMD16<Float>(repeating: invStd)
    while i + 16 <= count {
        store16(kv * (load16(g + i) - md - (load16(x + i) - mu) * inv * mq), g + i)
        i += 16
    }
    while i < count { g[i] = k * (g[i] - meanGrad - (x[i] - mean) * invStd * meanGradXhat); i += 1 }
}

/// One AdamW step over `count` parameters (see `NN.AdamW`), eight at a time, with the same operations in
/// the same order per element as the scalar formula (no fused multiply-adds), so results are identical:
/// `w −= lr·wd·w;  m = β1 m + (1 − β1) g;  v = β2 v + (1 − β2) g g;  w −= lr (m / c1) / (√(v / c2) + ε)`.
public func adamWUpdate(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                        _ v: UnsafeMutablePointer<Float>, _ count: Int, learningRate lr: Float, weightDecay wd: Float,
                        beta1 b1: Float, beta2 b2: Float, correction1 c1: Float, correction2 c2: Float, epsilon eps: Float) {
    let decay = lr * wd, keep1 = 1 - b1, keep2 = 1 - b2
    var i = 0
    while i + 8 <= count {
        var wv = load8(w + i)
        let gv = load8(g + i)
        wv = wv - decay * wv
        let mv = b1 * load8(m + i) + keep1 * gv
        let vv = b2 * load8(v + i) + keep2 * gv * gv
        wv = wv - lr * (mv / c1) / ((vv / c2).squareRoot() + eps)
        store8(wv, w + i); store8(mv, m + i); store8(vv, v + i)
        i += 8
    }
    while i < count {
        w[i] -= decay * w[i]
        m[i] = b1 * m[i] + keep1 * g[i]
        v[i] = b2 * v[i] + keep2 * g[i] * g[i]
        w[i] -= lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + eps)
        i += 1
    }
}

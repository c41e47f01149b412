/// Vectorised elementwise functions over whole tensors, split across workers in fixed chunks.
public enum Elementwise {
    static let chunk = 16384

    @inline(__always)
    static func run(_ count: Int, _ body: (Int, Int) -> Void) {
        let pieces = (count + chunk - 1) / chunk
        Parallel.chunks(pieces, minimumPerWorker: 2) { _, r in for i in r {
            let lo = i * chunk
            body(lo, min(chunk, count - lo))
        } }
    }

    /// `exp(x)` (polynomial approximation, relative error about 2e-7).
    public static func exp(_ x: Tensor) -> Tensor {
        let k = KernelSet.current
        return Tensor(uninitializedShape: x.shape) { y in
            x.withUnsafeBufferPointer { xp in run(x.count) { lo, n in k.exp(xp.baseAddress! + lo, y.baseAddress! + lo, n) } }
        }
    }

    /// SiLU `x · σ(x)`.
    public static func silu(_ x: Tensor) -> Tensor {
        let k = KernelSet.current
        return Tensor(uninitializedShape: x.shape) { y in
            x.withUnsafeBufferPointer { xp in run(x.count) { lo, n in k.siluForward(xp.baseAddress! + lo, y.baseAddress! + lo, n) } }
        }
    }

    /// SiLU backward: `dy · σ(x) (1 + x (1 − σ(x)))`.
    public static func siluBackward(input x: Tensor, gradOutput dy: Tensor) -> Tensor {
        precondition(x.shape == dy.shape, "Elementwise.siluBackward: shapes \(x.shape) and \(dy.shape) differ")
        let k = KernelSet.current
        return Tensor(uninitializedShape: x.shape) { dx in
            x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in
                run(x.count) { lo, n in k.siluBackward(xp.baseAddress! + lo, gp.baseAddress! + lo, dx.baseAddress! + lo, n) }
            } }
        }
    }

    /// Logistic sigmoid.
    public static func sigmoid(_ x: Tensor) -> Tensor {
        let k = KernelSet.current
        return Tensor(uninitializedShape: x.shape) { y in
            x.withUnsafeBufferPointer { xp in run(x.count) { lo, n in k.sigmoid(xp.baseAddress! + lo, y.baseAddress! + lo, n) } }
        }
    }

    /// Per-channel affine map and optional SiLU over `[N, C, ...]`:
    /// `y[n, c] = act(x[n, c] · scale[c] + shift[c])`, into a new tensor (no copy of `x` first).
    public static func channelAffine(_ x: Tensor, scale: [Float], shift: [Float], silu: Bool) -> Tensor {
        let n = x.shape[0], c = x.shape[1], plane = x.count / max(1, n * c)
        precondition(scale.count == c && shift.count == c, "Elementwise.channelAffine: \(c) channels, \(scale.count) scales")
        let k = KernelSet.current
        return Tensor(uninitializedShape: x.shape) { yp in
            x.withUnsafeBufferPointer { xp in
                let xb = xp.baseAddress!, yb = yp.baseAddress!
                Parallel.forEach(n * c, elementsPerItem: plane) { i in k.affineActivation(xb + i * plane, yb + i * plane, plane, scale[i % c], shift[i % c], silu) }
            }
        }
    }

    /// Adds per-plane sums `[N·C]` over images, in image order (so the result does not depend on the
    /// thread count), in Double.
    static func channelTotals(_ perPlane: [Float], n: Int, c: Int) -> [Float] {
        (0..<c).map { ch in
            var s: Double = 0
            for i in 0..<n { s += Double(perPlane[i * c + ch]) }
            return Float(s)
        }
    }

    /// Gradient through `y = silu(z · scale[c] + shift[c])` over `[N, C, ...]`, times `gradScale[c]`, in one pass.
    ///
    /// - Returns: `dz = gradScale · du` with `du = dy · silu'(z · scale + shift)`, and per channel `Σ du`
    ///   and `Σ du · (z − center[c])` (what batch-norm backward needs).
    public static func affineSiLUBackward(input z: Tensor, gradOutput dy: Tensor, scale: [Float], shift: [Float],
                                          gradScale: [Float], center: [Float]) -> (gradient: Tensor, sum: [Float], centeredSum: [Float]) {
        precondition(z.shape == dy.shape, "Elementwise.affineSiLUBackward: shapes \(z.shape) and \(dy.shape) differ")
        let n = z.shape[0], c = z.shape[1], plane = z.count / max(1, n * c)
        let k = KernelSet.current
        var sums = [Float](repeating: 0, count: n * c), centered = sums
        let dz = Tensor(uninitializedShape: z.shape) { dp in
            z.withUnsafeBufferPointer { zp in dy.withUnsafeBufferPointer { gp in
                sums.withUnsafeMutableBufferPointer { sp in centered.withUnsafeMutableBufferPointer { qp in
                    let zb = zp.baseAddress!, gb = gp.baseAddress!, db = dp.baseAddress!, sb = sp.baseAddress!, qb = qp.baseAddress!
                    Parallel.forEach(n * c, elementsPerItem: plane) { i in
                        let ch = i % c, o = i * plane
                        (sb[i], qb[i]) = k.affineSiLUBackward(zb + o, gb + o, db + o, plane, scale[ch], shift[ch], gradScale[ch], center[ch])
                    }
                }}
            }}
        }
        return (dz, channelTotals(sums, n: n, c: c), channelTotals(centered, n: n, c: c))
    }

    /// Per channel of `[N, C, ...]`: `Σ dy` and `Σ dy · (x − center[c])`.
    public static func centeredChannelSums(input x: Tensor, gradOutput dy: Tensor, center: [Float]) -> (sum: [Float], centeredSum: [Float]) {
        precondition(x.shape == dy.shape, "Elementwise.centeredChannelSums: shapes \(x.shape) and \(dy.shape) differ")
        let n = x.shape[0], c = x.shape[1], plane = x.count / max(1, n * c)
        let k = KernelSet.current
        var sums = [Float](repeating: 0, count: n * c), centered = sums
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in
            sums.withUnsafeMutableBufferPointer { sp in centered.withUnsafeMutableBufferPointer { qp in
                let xb = xp.baseAddress!, gb = gp.baseAddress!, sb = sp.baseAddress!, qb = qp.baseAddress!
                Parallel.forEach(n * c, elementsPerItem: plane) { i in (sb[i], qb[i]) = k.centeredSums(xb + i * plane, gb + i * plane, plane, center[i % c]) }
            }}
        }}
        return (channelTotals(sums, n: n, c: c), channelTotals(centered, n: n, c: c))
    }

    /// Training-mode batch-norm input gradient over `[N, C, ...]`, in place on `g` (which holds `dL/dy`):
    /// `g = k[c] · (g − meanGrad[c] − (x − mean[c]) · invStd[c] · meanGradXhat[c])`.
    public static func batchNormBackward(_ g: inout Tensor, input x: Tensor, k: [Float], meanGrad: [Float],
                                         meanGradXhat: [Float], mean: [Float], invStd: [Float]) {
        precondition(x.shape == g.shape, "Elementwise.batchNormBackward: shapes \(x.shape) and \(g.shape) differ")
        let n = x.shape[0], c = x.shape[1], plane = x.count / max(1, n * c)
        let kernels = KernelSet.current
        g.withUnsafeMutableBufferPointer { gp in x.withUnsafeBufferPointer { xp in
            let gb = gp.baseAddress!, xb = xp.baseAddress!
            Parallel.forEach(n * c, elementsPerItem: plane) { i in
                let ch = i % c
                kernels.batchNormBackwardApply(xb + i * plane, gb + i * plane, plane, k[ch], meanGrad[ch], meanGradXhat[ch], mean[ch], invStd[ch])
            }
        }}
    }

    /// One AdamW update of `count` parameters in place (`NN.AdamW`; vectorised, same results as the
    /// scalar formula): `c1`, `c2` are the bias corrections `1 − βᵗ`.
    public static func adamWUpdate(_ w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                   firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
                                   count: Int, learningRate: Float, weightDecay: Float, beta1: Float, beta2: Float,
                                   correction1: Float, correction2: Float, epsilon: Float) {
        KernelSet.current.adamW(w, g, m, v, count, learningRate, weightDecay, beta1, beta2, correction1, correction2, epsilon)
    }
}

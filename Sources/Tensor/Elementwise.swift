/// Vectorised elementwise functions over whole tensors, split across workers in fixed chunks.
public enum Elementwise {
    static let chunk = 16384

    @inline(__always)
    static func run(_ count: Int, _ body: (Int, Int) -> Void) {
        let pieces = (count + chunk - 1) / chunk
        Parallel.forEach(pieces) { i in
            let lo = i * chunk
            body(lo, min(chunk, count - lo))
        }
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

    /// Per-channel affine map and optional SiLU over `[N, C, ...]` in place:
    /// `x[n, c] = act(x[n, c] · scale[c] + shift[c])`. Returns the pre-activation when `keepPreActivation`.
    public static func channelAffine(_ x: inout Tensor, scale: [Float], shift: [Float], silu: Bool,
                                     keepPreActivation: Bool) -> Tensor? {
        let n = x.shape[0], c = x.shape[1], plane = x.count / max(1, n * c)
        precondition(scale.count == c && shift.count == c, "Elementwise.channelAffine: \(c) channels, \(scale.count) scales")
        let k = KernelSet.current
        var pre: Tensor? = keepPreActivation ? Tensor(uninitializedShape: x.shape) { _ in } : nil
        x.withUnsafeMutableBufferPointer { xp in
            let base = xp.baseAddress!
            if pre != nil {
                pre!.withUnsafeMutableBufferPointer { pp in
                    let pb = pp.baseAddress!
                    Parallel.forEach(n * c) { i in k.affineActivation(base + i * plane, plane, scale[i % c], shift[i % c], silu, pb + i * plane) }
                }
            } else {
                Parallel.forEach(n * c) { i in k.affineActivation(base + i * plane, plane, scale[i % c], shift[i % c], silu, nil) }
            }
        }
        return pre
    }
}

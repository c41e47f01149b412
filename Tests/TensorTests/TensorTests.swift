import Testing
@testable import Tensor

/// Naive references used to check the fast kernels.
enum Reference {
    static func matmul(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { var s: Double = 0; for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }; c[i * n + j] = Float(s) } }
        return c
    }

    static func conv(_ x: Tensor, _ w: Tensor, _ g: ConvGeometry) -> Tensor {
        var out = Tensor(zeros: g.outputShape)
        for n in 0..<g.batch { for co in 0..<g.outChannels { for oy in 0..<g.outHeight { for ox in 0..<g.outWidth {
            var s: Double = 0
            for ci in 0..<g.inChannels { for ky in 0..<g.kernelHeight { for kx in 0..<g.kernelWidth {
                let iy = oy * g.strideHeight - g.paddingHeight + ky, ix = ox * g.strideWidth - g.paddingWidth + kx
                if iy >= 0 && iy < g.inHeight && ix >= 0 && ix < g.inWidth {
                    s += Double(x[n, ci, iy, ix]) * Double(w[co, ci, ky, kx])
                }
            }}}
            out[n, co, oy, ox] = Float(s)
        }}}}
        return out
    }
}

func maxRelativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    let scale = max(b.map { abs($0) }.max() ?? 0, 1e-6)
    var e: Float = 0
    for i in 0..<a.count { e = max(e, abs(a[i] - b[i])) }
    return e / scale
}

@Suite struct TensorBasics {
    @Test func copyOnWrite() {
        let a = Tensor(repeating: 1, shape: [2, 3])
        var b = a
        b[1, 2] = 5
        #expect(a[1, 2] == 1)
        #expect(b[1, 2] == 5)
        #expect(a.shape == [2, 3])
    }

    @Test func seededGeneratorIsDeterministic() {
        var g1 = SeededGenerator(seed: 42), g2 = SeededGenerator(seed: 42)
        let a = Tensor.randomNormal(shape: [1000], generator: &g1)
        let b = Tensor.randomNormal(shape: [1000], generator: &g2)
        #expect(a == b)
        #expect(abs(a.mean()) < 0.1)
        let v = a.scalars.map { $0 * $0 }.reduce(0, +) / 1000
        #expect(abs(v - 1) < 0.1)
    }

    @Test func reshapeAndSlice() {
        let t = Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        #expect(t.reshaped([2, 3])[1, 0] == 4)
        #expect(t.slice(1..<3).scalars == [3, 4, 5, 6])
        #expect(Tensor.concatenate([t.slice(0..<1), t.slice(1..<3)]) == t)
        #expect(t.transposed()[1, 2] == 6)
    }
}

@Suite struct GEMMTests {
    @Test(arguments: [(1, 1, 1), (7, 5, 3), (6, 16, 8), (13, 33, 300), (64, 17, 9), (2, 100, 513)])
    func matchesNaive(_ dims: (Int, Int, Int)) {
        let (m, n, k) = dims
        var g = SeededGenerator(seed: UInt64(m * 1000 + n * 10 + k))
        let a = Tensor.randomNormal(shape: [m, k], generator: &g)
        let b = Tensor.randomNormal(shape: [k, n], generator: &g)
        let ref = Reference.matmul(a.scalars, b.scalars, m: m, n: n, k: k)
        #expect(maxRelativeError(matmul(a, b).scalars, ref) < 1e-5)
        #expect(maxRelativeError(matmul(a.transposed(), b, transposeA: true).scalars, ref) < 1e-5)
        #expect(maxRelativeError(matmul(a, b.transposed(), transposeB: true).scalars, ref) < 1e-5)
    }

    @Test func sameResultForAnyThreadCount() {
        var g = SeededGenerator(seed: 1)
        let a = Tensor.randomNormal(shape: [37, 300], generator: &g)
        let b = Tensor.randomNormal(shape: [300, 70], generator: &g)
        let one = Parallel.withThreadCount(1) { matmul(a, b) }
        let three = Parallel.withThreadCount(3) { matmul(a, b) }
        #expect(one == three)
    }
}

@Suite struct ConvolutionTests {
    static let cases: [(cin: Int, cout: Int, h: Int, w: Int, k: Int, s: Int, p: Int, n: Int)] = [
        (3, 8, 9, 11, 3, 1, 1, 2), (4, 7, 16, 16, 3, 2, 1, 1), (5, 6, 8, 8, 1, 1, 0, 3),
        (2, 13, 7, 5, 3, 2, 0, 2), (6, 32, 4, 4, 3, 1, 1, 3), (3, 4, 33, 35, 3, 2, 1, 1),
    ]

    @Test(arguments: 0..<cases.count)
    func forwardAndGradientsMatchNaive(_ index: Int) {
        let c = Self.cases[index]
        let geo = ConvGeometry(batch: c.n, inChannels: c.cin, inHeight: c.h, inWidth: c.w, outChannels: c.cout,
                               kernelHeight: c.k, kernelWidth: c.k, strideHeight: c.s, strideWidth: c.s,
                               paddingHeight: c.p, paddingWidth: c.p)
        var g = SeededGenerator(seed: UInt64(index))
        let x = Tensor.randomNormal(shape: geo.inputShape, generator: &g)
        let w = Tensor.randomNormal(shape: geo.weightShape, generator: &g)
        let y = Convolution.forward(input: x, weight: w, bias: nil, geometry: geo)
        #expect(maxRelativeError(y.scalars, Reference.conv(x, w, geo).scalars) < 1e-5)
        // Adjoint checks: <conv(x), dy> = <x, convᵀ(dy)> = <w, dW(dy)>.
        let dy = Tensor.randomNormal(shape: geo.outputShape, generator: &g)
        let lhs = (y * dy).sum()
        let dx = Convolution.backwardInput(gradOutput: dy, weight: w, geometry: geo)
        let dw = Convolution.backwardWeight(gradOutput: dy, input: x, geometry: geo)
        #expect(abs((x * dx).sum() - lhs) <= 1e-3 * max(1, abs(lhs)))
        #expect(abs((w * dw).sum() - lhs) <= 1e-3 * max(1, abs(lhs)))
        // Weight gradient against a naive sum.
        var ref = Tensor(zeros: geo.weightShape)
        for n in 0..<geo.batch { for co in 0..<geo.outChannels { for oy in 0..<geo.outHeight { for ox in 0..<geo.outWidth {
            for ci in 0..<geo.inChannels { for ky in 0..<c.k { for kx in 0..<c.k {
                let iy = oy * c.s - c.p + ky, ix = ox * c.s - c.p + kx
                if iy >= 0 && iy < c.h && ix >= 0 && ix < c.w { ref[co, ci, ky, kx] += x[n, ci, iy, ix] * dy[n, co, oy, ox] }
            }}}
        }}}}
        #expect(maxRelativeError(dw.scalars, ref.scalars) < 1e-4)
    }
}

@Suite struct ElementwiseTests {
    @Test func vectorExpAndSiLU() {
        let xs = (0..<100).map { Float($0) * 0.37 - 18 }
        let x = Tensor(shape: [100], scalars: xs)
        let e = Elementwise.exp(x), s = Elementwise.silu(x), sg = Elementwise.sigmoid(x)
        for i in 0..<100 {
            let v = Double(xs[i])
            #expect(abs(Double(e.scalars[i]) - Foundation.exp(v)) <= 1e-6 * Foundation.exp(v))
            #expect(abs(Double(s.scalars[i]) - v / (1 + Foundation.exp(-v))) <= 1e-6 * max(1, abs(v)))
            #expect(abs(Double(sg.scalars[i]) - 1 / (1 + Foundation.exp(-v))) <= 1e-6)
        }
    }
}

import Foundation

/// The split choices that depend on the thread count (output-channel groups when a layer has few
/// pixel tiles, pixel tiles otherwise) must match the naive convolution, and the forward and
/// input gradient must be bit-identical for any thread count.
@Suite struct ConvolutionSplitTests {
    /// Deep-layer shapes: few pixels, many channels (one tile at batch 1), and a shallow one with many tiles.
    static let cases: [(cin: Int, cout: Int, h: Int, s: Int, n: Int)] = [
        (16, 40, 4, 1, 1), (12, 30, 8, 2, 3), (8, 64, 6, 1, 2), (3, 8, 40, 2, 2), (20, 27, 5, 1, 5),
    ]

    func geometry(_ c: (cin: Int, cout: Int, h: Int, s: Int, n: Int)) -> ConvGeometry {
        ConvGeometry(batch: c.n, inChannels: c.cin, inHeight: c.h, inWidth: c.h, outChannels: c.cout,
                     kernelHeight: 3, kernelWidth: 3, strideHeight: c.s, strideWidth: c.s, paddingHeight: 1, paddingWidth: 1)
    }

    @Test(arguments: 0..<cases.count)
    func matchesNaiveAndIsThreadCountInvariant(_ index: Int) {
        let geo = geometry(Self.cases[index])
        var g = SeededGenerator(seed: UInt64(100 + index))
        let x = Tensor.randomNormal(shape: geo.inputShape, generator: &g)
        let w = Tensor.randomNormal(shape: geo.weightShape, generator: &g)
        let bias = Tensor.randomNormal(shape: [geo.outChannels], generator: &g)
        let dy = Tensor.randomNormal(shape: geo.outputShape, generator: &g)
        var forwards: [Tensor] = [], inputGrads: [Tensor] = []
        for threads in [1, 2, 3] { Parallel.withThreadCount(threads) {
            let y = Convolution.forward(input: x, weight: w, bias: bias, geometry: geo)
            var ref = Reference.conv(x, w, geo)
            for i in 0..<ref.count { ref.scalars[i] += bias.scalars[(i / (geo.outHeight * geo.outWidth)) % geo.outChannels] }
            #expect(maxRelativeError(y.scalars, ref.scalars) < 1e-5, "forward, \(threads) threads")
            forwards.append(y)
            let dx = Convolution.backwardInput(gradOutput: dy, weight: w, geometry: geo)
            let lhs = (Convolution.forward(input: x, weight: w, bias: nil, geometry: geo) * dy).sum()
            #expect(abs((x * dx).sum() - lhs) <= 1e-3 * max(1, abs(lhs)), "input gradient adjoint, \(threads) threads")
            inputGrads.append(dx)
            // Weight gradient against a naive sum; accumulating adds to what is there.
            var dw = Tensor(repeating: 1, shape: geo.weightShape)
            Convolution.accumulateWeightGradient(&dw, gradOutput: dy, input: x, geometry: geo)
            var refW = Tensor(repeating: 1, shape: geo.weightShape)
            for n in 0..<geo.batch { for co in 0..<geo.outChannels { for oy in 0..<geo.outHeight { for ox in 0..<geo.outWidth {
                for ci in 0..<geo.inChannels { for ky in 0..<3 { for kx in 0..<3 {
                    let iy = oy * geo.strideHeight - 1 + ky, ix = ox * geo.strideWidth - 1 + kx
                    if iy >= 0 && iy < geo.inHeight && ix >= 0 && ix < geo.inWidth { refW[co, ci, ky, kx] += x[n, ci, iy, ix] * dy[n, co, oy, ox] }
                }}}
            }}}}
            #expect(maxRelativeError(dw.scalars, refW.scalars) < 1e-4, "weight gradient, \(threads) threads")
            // Same thread count, same bits.
            var again = Tensor(repeating: 1, shape: geo.weightShape)
            Convolution.accumulateWeightGradient(&again, gradOutput: dy, input: x, geometry: geo)
            #expect(again == dw)
        }}
        #expect(forwards[0] == forwards[1] && forwards[0] == forwards[2])
        #expect(inputGrads[0] == inputGrads[1] && inputGrads[0] == inputGrads[2])
    }

    @Test func packedWeightGivesTheSameResult() {
        let geo = geometry(Self.cases[0])
        var g = SeededGenerator(seed: 7)
        let x = Tensor.randomNormal(shape: geo.inputShape, generator: &g)
        let w = Tensor.randomNormal(shape: geo.weightShape, generator: &g)
        let dy = Tensor.randomNormal(shape: geo.outputShape, generator: &g)
        let packed = Convolution.pack(w, geometry: geo, for: .forward)
        #expect(Convolution.forward(input: x, packedWeight: packed, bias: nil, geometry: geo)
                == Convolution.forward(input: x, weight: w, bias: nil, geometry: geo))
        let packedT = Convolution.pack(w, geometry: geo, for: .inputGradient)
        #expect(Convolution.backwardInput(gradOutput: dy, packedWeight: packedT, geometry: geo)
                == Convolution.backwardInput(gradOutput: dy, weight: w, geometry: geo))
    }
}

@Suite struct FusedBatchNormKernelTests {
    /// `affineSiLUBackward` against the unfused composition, on planes that are not a multiple of 16.
    @Test func affineSiLUBackwardMatchesComposition() {
        var g = SeededGenerator(seed: 11)
        let z = Tensor.randomNormal(shape: [3, 2, 5, 7], generator: &g)
        let dy = Tensor.randomNormal(shape: z.shape, generator: &g)
        let scale: [Float] = [0.7, -1.3], shift: [Float] = [0.2, 0.5], gradScale: [Float] = [2, 0.5], center: [Float] = [0.1, -0.2]
        let (dz, sum, centered) = Elementwise.affineSiLUBackward(input: z, gradOutput: dy, scale: scale, shift: shift,
                                                                 gradScale: gradScale, center: center)
        var refSum = [Double](repeating: 0, count: 2), refCentered = refSum
        for i in 0..<z.count {
            let c = (i / 35) % 2
            let v = Double(z.scalars[i]) * Double(scale[c]) + Double(shift[c])
            let s = 1 / (1 + Foundation.exp(-v))
            let du = Double(dy.scalars[i]) * s * (1 + v * (1 - s))
            #expect(abs(Double(dz.scalars[i]) - du * Double(gradScale[c])) <= 1e-5 * max(1, abs(du)))
            refSum[c] += du; refCentered[c] += du * (Double(z.scalars[i]) - Double(center[c]))
        }
        for c in 0..<2 {
            #expect(abs(Double(sum[c]) - refSum[c]) <= 1e-4 * max(1, abs(refSum[c])))
            #expect(abs(Double(centered[c]) - refCentered[c]) <= 1e-4 * max(1, abs(refCentered[c])))
        }
        let plain = Elementwise.centeredChannelSums(input: z, gradOutput: dy, center: center)
        var refPlain = [Double](repeating: 0, count: 2)
        for i in 0..<z.count { let c = (i / 35) % 2; refPlain[c] += Double(dy.scalars[i]) * (Double(z.scalars[i]) - Double(center[c])) }
        for c in 0..<2 { #expect(abs(Double(plain.centeredSum[c]) - refPlain[c]) <= 1e-4 * max(1, abs(refPlain[c]))) }
    }
}

@Suite struct Im2colCopyTests {
    /// The vector copies of im2col rows, at every length around their 8- and 16-float steps.
    @Test func shortCopyAndEvenGatherMatchScalar() {
        for n in 0...40 {
            let src = UnsafeMutablePointer<Float>.allocate(capacity: 2 * n + 1)
            defer { src.deallocate() }
            for i in 0..<(2 * n + 1) { src[i] = Float(i) + 0.5 }
            var copied = [Float](repeating: -1, count: n), gathered = copied
            copied.withUnsafeMutableBufferPointer { Convolution.copyShort(src, $0.baseAddress!, n) }
            // Only 2 (n − 1) + 1 floats are valid input for the gather: it must not depend on later ones.
            src[max(0, 2 * n - 1)] = .nan
            gathered.withUnsafeMutableBufferPointer { Convolution.gatherEven(src, $0.baseAddress!, n) }
            #expect(copied == (0..<n).map { Float($0) + 0.5 }, "copy n = \(n)")
            #expect(gathered == (0..<n).map { Float(2 * $0) + 0.5 }, "gather n = \(n)")
        }
    }

    /// The vector adds of col2im rows (stride 1 and 2) against the scalar loops, including that the
    /// stride-2 add leaves the odd elements and everything past `dst[2 (n − 1)]` as they were.
    @Test func shortAddAndEvenAddMatchScalar() {
        for n in 0...40 {
            let src = (0..<n).map { Float($0) * 0.25 - 3 }
            let base = (0..<(2 * n + 17)).map { Float($0) * 1.5 + 0.125 }
            var added = base, addedEven = base, refAdded = base, refEven = base
            for j in 0..<n { refAdded[j] += src[j]; refEven[2 * j] += src[j] }
            src.withUnsafeBufferPointer { sp in
                added.withUnsafeMutableBufferPointer { Convolution.addShort(sp.baseAddress!, $0.baseAddress!, n) }
                addedEven.withUnsafeMutableBufferPointer { Convolution.addEven(sp.baseAddress!, $0.baseAddress!, n) }
            }
            #expect(added == refAdded, "add n = \(n)")
            #expect(addedEven == refEven, "even add n = \(n)")
        }
    }
}

/// The padded-layout paths (`DirectLayout`: forward, input and weight gradients) against im2col/col2im.
@Suite struct PaddedLayoutConvolutionTests {
    /// Wide and narrow layers, strides 1–3, kernels 1–5, asymmetric padding, partial last panels.
    static let cases: [(cin: Int, cout: Int, h: Int, w: Int, kh: Int, kw: Int, s: Int, ph: Int, pw: Int, n: Int)] = [
        (3, 24, 34, 32, 3, 3, 2, 1, 1, 2), (5, 13, 18, 16, 3, 3, 1, 1, 1, 3), (4, 7, 12, 40, 3, 3, 1, 1, 1, 1),
        (2, 9, 9, 95, 5, 5, 3, 2, 2, 2), (6, 8, 7, 63, 1, 1, 2, 0, 0, 2), (3, 6, 10, 60, 3, 5, 1, 0, 2, 1),
        (16, 40, 4, 4, 3, 3, 1, 1, 1, 1), (12, 30, 8, 8, 3, 3, 2, 1, 1, 3), (8, 20, 9, 7, 3, 3, 1, 1, 1, 2),
        (2, 13, 7, 5, 3, 2, 2, 0, 1, 2), (20, 27, 5, 5, 3, 3, 1, 1, 1, 5), (40, 30, 16, 16, 3, 3, 1, 1, 1, 2),
        (32, 20, 8, 8, 3, 3, 2, 1, 1, 3), (3, 10, 40, 36, 3, 3, 2, 1, 1, 3),
    ]

    func geometry(_ index: Int) -> ConvGeometry {
        let c = Self.cases[index]
        return ConvGeometry(batch: c.n, inChannels: c.cin, inHeight: c.h, inWidth: c.w, outChannels: c.cout,
                            kernelHeight: c.kh, kernelWidth: c.kw, strideHeight: c.s, strideWidth: c.s,
                            paddingHeight: c.ph, paddingWidth: c.pw)
    }

    /// Runs `body` on the padded path and on the im2col path at 1, 2 and 3 threads, and hands each pair
    /// of results with its thread count to `check`.
    func compareWithIm2col(_ body: () -> Tensor, _ check: (_ padded: Tensor, _ im2col: Tensor, _ threads: Int) -> Void) {
        for threads in [1, 2, 3] {
            Parallel.withThreadCount(threads) {
                check(body(), Convolution.$forceIm2col.withValue(true) { body() }, threads)
            }
        }
    }

    @Test(arguments: 0..<cases.count)
    func paddedForwardMatchesIm2colBitForBitAndNaive(_ index: Int) {
        let geo = geometry(index)
        var g = SeededGenerator(seed: UInt64(300 + index))
        let x = Tensor.randomNormal(shape: geo.inputShape, generator: &g)
        let w = Tensor.randomNormal(shape: geo.weightShape, generator: &g)
        let bias = Tensor.randomNormal(shape: [geo.outChannels], generator: &g)
        var ref = Reference.conv(x, w, geo)
        for i in 0..<ref.count { ref.scalars[i] += bias.scalars[(i / (geo.outHeight * geo.outWidth)) % geo.outChannels] }
        compareWithIm2col({ Convolution.forward(input: x, weight: w, bias: bias, geometry: geo) }) { padded, im2col, threads in
            #expect(padded == im2col, "\(threads) threads")
            #expect(maxRelativeError(padded.scalars, ref.scalars) < 1e-5, "\(threads) threads")
        }
    }

    /// The affine + SiLU epilogue inside the forward work items gives the bits of a separate `channelAffine` pass.
    @Test(arguments: 0..<cases.count)
    func fusedEpilogueMatchesSeparatePassBitForBit(_ index: Int) {
        let geo = geometry(index)
        var g = SeededGenerator(seed: UInt64(700 + index))
        let x = Tensor.randomNormal(shape: geo.inputShape, generator: &g)
        let w = Tensor.randomNormal(shape: geo.weightShape, generator: &g)
        let bias = Tensor.randomNormal(shape: [geo.outChannels], generator: &g)
        let scale = Tensor.randomNormal(shape: [geo.outChannels], generator: &g).scalars
        let shift = Tensor.randomNormal(shape: [geo.outChannels], generator: &g).scalars
        let packed = Convolution.pack(w, geometry: geo, for: .forward)
        for threads in [1, 2, 3] { Parallel.withThreadCount(threads) {
            for silu in [true, false] {
                for b in [nil, bias] {
                    let out = Convolution.forward(input: x, packedWeight: packed, bias: b, geometry: geo)
                    let separate = Elementwise.channelAffine(out, scale: scale, shift: shift, silu: silu)
                    let fused = Convolution.forward(input: x, packedWeight: packed, bias: b, geometry: geo,
                                                    epilogue: .init(scale: scale, shift: shift, silu: silu))
                    #expect(fused.output == out, "\(threads) threads")
                    #expect(fused.mapped == separate, "\(threads) threads, silu \(silu)")
                }
            }
        }}
    }

    @Test(arguments: 0..<cases.count)
    func paddedWeightGradientMatchesIm2colBitForBit(_ index: Int) {
        let geo = geometry(index)
        var g = SeededGenerator(seed: UInt64(500 + index))
        let x = Tensor.randomNormal(shape: geo.inputShape, generator: &g)
        let dy = Tensor.randomNormal(shape: geo.outputShape, generator: &g)
        let start = Tensor.randomNormal(shape: geo.weightShape, generator: &g)
        compareWithIm2col({
            var gradient = start
            Convolution.accumulateWeightGradient(&gradient, gradOutput: dy, input: x, geometry: geo)
            return gradient
        }) { padded, im2col, threads in
            #expect(padded == im2col, "\(threads) threads")
        }
    }

    @Test(arguments: 0..<cases.count)
    func paddedScatterMatchesCol2imBitForBit(_ index: Int) {
        let geo = geometry(index)
        var g = SeededGenerator(seed: UInt64(400 + index))
        let x = Tensor.randomNormal(shape: geo.inputShape, generator: &g)
        let w = Tensor.randomNormal(shape: geo.weightShape, generator: &g)
        let dy = Tensor.randomNormal(shape: geo.outputShape, generator: &g)
        let lhs = (Convolution.forward(input: x, weight: w, bias: nil, geometry: geo) * dy).sum()
        compareWithIm2col({ Convolution.backwardInput(gradOutput: dy, weight: w, geometry: geo) }) { padded, col2im, threads in
            #expect(padded == col2im, "\(threads) threads")
            // Adjoint check: <conv(x), dy> = <x, convᵀ(dy)>.
            #expect(abs((x * padded).sum() - lhs) <= 1e-3 * max(1, abs(lhs)), "\(threads) threads")
        }
    }
}

@Suite struct AdamWKernelTests {
    /// The vector update gives the scalar formula's bits, in both kernel builds (odd length: vector body and tail).
    @Test func vectorUpdateMatchesScalarFormula() {
        var g = SeededGenerator(seed: 11)
        let n = 37
        let w0 = (0..<n).map { _ in g.nextNormal() }, grad = (0..<n).map { _ in g.nextNormal() }
        let m0 = (0..<n).map { _ in 0.1 * g.nextNormal() }, v0 = (0..<n).map { _ in abs(0.1 * g.nextNormal()) }
        let lr: Float = 1e-3, wd: Float = 0.01, b1: Float = 0.9, b2: Float = 0.999, eps: Float = 1e-8
        let c1 = 1 - powf(b1, 3), c2 = 1 - powf(b2, 3)
        var rw = w0, rm = m0, rv = v0
        for j in 0..<n {
            rw[j] -= lr * wd * rw[j]
            rm[j] = b1 * rm[j] + (1 - b1) * grad[j]
            rv[j] = b2 * rv[j] + (1 - b2) * grad[j] * grad[j]
            rw[j] -= lr * (rm[j] / c1) / ((rv[j] / c2).squareRoot() + eps)
        }
        for kernels in CPUFeatures.usesAVX2 ? [KernelSet.baseline, .avx2] : [.baseline] {
            var w = w0, m = m0, v = v0
            w.withUnsafeMutableBufferPointer { wp in m.withUnsafeMutableBufferPointer { mp in v.withUnsafeMutableBufferPointer { vp in
                grad.withUnsafeBufferPointer { gp in
                    kernels.adamW(wp.baseAddress!, gp.baseAddress!, mp.baseAddress!, vp.baseAddress!, n, lr, wd, b1, b2, c1, c2, eps)
                }
            }}}
            #expect(w == rw && m == rm && v == rv)
        }
    }
}

import Tensor

/// Mean over space: `[N, C, H, W] -> [N, C]` (global average pooling, Lin et al. 2014).
public final class GlobalAveragePool2D: Layer {
    private var inputShape = Cache<[Int]>()
    public init() {}
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        input.checkShape([-1, -1, -1, -1], "GlobalAveragePool2D input")
        inputShape.set(input.shape)
        let n = input.shape[0], c = input.shape[1], plane = input.shape[2] * input.shape[3]
        return Tensor(uninitializedShape: [n, c]) { out in
            input.withUnsafeBufferPointer { x in
                for i in 0..<(n * c) {
                    var s: Float = 0
                    let p = x.baseAddress! + i * plane
                    for j in 0..<plane { s += p[j] }
                    out[i] = s / Float(plane)
                }
            }
        }
    }
    /// `dx[n, c, :, :] = dy[n, c] / (H W)`.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let shape = inputShape.get("GlobalAveragePool2D")
        let plane = shape[2] * shape[3]
        return Tensor(uninitializedShape: shape) { out in
            gradOutput.withUnsafeBufferPointer { g in
                for i in 0..<(shape[0] * shape[1]) {
                    let v = g[i] / Float(plane)
                    (out.baseAddress! + i * plane).update(repeating: v, count: plane)
                }
            }
        }
    }
    public var namedParameters: [(name: String, parameter: Parameter)] { [] }
}

/// Max or average pooling over `kernelSize x kernelSize` windows with a stride (no padding).
public final class Pool2D: Layer {
    public enum Kind: Sendable { case max, average }
    public let kind: Kind, kernelSize: Int, stride: Int
    private var cache = Cache<(shape: [Int], argmax: [Int32])>()

    public init(_ kind: Kind, kernelSize: Int, stride: Int? = nil) {
        self.kind = kind; self.kernelSize = kernelSize; self.stride = stride ?? kernelSize
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        input.checkShape([-1, -1, -1, -1], "Pool2D input")
        let n = input.shape[0], c = input.shape[1], h = input.shape[2], w = input.shape[3]
        let oh = (h - kernelSize) / stride + 1, ow = (w - kernelSize) / stride + 1
        precondition(oh > 0 && ow > 0, "Pool2D: window \(kernelSize) larger than input \(h)x\(w)")
        var argmax = [Int32](repeating: 0, count: kind == .max ? n * c * oh * ow : 0)
        let out = Tensor(uninitializedShape: [n, c, oh, ow]) { out in
            input.withUnsafeBufferPointer { x in
                for pl in 0..<(n * c) {
                    let src = x.baseAddress! + pl * h * w
                    for oy in 0..<oh { for ox in 0..<ow {
                        let o = (pl * oh + oy) * ow + ox
                        var best = -Float.infinity, bi = 0, s: Float = 0
                        for ky in 0..<kernelSize { for kx in 0..<kernelSize {
                            let idx = (oy * stride + ky) * w + ox * stride + kx
                            let v = src[idx]
                            s += v
                            if v > best { best = v; bi = idx }
                        }}
                        if kind == .max { out[o] = best; argmax[o] = Int32(bi) } else { out[o] = s / Float(kernelSize * kernelSize) }
                    }}
                }
            }
        }
        cache.set((input.shape, argmax))
        return out
    }

    /// Max: the gradient goes to the winning element; average: spread evenly over the window.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let (shape, argmax) = cache.get("Pool2D")
        let n = shape[0], c = shape[1], h = shape[2], w = shape[3]
        let oh = gradOutput.shape[2], ow = gradOutput.shape[3]
        var dx = Tensor(zeros: shape)
        dx.withUnsafeMutableBufferPointer { d in gradOutput.withUnsafeBufferPointer { g in
            for pl in 0..<(n * c) {
                let dst = d.baseAddress! + pl * h * w
                for oy in 0..<oh { for ox in 0..<ow {
                    let o = (pl * oh + oy) * ow + ox
                    if kind == .max { dst[Int(argmax[o])] += g[o] } else {
                        let v = g[o] / Float(kernelSize * kernelSize)
                        for ky in 0..<kernelSize { for kx in 0..<kernelSize { dst[(oy * stride + ky) * w + ox * stride + kx] += v } }
                    }
                }}
            }
        }}
        return dx
    }
    public var namedParameters: [(name: String, parameter: Parameter)] { [] }
}

/// Depthwise convolution (one filter per channel, Howard et al. 2017 "MobileNets"), weight `[C, 1, K, K]`.
///
/// ```
/// y[n, c, i, j] = b[c] + Σ_{u, v} W[c, 0, u, v] · x[n, c, s·i − p + u, s·j − p + v]
/// ```
/// A direct per-plane stencil: depthwise work is memory-bound, so GEMM does not help.
public final class DepthwiseConv2D: Layer {
    public let channels, kernelSize, stride, padding: Int
    public let weight: Parameter, bias: Parameter?
    private var cachedInput = Cache<Tensor>()

    public init(channels: Int, kernelSize: Int = 3, stride: Int = 1, padding: Int? = nil, bias: Bool = true, seed: UInt64 = 0) {
        self.channels = channels; self.kernelSize = kernelSize; self.stride = stride; self.padding = padding ?? kernelSize / 2
        var g = SeededGenerator(seed: seed)
        weight = Parameter(.randomNormal(shape: [channels, 1, kernelSize, kernelSize],
                                         standardDeviation: (2 / Float(kernelSize * kernelSize)).squareRoot(), generator: &g))
        self.bias = bias ? Parameter(Tensor(zeros: [channels])) : nil
    }

    private func outSize(_ h: Int) -> Int { (h + 2 * padding - kernelSize) / stride + 1 }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        input.checkShape([-1, channels, -1, -1], "DepthwiseConv2D(\(channels)) input")
        cachedInput.set(input)
        let n = input.shape[0], h = input.shape[2], w = input.shape[3], oh = outSize(h), ow = outSize(w)
        let k = kernelSize, s = stride, p = padding, c = channels
        let bias = self.bias?.value.scalars
        return Tensor(uninitializedShape: [n, c, oh, ow]) { out in
            input.withUnsafeBufferPointer { x in weight.value.withUnsafeBufferPointer { wt in
                let ob = out.baseAddress!, xb = x.baseAddress!, wb = wt.baseAddress!
                Parallel.forEach(n * c) { pl in
                    let ch = pl % c, src = xb + pl * h * w, dst = ob + pl * oh * ow, wk = wb + ch * k * k
                    let b0 = bias?[ch] ?? 0
                    for oy in 0..<oh { for ox in 0..<ow {
                        var acc = b0
                        for ky in 0..<k {
                            let iy = oy * s - p + ky
                            if iy < 0 || iy >= h { continue }
                            for kx in 0..<k {
                                let ix = ox * s - p + kx
                                if ix >= 0 && ix < w { acc += wk[ky * k + kx] * src[iy * w + ix] }
                            }
                        }
                        dst[oy * ow + ox] = acc
                    }}
                }
            }}
        }
    }

    /// `dx` scatters `dy · W` back through the stencil; `dW[c] = Σ dy · x` over taps; `db = Σ dy`.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let x = cachedInput.get("DepthwiseConv2D")
        let n = x.shape[0], h = x.shape[2], w = x.shape[3], oh = outSize(h), ow = outSize(w)
        let k = kernelSize, s = stride, p = padding, c = channels
        var dx = Tensor(zeros: x.shape)
        var dw = [Float](repeating: 0, count: c * k * k)
        dx.withUnsafeMutableBufferPointer { dxp in x.withUnsafeBufferPointer { xp in gradOutput.withUnsafeBufferPointer { gp in
            weight.value.withUnsafeBufferPointer { wt in dw.withUnsafeMutableBufferPointer { dwp in
                let dxb = dxp.baseAddress!, xb = xp.baseAddress!, gb = gp.baseAddress!, wb = wt.baseAddress!, dwb = dwp.baseAddress!
                Parallel.forEach(c) { ch in
                    let wk = wb + ch * k * k
                    for i in 0..<n {
                        let pl = i * c + ch
                        let src = xb + pl * h * w, dsrc = dxb + pl * h * w, g = gb + pl * oh * ow
                        for oy in 0..<oh { for ox in 0..<ow {
                            let dy = g[oy * ow + ox]
                            for ky in 0..<k {
                                let iy = oy * s - p + ky
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<k {
                                    let ix = ox * s - p + kx
                                    if ix >= 0 && ix < w {
                                        dsrc[iy * w + ix] += dy * wk[ky * k + kx]
                                        dwb[ch * k * k + ky * k + kx] += dy * src[iy * w + ix]
                                    }
                                }
                            }
                        }}
                    }
                }
            }}
        }}}
        weight.grad += Tensor(shape: weight.value.shape, scalars: dw)
        if let bias { bias.grad += Convolution.biasGradient(gradOutput) }
        return dx
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        var p: [(name: String, parameter: Parameter)] = [("weight", weight)]
        if let bias { p.append(("bias", bias)) }
        return p
    }
}

/// 1-D convolution over time: `[N, Cin, T] -> [N, Cout, T']`, weight `[Cout, Cin, K]` as `torch.nn.Conv1d`.
///
/// Runs as a 2-D convolution with a `1 x K` kernel over `[N, Cin, 1, T]`. Used over the frame axis by
/// the temporal head.
public final class TemporalConv1D: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    private let conv: Conv2D

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int? = nil,
                bias: Bool = true, seed: UInt64 = 0) {
        conv = Conv2D(inputChannels: inputChannels, outputChannels: outputChannels, kernelHeight: 1, kernelWidth: kernelSize,
                      strideHeight: 1, strideWidth: stride, paddingHeight: 0, paddingWidth: padding ?? kernelSize / 2,
                      bias: bias, seed: seed)
        weight = Parameter(conv.weight.value.reshaped([outputChannels, inputChannels, kernelSize]))
        self.bias = conv.bias
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        input.checkShape([-1, conv.inputChannels, -1], "TemporalConv1D input [N, C, T]")
        conv.weight.value = weight.value.reshaped(conv.weight.value.shape)
        let y = conv.forward(input.reshaped([input.shape[0], input.shape[1], 1, input.shape[2]]), training: training)
        return y.reshaped([y.shape[0], y.shape[1], y.shape[3]])
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        conv.weight.zeroGradient()
        let dx = conv.backward(gradOutput.reshaped([gradOutput.shape[0], gradOutput.shape[1], 1, gradOutput.shape[2]]))
        weight.grad += conv.weight.grad.reshaped(weight.value.shape)
        return dx.reshaped([dx.shape[0], dx.shape[1], dx.shape[3]])
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        var p: [(name: String, parameter: Parameter)] = [("weight", weight)]
        if let bias { p.append(("bias", bias)) }
        return p
    }
}

/// Anti-aliased downsampling by 2: each plane low-passed by the binomial `[1, 2, 1]/4` filter in both
/// directions, sampled at every other pixel (BlurPool, Zhang, "Making Convolutional Networks
/// Shift-Invariant Again", ICML 2019). After a stride-1 convolution it replaces a stride-2 one, whose
/// aliasing gives input gradients a pixel-to-pixel sign texture. Output `ceil(H/2) x ceil(W/2)`, the
/// size of a 3x3 stride-2 convolution with padding 1; the edge is mirrored (pixel -1 reads pixel 1).
public final class BlurPool2D: Layer {
    private var inputShape = Cache<[Int]>()
    public init() {}

    /// Input index and weight of tap `k` (-1, 0, 1) around `2 * o`, mirrored at the edges.
    @inline(__always) static func tap(_ o: Int, _ k: Int, _ size: Int) -> (index: Int, weight: Float) {
        var i = 2 * o + k
        if i < 0 { i = -i }
        if i >= size { i = 2 * (size - 1) - i }
        return (max(0, min(size - 1, i)), k == 0 ? 0.5 : 0.25)
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        input.checkShape([-1, -1, -1, -1], "BlurPool2D input")
        inputShape.set(input.shape)
        let planes = input.shape[0] * input.shape[1], h = input.shape[2], w = input.shape[3]
        let oh = (h + 1) / 2, ow = (w + 1) / 2
        return Tensor(uninitializedShape: [input.shape[0], input.shape[1], oh, ow]) { out in
            input.withUnsafeBufferPointer { x in
                let src = x.baseAddress!, dst = out.baseAddress!
                Parallel.forEach(planes, elementsPerItem: h * w) { p in
                    let plane = src + p * h * w, o = dst + p * oh * ow
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var s: Float = 0
                            for ky in -1...1 {
                                let (iy, wy) = Self.tap(oy, ky, h)
                                for kx in -1...1 {
                                    let (ix, wx) = Self.tap(ox, kx, w)
                                    s += wy * wx * plane[iy * w + ix]
                                }
                            }
                            o[oy * ow + ox] = s
                        }
                    }
                }
            }
        }
    }

    /// Scatters each output gradient back through the same taps (mirrored taps add into their source).
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let shape = inputShape.get("BlurPool2D")
        let planes = shape[0] * shape[1], h = shape[2], w = shape[3]
        let oh = (h + 1) / 2, ow = (w + 1) / 2
        gradOutput.checkShape([shape[0], shape[1], oh, ow], "BlurPool2D gradOutput")
        return Tensor(uninitializedShape: shape) { out in
            gradOutput.withUnsafeBufferPointer { g in
                let src = g.baseAddress!, dst = out.baseAddress!
                Parallel.forEach(planes, elementsPerItem: h * w) { p in
                    let plane = dst + p * h * w, go = src + p * oh * ow
                    plane.update(repeating: 0, count: h * w)
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            let v = go[oy * ow + ox]
                            for ky in -1...1 {
                                let (iy, wy) = Self.tap(oy, ky, h)
                                for kx in -1...1 {
                                    let (ix, wx) = Self.tap(ox, kx, w)
                                    plane[iy * w + ix] += wy * wx * v
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { [] }
}

/// Shape arithmetic of a 2-D convolution over `[N, C, H, W]` input.
public struct ConvGeometry: Sendable, Equatable {
    public var batch, inChannels, inHeight, inWidth: Int
    public var outChannels, kernelHeight, kernelWidth: Int
    public var strideHeight, strideWidth, paddingHeight, paddingWidth: Int

    public init(batch: Int, inChannels: Int, inHeight: Int, inWidth: Int, outChannels: Int,
                kernelHeight: Int, kernelWidth: Int, strideHeight: Int, strideWidth: Int,
                paddingHeight: Int, paddingWidth: Int) {
        self.batch = batch; self.inChannels = inChannels; self.inHeight = inHeight; self.inWidth = inWidth
        self.outChannels = outChannels; self.kernelHeight = kernelHeight; self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight; self.strideWidth = strideWidth
        self.paddingHeight = paddingHeight; self.paddingWidth = paddingWidth
        precondition(outHeight > 0 && outWidth > 0,
                     "Convolution: kernel \(kernelHeight)x\(kernelWidth) with padding \(paddingHeight),\(paddingWidth) does not fit input \(inHeight)x\(inWidth)")
    }

    public var outHeight: Int { (inHeight + 2 * paddingHeight - kernelHeight) / strideHeight + 1 }
    public var outWidth: Int { (inWidth + 2 * paddingWidth - kernelWidth) / strideWidth + 1 }
    /// Rows of the im2col matrix: `inChannels * kernelHeight * kernelWidth`.
    public var reduction: Int { inChannels * kernelHeight * kernelWidth }
    public var inputShape: [Int] { [batch, inChannels, inHeight, inWidth] }
    public var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }
    public var weightShape: [Int] { [outChannels, inChannels, kernelHeight, kernelWidth] }
}

/// Convolution as implicit GEMM: the im2col matrix is never formed; its pieces are packed straight
/// from the input into the GEMM's B panels (forward), or into small cache-sized tiles (gradients).
///
/// ```
/// forward      out[n][Cout, P]  = W[Cout, K] · col_n[K, P]            K = Cin·KH·KW, P = OH·OW
/// input grad   dcol_n[K, P]     = Wᵀ[K, Cout] · dOut[n][Cout, P]  then col2im (scatter-add)
/// weight grad  dW[Cout, K]     += dOut[n][Cout, P] · col_n[K, P]ᵀ
/// ```
public enum Convolution {
    /// Pixel panels per forward work tile (8 x 16 = 128 output pixels).
    static let tilePanels = 8
    static let KC = 256
    /// Tests only: run convolutions through im2col (forward, weight gradient) and col2im (input gradient),
    /// the references for the padded-layout paths (`DirectLayout`).
    @TaskLocal static var forceIm2col = false

    /// Per im2col row k: offset of its input plane, and its kernel tap (ky, kx).
    struct RowTable {
        var planeOffset: [Int], ky: [Int], kx: [Int]
        init(_ g: ConvGeometry) {
            let khw = g.kernelHeight * g.kernelWidth, n = g.reduction
            planeOffset = [Int](repeating: 0, count: n); ky = planeOffset; kx = planeOffset
            for k in 0..<n {
                planeOffset[k] = (k / khw) * g.inHeight * g.inWidth
                ky[k] = (k % khw) / g.kernelWidth
                kx[k] = k % g.kernelWidth
            }
        }
    }

    /// Writes im2col rows `k0..<k0+kc` for output pixels `p0..<p0+count` of one image:
    /// `dst[kk * dstStride + (p - p0)] = col[k0 + kk, p]`, zero where the tap falls in the padding.
    @inline(__always)
    static func im2col(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ t: UnsafePointer<Int>,
                       _ tky: UnsafePointer<Int>, _ tkx: UnsafePointer<Int>,
                       p0: Int, count: Int, k0: Int, kc: Int, dst: UnsafeMutablePointer<Float>, dstStride: Int) {
        let ow = g.outWidth, h = g.inHeight, w = g.inWidth
        let sh = g.strideHeight, sw = g.strideWidth, ph = g.paddingHeight, pw = g.paddingWidth
        var p = p0
        let end = p0 + count
        while p < end {
            let oy = p / ow, ox0 = p - oy * ow
            let len = min(ow - ox0, end - p)
            let off = p - p0
            for kk in 0..<kc {
                let k = k0 + kk
                let d = dst + kk * dstStride + off
                let iy = oy * sh - ph + tky[k]
                if iy < 0 || iy >= h { d.update(repeating: 0, count: len); continue }
                let kx = tkx[k]
                let row = src + t[k] + iy * w
                var lo = ox0, hi = ox0 + len
                while lo < hi && lo * sw - pw + kx < 0 { d[lo - ox0] = 0; lo += 1 }
                while hi > lo && (hi - 1) * sw - pw + kx >= w { d[hi - 1 - ox0] = 0; hi -= 1 }
                if lo < hi {
                    if sw == 1 {
                        copyShort(row + (lo - pw + kx), d + (lo - ox0), hi - lo)
                    } else if sw == 2 {
                        gatherEven(row + (lo * 2 - pw + kx), d + (lo - ox0), hi - lo)
                    } else {
                        let s = row + (lo * sw - pw + kx), dd = d + (lo - ox0)
                        for j in 0..<(hi - lo) { dd[j] = s[j * sw] }
                    }
                }
            }
            p += len
        }
    }

    /// Copies `n` floats; the rows of im2col are short (4–64), where a `memmove` call costs more than the copy.
    @inline(__always)
    static func copyShort(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        var j = 0
        while j + 8 <= n {
            UnsafeMutableRawPointer(dst + j).storeBytes(of: UnsafeRawPointer(src + j).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
            j += 8
        }
        if j + 4 <= n {
            UnsafeMutableRawPointer(dst + j).storeBytes(of: UnsafeRawPointer(src + j).loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
            j += 4
        }
        while j < n { dst[j] = src[j]; j += 1 }
    }

    /// `dst[j] = src[2 j]` for `j < n` (stride-2 im2col rows), eight at a time from 16-float loads that
    /// never read past `src[2 (n − 1)]`.
    @inline(__always)
    static func gatherEven(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        var j = 0
        while j + 9 <= n {
            let v = UnsafeRawPointer(src + 2 * j).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(dst + j).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
            j += 8
        }
        if n >= 9 && j < n {
            // The last eight: odd lanes of the 16 floats ending at src[2 (n − 1)] (overlaps the loop's output).
            let v = UnsafeRawPointer(src + 2 * (n - 8) - 1).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(dst + n - 8).storeBytes(of: v.oddHalf, as: SIMD8<Float>.self)
            return
        }
        while j < n { dst[j] = src[2 * j]; j += 1 }
    }

    /// `dst[j] += src[j]` for `j < n`, eight at a time (same additions as the scalar loop).
    @inline(__always)
    static func addShort(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        var j = 0
        while j + 8 <= n {
            let d = UnsafeMutableRawPointer(dst + j)
            d.storeBytes(of: d.loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(src + j).loadUnaligned(as: SIMD8<Float>.self),
                         as: SIMD8<Float>.self)
            j += 8
        }
        while j < n { dst[j] += src[j]; j += 1 }
    }

    /// `dst[2 j] += src[j]` for `j < n` (stride-2 col2im rows): eight at a time through 16-float
    /// windows whose odd lanes are stored back unchanged, never touching memory past `dst[2 (n − 1)]`.
    @inline(__always)
    static func addEven(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        var j = 0
        while j + 8 < n {
            let d = UnsafeMutableRawPointer(dst + 2 * j)
            var v = d.loadUnaligned(as: SIMD16<Float>.self)
            v.evenHalf = v.evenHalf + UnsafeRawPointer(src + j).loadUnaligned(as: SIMD8<Float>.self)
            d.storeBytes(of: v, as: SIMD16<Float>.self)
            j += 8
        }
        while j < n { dst[2 * j] += src[j]; j += 1 }
    }

    /// Scatter-adds im2col rows back into one image (the adjoint of `im2col`):
    /// `img[tap(k, p)] += src[kk * srcStride + (p - p0)]`.
    @inline(__always)
    static func col2im(_ img: UnsafeMutablePointer<Float>, _ g: ConvGeometry, _ t: UnsafePointer<Int>,
                       _ tky: UnsafePointer<Int>, _ tkx: UnsafePointer<Int>,
                       p0: Int, count: Int, k0: Int, kc: Int, src: UnsafePointer<Float>, srcStride: Int) {
        let ow = g.outWidth, h = g.inHeight, w = g.inWidth
        let sh = g.strideHeight, sw = g.strideWidth, ph = g.paddingHeight, pw = g.paddingWidth
        var p = p0
        let end = p0 + count
        while p < end {
            let oy = p / ow, ox0 = p - oy * ow
            let len = min(ow - ox0, end - p)
            let off = p - p0
            for kk in 0..<kc {
                let k = k0 + kk
                let iy = oy * sh - ph + tky[k]
                if iy < 0 || iy >= h { continue }
                let s = src + kk * srcStride + off
                let kx = tkx[k]
                let row = img + t[k] + iy * w
                var lo = ox0, hi = ox0 + len
                while lo < hi && lo * sw - pw + kx < 0 { lo += 1 }
                while hi > lo && (hi - 1) * sw - pw + kx >= w { hi -= 1 }
                if lo < hi {
                    let d = row + (lo * sw - pw + kx), ss = s + (lo - ox0)
                    if sw == 1 {
                        addShort(ss, d, hi - lo)
                    } else if sw == 2 {
                        addEven(ss, d, hi - lo)
                    } else {
                        for j in 0..<(hi - lo) { d[j * sw] += ss[j] }
                    }
                }
            }
            p += len
        }
    }

    /// A convolution input laid out so that every im2col row segment is a plain run of memory: zero-padded,
    /// and each padded row split into `s = strideWidth` column phases, so that the pixels one kernel tap
    /// reads along an output row (columns `s·ox + kx`) are contiguous. Packing GEMM panels from it is a
    /// copy per row segment from a fixed offset (no padding tests), and input gradients scatter-add into it.
    /// Padded element (c, Y, X) sits at `c·plane + Y·row + (X mod s)·phaseWidth + X / s`.
    struct DirectLayout {
        let phaseWidth: Int, row: Int, plane: Int, count: Int

        init(_ g: ConvGeometry) {
            let s = g.strideWidth
            phaseWidth = (g.inWidth + 2 * g.paddingWidth + s - 1) / s
            row = s * phaseWidth
            plane = (g.inHeight + 2 * g.paddingHeight) * row
            count = g.inChannels * plane
        }

        /// Offset of im2col row k = (c, ky, kx) from the read position of its panel.
        func offsets(_ g: ConvGeometry) -> [Int] {
            let s = g.strideWidth, khw = g.kernelHeight * g.kernelWidth
            return (0..<g.reduction).map { k in
                let c = k / khw, ky = (k % khw) / g.kernelWidth, kx = k % g.kernelWidth
                return c * plane + ky * row + (kx % s) * phaseWidth + kx / s
            }
        }

        /// Writes image `src` (`[Cin, H, W]`) into `dst` (`count` floats) in this layout.
        func prepare(_ src: UnsafePointer<Float>, _ g: ConvGeometry, into dst: UnsafeMutablePointer<Float>) {
            let kernels = KernelSet.current, h = g.inHeight, w = g.inWidth
            for c in 0..<g.inChannels {
                kernels.padPhaseSplitPlane(src + c * h * w, h, w, g.paddingHeight, g.paddingWidth, g.strideWidth,
                                           phaseWidth, plane / row, dst + c * plane)
            }
        }

        /// Copies the unpadded pixels of `channels` planes from `src` (this layout, starting at the first of
        /// those planes) into image rows `dst` (`[channels, H, W]`): the inverse of `prepare` on them.
        func extract(_ src: UnsafePointer<Float>, channels: Int, _ g: ConvGeometry, into dst: UnsafeMutablePointer<Float>) {
            let s = g.strideWidth, h = g.inHeight, w = g.inWidth, ph = g.paddingHeight, pw = g.paddingWidth
            for c in 0..<channels {
                for iy in 0..<h {
                    let line = src + c * plane + (iy + ph) * row, d = dst + (c * h + iy) * w
                    if s == 1 { copyShort(line + pw, d, w); continue }
                    if s == 2 {
                        // Input column ix is padded column X = ix + pw: phase X mod 2, index X / 2.
                        let even = line + (pw % 2) * phaseWidth + pw / 2, odd = line + ((pw + 1) % 2) * phaseWidth + (pw + 1) / 2
                        var j = 0
                        while j + 16 <= w {
                            var v = SIMD16<Float>()
                            v.evenHalf = UnsafeRawPointer(even + j / 2).loadUnaligned(as: SIMD8<Float>.self)
                            v.oddHalf = UnsafeRawPointer(odd + j / 2).loadUnaligned(as: SIMD8<Float>.self)
                            UnsafeMutableRawPointer(d + j).storeBytes(of: v, as: SIMD16<Float>.self)
                            j += 16
                        }
                        while j < w { d[j] = j % 2 == 0 ? even[j / 2] : odd[j / 2]; j += 1 }
                        continue
                    }
                    for ix in 0..<w { let x = ix + pw; d[ix] = line[(x % s) * phaseWidth + x / s] }
                }
            }
        }
    }

    /// Input-channel group boundaries `[0, ..., inChannels]` for the input gradient's work split: each
    /// group's im2col rows start on a 6-row panel boundary, and there are about `rowGroups` of them.
    static func inputChannelGroupBounds(_ g: ConvGeometry) -> [Int] {
        let khw = g.kernelHeight * g.kernelWidth
        var granule = 1
        while (granule * khw) % MR != 0 { granule += 1 }
        let groupsWanted = rowGroups(items: g.batch, rowPanels: g.inChannels)
        var bounds: [Int] = [0]
        for i in 1..<groupsWanted {
            let c = min(g.inChannels, (g.inChannels * i / groupsWanted) / granule * granule)
            if c > bounds.last! { bounds.append(c) }
        }
        if g.inChannels > bounds.last! { bounds.append(g.inChannels) }
        return bounds
    }

    /// Number of output-row groups per work item so that `items` equal work items split evenly over the
    /// workers: 1 when they already do (or with one worker), else `threadCount` groups of whole 6-row panels
    /// (small batches leave deep layers with only a tile or two of pixels).
    static func rowGroups(items: Int, rowPanels: Int) -> Int {
        let t = Parallel.threadCount
        if t == 1 || items % t == 0 || items >= 4 * t { return 1 }
        return max(1, min(t, rowPanels))
    }

    /// How `forward` cuts its GEMM into work items: tiles of `tilePanels` output panels (`NR` pixels each,
    /// running across images) times `groups` bands of weight row panels. The im2col and padded paths both
    /// use it, so they do the same work items in the same order, which keeps them bit-identical.
    struct ForwardWorkItems {
        let outChannels: Int, outPixels: Int, panelsPerImage: Int, totalPanels: Int, tiles: Int, rowPanels: Int, groups: Int

        init(_ g: ConvGeometry) {
            outChannels = g.outChannels
            outPixels = g.outHeight * g.outWidth
            panelsPerImage = (outPixels + NR - 1) / NR
            totalPanels = g.batch * panelsPerImage
            tiles = (totalPanels + tilePanels - 1) / tilePanels
            rowPanels = (outChannels + MR - 1) / MR
            groups = rowGroups(items: tiles, rowPanels: rowPanels)
        }

        var count: Int { tiles * groups }

        /// Work item `item`: output rows `m0 ..< m0 + m` (weight row panel `rp0` on) and the `np` output
        /// panels from panel `g0` on, whose output addresses in `output` and widths go into `cPtrs`, `cCols`.
        func item(_ item: Int, output: UnsafeMutablePointer<Float>, cPtrs: UnsafeMutablePointer<UnsafeMutablePointer<Float>>,
                  cCols: UnsafeMutablePointer<Int>) -> (rp0: Int, m0: Int, m: Int, g0: Int, np: Int) {
            let tile = item / groups, grp = item % groups
            let rp0 = rowPanels * grp / groups, rp1 = rowPanels * (grp + 1) / groups
            let m0 = rp0 * MR, m = min(outChannels, rp1 * MR) - m0
            let g0 = tile * tilePanels, np = min(totalPanels, g0 + tilePanels) - g0
            for j in 0..<np {
                let img = (g0 + j) / panelsPerImage, pp = (g0 + j) % panelsPerImage
                cPtrs[j] = output + img * outChannels * outPixels + m0 * outPixels + pp * NR
                cCols[j] = min(NR, outPixels - pp * NR)
            }
            return (rp0, m0, m, g0, np)
        }
    }

    /// Packs a weight for `forward` or `backwardInput`.
    public static func pack(_ weight: Tensor, geometry g: ConvGeometry, for use: PackedConvolutionWeight.Use) -> PackedConvolutionWeight {
        weight.checkShape(g.weightShape, "Convolution.pack weight")
        return PackedConvolutionWeight(weight, outChannels: g.outChannels, reduction: g.reduction, use: use)
    }

    /// Forward convolution `[N, Cin, H, W] -> [N, Cout, OH, OW]`, optionally adding a bias per channel.
    ///
    /// - Parameters:
    ///   - input: `[N, Cin, H, W]`.
    ///   - weight: `[Cout, Cin, KH, KW]`.
    ///   - bias: `[Cout]` or nil.
    ///   - geometry: strides and padding (shapes must agree with it).
    /// - Returns: `[N, Cout, OH, OW]`.
    public static func forward(input: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry) -> Tensor {
        forward(input: input, packedWeight: pack(weight, geometry: g, for: .forward), bias: bias, geometry: g)
    }

    /// The shape checks both packed-weight `forward`s make.
    static func checkForwardArguments(input: Tensor, packedWeight: PackedConvolutionWeight, bias: Tensor?, geometry g: ConvGeometry) {
        input.checkShape(g.inputShape, "Convolution.forward input")
        packedWeight.check(.forward, outChannels: g.outChannels, reduction: g.reduction)
        if let bias { bias.checkShape([g.outChannels], "Convolution.forward bias") }
    }

    /// A per-output-channel affine map and optional SiLU applied to a convolution's output as it is produced:
    /// `y[n, c] = act(out[n, c] · scale[c] + shift[c])` (`Elementwise.channelAffine`, same bits).
    public struct ChannelAffine: Sendable {
        public var scale: [Float], shift: [Float], silu: Bool
        public init(scale: [Float], shift: [Float], silu: Bool) { self.scale = scale; self.shift = shift; self.silu = silu }
    }

    /// `forward`, plus `epilogue` applied to the output: returns the convolution output and the mapped copy.
    ///
    /// The map runs inside each work item on the pixels it has just computed (still in cache), rather than
    /// as a second parallel pass over the output: one hand-off and one trip through memory fewer per layer.
    /// Bit-identical to `forward` followed by `Elementwise.channelAffine` (panels start at multiples of 16
    /// pixels of a plane, where the vector kernel's lanes fall as in a whole-plane call).
    public static func forward(input: Tensor, packedWeight: PackedConvolutionWeight, bias: Tensor?, geometry g: ConvGeometry,
                               epilogue: ChannelAffine) -> (output: Tensor, mapped: Tensor) {
        precondition(epilogue.scale.count == g.outChannels && epilogue.shift.count == g.outChannels,
                     "Convolution.forward: epilogue for \(epilogue.scale.count) channels, convolution has \(g.outChannels)")
        if forceIm2col || NR % 16 != 0 {
            let out = forward(input: input, packedWeight: packedWeight, bias: bias, geometry: g)
            return (out, Elementwise.channelAffine(out, scale: epilogue.scale, shift: epilogue.shift, silu: epilogue.silu))
        }
        checkForwardArguments(input: input, packedWeight: packedWeight, bias: bias, geometry: g)
        var mapped = Tensor(uninitializedShape: g.outputShape) { _ in }
        let out = mapped.withUnsafeMutableBufferPointer { mp in
            forwardPadded(input: input, packed: packedWeight.panels, bias: bias, geometry: g, epilogue: epilogue, mapped: mp.baseAddress!)
        }
        return (out, mapped)
    }

    /// `forward` with the weight already packed (`pack(_:geometry:for: .forward)`), so that repeated calls
    /// with unchanged weights skip the packing.
    ///
    /// Work items are tiles of 8 pixel panels and, when there are too few tiles to keep every worker busy,
    /// groups of output channels; each output element is written by one item with the same summation
    /// order, so the result does not depend on the thread count.
    public static func forward(input: Tensor, packedWeight: PackedConvolutionWeight, bias: Tensor?, geometry g: ConvGeometry) -> Tensor {
        checkForwardArguments(input: input, packedWeight: packedWeight, bias: bias, geometry: g)
        if !forceIm2col { return forwardPadded(input: input, packed: packedWeight.panels, bias: bias, geometry: g) }
        let K = g.reduction, ohw = g.outHeight * g.outWidth
        let work = ForwardWorkItems(g)
        let panelsPerImage = work.panelsPerImage
        let table = RowTable(g)
        let kernels = KernelSet.current
        let inPlane = g.inChannels * g.inHeight * g.inWidth
        let aPacked = packedWeight.panels
        var out = Tensor(uninitializedShape: g.outputShape) { _ in }
        input.withUnsafeBufferPointer { ip in
            out.withUnsafeMutableBufferPointer { op in
                table.planeOffset.withUnsafeBufferPointer { tp in
                table.ky.withUnsafeBufferPointer { tky in
                table.kx.withUnsafeBufferPointer { tkx in
                    let src = ip.baseAddress!, dst = op.baseAddress!
                    Parallel.chunks(work.count) { _, items in
                        let kcMax = min(KC, K)
                        let bBuf = UnsafeMutablePointer<Float>.allocate(capacity: tilePanels * kcMax * NR)
                        let cPtrs = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: tilePanels)
                        let cCols = UnsafeMutablePointer<Int>.allocate(capacity: tilePanels)
                        defer { bBuf.deallocate(); cPtrs.deallocate(); cCols.deallocate() }
                        for item in items {
                            let (rp0, m0, m, g0, np) = work.item(item, output: dst, cPtrs: cPtrs, cCols: cCols)
                            var k0 = 0
                            while k0 < K {
                                let kc = min(KC, K - k0)
                                for j in 0..<np {
                                    let img = (g0 + j) / panelsPerImage, pp = (g0 + j) % panelsPerImage
                                    let panel = bBuf + j * kc * NR
                                    if cCols[j] < NR { panel.update(repeating: 0, count: kc * NR) }
                                    im2col(src + img * inPlane, g, tp.baseAddress!, tky.baseAddress!, tkx.baseAddress!,
                                           p0: pp * NR, count: cCols[j], k0: k0, kc: kc, dst: panel, dstStride: NR)
                                }
                                kernels.gemmPanels(m, kc, np, aPacked + rp0 * K * MR + k0 * MR, K * MR, bBuf, kc * NR,
                                                   cPtrs, cCols, ohw, k0 > 0)
                                k0 += kc
                            }
                            if let bias { addBias(bias, rows: m0..<(m0 + m), np, cPtrs, cCols, ldc: ohw) }
                        }
                    }
                }}}
            }
        }
        return out
    }

    /// Adds `bias[r]` to rows `rows` of the output panels of one work item.
    @inline(__always)
    static func addBias(_ bias: Tensor, rows: Range<Int>, _ np: Int, _ cPtrs: UnsafePointer<UnsafeMutablePointer<Float>>,
                        _ cCols: UnsafePointer<Int>, ldc: Int) {
        bias.withUnsafeBufferPointer { bp in
            for j in 0..<np {
                for r in rows {
                    let row = cPtrs[j] + (r - rows.lowerBound) * ldc, b = bp[r]
                    for t in 0..<cCols[j] { row[t] += b }
                }
            }
        }
    }

    /// `forward` with the B panels packed from a padded, phase-split copy of each image (`DirectLayout`)
    /// instead of straight from the image: every im2col row segment is then a plain copy from a fixed
    /// offset, with no padding tests. Same work items, panels, k blocks and GEMM as the im2col path, so the
    /// output is bit-identical to it.
    static func forwardPadded(input: Tensor, packed aPacked: UnsafeMutablePointer<Float>, bias: Tensor?, geometry g: ConvGeometry,
                              epilogue: ChannelAffine? = nil, mapped: UnsafeMutablePointer<Float>? = nil) -> Tensor {
        let K = g.reduction, ow = g.outWidth, ohw = g.outHeight * ow
        let layout = DirectLayout(g)
        let offsets = layout.offsets(g)
        let work = ForwardWorkItems(g)
        let panelsPerImage = work.panelsPerImage
        let kernels = KernelSet.current
        let inPlane = g.inChannels * g.inHeight * g.inWidth
        let rowStep = g.strideHeight * layout.row
        var out = Tensor(uninitializedShape: g.outputShape) { _ in }
        input.withUnsafeBufferPointer { ip in
            out.withUnsafeMutableBufferPointer { op in
                offsets.withUnsafeBufferPointer { offs in
                    let src = ip.baseAddress!, dst = op.baseAddress!, off = offs.baseAddress!
                    Parallel.chunks(work.count) { _, items in
                        // Laid-out images in a ring of slots, each image laid out when its first tile needs it
                        // (tiles go through the images in order; a tile of a narrow layer spans several).
                        // A few slots rather than one per image keep the layout in cache until it is read.
                        let slots = (tilePanels + panelsPerImage - 1) / panelsPerImage + 1
                        let images = UnsafeMutablePointer<Float>.allocate(capacity: slots * layout.count)
                        let held = UnsafeMutablePointer<Int>.allocate(capacity: slots)
                        held.initialize(repeating: -1, count: slots)
                        let kcMax = min(KC, K)
                        let bBuf = UnsafeMutablePointer<Float>.allocate(capacity: tilePanels * kcMax * NR)
                        let cPtrs = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: tilePanels)
                        let cCols = UnsafeMutablePointer<Int>.allocate(capacity: tilePanels)
                        let sources = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: tilePanels)
                        defer {
                            images.deallocate(); held.deallocate(); bBuf.deallocate(); cPtrs.deallocate()
                            cCols.deallocate(); sources.deallocate()
                        }
                        for item in items {
                            let (rp0, m0, m, g0, np) = work.item(item, output: dst, cPtrs: cPtrs, cCols: cCols)
                            for j in 0..<np {
                                let img = (g0 + j) / panelsPerImage
                                let slot = images + (img % slots) * layout.count
                                if held[img % slots] != img {
                                    layout.prepare(src + img * inPlane, g, into: slot)
                                    held[img % slots] = img
                                }
                                sources[j] = UnsafePointer(slot)
                            }
                            var k0 = 0
                            while k0 < K {
                                let kc = min(KC, K - k0)
                                for j in 0..<np {
                                    let p0 = ((g0 + j) % panelsPerImage) * NR, cols = cCols[j]
                                    let panel = bBuf + j * kc * NR
                                    let oy = p0 / ow, ox0 = p0 - oy * ow
                                    if cols == NR && ox0 + NR <= ow {
                                        // One segment: the whole panel lies in one output row.
                                        kernels.gatherRows16(sources[j] + oy * rowStep + ox0, off + k0, kc, panel)
                                        continue
                                    }
                                    if cols < NR { panel.update(repeating: 0, count: kc * NR) }
                                    var p = p0
                                    while p < p0 + cols {
                                        let y = p / ow, x0 = p - y * ow, len = min(ow - x0, p0 + cols - p)
                                        kernels.gatherRows(sources[j] + y * rowStep + x0, off + k0, kc, len, panel + (p - p0), NR)
                                        p += len
                                    }
                                }
                                kernels.gemmPanels(m, kc, np, aPacked + rp0 * K * MR + k0 * MR, K * MR, bBuf, kc * NR,
                                                   cPtrs, cCols, ohw, k0 > 0)
                                k0 += kc
                            }
                            if let bias { addBias(bias, rows: m0..<(m0 + m), np, cPtrs, cCols, ldc: ohw) }
                            if let epilogue, let mapped {
                                // Runs of this item's panels within one image are contiguous along each plane.
                                var j0 = 0
                                while j0 < np {
                                    let img = (g0 + j0) / panelsPerImage
                                    var j1 = j0 + 1, len = cCols[j0]
                                    while j1 < np && (g0 + j1) / panelsPerImage == img { len += cCols[j1]; j1 += 1 }
                                    let at = cPtrs[j0] - dst
                                    for r in 0..<m {
                                        kernels.affineActivation(dst + at + r * ohw, mapped + at + r * ohw, len,
                                                                 epilogue.scale[m0 + r], epilogue.shift[m0 + r], epilogue.silu)
                                    }
                                    j0 = j1
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Gradient with respect to the input: `dOut [N, Cout, OH, OW] -> dIn [N, Cin, H, W]`.
    ///
    /// Work is split by image and, for small batches, by input-channel groups, so no two workers
    /// ever add into the same element (deterministic for any thread count).
    public static func backwardInput(gradOutput: Tensor, weight: Tensor, geometry g: ConvGeometry) -> Tensor {
        backwardInput(gradOutput: gradOutput, packedWeight: pack(weight, geometry: g, for: .inputGradient), geometry: g)
    }

    /// `backwardInput` with the weight already packed (`pack(_:geometry:for: .inputGradient)`).
    public static func backwardInput(gradOutput: Tensor, packedWeight: PackedConvolutionWeight, geometry g: ConvGeometry) -> Tensor {
        gradOutput.checkShape(g.outputShape, "Convolution.backwardInput gradOutput")
        packedWeight.check(.inputGradient, outChannels: g.outChannels, reduction: g.reduction)
        if !forceIm2col { return backwardInputPadded(gradOutput: gradOutput, packedWeight: packedWeight, geometry: g) }
        let cout = g.outChannels, ohw = g.outHeight * g.outWidth
        let khw = g.kernelHeight * g.kernelWidth
        let panelsPerImage = (ohw + NR - 1) / NR
        let table = RowTable(g)
        let kernels = KernelSet.current
        let inPlane = g.inChannels * g.inHeight * g.inWidth
        let bounds = inputChannelGroupBounds(g)
        let groups = bounds.count - 1
        let planeSize = g.inHeight * g.inWidth
        // Each work item zeroes the planes it adds into (no serial pass over the whole gradient).
        var dIn = Tensor(uninitializedShape: g.inputShape) { _ in }
        // Wᵀ packed as 6-row panels over K: [ceil(K/6)][Cout][6].
        let aT = packedWeight.panels
        gradOutput.withUnsafeBufferPointer { gp in
            dIn.withUnsafeMutableBufferPointer { dp in
                table.planeOffset.withUnsafeBufferPointer { tp in
                table.ky.withUnsafeBufferPointer { tky in
                table.kx.withUnsafeBufferPointer { tkx in
                    let gsrc = gp.baseAddress!, ddst = dp.baseAddress!
                    Parallel.chunks(g.batch * groups) { _, items in
                        let maxRows = (0..<groups).map { (bounds[$0 + 1] - bounds[$0]) * khw }.max()!
                        let tp16 = max(1, min(tilePanels, 4096 / max(1, maxRows)))
                        let bBuf = UnsafeMutablePointer<Float>.allocate(capacity: tp16 * cout * NR)
                        let dcol = UnsafeMutablePointer<Float>.allocate(capacity: (maxRows + MR) * tp16 * NR)
                        let cPtrs = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: tp16)
                        let cCols = UnsafeMutablePointer<Int>.allocate(capacity: tp16)
                        defer { bBuf.deallocate(); dcol.deallocate(); cPtrs.deallocate(); cCols.deallocate() }
                        for j in 0..<tp16 { cPtrs[j] = dcol + j * NR; cCols[j] = NR }
                        for item in items {
                            let img = item / groups, grp = item % groups
                            let row0 = bounds[grp] * khw, rows = (bounds[grp + 1] - bounds[grp]) * khw
                            let gImg = gsrc + img * cout * ohw
                            (ddst + img * inPlane + bounds[grp] * planeSize)
                                .update(repeating: 0, count: (bounds[grp + 1] - bounds[grp]) * planeSize)
                            var pp0 = 0
                            while pp0 < panelsPerImage {
                                let np = min(tp16, panelsPerImage - pp0)
                                copyOutputGradientPanels(gImg, channels: cout, pixels: ohw, firstPanel: pp0, count: np, into: bBuf)
                                kernels.gemmPanels(rows, cout, np, aT + (row0 / MR) * cout * MR, cout * MR,
                                                   bBuf, cout * NR, cPtrs, cCols, tp16 * NR, false)
                                for j in 0..<np {
                                    let p0 = (pp0 + j) * NR, cols = min(NR, ohw - p0)
                                    col2im(ddst + img * inPlane, g, tp.baseAddress!, tky.baseAddress!, tkx.baseAddress!,
                                           p0: p0, count: cols, k0: row0, kc: rows, src: dcol + j * NR, srcStride: tp16 * NR)
                                }
                                pp0 += np
                            }
                        }
                    }
                }}}
            }
        }
        return dIn
    }

    /// Copies `count` output-gradient panels from panel `firstPanel` on (`NR` pixels of each of `channels`
    /// planes of `pixels` floats) into `panels` (`[count][channels][NR]`), zero-filling a short last panel.
    /// Copied rather than read in place: dOut's rows, `pixels` floats apart (often a multiple of 4 KB), fall
    /// into the same few L1 sets and the GEMM ran slower.
    @inline(__always)
    static func copyOutputGradientPanels(_ image: UnsafePointer<Float>, channels: Int, pixels: Int, firstPanel: Int, count: Int,
                                         into panels: UnsafeMutablePointer<Float>) {
        for j in 0..<count {
            let p0 = (firstPanel + j) * NR, cols = min(NR, pixels - p0)
            let panel = panels + j * channels * NR
            if cols < NR {
                panel.update(repeating: 0, count: channels * NR)
                for co in 0..<channels { (panel + co * NR).update(from: image + co * pixels + p0, count: cols) }
            } else {
                for co in 0..<channels { copyShort(image + co * pixels + p0, panel + co * NR, NR) }
            }
        }
    }

    /// `backwardInput` with the scatter-add done into a padded, phase-split copy of each image's gradient
    /// (`DirectLayout`), where every im2col row segment lands in contiguous memory with no bounds checks; the
    /// padding is dropped when the image is copied out. The same additions in the same order as the col2im
    /// path, so the result is bit-identical to it.
    static func backwardInputPadded(gradOutput: Tensor, packedWeight: PackedConvolutionWeight, geometry g: ConvGeometry) -> Tensor {
        let cout = g.outChannels, ow = g.outWidth, ohw = g.outHeight * ow
        let khw = g.kernelHeight * g.kernelWidth
        let panelsPerImage = (ohw + NR - 1) / NR
        let layout = DirectLayout(g)
        let offsets = layout.offsets(g)
        let rowStep = g.strideHeight * layout.row
        let kernels = KernelSet.current
        let inPlane = g.inChannels * g.inHeight * g.inWidth
        let bounds = inputChannelGroupBounds(g)
        let groups = bounds.count - 1
        let maxChannels = (0..<groups).map { bounds[$0 + 1] - bounds[$0] }.max()!
        var dIn = Tensor(uninitializedShape: g.inputShape) { _ in }
        let aT = packedWeight.panels
        gradOutput.withUnsafeBufferPointer { gp in
            dIn.withUnsafeMutableBufferPointer { dp in
                offsets.withUnsafeBufferPointer { offs in
                    let gsrc = gp.baseAddress!, ddst = dp.baseAddress!, off = offs.baseAddress!
                    Parallel.chunks(g.batch * groups) { _, items in
                        let maxRows = maxChannels * khw
                        let tp16 = max(1, min(tilePanels, 4096 / max(1, maxRows)))
                        let bBuf = UnsafeMutablePointer<Float>.allocate(capacity: tp16 * cout * NR)
                        let dcol = UnsafeMutablePointer<Float>.allocate(capacity: (maxRows + MR) * tp16 * NR)
                        let padded = UnsafeMutablePointer<Float>.allocate(capacity: maxChannels * layout.plane)
                        let cPtrs = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: tp16)
                        let cCols = UnsafeMutablePointer<Int>.allocate(capacity: tp16)
                        defer {
                            bBuf.deallocate(); dcol.deallocate(); padded.deallocate()
                            cPtrs.deallocate(); cCols.deallocate()
                        }
                        for j in 0..<tp16 { cPtrs[j] = dcol + j * NR; cCols[j] = NR }
                        for item in items {
                            let img = item / groups, grp = item % groups
                            let c0 = bounds[grp], channels = bounds[grp + 1] - c0
                            let row0 = c0 * khw, rows = channels * khw
                            let gImg = gsrc + img * cout * ohw
                            padded.update(repeating: 0, count: channels * layout.plane)
                            // Offsets are relative to channel 0; this group's buffer starts at channel c0.
                            let base = padded - c0 * layout.plane
                            var pp0 = 0
                            while pp0 < panelsPerImage {
                                let np = min(tp16, panelsPerImage - pp0)
                                let aPanels = aT + (row0 / MR) * cout * MR
                                copyOutputGradientPanels(gImg, channels: cout, pixels: ohw, firstPanel: pp0, count: np, into: bBuf)
                                kernels.gemmPanels(rows, cout, np, aPanels, cout * MR, bBuf, cout * NR, cPtrs, cCols, tp16 * NR, false)
                                for j in 0..<np {
                                    // Scatter-add panel j, one output-row segment at a time.
                                    var p = (pp0 + j) * NR
                                    let end = min(ohw, p + NR)
                                    while p < end {
                                        let oy = p / ow, ox0 = p - oy * ow, len = min(ow - ox0, end - p)
                                        let src = dcol + j * NR + (p - (pp0 + j) * NR)
                                        let dst = base + oy * rowStep + ox0
                                        kernels.scatterAddRows(src, tp16 * NR, off + row0, rows, len, dst)
                                        p += len
                                    }
                                }
                                pp0 += np
                            }
                            layout.extract(padded, channels: channels, g, into: ddst + img * inPlane + c0 * g.inHeight * g.inWidth)
                        }
                    }
                }
            }
        }
        return dIn
    }

    /// Gradient with respect to the weight: `dW [Cout, Cin, KH, KW] = Σ_n dOut_n · col_nᵀ`.
    public static func backwardWeight(gradOutput: Tensor, input: Tensor, geometry g: ConvGeometry) -> Tensor {
        var dW = Tensor(zeros: g.weightShape)
        accumulateWeightGradient(&dW, gradOutput: gradOutput, input: input, geometry: g)
        return dW
    }

    /// Adds the weight gradient `Σ_n dOut_n · col_nᵀ` into `gradient` (`[Cout, Cin, KH, KW]`).
    ///
    /// Pixels of all images form one reduction axis cut into tiles of 256. With enough tiles each worker
    /// sums its tiles (worker 0 straight into `gradient`, the others into private buffers that are then
    /// added in worker order); with too few (small batches, deep layers) workers instead take disjoint
    /// groups of output channels and every tile. Deterministic for a given thread count.
    public static func accumulateWeightGradient(_ gradient: inout Tensor, gradOutput: Tensor, input: Tensor, geometry g: ConvGeometry) {
        gradOutput.checkShape(g.outputShape, "Convolution.backwardWeight gradOutput")
        input.checkShape(g.inputShape, "Convolution.backwardWeight input")
        gradient.checkShape(g.weightShape, "Convolution.backwardWeight gradient")
        let K = g.reduction, cout = g.outChannels, ow = g.outWidth, ohw = g.outHeight * ow
        let T = 256, KCW = 64
        let totalPixels = g.batch * ohw
        let tiles = (totalPixels + T - 1) / T
        let table = RowTable(g)
        // im2col rows come from the padded layout (`DirectLayout`) unless tests ask for the im2col reference.
        let padded = !forceIm2col
        let layout = DirectLayout(g)
        let offsets = layout.offsets(g)
        let rowStep = g.strideHeight * layout.row
        let kernels = KernelSet.current
        let inPlane = g.inChannels * g.inHeight * g.inWidth
        // Output-channel groups in whole 4-row tiles of the dot kernel.
        let rowGroupCount = rowGroups(items: tiles, rowPanels: cout / 4)
        let workers = rowGroupCount > 1 ? 1 : Parallel.workers(for: tiles)
        let extra = workers - 1
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: max(1, extra * cout * K))
        defer { partial.deallocate() }
        gradOutput.withUnsafeBufferPointer { gp in
            input.withUnsafeBufferPointer { ip in
                gradient.withUnsafeMutableBufferPointer { dp in
                table.planeOffset.withUnsafeBufferPointer { tp in
                table.ky.withUnsafeBufferPointer { tky in
                table.kx.withUnsafeBufferPointer { tkx in
                offsets.withUnsafeBufferPointer { offs in
                    let gsrc = gp.baseAddress!, isrc = ip.baseAddress!, dst = dp.baseAddress!
                    let off = offs.baseAddress!
                    /// Adds tiles `tileRange` for output channels `m0..<m1` into `dW` (row stride K, starting at row m0).
                    func accumulate(tiles tileRange: Range<Int>, rows m0: Int, _ m1: Int, into dW: UnsafeMutablePointer<Float>) {
                        let rows = m1 - m0
                        let dTile = UnsafeMutablePointer<Float>.allocate(capacity: rows * T)
                        let colTile = UnsafeMutablePointer<Float>.allocate(capacity: KCW * T)
                        // Laid-out images (as in `forwardPadded`) in a ring of slots covering one tile's images.
                        let slots = padded ? (T + ohw - 1) / ohw + 1 : 0
                        let images = UnsafeMutablePointer<Float>.allocate(capacity: max(1, slots * layout.count))
                        let held = UnsafeMutablePointer<Int>.allocate(capacity: max(1, slots))
                        held.initialize(repeating: -1, count: max(1, slots))
                        defer { dTile.deallocate(); colTile.deallocate(); images.deallocate(); held.deallocate() }
                        for tile in tileRange {
                            let q0 = tile * T, q1 = min(totalPixels, q0 + T), tileLen = q1 - q0
                            if padded {
                                for img in (q0 / ohw)...((q1 - 1) / ohw) where held[img % slots] != img {
                                    layout.prepare(isrc + img * inPlane, g, into: images + (img % slots) * layout.count)
                                    held[img % slots] = img
                                }
                            }
                            // dOut tile [rows][tp]: read in place when it lies in one image, else gathered
                            // across image boundaries (same values either way).
                            var aTile = UnsafePointer(dTile), lda = T
                            if q0 / ohw == (q1 - 1) / ohw {
                                let img = q0 / ohw
                                aTile = gsrc + img * cout * ohw + m0 * ohw + (q0 - img * ohw); lda = ohw
                            } else {
                                var q = q0
                                while q < q1 {
                                    let img = q / ohw, p = q - img * ohw, len = min(ohw - p, q1 - q)
                                    let s = gsrc + img * cout * ohw + p
                                    for r in 0..<rows { (dTile + r * T + (q - q0)).update(from: s + (m0 + r) * ohw, count: len) }
                                    q += len
                                }
                            }
                            var k0 = 0
                            while k0 < K {
                                let kc = min(KCW, K - k0)
                                var q = q0
                                while q < q1 {
                                    let img = q / ohw, p = q - img * ohw
                                    if padded {
                                        // One output-row segment: a run of the laid-out image per im2col row.
                                        let oy = p / ow, ox0 = p - oy * ow, len = min(ow - ox0, q1 - q)
                                        kernels.gatherRows(images + (img % slots) * layout.count + oy * rowStep + ox0, off + k0, kc, len,
                                                           colTile + (q - q0), T)
                                        q += len
                                        continue
                                    }
                                    let len = min(ohw - p, q1 - q)
                                    im2col(isrc + img * inPlane, g, tp.baseAddress!, tky.baseAddress!, tkx.baseAddress!,
                                           p0: p, count: len, k0: k0, kc: kc, dst: colTile + (q - q0), dstStride: T)
                                    q += len
                                }
                                kernels.gemmNT(rows, kc, tileLen, aTile, lda, colTile, T, dW + k0, K, true)
                                k0 += kc
                            }
                        }
                    }
                    if rowGroupCount > 1 {
                        let quads = cout / 4
                        Parallel.chunks(rowGroupCount) { _, groups in
                            for grp in groups {
                                let m0 = 4 * (quads * grp / rowGroupCount)
                                let m1 = grp == rowGroupCount - 1 ? cout : 4 * (quads * (grp + 1) / rowGroupCount)
                                accumulate(tiles: 0..<tiles, rows: m0, m1, into: dst + m0 * K)
                            }
                        }
                    } else {
                        Parallel.chunks(tiles, maxWorkers: workers) { worker, tileRange in
                            if worker == 0 {
                                accumulate(tiles: tileRange, rows: 0, cout, into: dst)
                            } else {
                                let dW = partial + (worker - 1) * cout * K
                                dW.update(repeating: 0, count: cout * K)
                                accumulate(tiles: tileRange, rows: 0, cout, into: dW)
                            }
                        }
                        if extra > 0 {
                            Parallel.chunks(cout * K) { _, r in
                                for w in 0..<extra {
                                    let s = partial + w * cout * K
                                    for i in r { dst[i] += s[i] }
                                }
                            }
                        }
                    }
                }}}}}
            }
        }
    }

    /// Gradient of a per-channel bias: `dOut [N, C, H, W] -> [C]`.
    public static func biasGradient(_ gradOutput: Tensor) -> Tensor {
        precondition(gradOutput.rank >= 2, "Convolution.biasGradient: needs [N, C, ...], got \(gradOutput.shape)")
        let n = gradOutput.shape[0], c = gradOutput.shape[1], plane = gradOutput.count / max(1, n * c)
        var out = [Float](repeating: 0, count: c)
        gradOutput.withUnsafeBufferPointer { g in
            for ch in 0..<c {
                var s: Double = 0
                for i in 0..<n {
                    let p = g.baseAddress! + (i * c + ch) * plane
                    var t: Float = 0
                    for j in 0..<plane { t += p[j] }
                    s += Double(t)
                }
                out[ch] = Float(s)
            }
        }
        return Tensor(shape: [c], scalars: out)
    }
}

/// A convolution weight packed into the GEMM's 6-row panels, for `Convolution.forward` (`W [Cout, K]`)
/// or `Convolution.backwardInput` (`Wᵀ [K, Cout]`). Reusable for as long as the weight does not change,
/// which saves repacking every call at inference. Immutable after creation.
public final class PackedConvolutionWeight: @unchecked Sendable {
    /// Which product the panels are for.
    public enum Use: Sendable { case forward, inputGradient }
    public let use: Use
    public let outChannels: Int, reduction: Int
    let panels: UnsafeMutablePointer<Float>

    init(_ weight: Tensor, outChannels: Int, reduction: Int, use: Use) {
        self.use = use; self.outChannels = outChannels; self.reduction = reduction
        let rows = use == .forward ? outChannels : reduction, depth = use == .forward ? reduction : outChannels
        panels = .allocate(capacity: (rows + MR - 1) / MR * depth * MR)
        weight.withUnsafeBufferPointer { wp in
            if use == .forward {
                GEMM.packA(wp.baseAddress!, m: outChannels, k: reduction, rowStride: reduction, colStride: 1, into: panels)
            } else {
                GEMM.packA(wp.baseAddress!, m: reduction, k: outChannels, rowStride: 1, colStride: reduction, into: panels)
            }
        }
    }

    deinit { panels.deallocate() }

    func check(_ expected: Use, outChannels c: Int, reduction k: Int) {
        precondition(use == expected && outChannels == c && reduction == k,
                     "Convolution: packed weight for \(use) \(outChannels)x\(reduction), needed \(expected) \(c)x\(k)")
    }
}

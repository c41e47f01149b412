import Imaging

/// A window accepted by a cascade, in pixels of the image the pyramid was built from.
struct RawWindow: Equatable {
    var x: Int, y: Int, width: Int, height: Int
}

/// One decision node with its feature resolved to integral-image offsets: 64 bytes, one cache line.
///
/// Rectangle `k` sums `table[base + o(4k)] - table[base + o(4k+1)] - table[base + o(4k+2)] + table[base + o(4k+3)]`
/// (tilted: OpenCV's p0 - p1 - p2 + p3); unused rectangles have weight 0 and offsets 0.
struct CompiledNode {
    var o0: Int32 = 0, o1: Int32 = 0, o2: Int32 = 0, o3: Int32 = 0
    var o4: Int32 = 0, o5: Int32 = 0, o6: Int32 = 0, o7: Int32 = 0
    var o8: Int32 = 0, o9: Int32 = 0, o10: Int32 = 0, o11: Int32 = 0
    var w0: Float = 0, w1: Float = 0, w2: Float = 0
    var threshold: Float = 0
}

/// A cascade bound to an integral-image stride: feature rectangles turned into offsets
/// (OpenCV's `HaarEvaluator::OptFeature::setOffsets`), one ``CompiledNode`` per tree node.
///
/// Layout: `nodes[n]` in the order of `CascadeClassifier.nodeFeature`; `children[2n]`, `children[2n+1]`
/// the left and right child (> 0: node relative to the tree root, <= 0: leaf `-child`).
struct BoundCascade {
    let cascade: CascadeClassifier
    let stride: Int
    var nodes: [CompiledNode]
    var children: [Int32]
    var nodeTilted: [Bool]
    let anyTilted: Bool
    /// Every weak classifier is a stump (one node, leaves 0 and 1), which allows the fast path.
    let stumps: Bool
    /// OpenCV's normalisation rectangle: the window without a one-pixel border.
    let normOffsets: (Int, Int, Int, Int)
    let normArea: Double

    init(_ cascade: CascadeClassifier, stride: Int) {
        self.cascade = cascade
        self.stride = stride
        var nodes = [CompiledNode](repeating: CompiledNode(), count: cascade.nodeFeature.count)
        var children = [Int32](repeating: 0, count: 2 * cascade.nodeFeature.count)
        var nodeTilted = [Bool](repeating: false, count: cascade.nodeFeature.count)
        for n in 0..<cascade.nodeFeature.count {
            let feature = cascade.features[Int(cascade.nodeFeature[n])]
            var offsets = [Int32](repeating: 0, count: 12)
            var weights: [Float] = [0, 0, 0]
            for (k, r) in feature.rects.enumerated() {
                let corners: [Int]
                if feature.tilted {
                    corners = [r.y * stride + r.x, (r.y + r.height) * stride + r.x - r.height,
                               (r.y + r.width) * stride + r.x + r.width,
                               (r.y + r.width + r.height) * stride + r.x + r.width - r.height]
                } else {
                    corners = [r.y * stride + r.x, r.y * stride + r.x + r.width,
                               (r.y + r.height) * stride + r.x, (r.y + r.height) * stride + r.x + r.width]
                }
                for c in 0..<4 { offsets[k * 4 + c] = Int32(corners[c]) }
                weights[k] = r.weight
            }
            nodes[n] = CompiledNode(o0: offsets[0], o1: offsets[1], o2: offsets[2], o3: offsets[3],
                                    o4: offsets[4], o5: offsets[5], o6: offsets[6], o7: offsets[7],
                                    o8: offsets[8], o9: offsets[9], o10: offsets[10], o11: offsets[11],
                                    w0: weights[0], w1: weights[1], w2: weights[2], threshold: cascade.nodeThreshold[n])
            children[2 * n] = cascade.nodeLeft[n]
            children[2 * n + 1] = cascade.nodeRight[n]
            nodeTilted[n] = feature.tilted
        }
        self.nodes = nodes
        self.children = children
        self.nodeTilted = nodeTilted
        anyTilted = nodeTilted.contains(true)
        var stumps = true
        for w in 0..<cascade.weakNodeStart.count {
            let nodeCount = (w + 1 < cascade.weakNodeStart.count ? Int(cascade.weakNodeStart[w + 1]) : cascade.nodeFeature.count)
                - Int(cascade.weakNodeStart[w])
            if nodeCount != 1 || Int(cascade.weakLeafStart[w]) != 2 * w || Int(cascade.weakNodeStart[w]) != w { stumps = false }
        }
        self.stumps = stumps
        let nw = cascade.windowWidth - 2, nh = cascade.windowHeight - 2
        normOffsets = (stride + 1, stride + 1 + nw, (1 + nh) * stride + 1, (1 + nh) * stride + 1 + nw)
        normArea = Double(nw * nh)
    }

    /// Scans one pyramid level.
    ///
    /// Windows start at every `step`-th position of `xRange` x `yRange` (top-left corners, level pixels);
    /// as in OpenCV's `CascadeClassifierInvoker`, a window rejected by the first stage also skips the next
    /// position. Returns the accepted top-left corners.
    func scan(_ integral: IntegralImage, xRange: Range<Int>, yRange: Range<Int>, step: Int) -> [(x: Int, y: Int)] {
        precondition(integral.stride == stride, "cascade bound to stride \(stride), integral has \(integral.stride)")
        precondition(!anyTilted || integral.tilted != nil, "cascade has tilted features; build the integral with tilted: true")
        var hits: [(x: Int, y: Int)] = []
        let tiltedTable = integral.tilted ?? []
        let c = cascade
        let stumps = self.stumps, anyTilted = self.anyTilted
        integral.sum.withUnsafeBufferPointer { sum in
        integral.square.withUnsafeBufferPointer { square in
        tiltedTable.withUnsafeBufferPointer { tiltedSum in
        nodes.withUnsafeBufferPointer { nodes in
        children.withUnsafeBufferPointer { children in
        nodeTilted.withUnsafeBufferPointer { nodeTilted in
        c.stageThreshold.withUnsafeBufferPointer { stageThreshold in
        c.stageWeakEnd.withUnsafeBufferPointer { stageWeakEnd in
        c.weakNodeStart.withUnsafeBufferPointer { weakNodeStart in
        c.weakLeafStart.withUnsafeBufferPointer { weakLeafStart in
        c.leaves.withUnsafeBufferPointer { leaves in
            let (n0, n1, n2, n3) = normOffsets
            let area = normArea
            let stageCount = stageThreshold.count
            /// Feature value of node `n` for the window at `base` (not yet normalised).
            @inline(__always) func featureValue(_ n: Int, _ base: Int) -> Float {
                let node = nodes[n]
                let t = (anyTilted && nodeTilted[n]) ? tiltedSum : sum
                let r0 = t[base + Int(node.o0)] &- t[base + Int(node.o1)] &- t[base + Int(node.o2)] &+ t[base + Int(node.o3)]
                let r1 = t[base + Int(node.o4)] &- t[base + Int(node.o5)] &- t[base + Int(node.o6)] &+ t[base + Int(node.o7)]
                let r2 = t[base + Int(node.o8)] &- t[base + Int(node.o9)] &- t[base + Int(node.o10)] &+ t[base + Int(node.o11)]
                return node.w0 * Float(r0) + node.w1 * Float(r1) + node.w2 * Float(r2)
            }
            var y = yRange.lowerBound
            while y < yRange.upperBound {
                var x = xRange.lowerBound
                while x < xRange.upperBound {
                    let base = y * stride + x
                    // Variance normalisation exactly as OpenCV's HaarEvaluator::setWindow.
                    let windowSum = Double(sum[base + n0] &- sum[base + n1] &- sum[base + n2] &+ sum[base + n3])
                    let windowSquare = Double(UInt32(bitPattern: square[base + n0] &- square[base + n1] &- square[base + n2] &+ square[base + n3]))
                    var nf = area * windowSquare - windowSum * windowSum
                    var accepted = false
                    var rejectedFirst = false  // flat windows (OpenCV returns -1) do not skip
                    if nf > 0 {
                        nf = nf.squareRoot()
                        let normFactor = Float(1 / nf)
                        if area * Double(normFactor) < 0.1 {
                            accepted = true
                            var weak = 0
                            for stage in 0..<stageCount {
                                var stageSum: Float = 0
                                let end = Int(stageWeakEnd[stage])
                                if stumps {
                                    while weak < end {
                                        let value = featureValue(weak, base) * normFactor
                                        stageSum += value < nodes[weak].threshold ? leaves[2 * weak] : leaves[2 * weak + 1]
                                        weak += 1
                                    }
                                } else {
                                    while weak < end {
                                        let root = Int(weakNodeStart[weak])
                                        var index = 0
                                        repeat {
                                            let n = root + index
                                            let value = featureValue(n, base) * normFactor
                                            index = Int(value < nodes[n].threshold ? children[2 * n] : children[2 * n + 1])
                                        } while index > 0
                                        stageSum += leaves[Int(weakLeafStart[weak]) - index]
                                        weak += 1
                                    }
                                }
                                if stageSum < stageThreshold[stage] {
                                    accepted = false
                                    rejectedFirst = stage == 0
                                    break
                                }
                            }
                        }
                    }
                    if accepted { hits.append((x, y)) }
                    x += rejectedFirst ? 2 * step : step
                }
                y += step
            }
        }}}}}}}}}}}
        return hits
    }
}

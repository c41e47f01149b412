import Foundation
import Randomness

/// Checks that attributions are faithful to the model, not merely plausible.
public enum Faithfulness {
    // MARK: Model-parameter randomisation (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018)

    /// Spearman rank correlation of two maps (ties get their average rank).
    ///
    /// For the randomisation check, pass the trained model's map and the map of the same input
    /// under a model with randomised parameters; a faithful method gives a low value. Adebayo et
    /// al. also compare absolute values; pass `absolute: true` for that variant.
    /// - Returns: the correlation in `-1...1`; 0 when either map is constant.
    public static func spearman(_ a: [Float], _ b: [Float], absolute: Bool = false) -> Double {
        precondition(a.count == b.count && !a.isEmpty, "maps need the same non-zero size, got \(a.count) and \(b.count)")
        let ra = ranks(absolute ? a.map { abs($0) } : a), rb = ranks(absolute ? b.map { abs($0) } : b)
        return pearson(ra, rb)
    }

    /// Average ranks (1-based) with ties sharing the mean rank.
    static func ranks(_ values: [Float]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var out = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for t in i...j { out[order[t]] = rank }
            i = j + 1
        }
        return out
    }

    /// Pearson correlation; 0 when either side is constant.
    public static func pearson(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count && !a.isEmpty, "series need the same non-zero length")
        let n = Double(a.count)
        let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
        var cov = 0.0, va = 0.0, vb = 0.0
        for i in 0..<a.count {
            let x = a[i] - ma, y = b[i] - mb
            cov += x * y; va += x * x; vb += y * y
        }
        return va > 0 && vb > 0 ? cov / (va * vb).squareRoot() : 0
    }

    // MARK: Deletion (Petsiuk et al., RISE, BMVC 2018)

    /// A deletion curve and its random-order reference.
    public struct DeletionResult: Sendable, Equatable, Codable {
        /// Fractions of pixels removed, `0...1` (`steps + 1` points).
        public var fractions: [Double]
        /// p(fake) as the most-attributed pixels are removed first.
        public var attributionOrder: [Double]
        /// p(fake) as pixels are removed in random order (mean over `randomRuns`).
        public var randomOrder: [Double]
        /// Trapezoid area under each curve.
        public var attributionArea: Double
        public var randomArea: Double
        /// `randomArea - attributionArea`: positive when the attribution finds the evidence faster.
        public var areaBetween: Double
    }

    /// Removes pixels from the input in order of attribution (and at random) and records p(fake).
    ///
    /// A removed pixel takes the `replacement` value in every channel (for example the blurred or
    /// black baseline from ``Baseline/make(for:shape:normalization:sample:)``).
    /// - Parameters:
    ///   - model: the model (only logits are used; p = sigmoid(logit)).
    ///   - input: `[C, H, W]` normalised input.
    ///   - map: `[H, W]` attributions (channel sum); most positive removed first.
    ///   - replacement: `[C, H, W]` values of removed pixels.
    ///   - steps: number of removal steps (each removes `1/steps` of the pixels).
    ///   - randomRuns: random orders averaged.
    ///   - seed: seed of the random orders.
    ///   - batchSize: images per model call.
    /// - Throws: ``ExplainError/shapeMismatch(name:expected:actual:)``; model errors.
    public static func deletion<Model: AttributableModel>(model: Model, input: [Float], map: [Float], replacement: [Float],
                                                          steps: Int = 20, randomRuns: Int = 3, seed: UInt64 = 0,
                                                          batchSize: Int = 16) throws -> DeletionResult {
        let shape = model.inputShape
        guard input.count == shape.count, replacement.count == shape.count, map.count == shape.planeCount else {
            throw ExplainError.shapeMismatch(name: "deletion inputs", expected: "input/replacement \(shape.count), map \(shape.planeCount)",
                                             actual: "\(input.count), \(replacement.count), \(map.count)")
        }
        precondition(steps >= 1 && randomRuns >= 1, "deletion needs at least one step and one random run")
        let plane = shape.planeCount
        let attributionOrder = map.indices.sorted { (map[$0], -$0) > (map[$1], -$1) }
        var rng = SplitMix64(seed: seed)
        let randomOrders = (0..<randomRuns).map { _ in Array(0..<plane).shuffled(using: &rng) }
        func curve(_ order: [Int]) throws -> [Double] {
            var images: [Float] = []
            images.reserveCapacity((steps + 1) * shape.count)
            var current = input
            for s in 0...steps {
                if s > 0 {
                    let from = plane * (s - 1) / steps, to = plane * s / steps
                    for t in from..<to {
                        let p = order[t]
                        for c in 0..<shape.channels { current[c * plane + p] = replacement[c * plane + p] }
                    }
                }
                images.append(contentsOf: current)
            }
            var probabilities: [Double] = []
            var first = 0
            while first <= steps {
                let n = min(batchSize, steps + 1 - first)
                let logits = try model.logits(Array(images[(first * shape.count)..<((first + n) * shape.count)]), batch: n)
                guard logits.count == n else { throw ExplainError.shapeMismatch(name: "model logits", expected: "\(n)", actual: "\(logits.count)") }
                probabilities += logits.map { 1 / (1 + exp(-Double($0))) }
                first += n
            }
            return probabilities
        }
        let attributed = try curve(attributionOrder)
        var random = [Double](repeating: 0, count: steps + 1)
        for order in randomOrders {
            let c = try curve(order)
            for i in 0...steps { random[i] += c[i] / Double(randomRuns) }
        }
        let fractions = (0...steps).map { Double($0) / Double(steps) }
        func area(_ y: [Double]) -> Double { (0..<steps).reduce(0) { $0 + (y[$1] + y[$1 + 1]) / 2 / Double(steps) } }
        let a = area(attributed), r = area(random)
        return DeletionResult(fractions: fractions, attributionOrder: attributed, randomOrder: random,
                              attributionArea: a, randomArea: r, areaBetween: r - a)
    }

    // MARK: Localisation on known blend masks

    /// Attribution inside a known manipulation mask.
    public struct MaskAgreement: Sendable, Equatable, Codable {
        /// Share of positive attribution inside the mask.
        public var positiveShareInMask: Double
        /// Share of the crop covered by the mask.
        public var maskAreaShare: Double
        /// `positiveShareInMask / maskAreaShare` (goal ≥ 2).
        public var enrichment: Double
        /// The same enrichment on the map's net attribution per `patchSize` square: each patch's signed
        /// sum (IG attributions add up, so a patch's sum is what that patch contributed), positive part,
        /// weighted by the share of the patch inside the mask. Pixel attributions alternate in sign from
        /// one pixel to the next (about 47% of the absolute mass is negative in the shipped detector's
        /// maps), and the positive halves of those cancelling pairs spread evenly over the crop, which
        /// pulls the pixel-level `enrichment` towards 1 whatever the map's net evidence is.
        public var patchEnrichment: Double
        /// Whether the map's maximum lies inside the mask dilated by `dilation` pixels
        /// (the pointing game, Zhang et al. 2016).
        public var pointingHit: Bool
        /// The same game on the map smoothed by a Gaussian of `peakSmoothing` pixels: a pixel-level
        /// integrated-gradients map is speckled, so its single brightest pixel is a noisy witness of
        /// where the map's mass peaks; the smoothed peak is what a reader sees in the heatmap.
        public var smoothedPointingHit: Bool
    }

    /// Mask share and pointing game.
    /// - Parameters:
    ///   - map: `[H, W]` attributions.
    ///   - mask: `[H, W]` blend weights; a pixel counts as inside when its weight is above half the
    ///     mask's peak (see ``insideThreshold(of:)``).
    ///   - dilation: pointing-game tolerance in pixels (square dilation).
    ///   - peakSmoothing: Gaussian sigma in pixels for `smoothedPointingHit`.
    ///   - patchSize: side of the squares for `patchEnrichment` (edge patches may be smaller).
    public static func maskAgreement(map: [Float], mask: [Float], width: Int, height: Int, dilation: Int = 8,
                                     peakSmoothing: Double = 4, patchSize: Int = 8) -> MaskAgreement {
        precondition(map.count == width * height && mask.count == width * height, "map and mask must be \(width)x\(height)")
        let threshold = insideThreshold(of: mask)
        var inside = 0.0, total = 0.0, area = 0
        for i in 0..<map.count {
            let v = Double(max(map[i], 0))
            total += v
            if mask[i] > threshold { inside += v; area += 1 }
        }
        func hits(_ values: [Float]) -> Bool {
            var peak = 0
            for i in values.indices where values[i] > values[peak] { peak = i }
            let px = peak % width, py = peak / width
            for y in max(0, py - dilation)...min(height - 1, py + dilation) {
                for x in max(0, px - dilation)...min(width - 1, px + dilation) where mask[y * width + x] > threshold { return true }
            }
            return false
        }
        let smoothed = peakSmoothing > 0
            ? GaussianBlur.planes(map, planes: 1, height: height, width: width, sigma: peakSmoothing) : map
        let share = total > 0 ? inside / total : 0
        let areaShare = Double(area) / Double(map.count)
        let patchShare = netPositiveShareInMask(map: map, mask: mask, threshold: threshold, width: width, height: height,
                                                patchSize: patchSize)
        return MaskAgreement(positiveShareInMask: share, maskAreaShare: areaShare,
                             enrichment: areaShare > 0 ? share / areaShare : 0,
                             patchEnrichment: areaShare > 0 ? patchShare / areaShare : 0,
                             pointingHit: hits(map), smoothedPointingHit: hits(smoothed))
    }

    /// The blend weight above which a pixel counts as inside the mask: half the mask's peak.
    ///
    /// A synthesized fake's mask is its blend weight, the face shape times the blend ratio. A face
    /// blended at 54% opacity is manipulated over its whole shape, yet no pixel of its mask
    /// exceeds 0.5; a fixed 0.5 would shrink such a region to a core or to nothing. Half the peak
    /// is the shape's own half-way contour at any opacity, and 0.5 for a fully opaque blend.
    static func insideThreshold(of mask: [Float]) -> Float {
        0.5 * (mask.max() ?? 0)
    }

    /// Share of the positive net attribution of `patchSize` squares that lies inside the mask, a patch
    /// counting in proportion to its pixels inside (`mask > threshold`); 0 when no patch has a positive sum.
    static func netPositiveShareInMask(map: [Float], mask: [Float], threshold: Float, width: Int, height: Int,
                                       patchSize: Int) -> Double {
        precondition(patchSize >= 1, "patch size must be positive")
        var inside = 0.0, total = 0.0
        for y0 in stride(from: 0, to: height, by: patchSize) {
            for x0 in stride(from: 0, to: width, by: patchSize) {
                var sum = 0.0, covered = 0, pixels = 0
                for y in y0..<min(height, y0 + patchSize) {
                    for x in x0..<min(width, x0 + patchSize) {
                        sum += Double(map[y * width + x]); pixels += 1
                        if mask[y * width + x] > threshold { covered += 1 }
                    }
                }
                guard sum > 0 else { continue }
                total += sum
                inside += sum * Double(covered) / Double(pixels)
            }
        }
        return total > 0 ? inside / total : 0
    }
}

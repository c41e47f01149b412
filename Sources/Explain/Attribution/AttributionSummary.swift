import Imaging

/// Face regions used to summarise where an attribution map puts its weight.
///
/// Regions come from the face box's geometry alone (no landmarks), in coordinates normalised to
/// the box, `u = (x - box.x) / box.width`, `v = (y - box.y) / box.height`, with the face modelled as
/// the ellipse inscribed in the box, `r² = ((u - 0.5) / 0.5)² + ((v - 0.5) / 0.5)²`. First match wins:
///
/// | region | rule |
/// |---|---|
/// | `eyes` | `0.12 ≤ u ≤ 0.88`, `0.24 ≤ v < 0.46` (both eyes and brows) |
/// | `nose` | `0.34 ≤ u ≤ 0.66`, `0.46 ≤ v < 0.66` |
/// | `mouth` | `0.26 ≤ u ≤ 0.74`, `0.66 ≤ v < 0.88` |
/// | `boundary` | `0.85 ≤ r < 1.15`: a ring around the face outline, where blends leave seams |
/// | `faceRest` | `r < 0.85` (cheeks, forehead, chin) |
/// | `background` | everything else in the crop |
///
/// The proportions follow the usual layout of a Viola–Jones/aligned face box (eyes about 38 % down,
/// mouth about 77 %).
public enum FaceRegion: String, Sendable, Codable, CaseIterable {
    case eyes, nose, mouth, boundary, faceRest, background

    /// The region of the pixel centre (`x + 0.5`, `y + 0.5`) for a face box in the same coordinates.
    public static func classify(x: Double, y: Double, faceBox box: Box) -> FaceRegion {
        guard box.width > 0, box.height > 0 else { return .background }
        let u = (x - box.x) / box.width, v = (y - box.y) / box.height
        let du = (u - 0.5) / 0.5, dv = (v - 0.5) / 0.5
        let r = (du * du + dv * dv).squareRoot()
        if r < 1.15 {
            if (0.12...0.88).contains(u) && v >= 0.24 && v < 0.46 { return .eyes }
            if (0.34...0.66).contains(u) && v >= 0.46 && v < 0.66 { return .nose }
            if (0.26...0.74).contains(u) && v >= 0.66 && v < 0.88 { return .mouth }
        }
        if r >= 0.85 && r < 1.15 { return .boundary }
        if r < 0.85 { return .faceRest }
        return .background
    }

    /// The `[H, W]` region label of every pixel of a crop.
    public static func labels(width: Int, height: Int, faceBox: Box) -> [FaceRegion] {
        var out = [FaceRegion](repeating: .background, count: width * height)
        for y in 0..<height { for x in 0..<width { out[y * width + x] = classify(x: Double(x) + 0.5, y: Double(y) + 0.5, faceBox: faceBox) } }
        return out
    }
}

/// The attribution mass of one region.
public struct RegionShare: Sendable, Equatable, Codable {
    public var region: FaceRegion
    /// Share of the map's positive attribution (`Σ max(a, 0)`) inside the region, 0...1.
    public var positiveShare: Double
    /// Share of the crop's pixels inside the region (the share a uniform map would give).
    public var areaShare: Double
    /// Signed sum of the attribution inside the region (logit units).
    public var signedSum: Double

    public init(region: FaceRegion, positiveShare: Double, areaShare: Double, signedSum: Double) {
        self.region = region
        self.positiveShare = positiveShare
        self.areaShare = areaShare
        self.signedSum = signedSum
    }
}

/// One square patch of the crop: its net contribution and its share of positive attribution.
public struct PatchShare: Sendable, Equatable, Codable {
    /// Patch rectangle in crop pixels.
    public var x: Int, y: Int, width: Int, height: Int
    /// Share of the map's positive attribution inside the patch.
    public var positiveShare: Double
    /// Signed sum inside the patch.
    public var signedSum: Double

    public init(x: Int, y: Int, width: Int, height: Int, positiveShare: Double, signedSum: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
        self.positiveShare = positiveShare
        self.signedSum = signedSum
    }
}

/// Numeric summaries of a `[H, W]` attribution map (channels already summed).
public enum AttributionSummary {
    /// Positive-attribution share by face region (see ``FaceRegion`` for the geometry).
    /// - Parameters:
    ///   - map: `[height, width]` attributions.
    ///   - width: crop width.
    ///   - height: crop height.
    ///   - faceBox: the face box in crop pixel coordinates.
    /// - Returns: one entry per ``FaceRegion`` in `allCases` order; shares are 0 if the map has no
    ///   positive attribution.
    public static func regions(map: [Float], width: Int, height: Int, faceBox: Box) -> [RegionShare] {
        precondition(map.count == width * height, "map has \(map.count) values, \(width)x\(height) needs \(width * height)")
        let labels = FaceRegion.labels(width: width, height: height, faceBox: faceBox)
        var positive = [Double](repeating: 0, count: FaceRegion.allCases.count)
        var signed = positive, area = positive
        let index = Dictionary(uniqueKeysWithValues: FaceRegion.allCases.enumerated().map { ($1, $0) })
        for i in 0..<map.count {
            let r = index[labels[i]]!
            let v = Double(map[i])
            positive[r] += max(v, 0)
            signed[r] += v
            area[r] += 1
        }
        let total = positive.reduce(0, +)
        return FaceRegion.allCases.enumerated().map { r, region in
            RegionShare(region: region, positiveShare: total > 0 ? positive[r] / total : 0,
                        areaShare: area[r] / Double(map.count), signedSum: signed[r])
        }
    }

    /// The `count` patches of a non-overlapping `patchSize` grid that pushed the logit up the most: the
    /// largest signed sums (IG attributions add up, so a patch's sum is its contribution).
    ///
    /// Not ranked by positive share: pixel attributions alternate in sign, so a patch of strong but
    /// cancelling gradients can hold the most positive mass while its net contribution is negative (the
    /// top patch of a sample scan had 5.8% of the positive mass and a net of -3.7 logits).
    /// - Parameters:
    ///   - map: `[height, width]` attributions.
    ///   - patchSize: patch side in pixels (edge patches may be smaller).
    ///   - count: how many to return.
    /// - Returns: patches sorted by descending signed sum (ties by position).
    public static func topPatches(map: [Float], width: Int, height: Int, patchSize: Int = 16, count: Int = 5) -> [PatchShare] {
        precondition(map.count == width * height, "map has \(map.count) values, \(width)x\(height) needs \(width * height)")
        precondition(patchSize >= 1, "patch size must be positive")
        var total = 0.0
        for v in map where v > 0 { total += Double(v) }
        var patches: [PatchShare] = []
        var py = 0
        while py < height {
            var px = 0
            let ph = min(patchSize, height - py)
            while px < width {
                let pw = min(patchSize, width - px)
                var pos = 0.0, sum = 0.0
                for y in py..<(py + ph) { for x in px..<(px + pw) { let v = Double(map[y * width + x]); pos += max(v, 0); sum += v } }
                patches.append(PatchShare(x: px, y: py, width: pw, height: ph, positiveShare: total > 0 ? pos / total : 0, signedSum: sum))
                px += patchSize
            }
            py += patchSize
        }
        patches.sort { ($0.signedSum, -$0.y, -$0.x) > ($1.signedSum, -$1.y, -$1.x) }
        return Array(patches.prefix(count))
    }
}

/// Heat-map images of attribution maps, laid over the crop.
public enum AttributionHeatmap {
    /// How values become colours.
    public enum Style: Sendable {
        /// Positive attribution only, `[0, p-th percentile]` through inferno.
        case positive
        /// Signed, symmetric `[-p, p]` through blue-white-red.
        case signed
    }

    /// Gaussian sigma (pixels) that scans' heat maps apply before colouring. Pixel attributions
    /// alternate in sign, so an unsmoothed positive map is a field of dots wherever gradients are strong;
    /// a local average shows where the net evidence is (the raw maps stay unsmoothed in `rawMaps`).
    public static let displaySmoothing = 2.0

    /// A colour image of `map`, optionally blended over the crop.
    /// - Parameters:
    ///   - map: `[height, width]` attributions.
    ///   - crop: the input crop (any size; the heat map is resized to it), or `nil` for the map alone.
    ///   - style: colouring.
    ///   - percentile: the magnitude that saturates the colour map is this percentile of `|a|`
    ///     (robust to a few extreme pixels); default 99.
    ///   - alpha: opacity of the map over the crop.
    ///   - smoothing: Gaussian sigma in pixels applied to the signed map before colouring; 0 for none.
    /// - Returns: the image (the crop's size when a crop is given).
    public static func image(map rawMap: [Float], width: Int, height: Int, crop: RGBImage? = nil, style: Style = .positive,
                             percentile: Double = 99, alpha: Float = 0.6, smoothing: Double = 0) -> RGBImage {
        precondition(rawMap.count == width * height, "map has \(rawMap.count) values, \(width)x\(height) needs \(width * height)")
        let map = smoothing > 0 ? GaussianBlur.planes(rawMap, planes: 1, height: height, width: width, sigma: smoothing) : rawMap
        let magnitudes = map.map { abs($0) }.sorted()
        let p = max(0, min(magnitudes.count - 1, Int((percentile / 100 * Double(magnitudes.count - 1)).rounded())))
        let top = max(magnitudes[p], .leastNormalMagnitude)
        let gray = GrayImage(width: width, height: height, values: map)
        let colored: RGBImage
        switch style {
        case .positive: colored = gray.colorMapped(.inferno, range: 0...top)
        case .signed: colored = gray.colorMapped(.blueWhiteRed, range: -top...top)
        }
        guard let crop else { return colored }
        return crop.blended(with: colored, alpha: alpha)
    }

    /// PNG bytes of ``image(map:width:height:crop:style:percentile:alpha:smoothing:)``.
    public static func pngData(map: [Float], width: Int, height: Int, crop: RGBImage? = nil, style: Style = .positive,
                               percentile: Double = 99, alpha: Float = 0.6, smoothing: Double = 0) -> [UInt8] {
        PNG.encode(image(map: map, width: width, height: height, crop: crop, style: style, percentile: percentile, alpha: alpha,
                         smoothing: smoothing))
    }
}

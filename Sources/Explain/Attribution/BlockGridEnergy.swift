import Imaging

/// How much of an attribution map's energy sits on a codec's 8x8 block grid.
///
/// Block codecs (JPEG, H.264, MPEG-4) cut each frame into 8x8 blocks starting at frame pixel (0, 0).
/// A detector that has learnt compression artefacts rather than manipulation traces puts its
/// attribution on block boundaries. The crop maps to the frame by
/// `frameX = cropBox.x + (x + 0.5) * cropBox.width / width` (same for y), so each crop pixel has a
/// grid phase `(floor(frameX) mod 8, floor(frameY) mod 8)`. The boundary share is the share of
/// energy on pixels whose phase is 0 or 7 in either axis (the two pixels either side of a block
/// edge). Comparing it with the same figure for the grid shifted by `(s, s)`, `s = 1…7`, gives a
/// ratio that is about 1 for a map blind to the grid and well above 1 for a grid-locked map.
public struct BlockGridEnergy: Sendable, Equatable, Codable {
    /// Energy per phase `[8 * phaseY + phaseX]`, normalised to sum 1.
    public var phaseShares: [Double]
    /// Energy share on boundary pixels of the true grid.
    public var boundaryShare: Double
    /// Energy share on boundary pixels of the grid shifted by `(s, s)`, `s = 1…7`.
    public var shiftedBoundaryShares: [Double]
    /// `boundaryShare / mean(shiftedBoundaryShares)` (1 when the map ignores the grid).
    public var ratio: Double

    /// Energy measure of one attribution value.
    public enum Energy: String, Sendable, Codable { case squared, absolute }

    /// - Parameters:
    ///   - map: `[height, width]` attributions of the crop.
    ///   - width: crop width in pixels.
    ///   - height: crop height in pixels.
    ///   - cropBox: the crop's rectangle in frame pixels (its scale is `cropBox.width / width`).
    ///   - blockSize: codec block size, 8.
    ///   - energy: `|a|²` (default) or `|a|`.
    public init(map: [Float], width: Int, height: Int, cropBox: Box, blockSize: Int = 8, energy: Energy = .squared) {
        precondition(map.count == width * height, "map has \(map.count) values, \(width)x\(height) needs \(width * height)")
        precondition(blockSize >= 2, "block size must be at least 2")
        let b = blockSize
        var phases = [Double](repeating: 0, count: b * b)
        let sx = cropBox.width / Double(width), sy = cropBox.height / Double(height)
        func phase(_ frame: Double) -> Int { let f = Int(frame.rounded(.down)) % b; return f < 0 ? f + b : f }
        for y in 0..<height {
            let py = phase(cropBox.y + (Double(y) + 0.5) * sy)
            for x in 0..<width {
                let px = phase(cropBox.x + (Double(x) + 0.5) * sx)
                let v = Double(map[y * width + x])
                phases[py * b + px] += energy == .squared ? v * v : abs(v)
            }
        }
        let total = phases.reduce(0, +)
        let shares = phases.map { total > 0 ? $0 / total : 0 }
        phaseShares = shares
        func boundary(shift s: Int) -> Double {
            var sum = 0.0
            for py in 0..<b {
                for px in 0..<b {
                    let qx = (px - s + b) % b, qy = (py - s + b) % b
                    if qx == 0 || qx == b - 1 || qy == 0 || qy == b - 1 { sum += shares[py * b + px] }
                }
            }
            return sum
        }
        let aligned = boundary(shift: 0)
        let shifted = (1..<b).map { boundary(shift: $0) }
        let meanShifted = shifted.reduce(0, +) / Double(b - 1)
        boundaryShare = aligned
        shiftedBoundaryShares = shifted
        ratio = meanShifted > 0 ? aligned / meanShifted : 0
    }
}

import Testing
import Imaging

/// The one separable filter behind every blur: checked against a direct two-dimensional sum.
struct SeparableFilterTests {
    /// `[H, W, C]` values with some structure and no symmetry.
    static func values(width: Int, height: Int, channels: Int) -> [Float] {
        (0..<(width * height * channels)).map { Float(($0 &* 7919) % 101) / 10 - 5 }
    }

    /// out(x, y) = Σ_j Σ_i k[j] k[i] in(x + i - r, y + j - r), with the edge rule, in Double.
    static func direct(_ v: [Float], width: Int, height: Int, channels: Int, kernel: [Float], edge: FilterEdge) -> [Double] {
        let r = kernel.count / 2
        var out = [Double](repeating: 0, count: v.count)
        for y in 0..<height { for x in 0..<width { for c in 0..<channels {
            var sum = 0.0
            for j in 0..<kernel.count { for i in 0..<kernel.count {
                var sx = x + i - r, sy = y + j - r
                if sx < 0 || sx >= width || sy < 0 || sy >= height {
                    if edge == .zero { continue }
                    sx = min(max(sx, 0), width - 1); sy = min(max(sy, 0), height - 1)
                }
                sum += Double(kernel[j]) * Double(kernel[i]) * Double(v[(sy * width + sx) * channels + c])
            } }
            out[(y * width + x) * channels + c] = sum
        } } }
        return out
    }

    @Test(arguments: [FilterEdge.clamp, .zero])
    func matchesTheDirectSum(edge: FilterEdge) {
        let width = 13, height = 9, channels = 3
        let input = Self.values(width: width, height: height, channels: channels)
        let kernel = gaussianTaps(sigma: 1.3)
        #expect(kernel.count == 2 * 4 + 1)
        let filtered = input.withUnsafeBufferPointer {
            separableFilter($0, width: width, height: height, channels: channels, kernel: kernel, edge: edge)
        }
        let reference = Self.direct(input, width: width, height: height, channels: channels, kernel: kernel, edge: edge)
        for (a, b) in zip(filtered, reference) { #expect(abs(Double(a) - b) < 1e-4) }
    }

    @Test func tapsAreNormalisedAndSymmetric() {
        let taps = gaussianTaps(sigma: 2)
        #expect(taps.count == 13)
        #expect(abs(taps.reduce(0, +) - 1) < 1e-6)
        for i in 0..<taps.count { #expect(taps[i] == taps[taps.count - 1 - i]) }
        #expect(taps[6] == taps.max())
    }

    @Test func clampKeepsAConstantImageAndZeroDarkensItsBorder() {
        let constant = [Float](repeating: 2, count: 8 * 6)
        let kept = constant.withUnsafeBufferPointer {
            separableFilter($0, width: 8, height: 6, channels: 1, kernel: gaussianTaps(sigma: 1), edge: .clamp)
        }
        for v in kept { #expect(abs(v - 2) < 1e-5) }
        let faded = constant.withUnsafeBufferPointer {
            separableFilter($0, width: 8, height: 6, channels: 1, kernel: gaussianTaps(sigma: 1), edge: .zero)
        }
        #expect(faded[0] < 1.9)                      // a corner loses what lies outside
        #expect(abs(faded[3 * 8 + 4] - 2) < 0.1)     // the middle hardly does
    }
}

import Testing
@testable import Detector
import Imaging

/// The dense target of the auxiliary mask head, cell by cell.
struct MaskGridTests {
    /// A 64x64 mask: 1 in the left half, a linear ramp from 1 to 0 over columns 32..<48, 0 beyond.
    static let ramp: GrayImage = {
        var values = [Float](repeating: 0, count: 64 * 64)
        for y in 0..<64 {
            for x in 0..<64 { values[y * 64 + x] = x < 32 ? 1 : (x < 48 ? Float(48 - x) / 16 : 0) }
        }
        return GrayImage(width: 64, height: 64, values: values)
    }()

    @Test func maskTargetAveragesTheMaskAndMirrorsWithTheImage() {
        let window = Box(x: 0, y: 0, width: 64, height: 64)
        let cells = TrainingSampler.maskGrid(Self.ramp, window: window, grid: 4, flipped: false)
        #expect(cells.count == 16)
        #expect(cells[0] == 1 && cells[1] == 1)          // inside the blend
        #expect(cells[2] > 0.3 && cells[2] < 0.7)        // on the ramp
        #expect(cells[3] == 0)                           // outside
        let mirrored = TrainingSampler.maskGrid(Self.ramp, window: window, grid: 4, flipped: true)
        #expect(mirrored[0] == 0 && mirrored[3] == 1)
    }

    @Test func seamTargetIsZeroInsideAndOutsideAndPeaksOnTheRamp() {
        let window = Box(x: 0, y: 0, width: 64, height: 64)
        let seam = TrainingSampler.maskGrid(Self.ramp, window: window, grid: 4, flipped: false, target: .seam)
        #expect(seam[0] == 0 && seam[1] == 0 && seam[3] == 0)
        // 4 m (1 - m) over a ramp from 1 to 0 averages 2/3.
        #expect(abs(seam[2] - 2.0 / 3.0) < 0.05)
    }
}

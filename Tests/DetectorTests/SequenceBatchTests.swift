import Imaging
import Synthesis
import Testing
@testable import Detector

@Suite("sequence batches")
struct SequenceBatchTests {
    /// Pair makers draw from the generator they are given: a pair's images record its first draw.
    func batch(seed: UInt64, salt: UInt64 = 0) -> (inputs: [Float], labels: [Float]) {
        sequenceBatch(pairs: 5, seed: seed, salt: salt, format: InputFormat(size: 2)) { rng in
            let value = UInt8(rng.next() % 251)
            let real = (0..<3).map { _ in RGBImage(width: 2, height: 2, fill: (value, 0, 0)) }
            let fake = (0..<3).map { _ in RGBImage(width: 2, height: 2, fill: (value, 255, 0)) }
            return (real, fake)
        }
    }

    @Test func layoutLabelsAndDeterminism() {
        let a = batch(seed: 4)
        #expect(a.labels == [0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
        #expect(a.inputs.count == 10 * 3 * 3 * 2 * 2)          // 10 sequences x 3 frames x [3, 2, 2]
        let perSequence = 3 * 3 * 2 * 2
        for pair in 0..<5 {
            let real = Array(a.inputs[(2 * pair * perSequence)..<((2 * pair + 1) * perSequence)])
            let fake = Array(a.inputs[((2 * pair + 1) * perSequence)..<((2 * pair + 2) * perSequence)])
            #expect(real[0] == fake[0], "a pair shares its draw")
            #expect(real[4] == 0 && fake[4] == 1, "green plane: 0 for the real, 1 for the fake")
        }
        #expect(batch(seed: 4).inputs == a.inputs, "same seed, same batch, whatever the thread timing")
        #expect(batch(seed: 5).inputs != a.inputs)
        #expect(batch(seed: 4, salt: 0x5E0).inputs != a.inputs, "the salt separates samplers")
    }
}

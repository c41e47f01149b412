import Foundation
import Imaging
import Randomness
import Synthesis
import VideoIO

/// Makes real and fake sequences of consecutive video crops for the temporal head.
///
/// A fake sequence draws one set of manipulation parameters and applies it to every frame
/// (temporal flicker varies its own parameters with the frame index), which is how a face swap
/// of a whole clip behaves; framing, rescale and JPEG quality are shared by the real/fake pair.
public struct SequenceSampler: Sendable {
    public let store: CropStore
    public let frames: Int
    public let methods: [ManipulationMethod]
    public let format: InputFormat
    /// Compression and rescaling shared by each sequence pair (every frame alike).
    public var codec = CodecAugmentation.standard
    /// Store indices of each video source, in frame order.
    private let clips: [[Int]]

    public init(store: CropStore, split: DataSplit, frames: Int, methods: [ManipulationMethod],
                format: InputFormat = InputFormat()) {
        self.store = store
        self.frames = frames
        self.methods = methods
        self.format = format
        var bySource: [String: [Int]] = [:]
        for index in store.indices(in: split) where store.records[index].label == "real" { bySource[store.records[index].source, default: []].append(index) }
        clips = bySource.keys.sorted().compactMap { key in
            let indices = bySource[key]!.sorted { store.records[$0].frameIndex < store.records[$1].frameIndex }
            return indices.count >= frames ? indices : nil
        }
    }

    /// True when at least one video has enough crops for a sequence.
    public var hasSequences: Bool { !clips.isEmpty }

    /// `pairs` real and fake sequences: inputs `[2*pairs, frames, 3, S, S]` flattened, one label per sequence.
    public func batch(pairs: Int, seed: UInt64) -> (inputs: [Float], labels: [Float]) {
        precondition(hasSequences, "no video sequences on this side of the split")
        return sequenceBatch(pairs: pairs, seed: seed, format: format) { rng in makePair(using: &rng) }
    }

    func makePair(using rng: inout SplitMix64) -> ([RGBImage], [RGBImage]) {
        let clip = clips[Int(rng.next() % UInt64(clips.count))]
        let start = Int(rng.next() % UInt64(clip.count - frames + 1))
        let indices = Array(clip[start..<(start + frames)])
        let method = methods[Int(rng.next() % UInt64(methods.count))]
        let parameters = ManipulationParameters.random(for: method, using: &rng, hasReference: true)
        let referenceIndex = clip[Int(rng.next() % UInt64(clip.count))]
        let reference = FaceSample(image: store.image(at: referenceIndex), box: store.records[referenceIndex].faceBox)
        let scale = rng.uniform(0.9...1.12), shiftX = rng.uniform(-0.05...0.05), shiftY = rng.uniform(-0.05...0.05)
        let flip = rng.next() % 2 == 0
        let degradation = codec.draw(using: &rng)
        var real: [RGBImage] = [], fake: [RGBImage] = []
        for (position, index) in indices.enumerated() {
            let record = store.records[index]
            let crop = store.image(at: index)
            let manipulated = Synthesizer.makeFake(parameters: parameters, target: crop, box: record.faceBox,
                                                   donor: nil, reference: reference, frameIndex: position).image
            let face = record.faceBox
            let side = max(face.width, face.height) * format.margin * scale
            let window = Box(x: face.centerX - side / 2 + side * shiftX, y: face.centerY - side / 2 + side * shiftY,
                             width: side, height: side)
            var realOut = crop.resampled(box: window, width: format.size, height: format.size)
            var fakeOut = manipulated.resampled(box: window, width: format.size, height: format.size)
            if flip { realOut = realOut.flippedHorizontally(); fakeOut = fakeOut.flippedHorizontally() }
            realOut = degradation.apply(to: realOut)
            fakeOut = degradation.apply(to: fakeOut)
            real.append(realOut)
            fake.append(fakeOut)
        }
        return (real, fake)
    }
}

/// `pairs` (real, fake) sequence pairs made concurrently, pair `i` from its own generator seeded by
/// (`seed`, `i`, `salt`), laid out as inputs `[2*pairs, frames, 3, S, S]` with one label per sequence
/// (0 real, 1 fake). Shared by the real-only and the supervised sequence samplers.
func sequenceBatch(pairs: Int, seed: UInt64, salt: UInt64 = 0, format: InputFormat,
                   makePair: (inout SplitMix64) -> ([RGBImage], [RGBImage])) -> (inputs: [Float], labels: [Float]) {
    let slots = ResultSlots<([RGBImage], [RGBImage])>(count: pairs)
    withoutActuallyEscaping(makePair) { makePair in
        let box = UncheckedSendableBox(makePair)
        DispatchQueue.concurrentPerform(iterations: pairs) { pair in
            var rng = SplitMix64(seed: seed &* 0xD1B5_4A32_D192_ED03 &+ UInt64(pair) &+ salt)
            slots.set(pair, box.value(&rng))
        }
    }
    var inputs: [Float] = [], labels: [Float] = []
    for pair in 0..<pairs {
        let (real, fake) = slots.get(pair)
        for image in real { inputs.append(contentsOf: format.tensorValues(image)) }
        labels.append(0)
        for image in fake { inputs.append(contentsOf: format.tensorValues(image)) }
        labels.append(1)
    }
    return (inputs, labels)
}

/// Carries a closure into `concurrentPerform`; the samplers' pair makers only read shared state.
private struct UncheckedSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

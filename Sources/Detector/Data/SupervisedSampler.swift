import Foundation
import Imaging
import Randomness
import Synthesis

/// Makes balanced training batches from a labelled set's own real and fake crops (supervised mode).
///
/// Each pair is one real and one fake crop: the fake's method is drawn uniformly (so methods are
/// balanced whatever their video counts), then one of its videos, then a frame; the real comes from
/// a real video of the same source when the set has one, at the nearest frame (FaceForensics++
/// fakes are frame-aligned with their originals), so that the pair differs by the manipulation.
/// Both go through one `PairAugmentation` draw, so framing, colour and JPEG quality carry no label.
///
/// Fakes have no blend masks here (`masks` are all zero), so the trainer turns the boundary head
/// off in supervised mode.
public struct SupervisedSampler: PairSampler {
    public let store: CropStore
    public let format: InputFormat
    /// Compression and rescaling shared by each pair.
    public var codec = CodecAugmentation.standard
    let videos: LabelledVideos

    /// - Parameters:
    ///   - store: crops with `label` "real" or a method name, `identity` = source group.
    ///   - split: the side to draw from.
    public init(store: CropStore, split: DataSplit, format: InputFormat = InputFormat()) {
        self.store = store
        self.format = format
        self.videos = LabelledVideos(store: store, split: split)
    }

    /// True when the side has both real and fake crops.
    public var hasBothLabels: Bool { videos.hasBothLabels }

    /// The fake methods on this side, in name order.
    public var methods: [String] { videos.methods }

    public var cropIndices: [Int] { videos.videos.flatMap(\.indices) }
    public var maskGridSize: Int { format.size / 8 }

    public func batchWithMasks(pairs: Int, seed: UInt64) -> (inputs: [Float], labels: [Float], tags: [SampleTag], masks: [Float]) {
        let slots = ResultSlots<(RGBImage, RGBImage, SampleTag, SampleTag)>(count: pairs)
        DispatchQueue.concurrentPerform(iterations: pairs) { pair in
            var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(pair) &+ 0x5_0BE5)
            slots.set(pair, makePair(using: &rng))
        }
        var inputs: [Float] = [], labels: [Float] = [], tags: [SampleTag] = []
        inputs.reserveCapacity(2 * pairs * 3 * format.size * format.size)
        for pair in 0..<pairs {
            let (real, fake, realTag, fakeTag) = slots.get(pair)
            inputs.append(contentsOf: format.tensorValues(real))
            inputs.append(contentsOf: format.tensorValues(fake))
            labels.append(contentsOf: [0, 1])
            tags.append(contentsOf: [realTag, fakeTag])
        }
        return (inputs, labels, tags, [Float](repeating: 0, count: 2 * pairs * maskGridSize * maskGridSize))
    }

    /// One real and one fake crop, augmented alike.
    public func makePair(using rng: inout SplitMix64) -> (RGBImage, RGBImage, SampleTag, SampleTag) {
        let (realVideo, fakeVideo, sameSource) = videos.drawPair(using: &rng)
        let fakeCrops = videos.videos[fakeVideo].indices
        let fakeIndex = fakeCrops[Int(rng.next() % UInt64(fakeCrops.count))]
        let realCrops = videos.videos[realVideo].indices
        let realIndex = sameSource
            ? realCrops[videos.nearest(frameIndex: store.records[fakeIndex].frameIndex, in: realVideo, store: store)]
            : realCrops[Int(rng.next() % UInt64(realCrops.count))]
        let augmentation = PairAugmentation.random(using: &rng, codec: codec)
        let real = augmentation.apply(to: store.image(at: realIndex), face: store.records[realIndex].faceBox, format: format)
        let fake = augmentation.apply(to: store.image(at: fakeIndex), face: store.records[fakeIndex].faceBox, format: format)
        let realRecord = store.records[realIndex], fakeRecord = store.records[fakeIndex]
        return (real, fake,
                SampleTag(cropIndex: realIndex, identity: realRecord.identity, method: "real", jpegQuality: augmentation.jpegQuality,
                          h264CRF: augmentation.codec.h264CRF),
                SampleTag(cropIndex: fakeIndex, identity: fakeRecord.identity, method: fakeRecord.label,
                          jpegQuality: augmentation.jpegQuality, h264CRF: augmentation.codec.h264CRF))
    }
}

/// Real and fake sequences of consecutive crops from a labelled set's own videos, for the temporal
/// head in supervised mode: the fake sequence comes from a fake video (method drawn uniformly), the
/// real one from a real video of the same source when there is one, and both share framing, flip
/// and JPEG quality.
public struct SupervisedSequenceSampler: SequencePairSampler {
    public let store: CropStore
    public let frames: Int
    public let format: InputFormat
    /// Compression and rescaling shared by each sequence pair (every frame alike).
    public var codec = CodecAugmentation.standard
    let videos: LabelledVideos

    public init(store: CropStore, split: DataSplit, frames: Int, format: InputFormat = InputFormat()) {
        self.store = store
        self.frames = frames
        self.format = format
        self.videos = LabelledVideos(store: store, split: split, minimumCrops: frames)
    }

    public var hasSequences: Bool { videos.hasBothLabels }

    public func batch(pairs: Int, seed: UInt64) -> (inputs: [Float], labels: [Float]) {
        precondition(hasSequences, "no real and fake video sequences on this side of the split")
        return sequenceBatch(pairs: pairs, seed: seed, salt: 0x5E0, format: format) { rng in makePair(using: &rng) }
    }

    func makePair(using rng: inout SplitMix64) -> ([RGBImage], [RGBImage]) {
        let (realVideo, fakeVideo, sameSource) = videos.drawPair(using: &rng)
        let fakeCrops = videos.videos[fakeVideo].indices, realCrops = videos.videos[realVideo].indices
        let fakeStart = Int(rng.next() % UInt64(fakeCrops.count - frames + 1))
        let realStart = sameSource
            ? min(videos.nearest(frameIndex: store.records[fakeCrops[fakeStart]].frameIndex, in: realVideo, store: store),
                  realCrops.count - frames)
            : Int(rng.next() % UInt64(realCrops.count - frames + 1))
        let augmentation = PairAugmentation.random(using: &rng, codec: codec)
        func sequence(_ indices: ArraySlice<Int>) -> [RGBImage] {
            indices.map { augmentation.apply(to: store.image(at: $0), face: store.records[$0].faceBox, format: format, colour: false) }
        }
        return (sequence(realCrops[realStart..<(realStart + frames)]), sequence(fakeCrops[fakeStart..<(fakeStart + frames)]))
    }
}

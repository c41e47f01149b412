import Foundation
import Imaging
import Randomness
import Synthesis
import VideoIO

/// How crops become network input: size and framing. Stored in the weights' metadata so that
/// scanning frames crops exactly as training did. (Per-channel normalisation is the network's own
/// first step, so crops are handed over as RGB in [0, 1].)
public struct InputFormat: Codable, Sendable, Equatable {
    /// Side of the square crop fed to the network.
    public var size: Int = 128
    /// The crop covers `margin` times the face box's longer side.
    public var margin: Double = 1.3

    public init(size: Int = 128, margin: Double = 1.3) {
        self.size = size
        self.margin = margin
    }

    /// `[3, size, size]` planar RGB in [0, 1] of a crop that is already `size x size`.
    public func tensorValues(_ crop: RGBImage) -> [Float] {
        precondition(crop.width == size && crop.height == size, "crop must be \(size)x\(size), got \(crop.width)x\(crop.height)")
        return crop.planarFloats()   // byte / 255
    }
}

/// One training example and where it came from (for the SAE's feature dictionary later).
public struct SampleTag: Codable, Sendable, Equatable {
    public var cropIndex: Int
    public var identity: String
    /// "real" or a manipulation method's raw value.
    public var method: String
    /// JPEG quality both images of the pair went through, or nil for none.
    public var jpegQuality: Int?
    /// H.264 CRF both images of the pair went through, or nil for none.
    public var h264CRF: Int? = nil
}

/// Makes balanced training batches of real crops and pseudo-fakes made from them on the fly.
///
/// Each real crop is paired with a fake made from the same crop (Shiohara and Yamasaki, CVPR 2022:
/// the pair differs only by the manipulation), and both go through the same framing jitter, flip,
/// blur, rescale and JPEG quality, so neither framing nor compression carries label signal.
public struct TrainingSampler: Sendable {
    public let store: CropStore
    public let indices: [Int]
    public let methods: [ManipulationMethod]
    public let format: InputFormat
    /// Compression and rescaling shared by each pair.
    public var codec = CodecAugmentation.standard
    /// When set, fakes always get this JPEG quality and reals none: a deliberate compression
    /// shortcut, only for building a shortcut-prone test model.
    public var shortcutFakeJPEGQuality: Int?
    /// Crops of the same identity (for region-splice references) and of other identities (donors).
    private let byIdentity: [String: [Int]]
    /// Source files in a fixed order, and the identities found in each (dictionary order is not
    /// stable across runs, so both are sorted).
    private let sourceOrder: [String]
    private let identitiesBySource: [String: [String]]

    public init(store: CropStore, split: DataSplit, methods: [ManipulationMethod], format: InputFormat = InputFormat()) {
        precondition(!methods.isEmpty, "a training sampler needs at least one manipulation method")
        self.store = store
        // Only real crops: a supervised store also holds a set's fakes, which must not be faked again.
        self.indices = store.indices(in: split).filter { store.records[$0].label == "real" }
        self.methods = methods
        self.format = format
        var groups: [String: [Int]] = [:]
        for index in indices { groups[store.records[index].identity, default: []].append(index) }
        self.byIdentity = groups
        var people: [String: Set<String>] = [:]
        for index in indices { people[store.records[index].source, default: []].insert(store.records[index].identity) }
        self.sourceOrder = people.keys.sorted()
        self.identitiesBySource = people.mapValues { $0.sorted() }
    }

    /// A batch of `pairs` real/fake pairs: `inputs` is `[2*pairs, 3, S, S]` (real then fake of
    /// each pair, interleaved), `labels` 0 for real and 1 for fake.
    /// - Parameters:
    ///   - pairs: number of pairs.
    ///   - seed: the batch's seed; the same seed gives the same batch.
    public func batch(pairs: Int, seed: UInt64) -> (inputs: [Float], labels: [Float], tags: [SampleTag]) {
        let full = batchWithMasks(pairs: pairs, seed: seed)
        return (full.inputs, full.labels, full.tags)
    }

    /// Side of the blend-mask grid that `batchWithMasks` returns (one cell per 8x8 pixels).
    public var maskGridSize: Int { format.size / 8 }
    /// What `batchWithMasks` returns per cell: the mask (default) or its blending seam.
    public var boundaryTarget: BoundaryTarget = .mask

    /// As `batch`, plus each image's blend mask averaged over 8x8 cells, `[2*pairs, 1, S/8, S/8]`
    /// (all zero for reals): the dense target of the auxiliary blending-boundary head (Li et al.,
    /// CVPR 2020, "Face X-ray for More General Face Forgery Detection").
    public func batchWithMasks(pairs: Int, seed: UInt64) -> (inputs: [Float], labels: [Float], tags: [SampleTag], masks: [Float]) {
        precondition(!indices.isEmpty, "no crops on this side of the split")
        let perImage = 3 * format.size * format.size
        let results = ResultSlots<TrainingPair>(count: pairs)
        DispatchQueue.concurrentPerform(iterations: pairs) { pair in
            results.set(pair, self.pair(index: pair, ofBatchWithSeed: seed))
        }
        var inputs = [Float]()
        inputs.reserveCapacity(2 * pairs * perImage)
        var labels = [Float](), tags = [SampleTag](), masks = [Float]()
        let cells = maskGridSize * maskGridSize
        for pair in 0..<pairs {
            let item = results.get(pair)
            inputs.append(contentsOf: format.tensorValues(item.real))
            inputs.append(contentsOf: format.tensorValues(item.fake))
            labels.append(contentsOf: [0, 1])
            tags.append(contentsOf: [item.realTag, item.fakeTag])
            masks.append(contentsOf: [Float](repeating: 0, count: cells))
            masks.append(contentsOf: item.fakeMaskGrid)
        }
        return (inputs, labels, tags, masks)
    }

    /// Pair `index` of `batch(pairs:seed:)` / `batchWithMasks(pairs:seed:)`, made again on its own
    /// (each pair has its own generator), e.g. to show the crops behind a logged embedding.
    public func pair(index: Int, ofBatchWithSeed seed: UInt64) -> TrainingPair {
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index))
        return makeMaskedPair(using: &rng)
    }

    /// One training pair with the fake's blend mask on the 8x8-cell grid.
    public struct TrainingPair: Sendable {
        public var real: RGBImage
        public var fake: RGBImage
        public var realTag: SampleTag
        public var fakeTag: SampleTag
        public var fakeMaskGrid: [Float]
    }

    /// One real crop and a fake made from it, framed, flipped and compressed alike.
    public func makePair(using rng: inout SplitMix64) -> (RGBImage, RGBImage, SampleTag, SampleTag) {
        let pair = makeMaskedPair(using: &rng)
        return (pair.real, pair.fake, pair.realTag, pair.fakeTag)
    }

    func makeMaskedPair(using rng: inout SplitMix64) -> TrainingPair {
        // Source file first, then a person in it, then one of their crops: one person with hundreds
        // of video frames must not outweigh everyone else (the network would learn that face), and
        // one group photo of thirty small, grey, 1927 faces must not outweigh the colour sources.
        let source = sourceOrder[Int(rng.next() % UInt64(sourceOrder.count))]
        let people = identitiesBySource[source]!
        let group = byIdentity[people[Int(rng.next() % UInt64(people.count))]]!
        let cropIndex = group[Int(rng.next() % UInt64(group.count))]
        let record = store.records[cropIndex]
        let crop = store.image(at: cropIndex)
        let method = methods[Int(rng.next() % UInt64(methods.count))]

        var donor: FaceSample?
        if method == .crossSwap, byIdentity.count > 1 {
            let others = byIdentity.keys.sorted().filter { $0 != record.identity }
            let group = byIdentity[others[Int(rng.next() % UInt64(others.count))]]!
            let donorIndex = group[Int(rng.next() % UInt64(group.count))]
            donor = FaceSample(image: store.image(at: donorIndex), box: store.records[donorIndex].faceBox)
        }
        var reference: FaceSample?
        if method == .regionSplice, let group = byIdentity[record.identity], group.count > 1 {
            let referenceIndex = group[Int(rng.next() % UInt64(group.count))]
            if referenceIndex != cropIndex {
                reference = FaceSample(image: store.image(at: referenceIndex), box: store.records[referenceIndex].faceBox)
            }
        }
        let synthesized = Synthesizer.makeFake(method, target: crop, box: record.faceBox, donor: donor, reference: reference,
                                               frameIndex: Int(rng.next() % 64), seed: rng.next()).frame
        let fake = synthesized.image

        // Colour jitter shared by the pair, so that skin tone and exposure carry no label signal
        // and the few still photos look like more people.
        let brightness = Float(rng.uniform(0.8...1.2)), contrast = Float(rng.uniform(0.8...1.2))
        let saturation = Float(rng.uniform(0.7...1.3))
        func jitter(_ image: RGBImage) -> RGBImage {
            image.adjustedBrightness(brightness).adjustedContrast(contrast).adjustedSaturation(saturation)
        }

        // Framing jitter shared by the pair: about `margin` times the face, off-centre a little.
        let face = record.faceBox
        let side = max(face.width, face.height) * format.margin * rng.uniform(0.9...1.12)
        let window = Box(x: face.centerX - side / 2 + side * rng.uniform(-0.05...0.05),
                         y: face.centerY - side / 2 + side * rng.uniform(-0.05...0.05), width: side, height: side)
        var realOut = jitter(crop.resampled(box: window, width: format.size, height: format.size))
        var fakeOut = jitter(fake.resampled(box: window, width: format.size, height: format.size))
        let flipped = rng.next() % 2 == 0
        if flipped {
            realOut = realOut.flippedHorizontally()
            fakeOut = fakeOut.flippedHorizontally()
        }
        let maskGrid = Self.maskGrid(synthesized.mask, window: window, grid: maskGridSize, flipped: flipped,
                                     target: boundaryTarget)
        if rng.unit() < 0.15 {
            let sigma = rng.uniform(0.4...1.2)
            realOut = realOut.gaussianBlurred(sigma: sigma)
            fakeOut = fakeOut.gaussianBlurred(sigma: sigma)
        }
        var quality: Int?
        if let shortcut = shortcutFakeJPEGQuality {
            if let f = try? jpegRoundTrip(fakeOut, quality: shortcut) { fakeOut = f }
            return TrainingPair(real: realOut, fake: fakeOut,
                                realTag: SampleTag(cropIndex: cropIndex, identity: record.identity, method: "real", jpegQuality: nil),
                                fakeTag: SampleTag(cropIndex: cropIndex, identity: record.identity, method: method.rawValue, jpegQuality: shortcut),
                                fakeMaskGrid: maskGrid)
        }
        let degradation = codec.draw(using: &rng)
        realOut = degradation.apply(to: realOut)
        fakeOut = degradation.apply(to: fakeOut)
        quality = degradation.jpegQuality
        let crf = degradation.h264CRF
        return TrainingPair(real: realOut, fake: fakeOut,
                            realTag: SampleTag(cropIndex: cropIndex, identity: record.identity, method: "real", jpegQuality: quality, h264CRF: crf),
                            fakeTag: SampleTag(cropIndex: cropIndex, identity: record.identity, method: method.rawValue, jpegQuality: quality,
                                               h264CRF: crf),
                            fakeMaskGrid: maskGrid)
    }

    /// The mask (or its seam `4 m (1 - m)`) inside `window`, averaged over a `grid x grid` lattice of
    /// cells (4x4 samples per cell), mirrored when the images were: `[grid * grid]` row-major.
    static func maskGrid(_ mask: GrayImage, window: Box, grid: Int, flipped: Bool, target: BoundaryTarget = .mask) -> [Float] {
        var cells = [Float](repeating: 0, count: grid * grid)
        let cell = window.width / Double(grid)
        mask.values.withUnsafeBufferPointer { values in
            for row in 0..<grid {
                for column in 0..<grid {
                    var sum: Float = 0
                    for sy in 0..<4 {
                        for sx in 0..<4 {
                            let x = Int(window.x + (Double(column) + (Double(sx) + 0.5) / 4) * cell)
                            let y = Int(window.y + (Double(row) + (Double(sy) + 0.5) / 4) * cell)
                            guard x >= 0, x < mask.width, y >= 0, y < mask.height else { continue }
                            let m = values[y * mask.width + x]
                            sum += target == .mask ? m : 4 * m * (1 - m)
                        }
                    }
                    cells[row * grid + (flipped ? grid - 1 - column : column)] = sum / 16
                }
            }
        }
        return cells
    }
}

/// Fixed slots that concurrent workers fill, one slot per worker index (no two write the same slot).
final class ResultSlots<Value>: @unchecked Sendable {
    private var values: [Value?]
    private let lock = NSLock()

    init(count: Int) { values = [Value?](repeating: nil, count: count) }

    func set(_ index: Int, _ value: Value) {
        lock.lock(); defer { lock.unlock() }
        values[index] = value
    }

    func get(_ index: Int) -> Value {
        lock.lock(); defer { lock.unlock() }
        guard let value = values[index] else { preconditionFailure("slot \(index) was never filled") }
        return value
    }
}

import Foundation
import Imaging
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
        return crop.planarFloats(mean: [0, 0, 0], std: [255, 255, 255])
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
}

/// Makes balanced training batches of real crops and pseudo-fakes made from them on the fly.
///
/// Each real crop is paired with a fake made from the same crop (Shiohara and Yamasaki, CVPR 2022:
/// the pair differs only by the manipulation), and both go through the same framing jitter, flip,
/// blur and JPEG quality, so neither framing nor compression carries label signal.
public struct TrainingSampler: Sendable {
    public let store: CropStore
    public let indices: [Int]
    public let methods: [ManipulationMethod]
    public let format: InputFormat
    /// Probability that a pair is JPEG-compressed (quality uniform in 50...95).
    public var jpegProbability = 0.5
    /// When set, fakes always get this JPEG quality and reals none: a deliberate compression
    /// shortcut, only for building a shortcut-prone test model.
    public var shortcutFakeJPEGQuality: Int?
    /// Crops of the same identity (for region-splice references) and of other identities (donors).
    private let byIdentity: [String: [Int]]
    /// Identity names in a fixed order (dictionary order is not stable across runs).
    private let identityOrder: [String]

    public init(store: CropStore, split: DataSplit, methods: [ManipulationMethod], format: InputFormat = InputFormat()) {
        precondition(!methods.isEmpty, "a training sampler needs at least one manipulation method")
        self.store = store
        self.indices = store.indices(in: split)
        self.methods = methods
        self.format = format
        var groups: [String: [Int]] = [:]
        for index in indices { groups[store.records[index].identity, default: []].append(index) }
        self.byIdentity = groups
        self.identityOrder = groups.keys.sorted()
    }

    /// A batch of `pairs` real/fake pairs: `inputs` is `[2*pairs, 3, S, S]` (real then fake of
    /// each pair, interleaved), `labels` 0 for real and 1 for fake.
    /// - Parameters:
    ///   - pairs: number of pairs.
    ///   - seed: the batch's seed; the same seed gives the same batch.
    public func batch(pairs: Int, seed: UInt64) -> (inputs: [Float], labels: [Float], tags: [SampleTag]) {
        precondition(!indices.isEmpty, "no crops on this side of the split")
        let perImage = 3 * format.size * format.size
        let results = ResultSlots<(RGBImage, RGBImage, SampleTag, SampleTag)>(count: pairs)
        DispatchQueue.concurrentPerform(iterations: pairs) { pair in
            var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(pair))
            results.set(pair, makePair(using: &rng))
        }
        var inputs = [Float]()
        inputs.reserveCapacity(2 * pairs * perImage)
        var labels = [Float](), tags = [SampleTag]()
        for pair in 0..<pairs {
            let (real, fake, tagReal, tagFake) = results.get(pair)
            inputs.append(contentsOf: format.tensorValues(real))
            inputs.append(contentsOf: format.tensorValues(fake))
            labels.append(contentsOf: [0, 1])
            tags.append(contentsOf: [tagReal, tagFake])
        }
        return (inputs, labels, tags)
    }

    /// One real crop and a fake made from it, framed, flipped and compressed alike.
    public func makePair(using rng: inout SplitMix64) -> (RGBImage, RGBImage, SampleTag, SampleTag) {
        // Identity first, then one of its crops: one person with hundreds of video frames must not
        // outweigh thirty people with one photo each, or the network learns that person's face.
        let identities = identityOrder
        let group = byIdentity[identities[Int(rng.next() % UInt64(identities.count))]]!
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
        let fake = Synthesizer.makeFake(method, target: crop, box: record.faceBox, donor: donor, reference: reference,
                                        frameIndex: Int(rng.next() % 64), seed: rng.next()).frame.image

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
        if rng.next() % 2 == 0 {
            realOut = realOut.flippedHorizontally()
            fakeOut = fakeOut.flippedHorizontally()
        }
        if rng.unit() < 0.15 {
            let sigma = rng.uniform(0.4...1.2)
            realOut = realOut.gaussianBlurred(sigma: sigma)
            fakeOut = fakeOut.gaussianBlurred(sigma: sigma)
        }
        var quality: Int?
        if let shortcut = shortcutFakeJPEGQuality {
            if let f = try? jpegRoundTrip(fakeOut, quality: shortcut) { fakeOut = f }
            return (realOut, fakeOut,
                    SampleTag(cropIndex: cropIndex, identity: record.identity, method: "real", jpegQuality: nil),
                    SampleTag(cropIndex: cropIndex, identity: record.identity, method: method.rawValue, jpegQuality: shortcut))
        }
        if rng.unit() < jpegProbability {
            let q = 50 + Int(rng.next() % 46)
            if let r = try? jpegRoundTrip(realOut, quality: q), let f = try? jpegRoundTrip(fakeOut, quality: q) {
                realOut = r
                fakeOut = f
                quality = q
            }
        }
        return (realOut, fakeOut,
                SampleTag(cropIndex: cropIndex, identity: record.identity, method: "real", jpegQuality: quality),
                SampleTag(cropIndex: cropIndex, identity: record.identity, method: method.rawValue, jpegQuality: quality))
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

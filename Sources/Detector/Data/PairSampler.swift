/// A source of balanced real/fake training batches of single crops, as the trainer consumes them.
///
/// Two kinds exist: `TrainingSampler` (pseudo-fakes made on the fly from real crops, real-only mode)
/// and `SupervisedSampler` (a labelled set's own fakes); `MixedPairSampler` draws from two.
public protocol PairSampler: Sendable {
    /// Crops this sampler draws from (for the metrics).
    var cropIndices: [Int] { get }
    /// Side of the blend-mask grid of `batchWithMasks` (one cell per 8x8 pixels).
    var maskGridSize: Int { get }
    /// `pairs` real/fake pairs: `inputs` `[2*pairs, 3, S, S]` (real then fake of each pair),
    /// `labels` 0 for real and 1 for fake, one tag per image, and each image's blend mask on the
    /// mask grid `[2*pairs, 1, S/8, S/8]` (zero for reals and for fakes without a known mask).
    /// The same seed gives the same batch.
    func batchWithMasks(pairs: Int, seed: UInt64) -> (inputs: [Float], labels: [Float], tags: [SampleTag], masks: [Float])
}

extension PairSampler {
    /// As `batchWithMasks`, without the masks.
    public func pairBatch(pairs: Int, seed: UInt64) -> (inputs: [Float], labels: [Float], tags: [SampleTag]) {
        let full = batchWithMasks(pairs: pairs, seed: seed)
        return (full.inputs, full.labels, full.tags)
    }
}

/// A source of real and fake crop sequences for the temporal head.
public protocol SequencePairSampler: Sendable {
    /// True when at least one video has enough crops for a sequence.
    var hasSequences: Bool { get }
    /// `pairs` real and fake sequences: inputs `[2*pairs, frames, 3, S, S]` flattened, one label per sequence.
    func batch(pairs: Int, seed: UInt64) -> (inputs: [Float], labels: [Float])
}

extension TrainingSampler: PairSampler {
    public var cropIndices: [Int] { indices }
}

extension SequenceSampler: SequencePairSampler {}

/// Draws a share of each batch's pairs from one sampler and the rest from another (for example a
/// set's own fakes plus self-blended pseudo-fakes of its reals).
public struct MixedPairSampler: PairSampler {
    public let primary: any PairSampler
    public let secondary: any PairSampler
    /// Share of pairs taken from `secondary`, in 0...1.
    public let secondaryShare: Double

    public init(primary: any PairSampler, secondary: any PairSampler, secondaryShare: Double) {
        precondition(primary.maskGridSize == secondary.maskGridSize, "mixed samplers must share the input size")
        precondition((0...1).contains(secondaryShare), "secondaryShare must be in 0...1")
        self.primary = primary
        self.secondary = secondary
        self.secondaryShare = secondaryShare
    }

    public var cropIndices: [Int] { Array(Set(primary.cropIndices).union(secondary.cropIndices)).sorted() }
    public var maskGridSize: Int { primary.maskGridSize }

    public func batchWithMasks(pairs: Int, seed: UInt64) -> (inputs: [Float], labels: [Float], tags: [SampleTag], masks: [Float]) {
        let fromSecondary = Int((Double(pairs) * secondaryShare).rounded())
        let a = primary.batchWithMasks(pairs: pairs - fromSecondary, seed: seed)
        guard fromSecondary > 0 else { return a }
        let b = secondary.batchWithMasks(pairs: fromSecondary, seed: seed &+ 0x5EC0_4DA7)
        return (a.inputs + b.inputs, a.labels + b.labels, a.tags + b.tags, a.masks + b.masks)
    }
}

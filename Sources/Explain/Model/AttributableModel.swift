/// The shape of one model input, channels first: `[C, H, W]`.
public struct InputShape: Sendable, Equatable, Codable, Hashable {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        precondition(channels > 0 && height > 0 && width > 0,
                     "InputShape needs positive sizes, got \(channels)x\(height)x\(width)")
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Number of floats in one sample, `C * H * W`.
    public var count: Int { channels * height * width }
    /// Number of pixels in one plane, `H * W`.
    public var planeCount: Int { height * width }
}

/// A differentiable model that attribution methods can query, the way captum takes a `forward_func`.
///
/// The explained output is one scalar per sample: the detector's fake logit. The detector (or a toy
/// model in tests) conforms; attribution code never sees anything else of the model.
///
/// Layout: inputs are NCHW Float32, already normalised the way the model expects,
/// `[N, C, H, W]` with `[C, H, W] == inputShape`.
public protocol AttributableModel {
    /// The shape `[C, H, W]` of one input sample.
    var inputShape: InputShape { get }

    /// The target logit of each sample and its gradient with respect to the input.
    ///
    /// - Parameters:
    ///   - inputs: `[batch, C, H, W]` normalised inputs (`batch * inputShape.count` floats).
    ///   - batch: number of samples `N`.
    /// - Returns: `logits` `[N]` (the fake logit of each sample) and `gradients` `[N, C, H, W]`,
    ///   `d logit_n / d inputs_n`.
    /// - Throws: whatever the model throws (bad shapes, engine errors).
    func logitsAndInputGradients(_ inputs: [Float], batch: Int) throws -> (logits: [Float], gradients: [Float])

    /// The target logit of each sample, without gradients.
    ///
    /// A default implementation calls ``logitsAndInputGradients(_:batch:)``; a model that can run a
    /// cheaper forward-only pass should implement it.
    /// - Parameters:
    ///   - inputs: `[batch, C, H, W]` normalised inputs.
    ///   - batch: number of samples `N`.
    /// - Returns: `[N]` logits.
    /// - Throws: whatever the model throws.
    func logits(_ inputs: [Float], batch: Int) throws -> [Float]
}

extension AttributableModel {
    public func logits(_ inputs: [Float], batch: Int) throws -> [Float] {
        try logitsAndInputGradients(inputs, batch: batch).logits
    }
}

/// Per-channel input normalisation, `value = (pixel - mean[c]) / std[c]` with `pixel` in `0...1`
/// (the convention of `RGBImage.planarFloats(mean:std:)`).
///
/// Baselines are defined in pixel space (black is pixel 0, noise is uniform pixels) and mapped
/// through the same normalisation as the input, so that "black" means black whatever the mean.
public struct Normalization: Sendable, Equatable, Codable {
    public var mean: [Float]
    public var std: [Float]

    /// - Parameters:
    ///   - mean: per-channel mean in `0...1` units.
    ///   - std: per-channel standard deviation in `0...1` units, non-zero.
    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count && !mean.isEmpty, "mean and std need the same non-zero count")
        precondition(!std.contains(0), "std must be non-zero")
        self.mean = mean
        self.std = std
    }

    /// No normalisation: pixels in `0...1` are the model input.
    public static func identity(channels: Int = 3) -> Normalization {
        Normalization(mean: [Float](repeating: 0, count: channels), std: [Float](repeating: 1, count: channels))
    }

    /// ImageNet statistics.
    public static let imageNet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// The normalised value of pixel value `pixel` (in `0...1`) in channel `channel`.
    @inlinable public func normalise(_ pixel: Float, channel: Int) -> Float {
        (pixel - mean[channel]) / std[channel]
    }
}

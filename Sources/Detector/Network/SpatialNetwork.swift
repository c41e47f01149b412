import Foundation
import NN
import Tensor

/// Architecture of the spatial network, stored in the weights file's `__metadata__`.
public struct SpatialNetworkConfiguration: Codable, Sendable, Equatable {
    /// Side of the square RGB face crop, in pixels.
    public var inputSize: Int
    /// Channels of the stride-2 stem convolution.
    public var stemChannels: Int
    /// Channels of each stage; each stage halves the resolution and holds `blocksPerStage` convolutions.
    public var stageChannels: [Int]
    /// Convolutions per stage (the first has stride 2).
    public var blocksPerStage: Int
    /// Per-channel mean subtracted from inputs in [0, 1].
    public var inputMean: [Float]
    /// Per-channel standard deviation dividing inputs.
    public var inputStd: [Float]
    /// Dropout probability on the embedding before the frame classifier (training only).
    public var dropout: Float
    /// The range of the pixel values fed to the network: always `"0...1"` (byte / 255) now.
    ///
    /// Configurations written before this field existed (the shipped detector and the test fixture
    /// among them) were trained on byte / 255², because `InputFormat` divided by 255 twice. Decoding
    /// such a configuration multiplies its `inputMean` and `inputStd` by 255: the normalisation is
    /// the network's first step, before any padding, so the network computes the same function of
    /// byte / 255 inputs as it did of byte / 255² ones, up to float rounding.
    public var pixelRange: String = "0...1"
    /// Downsample with a stride-1 convolution followed by `BlurPool2D` instead of a stride-2
    /// convolution (stem and the first convolution of each stage). Absent from (and false for)
    /// configurations written before it existed.
    public var antialiased: Bool = false

    /// The default detector network: 128 px crops, stem 24, stages 32-64-128-256, about 1.2 M parameters.
    public init(inputSize: Int = 128, stemChannels: Int = 24, stageChannels: [Int] = [32, 64, 128, 256],
                blocksPerStage: Int = 2, inputMean: [Float] = [0.5, 0.5, 0.5], inputStd: [Float] = [0.25, 0.25, 0.25],
                dropout: Float = 0) {
        self.inputSize = inputSize; self.stemChannels = stemChannels; self.stageChannels = stageChannels
        self.blocksPerStage = blocksPerStage; self.inputMean = inputMean; self.inputStd = inputStd; self.dropout = dropout
    }

    enum CodingKeys: String, CodingKey {
        case inputSize, stemChannels, stageChannels, blocksPerStage, inputMean, inputStd, dropout, pixelRange, antialiased
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputSize, forKey: .inputSize)
        try c.encode(stemChannels, forKey: .stemChannels)
        try c.encode(stageChannels, forKey: .stageChannels)
        try c.encode(blocksPerStage, forKey: .blocksPerStage)
        try c.encode(inputMean, forKey: .inputMean)
        try c.encode(inputStd, forKey: .inputStd)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(pixelRange, forKey: .pixelRange)
        // Written only when set, so that plain networks keep the metadata they always had.
        if antialiased { try c.encode(true, forKey: .antialiased) }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputSize = try c.decode(Int.self, forKey: .inputSize)
        stemChannels = try c.decode(Int.self, forKey: .stemChannels)
        stageChannels = try c.decode([Int].self, forKey: .stageChannels)
        blocksPerStage = try c.decode(Int.self, forKey: .blocksPerStage)
        inputMean = try c.decode([Float].self, forKey: .inputMean)
        inputStd = try c.decode([Float].self, forKey: .inputStd)
        dropout = try c.decode(Float.self, forKey: .dropout)
        antialiased = try c.decodeIfPresent(Bool.self, forKey: .antialiased) ?? false
        if let range = try c.decodeIfPresent(String.self, forKey: .pixelRange) {
            pixelRange = range
        } else {
            // Legacy byte / 255² inputs: see `pixelRange`.
            inputMean = inputMean.map { $0 * 255 }
            inputStd = inputStd.map { $0 * 255 }
        }
    }

    /// Length of the embedding (the last stage's channels).
    public var embeddingDimension: Int { stageChannels.last ?? stemChannels }
}

/// The per-frame spatial CNN: face crop `[N, 3, S, S]` (RGB in [0, 1]) → embedding `[N, D]` → frame logit `[N, 1]`.
///
/// ```
/// normalize (x − mean) / std
/// stem      conv3x3 s2 → BN → SiLU                      S   → S/2
/// stage i   [conv3x3 s2 → BN → SiLU] [conv3x3 → BN → SiLU]×(blocks−1)   halves each stage
/// pool      global average → embedding [N, D]           (read by the sparse autoencoder)
/// head      dropout → linear D → 1 → frame logit
/// ```
/// A plain VGG-style stack (Simonyan and Zisserman 2015) with batch norm and SiLU: every convolution
/// is a dense 3x3, the shape our implicit-GEMM kernels run fastest on.
public final class SpatialNetwork: Layer {
    public let configuration: SpatialNetworkConfiguration
    let normalize: Normalize
    public let stem: ConvNormActivation
    public let stages: [Sequential]
    let pool = GlobalAveragePool2D()
    let dropout: Dropout
    public let head: Linear

    /// Creates a freshly initialised network.
    /// - Parameters:
    ///   - configuration: architecture.
    ///   - seed: seed of every initialisation and of dropout.
    public init(configuration: SpatialNetworkConfiguration = .init(), seed: UInt64 = 0) {
        self.configuration = configuration
        var g = SeededGenerator(seed: seed)
        normalize = Normalize(mean: configuration.inputMean, standardDeviation: configuration.inputStd)
        // Each downsampling convolution: stride 2, or stride 1 followed by a blur-pool.
        let aa = configuration.antialiased
        stem = ConvNormActivation(inputChannels: 3, outputChannels: configuration.stemChannels, kernelSize: 3, stride: aa ? 1 : 2,
                                  blurPool: aa, seed: g.next())
        var cin = configuration.stemChannels
        var stages: [Sequential] = []
        for c in configuration.stageChannels {
            var blocks: [any Layer] = []
            for b in 0..<configuration.blocksPerStage {
                let downsamples = b == 0
                blocks.append(ConvNormActivation(inputChannels: downsamples ? cin : c, outputChannels: c, kernelSize: 3,
                                                 stride: downsamples && !aa ? 2 : 1, blurPool: downsamples && aa, seed: g.next()))
            }
            stages.append(Sequential(blocks))
            cin = c
        }
        self.stages = stages
        dropout = Dropout(probability: configuration.dropout, seed: g.next())
        head = Linear(inputFeatures: configuration.embeddingDimension, outputFeatures: 1, seed: g.next())
    }

    private var convolutions: [Conv2D] {
        [stem.conv] + stages.flatMap { $0.layers.compactMap { ($0 as? ConvNormActivation)?.conv } }
    }

    /// Embedding of face crops: `[N, 3, S, S] -> [N, D]`.
    public func embedding(_ crops: Tensor, training: Bool = false) -> Tensor {
        crops.checkShape([-1, 3, configuration.inputSize, configuration.inputSize], "SpatialNetwork input")
        var x = normalize.forward(crops, training: training)
        x = stem.forward(x, training: training)
        for s in stages { x = s.forward(x, training: training) }
        return pool.forward(x, training: training)
    }

    /// Frame logit from an embedding: `[N, D] -> [N, 1]`.
    public func frameLogit(fromEmbedding embedding: Tensor, training: Bool = false) -> Tensor {
        head.forward(dropout.forward(embedding, training: training), training: training)
    }

    /// Crops to frame logits: `[N, 3, S, S] -> [N, 1]`.
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        frameLogit(fromEmbedding: embedding(input, training: training), training: training)
    }

    /// Reverse mode from the logits of the last `forward`: returns `dLoss/dCrops`.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        backwardFromEmbedding(dropout.backward(head.backward(gradOutput)))
    }

    /// Reverse mode from the embedding of the last `embedding(_:)` call (for losses on the embedding,
    /// such as a temporal head trained end to end): returns `dLoss/dCrops`.
    public func backwardFromEmbedding(_ gradEmbedding: Tensor) -> Tensor {
        var g = pool.backward(gradEmbedding)
        for s in stages.reversed() { g = s.backward(g) }
        g = stem.backward(g)
        return stem.conv.computesInputGradient ? normalize.backward(g) : g
    }

    /// Frame logits and their gradient with respect to the crops, in inference mode
    /// (running batch-norm statistics, no dropout), as integrated gradients needs.
    ///
    /// - Parameters:
    ///   - crops: `[N, 3, S, S]` RGB in [0, 1].
    ///   - outputGradient: `dLoss/dLogit` `[N, 1]`; ones (the plain logit gradient) when nil.
    /// - Returns: logits `[N, 1]` and `d(Σ outputGradient · logit)/dCrops` `[N, 3, S, S]`.
    ///   Samples are independent, so row `n` is `d logit_n / d crop_n`.
    public func inputGradient(of crops: Tensor, outputGradient: Tensor? = nil) -> (logits: Tensor, gradient: Tensor) {
        setParameterGradients(enabled: false)
        defer { setParameterGradients(enabled: true) }
        stem.conv.computesInputGradient = true
        let logits = forward(crops, training: false)
        let g = outputGradient ?? Tensor(repeating: 1, shape: logits.shape)
        return (logits, backward(g))
    }

    /// Turns parameter-gradient work in the convolutions on or off.
    public func setParameterGradients(enabled: Bool) {
        for c in convolutions { c.computesParameterGradients = enabled }
    }

    /// One optimisation step on a batch with binary cross-entropy on the frame logits.
    ///
    /// - Parameters:
    ///   - crops: `[N, 3, S, S]`.
    ///   - labels: `[N]` or `[N, 1]`, 1 = fake.
    ///   - optimizer: updates `parameters`.
    ///   - gradientClipNorm: global-norm clip (none when nil).
    ///   - positiveWeight: BCE weight of the fake class.
    /// - Returns: the batch loss before the update.
    @discardableResult
    public func trainingStep(crops: Tensor, labels: Tensor, optimizer: any Optimizer, gradientClipNorm: Float? = 5,
                             positiveWeight: Float = 1) -> Float {
        zeroGradients()
        stem.conv.computesInputGradient = false
        defer { stem.conv.computesInputGradient = true }
        let logits = forward(crops, training: true)
        let (loss, grad) = Loss.binaryCrossEntropyWithLogits(logits, targets: labels.reshaped(logits.shape), positiveWeight: positiveWeight)
        _ = backward(grad)
        if let gradientClipNorm { clipGradientNorm(parameters, maxNorm: gradientClipNorm) }
        optimizer.step()
        return loss
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        prefixed("stem", stem.namedParameters)
            + stages.enumerated().flatMap { prefixed("stages.\($0.offset)", $0.element.namedParameters) }
            + prefixed("head", head.namedParameters)
    }

    /// `__metadata__` describing the architecture and the input normalisation.
    public var metadata: [String: String] {
        let json = (try? JSONEncoder().encode(configuration)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        return [
            "architecture": "glassbox-spatial-v1",
            "configuration": json,
            "input": "RGB crops [N, 3, \(configuration.inputSize), \(configuration.inputSize)] in [0, 1], NCHW",
            "input_mean": configuration.inputMean.map { "\($0)" }.joined(separator: ","),
            "input_std": configuration.inputStd.map { "\($0)" }.joined(separator: ","),
        ]
    }

    /// Saves parameters and batch-norm statistics with architecture metadata.
    public func save(to url: URL, extraMetadata: [String: String] = [:]) throws {
        try save(to: url, metadata: metadata.merging(extraMetadata) { _, new in new })
    }

    /// Loads a network saved by `save(to:)`, rebuilding the architecture from the metadata.
    /// - Throws: `SafetensorsError`, `StateDictError`, or `NetworkFileError` when the metadata is missing.
    public static func load(from url: URL) throws -> SpatialNetwork {
        let file = try Safetensors.read(contentsOf: url)
        return try SpatialNetwork(file: file, prefix: "")
    }

    /// Builds from tensors named `prefix + name` and a configuration in `metadata["configuration"]`
    /// (or `metadata[configurationKey]`).
    public convenience init(file: Safetensors.File, prefix: String, configurationKey: String = "configuration") throws {
        guard let json = file.metadata[configurationKey], let data = json.data(using: .utf8),
              let config = try? JSONDecoder().decode(SpatialNetworkConfiguration.self, from: data) else {
            throw NetworkFileError.missingConfiguration(key: configurationKey)
        }
        self.init(configuration: config)
        var state: [String: Tensor] = [:]
        for (k, v) in file.tensors where k.hasPrefix(prefix) { state[String(k.dropFirst(prefix.count))] = v }
        try loadStateDict(state)
    }
}

/// Problems with a network file beyond the safetensors format itself.
public enum NetworkFileError: Error, Equatable, CustomStringConvertible {
    case missingConfiguration(key: String)
    public var description: String {
        switch self {
        case .missingConfiguration(let k): return "network file: __metadata__ has no valid '\(k)' entry describing the architecture"
        }
    }
}

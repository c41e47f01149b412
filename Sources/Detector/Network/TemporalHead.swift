import Foundation
import NN
import Tensor

/// Architecture of the temporal head.
public struct TemporalHeadConfiguration: Codable, Sendable, Equatable {
    public var embeddingDimension: Int
    public var hiddenChannels: Int
    public var kernelSize: Int
    public init(embeddingDimension: Int = 256, hiddenChannels: Int = 64, kernelSize: Int = 3) {
        self.embeddingDimension = embeddingDimension; self.hiddenChannels = hiddenChannels; self.kernelSize = kernelSize
    }
}

/// Clip classifier over a sequence of frame embeddings: `[B, T, D]` (or `[T, D]`) → clip logit `[B, 1]`.
///
/// ```
/// transpose [B, T, D] -> [B, D, T]
/// temporal conv1d (k = 3, same padding) D -> H, SiLU      mixes neighbouring frames
/// mean over T -> [B, H]
/// linear H -> 1
/// ```
public final class TemporalHead: Layer {
    public let configuration: TemporalHeadConfiguration
    public let conv: TemporalConv1D
    let activation = SiLU()
    public let head: Linear
    private var cachedShape = Cache<[Int]>()

    public init(configuration: TemporalHeadConfiguration = .init(), seed: UInt64 = 0) {
        self.configuration = configuration
        var g = SeededGenerator(seed: seed)
        conv = TemporalConv1D(inputChannels: configuration.embeddingDimension, outputChannels: configuration.hiddenChannels,
                              kernelSize: configuration.kernelSize, seed: g.next())
        head = Linear(inputFeatures: configuration.hiddenChannels, outputFeatures: 1, seed: g.next())
    }

    /// `[B, T, D]` or `[T, D]` embeddings → `[B, 1]` clip logits.
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let x = input.rank == 2 ? input.reshaped([1] + input.shape) : input
        x.checkShape([-1, -1, configuration.embeddingDimension], "TemporalHead input [B, T, D]")
        cachedShape.set(input.shape)
        let b = x.shape[0], t = x.shape[1], d = x.shape[2]
        let xt = Self.swapLastTwo(x, b, t, d)                              // [B, D, T]
        let h = activation.forward(conv.forward(xt, training: training), training: training)   // [B, H, T]
        let hc = configuration.hiddenChannels
        var pooled = Tensor(zeros: [b, hc])
        h.withUnsafeBufferPointer { hp in pooled.withUnsafeMutableBufferPointer { pp in
            for i in 0..<(b * hc) { var s: Float = 0; for j in 0..<t { s += hp[i * t + j] }; pp[i] = s / Float(t) }
        }}
        return head.forward(pooled, training: training)
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        let shape = cachedShape.get("TemporalHead")
        let b = shape.count == 2 ? 1 : shape[0], t = shape[shape.count - 2], d = configuration.embeddingDimension
        let hc = configuration.hiddenChannels
        let dPooled = head.backward(gradOutput)
        var dh = Tensor(zeros: [b, hc, t])
        dh.withUnsafeMutableBufferPointer { dp in dPooled.withUnsafeBufferPointer { gp in
            for i in 0..<(b * hc) { for j in 0..<t { dp[i * t + j] = gp[i] / Float(t) } }
        }}
        let dxt = conv.backward(activation.backward(dh))                   // [B, D, T]
        return Self.swapLastTwo(dxt, b, d, t).reshaped(shape)
    }

    /// `[B, P, Q] -> [B, Q, P]`.
    static func swapLastTwo(_ x: Tensor, _ b: Int, _ p: Int, _ q: Int) -> Tensor {
        Tensor(uninitializedShape: [b, q, p]) { out in
            x.withUnsafeBufferPointer { src in
                for i in 0..<b { for r in 0..<p { for c in 0..<q { out[(i * q + c) * p + r] = src[(i * p + r) * q + c] } } }
            }
        }
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        prefixed("conv", conv.namedParameters) + prefixed("head", head.namedParameters)
    }
}

/// The detector's two networks saved together in one safetensors file (`spatial.*`, `temporal.*`).
public enum DetectorNetworkFile {
    /// Writes both networks with their configurations in `__metadata__` (`spatial_configuration`,
    /// `temporal_configuration`, input normalisation) plus `extraMetadata`.
    public static func save(spatial: SpatialNetwork, temporal: TemporalHead, to url: URL,
                            extraMetadata: [String: String] = [:]) throws {
        var tensors: [String: Tensor] = [:]
        for (k, v) in spatial.stateDict() { tensors["spatial.\(k)"] = v }
        for (k, v) in temporal.stateDict() { tensors["temporal.\(k)"] = v }
        var meta = spatial.metadata
        meta["spatial_configuration"] = meta.removeValue(forKey: "configuration")
        meta["temporal_configuration"] = (try? JSONEncoder().encode(temporal.configuration)).flatMap { String(data: $0, encoding: .utf8) }
        meta["architecture"] = "glassbox-detector-v1"
        meta.merge(extraMetadata) { _, new in new }
        try Safetensors.write(.init(tensors: tensors, metadata: meta), to: url)
    }

    /// Reads both networks back.
    public static func load(from url: URL) throws -> (spatial: SpatialNetwork, temporal: TemporalHead, metadata: [String: String]) {
        let file = try Safetensors.read(contentsOf: url)
        let spatial = try SpatialNetwork(file: file, prefix: "spatial.", configurationKey: "spatial_configuration")
        guard let json = file.metadata["temporal_configuration"], let data = json.data(using: .utf8),
              let config = try? JSONDecoder().decode(TemporalHeadConfiguration.self, from: data) else {
            throw NetworkFileError.missingConfiguration(key: "temporal_configuration")
        }
        let temporal = TemporalHead(configuration: config)
        var state: [String: Tensor] = [:]
        for (k, v) in file.tensors where k.hasPrefix("temporal.") { state[String(k.dropFirst(9))] = v }
        try temporal.loadStateDict(state)
        return (spatial, temporal, file.metadata)
    }
}

import Foundation
import NN
import Tensor

/// The trained detector as scanning uses it: both networks, the input framing, the calibration
/// and the decision rule, all read from one safetensors file.
///
/// The file's `__metadata__` carries, besides the architectures (see `DetectorNetworkFile`):
/// `glassbox_input_format` (crop size and margin), `glassbox_temperature`, `glassbox_threshold`,
/// `glassbox_unsure_band` and `glassbox_temporal_weight`.
public final class DetectorModel: @unchecked Sendable {
    public let spatial: SpatialNetwork
    public let temporal: TemporalHead
    public let format: InputFormat
    public var calibration: TemperatureScaling
    public var rule: DecisionRule
    /// Weight of the temporal head's logit in a track's logit (see `Aggregation.trackLogit`).
    public var temporalWeight: Double
    /// Tracks shorter than this are scored by their frames only.
    public var minimumTemporalFrames = 4
    /// All metadata of the file it was loaded from.
    public let metadata: [String: String]
    /// Inference is not re-entrant (layers cache activations); one lock serialises callers.
    private let lock = NSLock()

    public init(spatial: SpatialNetwork, temporal: TemporalHead, format: InputFormat,
                calibration: TemperatureScaling = .init(), rule: DecisionRule = .init(), temporalWeight: Double = 0.3,
                metadata: [String: String] = [:]) {
        self.spatial = spatial
        self.temporal = temporal
        self.format = format
        self.calibration = calibration
        self.rule = rule
        self.temporalWeight = temporalWeight
        self.metadata = metadata
    }

    /// Loads a detector written by `save(to:)`.
    /// - Throws: `DetectorModelError` naming the file when it is missing or unusable, or the
    ///   underlying safetensors error.
    public static func load(from path: String) throws -> DetectorModel {
        guard FileManager.default.fileExists(atPath: path) else { throw DetectorModelError.missing(path) }
        let (spatial, temporal, metadata): (SpatialNetwork, TemporalHead, [String: String])
        do {
            (spatial, temporal, metadata) = try DetectorNetworkFile.load(from: URL(fileURLWithPath: path))
        } catch {
            throw DetectorModelError.unusable(path, "\(error)")
        }
        let decoder = JSONDecoder()
        let format = metadata["glassbox_input_format"].flatMap { try? decoder.decode(InputFormat.self, from: Data($0.utf8)) }
            ?? InputFormat(size: spatial.configuration.inputSize)
        guard format.size == spatial.configuration.inputSize else {
            throw DetectorModelError.unusable(path, "input format size \(format.size) differs from the network's \(spatial.configuration.inputSize)")
        }
        let temperature = metadata["glassbox_temperature"].flatMap(Double.init) ?? 1
        let rule = DecisionRule(threshold: metadata["glassbox_threshold"].flatMap(Double.init) ?? 0.5,
                                unsureBand: metadata["glassbox_unsure_band"].flatMap(Double.init) ?? 0.1)
        return DetectorModel(spatial: spatial, temporal: temporal, format: format,
                             calibration: TemperatureScaling(temperature: temperature), rule: rule,
                             temporalWeight: metadata["glassbox_temporal_weight"].flatMap(Double.init) ?? 0.3,
                             metadata: metadata)
    }

    /// Writes both networks and the scanning settings to one safetensors file (atomically).
    public func save(to path: String, extraMetadata: [String: String] = [:]) throws {
        var meta = extraMetadata
        meta["glassbox_input_format"] = String(decoding: try JSONEncoder().encode(format), as: UTF8.self)
        meta["glassbox_temperature"] = String(calibration.temperature)
        meta["glassbox_threshold"] = String(rule.threshold)
        meta["glassbox_unsure_band"] = String(rule.unsureBand)
        meta["glassbox_temporal_weight"] = String(temporalWeight)
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        try DetectorNetworkFile.save(spatial: spatial, temporal: temporal, to: temporary, extraMetadata: meta)
        _ = try? FileManager.default.removeItem(at: url)
        try FileManager.default.moveItem(at: temporary, to: url)
    }

    /// Embeddings and raw frame logits of crops, in batches.
    /// - Parameter crops: `count * 3 * S * S` planar RGB in [0, 1] (see `InputFormat.tensorValues`).
    /// - Returns: embeddings `[count, D]` row-major and one logit per crop.
    public func embedAndScore(_ crops: [Float], count: Int, batchSize: Int = 16) -> (embeddings: [Float], logits: [Double]) {
        let s = format.size, perCrop = 3 * s * s
        precondition(crops.count == count * perCrop, "embedAndScore: expected \(count) crops of \(perCrop) floats")
        lock.lock(); defer { lock.unlock() }
        var embeddings: [Float] = [], logits: [Double] = []
        embeddings.reserveCapacity(count * spatial.configuration.embeddingDimension)
        var start = 0
        while start < count {
            let n = min(batchSize, count - start)
            let batch = Tensor(shape: [n, 3, s, s], scalars: Array(crops[(start * perCrop)..<((start + n) * perCrop)]))
            let embedding = spatial.embedding(batch, training: false)
            let logit = spatial.frameLogit(fromEmbedding: embedding, training: false)
            embeddings.append(contentsOf: embedding.scalars)
            logits.append(contentsOf: logit.scalars.map(Double.init))
            start += n
        }
        return (embeddings, logits)
    }

    /// The frame logit for given embeddings (`[count, D]`), e.g. an SAE's reconstruction.
    public func frameLogits(fromEmbeddings embeddings: [Float], count: Int) -> [Double] {
        lock.lock(); defer { lock.unlock() }
        let d = spatial.configuration.embeddingDimension
        let logits = spatial.frameLogit(fromEmbedding: Tensor(shape: [count, d], scalars: embeddings), training: false)
        return logits.scalars.map(Double.init)
    }

    /// The temporal head's clip logit over a track's embeddings (`[frames, D]`), or nil when the
    /// track is shorter than `minimumTemporalFrames`.
    public func temporalLogit(embeddings: [Float], frames: Int) -> Double? {
        guard frames >= minimumTemporalFrames else { return nil }
        lock.lock(); defer { lock.unlock() }
        let d = spatial.configuration.embeddingDimension
        let logit = temporal.forward(Tensor(shape: [1, frames, d], scalars: embeddings), training: false)
        return Double(logit.scalars[0])
    }

    /// A track's temporal logit (nil when too short) and calibrated p(fake) from its frame logits
    /// and embeddings (`[frames, D]`), blended per `Aggregation.trackLogit`.
    public func trackScore(frameLogits: [Double], embeddings: [Float]) -> (temporalLogit: Double?, probability: Double) {
        let temporal = temporalLogit(embeddings: embeddings, frames: frameLogits.count)
        let logit = Aggregation.trackLogit(frameLogits: frameLogits, temporalLogit: temporal, temporalWeight: temporalWeight)
        return (temporal, calibration.probability(logit: logit))
    }

    /// Frame logits and d(logit)/d(crop) for integrated gradients: inputs `[n, 3, S, S]` in [0, 1].
    public func logitsAndInputGradients(_ crops: [Float], count: Int) -> (logits: [Float], gradients: [Float]) {
        let s = format.size
        lock.lock(); defer { lock.unlock() }
        let (logits, gradient) = spatial.inputGradient(of: Tensor(shape: [count, 3, s, s], scalars: crops))
        return (logits.scalars, gradient.scalars)
    }

    /// A short description for provenance.
    public var architectureDescription: String {
        metadata["architecture"] ?? "glassbox-detector-v1"
    }
}

/// Why a detector file could not be used.
public enum DetectorModelError: Error, CustomStringConvertible {
    case missing(String)
    case unusable(String, String)

    public var description: String {
        switch self {
        case .missing(let path): return "\(path): no such weights file (run ./setup.sh, or pass --weights)"
        case .unusable(let path, let reason): return "\(path): not a usable detector (\(reason))"
        }
    }
}

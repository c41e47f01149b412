import Detector
import Explain
import Foundation
import Imaging
import Robustness

/// The detector seen through the attribution protocol: crops `[N, 3, S, S]` in [0, 1] to the
/// fake logit (the spatial network normalises internally, so attribution uses `.identity`).
public struct DetectorAttributionModel: AttributableModel {
    public let model: DetectorModel

    public init(model: DetectorModel) {
        self.model = model
    }

    public var inputShape: InputShape {
        InputShape(channels: 3, height: model.format.size, width: model.format.size)
    }

    public func logitsAndInputGradients(_ inputs: [Float], batch: Int) throws -> (logits: [Float], gradients: [Float]) {
        model.logitsAndInputGradients(inputs, count: batch)
    }
}

/// What `explanation` holds in the scan document.
public struct ExplanationSection: Codable, Sendable {
    /// Integrated-gradients maps of the most and least suspicious frames of each track.
    public var attributions: [AttributionRecord]
    /// The SAE features behind the verdict's most suspicious track, with their ablation effect.
    public var features: [FeatureRecord]
    /// The track whose embedding the features explain.
    public var featureTrack: Int?
    /// Where the feature labels came from, or why there are no features.
    public var featureSource: String
    /// Calibrated p(fake) of the explained track's mean embedding with the SAE reconstruction spliced
    /// in (with the error term, so it equals the frame-level p(fake) of that embedding), for checking.
    public var splicedProbability: Double?
}

/// Settings of the explanation step.
public struct ExplanationSettings: Sendable {
    public var steps = 32
    public var rule: QuadratureRule = .gaussLegendre
    public var baseline: Baseline = .default
    /// SmoothGrad-style averaging of each map over noisy copies of the crop (nil: plain IG).
    public var smoothing: IntegratedGradients.Smoothing?
    /// Most suspicious frames explained per track; the least suspicious one is added for contrast.
    public var framesPerTrack = 4
    public var includeLeastSuspicious = true
    public var featureCount = 5
    /// Features whose activation correlates with codec quality at least this much (in absolute
    /// value) count as codec-linked.
    public var codecCorrelationThreshold = 0.3

    public init() {}
}

/// Explains a scan: integrated gradients over crops, SAE features with ablations, and the
/// compression-shortcut check, writing heatmap PNGs and one safetensors file of raw maps.
public struct ScanExplainer {
    public let model: DetectorModel
    public let sae: SparseAutoencoder?
    public let dictionary: FeatureDictionary?
    public var settings = ExplanationSettings()

    public init(model: DetectorModel, sae: SparseAutoencoder?, dictionary: FeatureDictionary?) {
        self.model = model
        self.sae = sae
        self.dictionary = dictionary
    }

    /// Explains every track of a scan.
    /// - Parameters:
    ///   - scan: the scanner's result (its evidence holds the crops).
    ///   - outputStem: path prefix of the files written: `<stem>.heatmaps/…png` and `<stem>.attributions.safetensors`.
    ///   - documentDirectory: paths in the document are relative to this folder.
    /// - Returns: the explanation section, and the attribution maps by track (for robustness).
    public func explain(scan: VideoScan, outputStem: String, documentDirectory: String) throws
        -> (section: ExplanationSection, mapsByTrack: [Int: [(frame: FrameScore, map: [Float])]]) {
        let s = model.format.size
        let ig = IntegratedGradients(.init(steps: settings.steps, rule: settings.rule, baseline: settings.baseline,
                                           normalization: .identity(channels: 3), batchSize: 16,
                                           smoothing: settings.smoothing))
        let attributionModel = DetectorAttributionModel(model: model)
        let heatmapFolder = outputStem + ".heatmaps"
        let rawMapsPath = outputStem + ".attributions.safetensors"
        try FileManager.default.createDirectory(atPath: heatmapFolder, withIntermediateDirectories: true)
        var archive = TensorArchive(metadata: ["format": "glassbox-attributions-v1",
                                               "layout": "one [height, width] channel-summed IG map per explained frame"])
        var records: [AttributionRecord] = []
        var mapsByTrack: [Int: [(frame: FrameScore, map: [Float])]] = [:]

        for (track, evidence) in zip(scan.tracks, scan.evidence) {
            let chosen = Self.framesToExplain(track.frames, top: settings.framesPerTrack, addLeast: settings.includeLeastSuspicious)
            var inputs: [Float] = []
            for position in chosen { inputs.append(contentsOf: model.format.tensorValues(evidence.crops[position])) }
            let attributions = try ig.attribute(attributionModel, inputs: inputs, count: chosen.count)
            for (position, attribution) in zip(chosen, attributions) {
                let frame = track.frames[position]
                let map = attribution.channelSum
                let name = AttributionRecord.tensorName(frameIndex: frame.index, track: track.id)
                archive.tensors[name] = .init(shape: [s, s], values: map)
                let heatmapPath = "\(heatmapFolder)/track\(track.id)-frame\(frame.index).png"
                let png = AttributionHeatmap.pngData(map: map, width: s, height: s, crop: evidence.crops[position],
                                                        smoothing: AttributionHeatmap.displaySmoothing)
                try Data(png).write(to: URL(fileURLWithPath: heatmapPath), options: .atomic)
                records.append(AttributionRecord(attribution: attribution, frameIndex: frame.index, track: track.id,
                                                 faceBox: Self.faceBoxInCrop(frame, size: s), cropBox: frame.cropBox,
                                                 heatmap: Self.relative(heatmapPath, to: documentDirectory),
                                                 rawMaps: Self.relative(rawMapsPath, to: documentDirectory), rawMapTensor: name))
                mapsByTrack[track.id, default: []].append((frame, map))
            }
        }
        if !archive.tensors.isEmpty {
            let temporary = rawMapsPath + ".partial"
            try archive.write(to: URL(fileURLWithPath: temporary))
            _ = try? FileManager.default.removeItem(atPath: rawMapsPath)
            try FileManager.default.moveItem(atPath: temporary, toPath: rawMapsPath)
        }

        var features: [FeatureRecord] = []
        var featureTrack: Int?
        var spliced: Double?
        var source = "no sparse autoencoder loaded (weights/sae.safetensors missing)"
        if let sae, let worst = scan.mostSuspiciousTrackIndex {
            let embedding = meanEmbedding(scan.evidence[worst])
            let ablation = featureAblation(sae)
            features = try ablation.topFeatures(embedding: embedding, readoutWeights: readoutWeights,
                                                dictionary: dictionary, count: settings.featureCount)
            featureTrack = scan.tracks[worst].id
            spliced = sigmoid(Double(try ablation.readout(ablation.splicedEmbedding(embedding, mode: .reconstructionPlusError))))
            source = dictionary == nil ? "sparse autoencoder without a feature dictionary (unlabelled)"
                                       : "weights/sae_features.json (labels made automatically from training metadata)"
        }
        return (ExplanationSection(attributions: records, features: features, featureTrack: featureTrack,
                                   featureSource: source, splicedProbability: spliced), mapsByTrack)
    }

    /// The readout from embedding to fake logit, and its weights `[D]`.
    var readoutWeights: [Float] {
        let temperature = Float(model.calibration.temperature)
        return model.spatial.head.weight.value.scalars.map { $0 / temperature }
    }

    func featureAblation(_ sae: SparseAutoencoder) -> FeatureAblation {
        let d = model.spatial.configuration.embeddingDimension
        let model = self.model
        // The readout gives the calibrated logit (raw logit / T), so contributions are in the units of
        // the reported p(fake) and an ablation's change is a change of the probability users see.
        let temperature = Float(model.calibration.temperature)
        return FeatureAblation(sae: sae) { embedding in
            precondition(embedding.count == d, "readout expects a [\(d)] embedding")
            return Float(model.frameLogits(fromEmbeddings: embedding, count: 1)[0]) / temperature
        }
    }

    /// The mean embedding of a track: the frame logit is linear in the embedding, so the mean
    /// embedding's logit is the mean frame logit.
    func meanEmbedding(_ evidence: TrackEvidence) -> [Float] {
        let d = model.spatial.configuration.embeddingDimension
        let frames = evidence.embeddings.count / d
        var mean = [Float](repeating: 0, count: d)
        for f in 0..<frames { for i in 0..<d { mean[i] += evidence.embeddings[f * d + i] / Float(frames) } }
        return mean
    }

    /// Share of the verdict's feature contributions carried by codec-linked features.
    public func codecFeatureShare(_ features: [FeatureRecord]) -> Double? {
        guard let dictionary, !features.isEmpty else { return nil }
        let total = features.reduce(0) { $0 + abs($1.contribution) }
        guard total > 0 else { return nil }
        let codec = features.filter { feature in
            guard feature.id < dictionary.features.count else { return false }
            // Codec-linked: tracks codec quality at least `codecCorrelationThreshold`, and more than it
            // tracks any manipulation method. Pair tags ("codec=none & method=real") do not count.
            let correlations = dictionary[feature.id].correlations.filter { !$0.key.contains(" & ") }
            let codecLink = max(abs(correlations["codecQuality"] ?? 0),
                                correlations.filter { $0.key.hasPrefix("codec=") }.map { abs($0.value) }.max() ?? 0)
            let methodLink = correlations.filter { $0.key.hasPrefix("method=") }.map { abs($0.value) }.max() ?? 0
            return codecLink >= settings.codecCorrelationThreshold && codecLink > methodLink
        }.reduce(0) { $0 + abs($1.contribution) }
        return codec / total
    }

    /// Positions of the `top` most suspicious frames, then the least suspicious one.
    public static func framesToExplain(_ frames: [FrameScore], top: Int, addLeast: Bool) -> [Int] {
        let order = frames.indices.sorted { (frames[$0].probability, -$0) > (frames[$1].probability, -$1) }
        var chosen = Array(order.prefix(top))
        if addLeast, let least = order.last, !chosen.contains(least) { chosen.append(least) }
        return chosen
    }

    /// The face box in the crop's pixel coordinates (the crop is `size` pixels square).
    public static func faceBoxInCrop(_ frame: FrameScore, size: Int) -> Box {
        let scale = Double(size) / frame.cropBox.width
        return Box(x: (frame.box.x - frame.cropBox.x) * scale, y: (frame.box.y - frame.cropBox.y) * scale,
                   width: frame.box.width * scale, height: frame.box.height * scale)
    }

    static func relative(_ path: String, to directory: String) -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let base = URL(fileURLWithPath: directory).standardizedFileURL.path
        return absolute.hasPrefix(base + "/") ? String(absolute.dropFirst(base.count + 1)) : absolute
    }
}

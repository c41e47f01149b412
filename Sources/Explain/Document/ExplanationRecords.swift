import Imaging

/// One attribution map of a scan, as it appears in the explanation JSON (`explanation.attributions[]`).
public struct AttributionRecord: Sendable, Equatable, Codable {
    /// Frame index in the video.
    public var frameIndex: Int
    /// Face track id.
    public var track: Int
    /// `integratedGradients`.
    public var method: String
    /// Quadrature rule (`trapezoid`, `gaussLegendre`).
    public var rule: String
    /// Gradient evaluations per path.
    public var steps: Int
    /// Baseline description (`blur(8.0)`, `black`, `uniform(4)`).
    public var baseline: String
    /// SmoothGrad-style input noise averaging (`--smoothgrad`), absent when the map is plain IG.
    public var smoothing: SmoothingRecord?
    /// f(x) and f(baseline) of the fake logit.
    public var inputLogit: Double
    public var baselineLogit: Double
    /// `Σ attributions - (f(x) - f(b))`.
    public var completenessDelta: Double
    /// `|completenessDelta| / |f(x) - f(b)|`.
    public var relativeCompletenessError: Double
    /// Heat-map PNG path, relative to the JSON.
    public var heatmap: String
    /// Safetensors file with all raw maps of the scan, relative to the JSON.
    public var rawMaps: String
    /// Name of this map's `[height, width]` tensor in `rawMaps`.
    public var rawMapTensor: String
    /// The crop's rectangle in the frame's pixels (x, y, width, height), to lay the map back on the frame.
    public var cropBox: Box
    /// Positive-attribution share by face region.
    public var regions: [RegionShare]
    /// The most attributed patches.
    public var topPatches: [PatchShare]

    public init(frameIndex: Int, track: Int, method: String = "integratedGradients", rule: String, steps: Int, baseline: String,
                inputLogit: Double, baselineLogit: Double, completenessDelta: Double, relativeCompletenessError: Double,
                heatmap: String, rawMaps: String, rawMapTensor: String, cropBox: Box, regions: [RegionShare], topPatches: [PatchShare]) {
        self.frameIndex = frameIndex
        self.track = track
        self.method = method
        self.rule = rule
        self.steps = steps
        self.baseline = baseline
        self.inputLogit = inputLogit
        self.baselineLogit = baselineLogit
        self.completenessDelta = completenessDelta
        self.relativeCompletenessError = relativeCompletenessError
        self.heatmap = heatmap
        self.rawMaps = rawMaps
        self.rawMapTensor = rawMapTensor
        self.cropBox = cropBox
        self.regions = regions
        self.topPatches = topPatches
    }

    /// How a smoothed map was made: `samples` noisy copies of the input, Gaussian noise of
    /// `noiseLevel` times the input's value range.
    public struct SmoothingRecord: Sendable, Equatable, Codable {
        public var samples: Int
        public var noiseLevel: Float
        public init(samples: Int, noiseLevel: Float) {
            self.samples = samples
            self.noiseLevel = noiseLevel
        }
    }

    /// The conventional tensor name of a frame's map in the scan's raw-maps file:
    /// `frame<frameIndex>.track<track>` (one `[height, width]` tensor each; write them all with
    /// ``TensorArchive`` so `safetensors.numpy.load_file` reads them).
    public static func tensorName(frameIndex: Int, track: Int) -> String { "frame\(frameIndex).track\(track)" }

    /// A record from an IG result: computes the region summary and top patches of the channel-summed map.
    /// - Parameters:
    ///   - attribution: the IG result.
    ///   - faceBox: the face box in crop pixel coordinates (for regions).
    ///   - cropBox: the crop in frame pixel coordinates.
    ///   - patchSize: top-patch size; `patchCount`: how many.
    public init(attribution: Attribution, frameIndex: Int, track: Int, faceBox: Box, cropBox: Box,
                heatmap: String, rawMaps: String, rawMapTensor: String, patchSize: Int = 16, patchCount: Int = 5) {
        let map = attribution.channelSum
        let w = attribution.shape.width, h = attribution.shape.height
        self.init(frameIndex: frameIndex, track: track, rule: attribution.rule.rawValue, steps: attribution.steps,
                  baseline: attribution.baseline.description, inputLogit: attribution.inputLogit,
                  baselineLogit: attribution.baselineLogit, completenessDelta: attribution.completenessDelta,
                  relativeCompletenessError: attribution.relativeCompletenessError, heatmap: heatmap, rawMaps: rawMaps,
                  rawMapTensor: rawMapTensor, cropBox: cropBox,
                  regions: AttributionSummary.regions(map: map, width: w, height: h, faceBox: faceBox),
                  topPatches: AttributionSummary.topPatches(map: map, width: w, height: h, patchSize: patchSize, count: patchCount))
        smoothing = attribution.smoothing.map { SmoothingRecord(samples: $0.samples, noiseLevel: $0.noiseLevel) }
    }
}

/// One SAE feature behind a verdict (`explanation.features[]`).
public struct FeatureRecord: Sendable, Equatable, Codable {
    /// Latent id.
    public var id: Int
    /// Label from the feature dictionary.
    public var label: String
    /// Activation on this verdict's embedding.
    public var activation: Double
    /// `activation × directContribution`: logit units through the final linear layer.
    public var contribution: Double
    /// Change in p(fake) when this feature alone is switched off in the spliced embedding.
    public var ablationDelta: Double

    public init(id: Int, label: String, activation: Double, contribution: Double, ablationDelta: Double) {
        self.id = id
        self.label = label
        self.activation = activation
        self.contribution = contribution
        self.ablationDelta = ablationDelta
    }
}

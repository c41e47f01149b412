import Foundation
import NN
import Synthesis
import Tensor

/// Settings of a training run; written next to the checkpoints so a resumed run keeps them.
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    /// Optimisation steps of the spatial network.
    public var steps: Int = 3000
    /// Real/fake pairs per batch (the batch holds twice as many crops).
    public var pairsPerBatch: Int = 16
    public var learningRate: Float = 2e-3
    public var weightDecay: Float = 1e-4
    public var warmupSteps: Int = 100
    /// Validate and checkpoint every this many steps.
    public var validateEvery: Int = 250
    /// Validation pairs (fixed for the whole run, made from validation identities).
    public var validationPairs: Int = 256
    /// Manipulation methods used to make pseudo-fakes.
    public var methods: [ManipulationMethod] = ManipulationMethod.allCases
    /// Steps of the temporal head on frozen embeddings.
    public var temporalSteps: Int = 300
    /// Frames per temporal training sequence.
    public var temporalFrames: Int = 8
    /// Probability that a pair is JPEG-compressed at a random quality (both images alike); only
    /// read for configurations without `codecAugmentation` (written before it existed).
    public var jpegProbability: Double = 0.5
    /// Compression and rescaling shared by each pair; nil in files written before it existed,
    /// which trained with `CodecAugmentation.legacy(jpegProbability:)`.
    public var codecAugmentation: CodecAugmentation? = .standard
    /// What the samplers use.
    public var effectiveCodecAugmentation: CodecAugmentation {
        codecAugmentation ?? .legacy(jpegProbability: jpegProbability)
    }
    /// When set, fakes always get this JPEG quality and reals never do: a deliberately
    /// shortcut-prone model (for testing the robustness flag), never for shipping.
    public var shortcutFakeJPEGQuality: Int?
    /// Weight of the auxiliary blending-mask loss (Face X-ray style); 0 turns the head off.
    public var boundaryLossWeight: Float = 1
    /// What the mask head predicts; nil (files written before it existed) means `.mask`.
    public var boundaryTarget: BoundaryTarget?
    /// Weight of an auxiliary method-classification loss on the embedding (needs the mask head);
    /// nil or 0 turns it off. Optional so that files written before it existed still decode.
    public var methodLossWeight: Float?
    public var seed: UInt64 = 1
    public var network = SpatialNetworkConfiguration()
    /// Where fakes come from; nil means `.realOnly` (and is what files written before supervised
    /// mode existed decode to, so their runs still resume).
    public var mode: TrainingMode?
    /// Supervised mode only: share of each batch's pairs that are pseudo-fakes made from the set's
    /// own real crops (as in real-only mode) instead of the set's fakes; nil or 0 for none.
    public var selfBlendShare: Double?

    public init() {}
}

/// The dense target of the auxiliary mask head.
public enum BoundaryTarget: String, Codable, Sendable, CaseIterable {
    /// The blend mask itself: where the fake was blended in.
    case mask
    /// The blending seam `4 m (1 - m)` of the soft mask `m`, as in Face X-ray (Li et al., CVPR 2020):
    /// 1 where the two images mix half and half, 0 inside and outside the blend. It cannot be
    /// predicted from what the face looks like, only from the seam itself.
    case seam
}

/// Where a training run's fakes come from.
public enum TrainingMode: String, Codable, Sendable {
    /// Pseudo-fakes made on the fly from real crops (`TrainingSampler`).
    case realOnly
    /// A labelled set's own fakes (`SupervisedSampler`), from a crop store whose records carry
    /// `label` "real" or a method name.
    case supervised
}

/// One validation point of the training history.
public struct ValidationPoint: Codable, Sendable {
    public var step: Int
    public var trainLoss: Double
    public var validationLoss: Double
    public var validationAUC: Double?
    public var perMethodAUC: [String: Double]
    /// AUC on a fixed batch of training pairs in inference mode: a gap to the training loss means
    /// over-fitting or inference-mode trouble, a gap to `validationAUC` means poor generalisation.
    public var trainAUC: Double?
    /// Validation AUC with batch statistics instead of running statistics (diagnostic: a large
    /// gap to `validationAUC` means the network leans on within-batch comparisons).
    public var validationAUCBatchStatistics: Double?
    public var seconds: Double
}

/// What a training run measured, written as `metrics.json`.
public struct TrainingMetrics: Codable, Sendable {
    public var configuration: TrainingConfiguration
    public var trainCrops: Int
    public var validationCrops: Int
    public var trainIdentities: [String]
    public var validationIdentities: [String]
    public var history: [ValidationPoint]
    /// Frame-level metrics on the validation pairs, with calibrated probabilities.
    public var validation: BinaryMetrics?
    public var perMethodValidationAUC: [String: Double]
    public var temperature: Double
    public var eceBeforeCalibration: Double?
    public var temporalValidationAUC: Double?
    public var trainingSeconds: Double
    public var threads: Int
    /// The step whose weights were calibrated and written: the best validation AUC's (default) or
    /// the last step's (`keepLast`).
    public var selectedStep: Int
    /// `"best"` or `"last"`.
    public var selection: String
    /// The best validation AUC of the run and its step (nil when no validation had an AUC).
    public var bestValidationAUC: Double?
    public var bestStep: Int?
    /// The validation AUC at the last step.
    public var finalValidationAUC: Double?
    /// Supervised mode: the set, the split and what was skipped (filled in by the caller).
    public var supervisedData: SupervisedCorpus.Summary?
}

/// Trains the detector from real crops and pseudo-fakes made on the fly (real-only mode), or from a
/// labelled set's real and fake crops (supervised mode; see `TrainingConfiguration.mode`).
///
/// Checkpoints (`checkpoint.safetensors` + `state.json`) are written to the run folder every
/// `validateEvery` steps; a new run in the same folder resumes from them. AdamW's moment
/// estimates are not checkpointed, so a resumed run restarts them (a brief warm-up is re-run).
/// The weights of the best validation AUC so far are kept as `best.safetensors` (recorded in the
/// state, so a resumed run keeps them), and by default they, not the last weights, are calibrated
/// and returned.
public final class DetectorTrainer {
    public let configuration: TrainingConfiguration
    public let store: CropStore
    public let runDirectory: String
    public var log: (String) -> Void = { print($0) }
    public var progress: (Int, Int, String) -> Void = { _, _, _ in }
    /// Return the last step's weights instead of the best validation AUC's.
    public var keepLast = false
    /// Batch-norm recalibration batches before each validation and before the last one; pairs of
    /// the fixed training probe. Fixed for real runs; tests shrink them (unoptimised debug builds).
    var recalibrationBatches = (validation: 16, final: 64)
    var trainProbePairs = 64
    var temporalValidationPairs = 32

    public init(configuration: TrainingConfiguration, store: CropStore, runDirectory: String) {
        self.configuration = configuration
        self.store = store
        self.runDirectory = runDirectory
    }

    struct RunState: Codable {
        var step: Int
        var history: [ValidationPoint]
        var configuration: TrainingConfiguration
        var elapsedSeconds: Double
        /// The best validation so far, whose weights are at `bestPath` (nil in older state files).
        var best: BestCheckpoint?
    }

    var checkpointPath: String { runDirectory + "/checkpoint.safetensors" }
    var bestPath: String { runDirectory + "/best.safetensors" }

    /// The training and validation samplers of the configured mode.
    /// - Throws: `TrainingError.noData` when a side lacks crops (or, supervised, reals or fakes).
    public func makeSamplers() throws -> (train: any PairSampler, validation: any PairSampler) {
        let config = configuration
        let format = InputFormat(size: config.network.inputSize)
        func realOnly(_ split: DataSplit) -> TrainingSampler {
            var sampler = TrainingSampler(store: store, split: split, methods: config.methods, format: format)
            sampler.codec = config.effectiveCodecAugmentation
            sampler.shortcutFakeJPEGQuality = config.shortcutFakeJPEGQuality
            sampler.boundaryTarget = config.boundaryTarget ?? .mask
            return sampler
        }
        switch config.mode ?? .realOnly {
        case .realOnly:
            let train = realOnly(.train), validation = realOnly(.validation)
            guard !train.indices.isEmpty else { throw TrainingError.noData("no training crops") }
            guard !validation.indices.isEmpty else { throw TrainingError.noData("no validation crops") }
            return (train, validation)
        case .supervised:
            var train = SupervisedSampler(store: store, split: .train, format: format)
            var validation = SupervisedSampler(store: store, split: .validation, format: format)
            train.codec = config.effectiveCodecAugmentation
            validation.codec = config.effectiveCodecAugmentation
            guard train.hasBothLabels else { throw TrainingError.noData("training needs crops of both real and fake videos") }
            guard validation.hasBothLabels else { throw TrainingError.noData("validation needs crops of both real and fake videos") }
            // Self-blended pseudo-fakes of the set's reals go into training only: validation measures the set's own fakes.
            if let share = config.selfBlendShare, share > 0 {
                let pseudo = realOnly(.train)
                guard !pseudo.indices.isEmpty else { throw TrainingError.noData("no real training crops to self-blend") }
                return (MixedPairSampler(primary: train, secondary: pseudo, secondaryShare: share), validation)
            }
            return (train, validation)
        }
    }

    /// The temporal head's sequence samplers of the configured mode.
    func makeSequenceSamplers() -> (train: any SequencePairSampler, validation: any SequencePairSampler) {
        let config = configuration
        let format = InputFormat(size: config.network.inputSize)
        // Sequences share the pairs' codec recipe (before `codecAugmentation` they had their own fixed one).
        let codec = config.effectiveCodecAugmentation
        switch config.mode ?? .realOnly {
        case .realOnly:
            var train = SequenceSampler(store: store, split: .train, frames: config.temporalFrames, methods: config.methods, format: format)
            var validation = SequenceSampler(store: store, split: .validation, frames: config.temporalFrames, methods: config.methods, format: format)
            train.codec = codec
            validation.codec = codec
            return (train, validation)
        case .supervised:
            var train = SupervisedSequenceSampler(store: store, split: .train, frames: config.temporalFrames, format: format)
            var validation = SupervisedSequenceSampler(store: store, split: .validation, frames: config.temporalFrames, format: format)
            train.codec = codec
            validation.codec = codec
            return (train, validation)
        }
    }
    var statePath: String { runDirectory + "/state.json" }

    /// Runs (or resumes) training and returns the calibrated model and its metrics.
    public func run() throws -> (DetectorModel, TrainingMetrics) {
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        let config = configuration
        let (trainSampler, validationSampler) = try makeSamplers()

        var model = DetectorModel(spatial: SpatialNetwork(configuration: config.network, seed: config.seed),
                                  temporal: TemporalHead(configuration: .init(embeddingDimension: config.network.embeddingDimension),
                                                         seed: config.seed &+ 7),
                                  format: InputFormat(size: config.network.inputSize))
        var state = RunState(step: 0, history: [], configuration: config, elapsedSeconds: 0)
        if FileManager.default.fileExists(atPath: statePath), FileManager.default.fileExists(atPath: checkpointPath) {
            let saved = try? JSONDecoder().decode(RunState.self, from: Data(contentsOf: URL(fileURLWithPath: statePath)))
            if let saved, saved.configuration == config {
                model = try DetectorModel.load(from: checkpointPath)
                state = saved
                log("resuming from step \(state.step) (\(runDirectory))")
            } else {
                log("configuration changed: starting over in \(runDirectory)")
                // The old run's best weights belong to another configuration.
                try? FileManager.default.removeItem(atPath: bestPath)
            }
        }

        // A fixed validation set: the same pairs at every validation, from validation identities only.
        let validation = validationSampler.pairBatch(pairs: config.validationPairs, seed: config.seed &+ 1_000_003)
        let trainProbe = trainSampler.pairBatch(pairs: trainProbePairs, seed: config.seed &+ 2_000_029)
        let boundary = config.boundaryLossWeight > 0
            ? BoundaryHeadStep(network: model.spatial, weight: config.boundaryLossWeight, methodClasses: config.methods.count + 1,
                               methodWeight: config.methodLossWeight ?? 0, seed: config.seed &+ 11) : nil
        let optimizer = AdamW(parameters: boundary?.parameters ?? model.spatial.parameters, learningRate: config.learningRate,
                              weightDecay: config.weightDecay)
        let schedule = WarmupCosineSchedule(baseLearningRate: config.learningRate, warmupSteps: config.warmupSteps,
                                            totalSteps: config.steps, minimumLearningRate: config.learningRate * 0.02)
        let started = Date()
        let priorSeconds = state.elapsedSeconds
        var lossSum = 0.0, lossCount = 0
        let s = config.network.inputSize
        while state.step < config.steps {
            let batch = trainSampler.batchWithMasks(pairs: config.pairsPerBatch, seed: config.seed &+ UInt64(state.step) &* 7919)
            optimizer.learningRate = schedule.learningRate(at: state.step)
            let n = 2 * config.pairsPerBatch, grid = trainSampler.maskGridSize
            let crops = Tensor(shape: [n, 3, s, s], scalars: batch.inputs)
            let labels = Tensor(shape: [n], scalars: batch.labels)
            let loss: Float
            if let boundary {
                let methodNames = config.methods.map(\.rawValue)
                let classes = batch.tags.map { tag in tag.method == "real" ? 0 : (methodNames.firstIndex(of: tag.method) ?? -1) + 1 }
                loss = boundary.step(crops: crops, labels: labels, masks: Tensor(shape: [n, 1, grid, grid], scalars: batch.masks),
                                     classes: classes, optimizer: optimizer).0
            } else {
                loss = model.spatial.trainingStep(crops: crops, labels: labels, optimizer: optimizer)
            }
            lossSum += Double(loss)
            lossCount += 1
            state.step += 1
            progress(state.step, config.steps, String(format: "loss %.4f", loss))
            if state.step % config.validateEvery == 0 || state.step == config.steps {
                recalibrate(model: model, sampler: trainSampler, batches: state.step == config.steps ? recalibrationBatches.final : recalibrationBatches.validation, seed: UInt64(state.step))
                let point = validate(model: model, validation: validation, trainProbe: trainProbe, step: state.step,
                                     trainLoss: lossSum / Double(max(lossCount, 1)),
                                     seconds: priorSeconds + Date().timeIntervalSince(started))
                lossSum = 0; lossCount = 0
                state.history.append(point)
                state.elapsedSeconds = point.seconds
                log(String(format: "step %5d  train loss %.4f  val loss %.4f  val AUC %.4f  train-probe AUC %.4f  val AUC (batch stats) %.4f  (%.0f s)",
                           point.step, point.trainLoss, point.validationLoss, point.validationAUC ?? .nan, point.trainAUC ?? .nan,
                           point.validationAUCBatchStatistics ?? .nan, point.seconds))
                // The best weights first, then the state that names them: an interruption in
                // between leaves an older state whose best file is at least as good.
                if BestCheckpoint.improves(state.best, auc: point.validationAUC) {
                    try model.save(to: bestPath)
                    state.best = BestCheckpoint(step: point.step, validationAUC: point.validationAUC!)
                    log(String(format: "  new best validation AUC %.4f at step %d (%@)", point.validationAUC!, point.step, bestPath))
                }
                try model.save(to: checkpointPath)
                try JSONEncoder().encode(state).write(to: URL(fileURLWithPath: statePath), options: .atomic)
            }
        }

        // The weights to calibrate and ship: the best validation's unless told to keep the last.
        var selectedStep = state.step
        if !keepLast, let best = state.best, best.step != state.step {
            if FileManager.default.fileExists(atPath: bestPath) {
                model = try DetectorModel.load(from: bestPath)
                selectedStep = best.step
                log(String(format: "using the best weights: step %d, validation AUC %.4f (last step %d: %.4f)", best.step,
                           best.validationAUC, state.step, state.history.last?.validationAUC ?? .nan))
            } else {
                log("warning: \(bestPath) is missing; using the last weights")
            }
        }

        // Calibration: temperature scaling on the validation logits.
        let (_, logits) = model.embedAndScore(validation.inputs, count: validation.labels.count)
        let labels = validation.labels.map { Int($0) }
        let before = BinaryMetrics(scores: logits.map(sigmoid), labels: labels).expectedCalibrationError
        model.calibration = TemperatureScaling.fit(logits: logits, labels: labels)
        let calibrated = BinaryMetrics(scores: logits.map(model.calibration.probability), labels: labels)
        let perMethod = Self.perMethodAUC(logits: logits, tags: validation.tags)
        log(String(format: "calibration: T = %.3f, ECE %.4f -> %.4f", model.calibration.temperature, before ?? .nan,
                   calibrated.expectedCalibrationError ?? .nan))

        let temporalAUC = try trainTemporalHead(model: model)
        let metrics = TrainingMetrics(configuration: config, trainCrops: trainSampler.cropIndices.count,
                                      validationCrops: validationSampler.cropIndices.count,
                                      trainIdentities: Set(trainSampler.cropIndices.map { store.records[$0].identity }).sorted(),
                                      validationIdentities: Set(validationSampler.cropIndices.map { store.records[$0].identity }).sorted(),
                                      history: state.history, validation: calibrated, perMethodValidationAUC: perMethod,
                                      temperature: model.calibration.temperature, eceBeforeCalibration: before,
                                      temporalValidationAUC: temporalAUC,
                                      trainingSeconds: priorSeconds + Date().timeIntervalSince(started), threads: Parallel.threadCount,
                                      selectedStep: selectedStep, selection: keepLast || state.best == nil ? "last" : "best",
                                      bestValidationAUC: state.best?.validationAUC, bestStep: state.best?.step,
                                      finalValidationAUC: state.history.last?.validationAUC, supervisedData: nil)
        return (model, metrics)
    }

    /// Precise batch-norm statistics from `batches` fresh training batches (see `BatchNormRecalibration`).
    func recalibrate(model: DetectorModel, sampler: any PairSampler, batches: Int, seed: UInt64) {
        let s = configuration.network.inputSize, n = 2 * configuration.pairsPerBatch
        BatchNormRecalibration.run(network: model.spatial, batches: batches) { b in
            Tensor(shape: [n, 3, s, s], scalars: sampler.pairBatch(pairs: configuration.pairsPerBatch,
                                                               seed: configuration.seed &+ 31_337 &+ seed &* 1000 &+ UInt64(b)).inputs)
        }
    }

    func validate(model: DetectorModel, validation: (inputs: [Float], labels: [Float], tags: [SampleTag]),
                  trainProbe: (inputs: [Float], labels: [Float], tags: [SampleTag]),
                  step: Int, trainLoss: Double, seconds: Double) -> ValidationPoint {
        let (_, logits) = model.embedAndScore(validation.inputs, count: validation.labels.count)
        let labels = validation.labels.map { Int($0) }
        let loss = zip(logits, labels).map { binaryCrossEntropy(logit: $0.0, label: Double($0.1)) }.reduce(0, +) / Double(max(labels.count, 1))
        let (_, probeLogits) = model.embedAndScore(trainProbe.inputs, count: trainProbe.labels.count)
        return ValidationPoint(step: step, trainLoss: trainLoss, validationLoss: loss,
                               validationAUC: BinaryMetrics.areaUnderROC(scores: logits, labels: labels),
                               perMethodAUC: Self.perMethodAUC(logits: logits, tags: validation.tags),
                               trainAUC: BinaryMetrics.areaUnderROC(scores: probeLogits, labels: trainProbe.labels.map { Int($0) }),
                               validationAUCBatchStatistics: batchStatisticsAUC(model: model, validation: validation),
                               seconds: seconds)
    }

    /// Validation AUC with batch-norm batch statistics (a diagnostic): runs training-mode forward
    /// passes on copies of the batch-norm state, then restores the running statistics.
    func batchStatisticsAUC(model: DetectorModel, validation: (inputs: [Float], labels: [Float], tags: [SampleTag])) -> Double? {
        let saved = model.spatial.stateDict()
        defer { try? model.spatial.loadStateDict(saved) }
        let s = configuration.network.inputSize, per = 3 * s * s, batch = 2 * configuration.pairsPerBatch
        var logits: [Double] = []
        var start = 0
        let count = validation.labels.count
        while start < count {
            let n = min(batch, count - start)
            let x = Tensor(shape: [n, 3, s, s], scalars: Array(validation.inputs[(start * per)..<((start + n) * per)]))
            logits += model.spatial.forward(x, training: true).scalars.map(Double.init)
            start += n
        }
        return BinaryMetrics.areaUnderROC(scores: logits, labels: validation.labels.map { Int($0) })
    }

    /// AUC of each method's fakes against all reals.
    static func perMethodAUC(logits: [Double], tags: [SampleTag]) -> [String: Double] {
        let realScores = zip(logits, tags).filter { $0.1.method == "real" }.map(\.0)
        var result: [String: Double] = [:]
        for method in Set(tags.map(\.method)) where method != "real" {
            let fakeScores = zip(logits, tags).filter { $0.1.method == method }.map(\.0)
            result[method] = BinaryMetrics.areaUnderROC(scores: realScores + fakeScores,
                                                        labels: [Int](repeating: 0, count: realScores.count) + [Int](repeating: 1, count: fakeScores.count))
        }
        return result
    }

    /// Trains the temporal head on frozen embeddings of consecutive video crops.
    /// - Returns: the clip AUC on validation sequences, or nil when there are no video sources.
    func trainTemporalHead(model: DetectorModel) throws -> Double? {
        let config = configuration
        let (trainClips, validationClips) = makeSequenceSamplers()
        guard trainClips.hasSequences, config.temporalSteps > 0 else {
            log("temporal head: no video sequences, left untrained (tracks are scored by frames only)")
            model.temporalWeight = 0
            return nil
        }
        let d = config.network.embeddingDimension, t = config.temporalFrames
        func embed(_ batch: (inputs: [Float], labels: [Float])) -> Tensor {
            let count = batch.labels.count * t
            let (embeddings, _) = model.embedAndScore(batch.inputs, count: count)
            return Tensor(shape: [batch.labels.count, t, d], scalars: embeddings)
        }
        let optimizer = AdamW(parameters: model.temporal.parameters, learningRate: 1e-3, weightDecay: 1e-3)
        let sequencesPerBatch = 8
        for step in 0..<config.temporalSteps {
            let batch = trainClips.batch(pairs: sequencesPerBatch / 2, seed: config.seed &+ 55_555 &+ UInt64(step))
            let x = embed(batch)
            model.temporal.zeroGradients()
            let logits = model.temporal.forward(x, training: true)
            let (loss, grad) = Loss.binaryCrossEntropyWithLogits(logits, targets: Tensor(shape: [batch.labels.count, 1], scalars: batch.labels))
            _ = model.temporal.backward(grad)
            optimizer.step()
            progress(step + 1, config.temporalSteps, String(format: "temporal loss %.4f", loss))
        }
        guard validationClips.hasSequences else { return nil }
        let validation = validationClips.batch(pairs: temporalValidationPairs, seed: config.seed &+ 77_777)
        let logits = model.temporal.forward(embed(validation), training: false).scalars.map(Double.init)
        let auc = BinaryMetrics.areaUnderROC(scores: logits, labels: validation.labels.map { Int($0) })
        log(String(format: "temporal head: validation clip AUC %.4f", auc ?? .nan))
        return auc
    }
}

public enum TrainingError: Error, CustomStringConvertible {
    case noData(String)
    public var description: String {
        switch self {
        case .noData(let reason): return "cannot train: \(reason)"
        }
    }
}

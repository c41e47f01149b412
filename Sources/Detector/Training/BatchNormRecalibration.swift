import NN
import Tensor

/// Replaces every batch norm's running statistics with population statistics: the mean of the
/// per-batch statistics over many training batches, with the weights frozen ("precise BN",
/// Wu and Johnson 2021, "Rethinking 'Batch' in BatchNorm").
///
/// Why: running statistics are an exponential average over the last few steps. While the
/// weights still move fast they lag behind, and inference-mode outputs can disagree with what
/// training-mode outputs (batch statistics) show the network has learned.
enum BatchNormRecalibration {
    /// - Parameters:
    ///   - network: the spatial network (weights are not changed).
    ///   - batches: training-mode forward passes to average over.
    ///   - makeBatch: the `b`-th batch `[N, 3, S, S]`.
    static func run(network: SpatialNetwork, batches: Int, makeBatch: (Int) -> Tensor) {
        let norms = [network.stem.bn] + network.stages.flatMap { $0.layers.compactMap { ($0 as? ConvNormActivation)?.bn } }
        var meanSums = norms.map { [Double](repeating: 0, count: $0.channels) }
        var varianceSums = meanSums
        for b in 0..<batches {
            let before = norms.map { ($0.runningMean.value.scalars, $0.runningVariance.value.scalars) }
            _ = network.embedding(makeBatch(b), training: true)
            // Each layer did running = (1 - m) running + m batch: recover the batch statistics.
            for (layer, norm) in norms.enumerated() {
                let m = Double(norm.momentum)
                let newMean = norm.runningMean.value.scalars, newVariance = norm.runningVariance.value.scalars
                for c in 0..<norm.channels {
                    meanSums[layer][c] += (Double(newMean[c]) - (1 - m) * Double(before[layer].0[c])) / m
                    varianceSums[layer][c] += (Double(newVariance[c]) - (1 - m) * Double(before[layer].1[c])) / m
                }
            }
        }
        for (layer, norm) in norms.enumerated() {
            norm.runningMean.value = Tensor(shape: [norm.channels], scalars: meanSums[layer].map { Float($0 / Double(batches)) })
            norm.runningVariance.value = Tensor(shape: [norm.channels],
                                                scalars: varianceSums[layer].map { Float(max($0 / Double(batches), 0)) })
        }
    }
}

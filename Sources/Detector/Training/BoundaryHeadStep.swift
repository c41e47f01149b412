import NN
import Tensor

/// A training step with an auxiliary blending-mask head, after Face X-ray (Li et al., CVPR 2020):
/// besides the frame label, a 1x1 convolution on the 16x16 feature map (after the second stage)
/// predicts where the fake was blended. The dense target gives the network a per-pixel reason to
/// look at blend boundaries, which a from-scratch network on few identities otherwise struggles
/// to find from one bit per image. The head is used only in training and is not saved.
final class BoundaryHeadStep {
    let network: SpatialNetwork
    let head: Conv2D
    /// Index of the stage whose output the mask head reads (its resolution is input / 8).
    let stageIndex: Int
    /// Weight of the mask loss against the label loss.
    let weight: Float
    /// Optional auxiliary classifier of the manipulation method (real + each method) on the
    /// embedding, with its loss weight: more than one bit of supervision per image, so that the
    /// embedding keeps directions that tell the methods apart (an experiment; off by default).
    let methodHead: Linear?
    let methodWeight: Float

    init(network: SpatialNetwork, weight: Float = 1, methodClasses: Int = 0, methodWeight: Float = 0, seed: UInt64) {
        self.network = network
        // Stem halves, each stage halves: stage k's output is input / 2^(k + 2); input / 8 is k = 1.
        stageIndex = 1
        precondition(network.stages.count > stageIndex + 1, "the boundary head needs at least three stages")
        head = Conv2D(inputChannels: network.configuration.stageChannels[stageIndex], outputChannels: 1, kernelSize: 1,
                      seed: seed)
        self.weight = weight
        self.methodWeight = methodWeight
        methodHead = methodWeight > 0 && methodClasses > 1
            ? Linear(inputFeatures: network.configuration.embeddingDimension, outputFeatures: methodClasses, seed: seed &+ 1) : nil
    }

    var parameters: [Parameter] { network.parameters + head.parameters + (methodHead?.parameters ?? []) }

    /// One step on `crops [N, 3, S, S]`, `labels [N]` and `masks [N, 1, S/8, S/8]`.
    /// - Returns: the label loss and the mask loss before the update.
    /// `classes` (one per crop: 0 real, 1... the method) feeds the method head when there is one.
    func step(crops: Tensor, labels: Tensor, masks: Tensor, classes: [Int]? = nil, optimizer: any Optimizer,
              clipNorm: Float = 5) -> (Float, Float) {
        network.zeroGradients()
        head.zeroGradients()
        methodHead?.zeroGradients()
        network.stem.conv.computesInputGradient = false
        defer { network.stem.conv.computesInputGradient = true }

        // Forward: [N,3,S,S] -> stem -> stages[0...k] (features F [N,C,S/8,S/8]) -> rest -> pool -> logit.
        var x = network.normalize.forward(crops, training: true)
        x = network.stem.forward(x, training: true)
        for stage in network.stages[...stageIndex] { x = stage.forward(x, training: true) }
        let features = x
        for stage in network.stages[(stageIndex + 1)...] { x = stage.forward(x, training: true) }
        let embedding = network.pool.forward(x, training: true)
        let logits = network.head.forward(network.dropout.forward(embedding, training: true), training: true)
        let (labelLoss, labelGradient) = Loss.binaryCrossEntropyWithLogits(logits, targets: labels.reshaped(logits.shape))
        let maskLogits = head.forward(features, training: true)                         // [N, 1, S/8, S/8]
        let (maskLoss, maskGradient) = Loss.binaryCrossEntropyWithLogits(maskLogits, targets: masks.reshaped(maskLogits.shape))

        // Backward: both losses meet at the features.
        var g = network.dropout.backward(network.head.backward(labelGradient))
        if let methodHead, let classes {
            let (_, methodGradient) = Loss.softmaxCrossEntropy(methodHead.forward(embedding, training: true), classes: classes)
            g += methodHead.backward(methodGradient * methodWeight)
        }
        g = network.pool.backward(g)
        for stage in network.stages[(stageIndex + 1)...].reversed() { g = stage.backward(g) }
        g += head.backward(maskGradient * weight)
        for stage in network.stages[...stageIndex].reversed() { g = stage.backward(g) }
        _ = network.stem.backward(g)
        clipGradientNorm(parameters, maxNorm: clipNorm)
        optimizer.step()
        return (labelLoss, maskLoss)
    }
}

import NN
import Tensor

/// Any NN ``Layer`` whose output is `[N, outputs]` as an ``AttributableModel`` for one output column.
///
/// Forward in inference mode, then backward with a one-hot `dLoss/dOutput` at `targetIndex`, so
/// the returned input gradient is `d output[n, target] / d input[n]` for each sample (samples do not
/// interact in inference mode). Note the layers also accumulate parameter gradients into their
/// `Parameter.grad` during the backward pass; call `zeroGradients()` before training again.
/// Not thread-safe (layers cache activations between forward and backward).
public final class LayerModel: AttributableModel {
    public let layer: any Layer
    public let inputShape: InputShape
    /// The output column explained (the fake logit).
    public let targetIndex: Int

    /// - Parameters:
    ///   - layer: the network from normalised input `[N, C, H, W]` to `[N, outputs]`.
    ///   - inputShape: `[C, H, W]`.
    ///   - targetIndex: the output column to explain.
    public init(layer: any Layer, inputShape: InputShape, targetIndex: Int = 0) {
        precondition(targetIndex >= 0, "target index must be non-negative")
        self.layer = layer
        self.inputShape = inputShape
        self.targetIndex = targetIndex
    }

    public func logits(_ inputs: [Float], batch: Int) throws -> [Float] {
        let output = try forward(inputs, batch: batch)
        let columns = output.count / batch
        return output.withUnsafeBufferPointer { o in (0..<batch).map { o[$0 * columns + targetIndex] } }
    }

    public func logitsAndInputGradients(_ inputs: [Float], batch: Int) throws -> (logits: [Float], gradients: [Float]) {
        let output = try forward(inputs, batch: batch)
        let columns = output.count / batch
        var seed = [Float](repeating: 0, count: output.count)
        for n in 0..<batch { seed[n * columns + targetIndex] = 1 }
        let gradient = layer.backward(Tensor(shape: output.shape, scalars: seed))
        guard gradient.count == inputs.count else {
            throw ExplainError.shapeMismatch(name: "input gradient", expected: "\(inputs.count) values", actual: "\(gradient.shape)")
        }
        let logits = output.withUnsafeBufferPointer { o in (0..<batch).map { o[$0 * columns + targetIndex] } }
        return (logits, gradient.scalars)
    }

    private func forward(_ inputs: [Float], batch: Int) throws -> Tensor {
        guard batch >= 1, inputs.count == batch * inputShape.count else {
            throw ExplainError.shapeMismatch(name: "model input", expected: "[\(batch), \(inputShape.channels), \(inputShape.height), \(inputShape.width)]",
                                             actual: "\(inputs.count) floats")
        }
        let output = layer.forward(Tensor(shape: [batch, inputShape.channels, inputShape.height, inputShape.width], scalars: inputs),
                                   training: false)
        guard output.shape.count == 2, output.shape[0] == batch, targetIndex < output.shape[1] else {
            throw ExplainError.shapeMismatch(name: "model output", expected: "[\(batch), > \(targetIndex)]", actual: "\(output.shape)")
        }
        return output
    }
}

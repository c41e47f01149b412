/// The validation step with the highest AUC seen so far in a run.
///
/// Training keeps the weights of this step (`best.safetensors`) because validation AUC of a small
/// network on few identities rises and falls; by default the run's output is these weights, not
/// the last ones. Ties keep the earlier step (fewer steps, same score). Steps without an AUC (a
/// validation side with one label only) never count.
public struct BestCheckpoint: Codable, Sendable, Equatable {
    /// The training step of the best validation.
    public var step: Int
    /// Its validation AUC.
    public var validationAUC: Double

    public init(step: Int, validationAUC: Double) {
        self.step = step
        self.validationAUC = validationAUC
    }

    /// Whether a validation at `step` with `auc` replaces `current` as the best.
    /// - Parameters:
    ///   - current: the best so far, or nil before the first validation with an AUC.
    ///   - auc: the new validation AUC (nil or NaN never wins).
    /// - Returns: true when the new point is strictly better.
    public static func improves(_ current: BestCheckpoint?, auc: Double?) -> Bool {
        guard let auc, !auc.isNaN else { return false }
        guard let current else { return true }
        return auc > current.validationAUC
    }

    /// The best point of a validation history (the same rule as during training).
    /// - Parameter history: validation points in step order.
    /// - Returns: the best, or nil when no point has an AUC.
    public static func best(of history: [ValidationPoint]) -> BestCheckpoint? {
        var best: BestCheckpoint?
        for point in history where improves(best, auc: point.validationAUC) {
            best = BestCheckpoint(step: point.step, validationAUC: point.validationAUC!)
        }
        return best
    }
}

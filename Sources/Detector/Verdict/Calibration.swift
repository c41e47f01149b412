import Foundation

/// Temperature scaling (Guo, Pleiss, Sun and Weinberger, ICML 2017, "On Calibration of Modern
/// Neural Networks"): one scalar `T` divides the logit, fitted to minimise the negative
/// log-likelihood on held-out data. It changes confidence, never the ranking (AUC is unchanged).
public struct TemperatureScaling: Codable, Sendable, Equatable {
    /// The fitted temperature; 1 means uncalibrated.
    public var temperature: Double

    public init(temperature: Double = 1) {
        precondition(temperature > 0, "temperature must be positive, got \(temperature)")
        self.temperature = temperature
    }

    /// Calibrated p(fake) for a raw logit.
    public func probability(logit: Double) -> Double {
        sigmoid(logit / temperature)
    }

    /// Fits `T` on validation logits by golden-section search of the mean NLL over log T in
    /// [log 0.05, log 20] (the NLL is convex in 1/T, so the search is safe).
    /// - Parameters:
    ///   - logits: raw fake logits.
    ///   - labels: 1 fake, 0 real.
    public static func fit(logits: [Double], labels: [Int]) -> TemperatureScaling {
        precondition(logits.count == labels.count, "one label per logit")
        guard !logits.isEmpty else { return TemperatureScaling() }
        func loss(_ logTemperature: Double) -> Double {
            let temperature = exp(logTemperature)
            var total = 0.0
            for (logit, label) in zip(logits, labels) {
                total += binaryCrossEntropy(logit: logit / temperature, label: Double(label))
            }
            return total / Double(logits.count)
        }
        var low = log(0.05), high = log(20.0)
        let ratio = (sqrt(5.0) - 1) / 2
        var a = high - ratio * (high - low), b = low + ratio * (high - low)
        var lossA = loss(a), lossB = loss(b)
        for _ in 0..<80 {
            if lossA < lossB {
                high = b; b = a; lossB = lossA
                a = high - ratio * (high - low); lossA = loss(a)
            } else {
                low = a; a = b; lossA = lossB
                b = low + ratio * (high - low); lossB = loss(b)
            }
        }
        return TemperatureScaling(temperature: exp((low + high) / 2))
    }
}

/// The logistic function, stable for large |x|.
@inlinable public func sigmoid(_ x: Double) -> Double {
    x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
}

/// Binary cross-entropy of a logit against a label in [0, 1], computed stably:
/// `max(z, 0) − z·y + log(1 + e^(−|z|))`.
@inlinable public func binaryCrossEntropy(logit: Double, label: Double) -> Double {
    max(logit, 0) - logit * label + log1p(exp(-abs(logit)))
}

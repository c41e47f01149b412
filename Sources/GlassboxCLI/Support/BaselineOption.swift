import Explain

/// The `--baseline` option of the commands that compute integrated gradients.
enum BaselineOption {
    /// One line for `--help` texts.
    static let help = "blur (sigma 8 px, the default), blur:S (sigma S px), black, or noise:N (uniform noise, N draws averaged)"

    /// `blur`, `blur:S`, `black` or `noise:N` as an integrated-gradients baseline.
    static func parse(_ text: String) throws -> Baseline {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first ?? "", parts.count > 1 ? parts[1] : nil) {
        case ("blur", nil): return .default
        case ("blur", let sigma?):
            guard let value = Double(sigma), value > 0, value <= 1000 else { throw CLIError.usage("--baseline blur:S expects a sigma > 0 in pixels") }
            return .blurred(sigma: value)
        case ("black", nil): return .black
        case ("noise", let draws):
            guard let count = Int(draws ?? "8"), (1...256).contains(count) else { throw CLIError.usage("--baseline noise:N expects 1...256 draws") }
            return .uniformNoise(samples: count, seed: 1)
        default: throw CLIError.usage("--baseline is blur, blur:S, black or noise:N, got '\(text)'")
        }
    }
}

/// The `--smoothgrad` option: SmoothGrad-style averaging (Smilkov et al. 2017) of the
/// integrated-gradients map over noisy copies of the input.
enum SmoothGradOption {
    static let help = "N[:LEVEL]: average the map over N noisy copies of the crop (Gaussian noise of LEVEL x the pixel range, default 0.1); N times the cost"

    /// `N` or `N:LEVEL`; nil when the option is absent.
    static func parse(_ text: String?) throws -> IntegratedGradients.Smoothing? {
        guard let text else { return nil }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let first = parts.first, let samples = Int(first), (1...256).contains(samples) else {
            throw CLIError.usage("--smoothgrad expects N[:LEVEL] with N in 1...256, got '\(text)'")
        }
        var level: Float = 0.1
        if parts.count > 1 {
            guard let value = Float(parts[1]), value > 0, value <= 1 else {
                throw CLIError.usage("--smoothgrad N:LEVEL expects a noise level in (0, 1], got '\(parts[1])'")
            }
            level = value
        }
        return IntegratedGradients.Smoothing(samples: samples, noiseLevel: level, seed: 1)
    }
}

/// The `--rule` option: the quadrature rule of the integrated-gradients path integral.
enum QuadratureOption {
    static let help = "quadrature rule of the path integral: gauss-legendre (default) or trapezoid"

    /// `gauss-legendre` or `trapezoid`; the default rule when the option is absent.
    static func parse(_ text: String?) throws -> QuadratureRule {
        switch text?.lowercased() {
        case nil, "gauss-legendre", "gausslegendre": return .gaussLegendre
        case "trapezoid": return .trapezoid
        default: throw CLIError.usage("--rule is gauss-legendre or trapezoid, got '\(text!)'")
        }
    }
}

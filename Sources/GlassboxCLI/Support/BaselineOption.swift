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

import Foundation
import Imaging

/// One named, levelled, deterministic transform of a frame sequence, in the spirit of the
/// real-world distortions of DeeperForensics-1.0 (Jiang et al., CVPR 2020): compression, resampling,
/// blur, noise and colour changes applied to every frame of a clip.
///
/// A perturbation is a value: `kind`, `level` (the kind's own parameter, e.g. the blur sigma or the
/// JPEG quality) and `seed` (used only by the random kinds). The same value applied to the same frames
/// always gives the same frames.
///
/// ```
/// let p = Perturbation(.blur, level: 2)          // Gaussian blur, sigma 2 px
/// let out = try p.apply(frames)                  // same count and size as `frames`
/// ```
public struct Perturbation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The family of a perturbation; `level` means something different for each.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The frames as given (the clean baseline); level is ignored (0).
        case none
        /// Encode and decode as H.264 at constant rate factor `level` (0...51, higher = worse),
        /// like DeeperForensics' "VC" distortion.
        case h264
        /// Encode and decode as JPEG at quality `level` (1...100, lower = worse).
        case jpeg
        /// Shrink by factor `level` (0 < f <= 1) with antialiasing, then enlarge back bilinearly.
        case downscale
        /// Gaussian blur with standard deviation `level` pixels (0 = identity).
        case blur
        /// Additive white Gaussian noise with standard deviation `level` in byte units (0 = identity).
        case noise
        /// Saturation factor `level` (1 = identity, 0 = grayscale), blending with BT.601 luma.
        case saturation
        /// Contrast factor `level` (1 = identity, 0 = uniform gray), blending with the mean luma.
        case contrast
        /// Mosaic: each `level` x `level` block replaced by its mean (1 = identity).
        case pixelate

        /// Levels used when an option names the kind without levels, and by ``Perturbation/standardSuite``,
        /// mildest first. Chosen from DeeperForensics-1.0's five-level tables, keeping the 1st, 3rd
        /// and 5th rung where the units match: contrast 0.85/0.6/0.35, saturation 0.4/0.2/0 (their
        /// chroma scale), noise variance 0.001/0.005/0.05 on [0, 1] is std 8/18/57 in bytes, pixelation
        /// block 2/4/6. Blur sigma 1/2/3 covers their 7...21 px kernels; H.264 CRF 23/30/37 spans
        /// FaceForensics++' c23 to beyond c35; JPEG 90/50/20 and downscale x0.75/x0.5/x0.25 are the
        /// ladders of the issue.
        public var defaultLevels: [Double] {
            switch self {
            case .none: return [0]
            case .h264: return [23, 30, 37]
            case .jpeg: return [90, 50, 20]
            case .downscale: return [0.75, 0.5, 0.25]
            case .blur: return [1, 2, 3]
            case .noise: return [8, 18, 57]
            case .saturation: return [0.4, 0.2, 0]
            case .contrast: return [0.85, 0.6, 0.35]
            case .pixelate: return [2, 4, 6]
            }
        }

        /// The level at which the kind leaves the frames unchanged, where there is one
        /// (compression is never an identity).
        public var identityLevel: Double? {
            switch self {
            case .none: return 0
            case .h264, .jpeg: return nil
            case .downscale, .saturation, .contrast, .pixelate: return 1
            case .blur, .noise: return 0
            }
        }

        /// What `level` measures, for tables and charts.
        public var levelName: String {
            switch self {
            case .none: return "-"
            case .h264: return "crf"
            case .jpeg: return "quality"
            case .downscale: return "scale"
            case .blur: return "sigma"
            case .noise: return "std"
            case .saturation, .contrast: return "factor"
            case .pixelate: return "block"
            }
        }

        /// Whether the kind draws random numbers (and so depends on the seed).
        public var isRandom: Bool { self == .noise }

        /// The accepted levels, as a sentence for error messages, and the test.
        func validate(_ level: Double) -> String? {
            guard level.isFinite else { return "level must be a finite number" }
            switch self {
            case .none: return nil
            case .h264:
                return level == level.rounded() && (0...51).contains(level) ? nil : "H.264 CRF must be an integer in 0...51"
            case .jpeg:
                return level == level.rounded() && (1...100).contains(level) ? nil : "JPEG quality must be an integer in 1...100"
            case .downscale:
                return level > 0 && level <= 1 ? nil : "downscale factor must be in (0, 1]"
            case .blur, .noise:
                return level >= 0 && level <= 100 ? nil : "\(rawValue) level must be in 0...100"
            case .saturation, .contrast:
                return level >= 0 && level <= 10 ? nil : "\(rawValue) factor must be in 0...10"
            case .pixelate:
                return level == level.rounded() && level >= 1 && level <= 256 ? nil : "pixelation block must be an integer in 1...256"
            }
        }
    }

    /// The family.
    public var kind: Kind
    /// The family's parameter (see ``Kind``).
    public var level: Double
    /// Seed of the random kinds; ignored by the others. Frame `i` uses a seed mixed from this and `i`.
    public var seed: UInt64

    /// Makes a perturbation; a programmer error when the level is outside the kind's range
    /// (use ``parse(_:seed:)`` for user input, which throws instead).
    /// - Parameters:
    ///   - kind: the family.
    ///   - level: the family's parameter.
    ///   - seed: seed of the random kinds.
    public init(_ kind: Kind, level: Double, seed: UInt64 = 0) {
        if let problem = kind.validate(level) { preconditionFailure("Perturbation \(kind.rawValue):\(level): \(problem)") }
        self.kind = kind
        self.level = kind == .none ? 0 : level
        self.seed = seed
    }

    /// The clean baseline (frames unchanged).
    public static let none = Perturbation(.none, level: 0)

    /// The family's name, e.g. `blur`.
    public var name: String { kind.rawValue }

    /// `kind:level`, e.g. `blur:2`, `downscale:0.5`: the key used in results files and tables.
    public var id: String { kind == .none ? "none" : "\(kind.rawValue):\(Self.format(level))" }

    public var description: String { id }

    /// True when this perturbation leaves frames unchanged.
    public var isIdentity: Bool { kind.identityLevel == level }

    /// Every kind except `none` at its three default levels (8 kinds x 3 levels = 24 perturbations).
    public static func standardSuite(seed: UInt64 = 0) -> [Perturbation] {
        Kind.allCases.filter { $0 != .none }.flatMap { kind in
            kind.defaultLevels.map { Perturbation(kind, level: $0, seed: seed) }
        }
    }

    /// A level formatted without trailing zeros (`2`, `0.5`, `0.25`).
    static func format(_ level: Double) -> String {
        if level == level.rounded() && abs(level) < 1e15 { return String(Int(level)) }
        var text = String(format: "%.6f", level)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}

/// Errors of the Robustness module.
public enum RobustnessError: Error, CustomStringConvertible, Equatable {
    /// A `--perturbations` option that could not be read.
    case badPerturbationSpec(spec: String, reason: String)
    /// A codec is not available in this build (e.g. H.264 without FFmpeg).
    case codecUnavailable(codec: String, reason: String)
    /// A manipulation set folder that could not be read.
    case badSet(path: String, reason: String)
    /// The results file of a run could not be read or written.
    case resultsFile(path: String, reason: String)
    /// An item that failed to score.
    case scoringFailed(path: String, perturbation: String, reason: String)

    public var description: String {
        switch self {
        case let .badPerturbationSpec(spec, reason): return "bad --perturbations value '\(spec)': \(reason)"
        case let .codecUnavailable(codec, reason): return "codec \(codec) unavailable: \(reason)"
        case let .badSet(path, reason): return "cannot read set \(path): \(reason)"
        case let .resultsFile(path, reason): return "results file \(path): \(reason)"
        case let .scoringFailed(path, perturbation, reason): return "scoring \(path) under \(perturbation) failed: \(reason)"
        }
    }
}

extension Perturbation {
    /// Parses a `--perturbations` option: comma-separated tokens, where `kind:level` starts a kind and
    /// bare numbers that follow add levels to it; a bare kind name takes its default levels, and
    /// `standard` (or `all`) the whole ``standardSuite(seed:)``.
    ///
    /// ```
    /// "blur:1,2,3,jpeg:90,50"  -> blur:1 blur:2 blur:3 jpeg:90 jpeg:50
    /// "h264,noise:5"           -> h264:23 h264:30 h264:37 noise:5
    /// ```
    /// Aliases: `crf`/`x264` for h264, `gauss`/`gaussian` for blur, `scale`/`resize` for downscale,
    /// `pixel`/`pixelation` for pixelate, `sat` for saturation. Duplicates are dropped, order kept.
    /// - Parameters:
    ///   - spec: the option's value.
    ///   - seed: seed given to every perturbation.
    /// - Returns: the perturbations in the order written.
    /// - Throws: ``RobustnessError/badPerturbationSpec(spec:reason:)`` for unknown kinds, numbers before
    ///   any kind, or levels outside a kind's range.
    public static func parse(_ spec: String, seed: UInt64 = 0) throws -> [Perturbation] {
        func fail(_ reason: String) -> RobustnessError { .badPerturbationSpec(spec: spec, reason: reason) }
        var result: [Perturbation] = []
        var current: Kind?
        var currentHasLevels = true
        func closeKind() {
            if let kind = current, !currentHasLevels {
                result += kind.defaultLevels.map { Perturbation(kind, level: $0, seed: seed) }
            }
        }
        func add(_ kind: Kind, _ text: String) throws {
            guard let level = Double(text) else { throw fail("'\(text)' is not a number (after \(kind.rawValue))") }
            if let problem = kind.validate(level) { throw fail("\(kind.rawValue):\(text): \(problem)") }
            result.append(Perturbation(kind, level: level, seed: seed))
        }
        let tokens = spec.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard tokens.contains(where: { !$0.isEmpty }) else { throw fail("no perturbations given") }
        for token in tokens where !token.isEmpty {
            let parts = token.split(separator: ":", maxSplits: 1).map(String.init)
            let head = parts[0].lowercased()
            if parts.count == 1, Double(head) != nil {
                guard let kind = current else { throw fail("level '\(head)' comes before any perturbation name") }
                try add(kind, head)
                currentHasLevels = true
                continue
            }
            closeKind()
            if head == "standard" || head == "all" {
                guard parts.count == 1 else { throw fail("'\(head)' takes no levels") }
                result += standardSuite(seed: seed)
                current = nil; currentHasLevels = true
                continue
            }
            guard let kind = Kind(alias: head) else {
                throw fail("unknown perturbation '\(head)' (known: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")), standard)")
            }
            current = kind
            if parts.count == 2 {
                try add(kind, parts[1])
                currentHasLevels = true
            } else {
                currentHasLevels = false
            }
        }
        closeKind()
        var seen = Set<String>()
        return result.filter { seen.insert($0.id).inserted }
    }
}

extension Perturbation.Kind {
    /// The kind for a name or alias (case-insensitive).
    public init?(alias: String) {
        switch alias.lowercased() {
        case "none", "original", "clean": self = .none
        case "h264", "crf", "x264", "avc": self = .h264
        case "jpeg", "jpg": self = .jpeg
        case "downscale", "scale", "resize", "downsample": self = .downscale
        case "blur", "gauss", "gaussian", "gaussianblur": self = .blur
        case "noise", "gaussiannoise": self = .noise
        case "saturation", "sat": self = .saturation
        case "contrast": self = .contrast
        case "pixelate", "pixel", "pixelation", "mosaic": self = .pixelate
        default: return nil
        }
    }
}

import Foundation
import Imaging
import Randomness

/// Parameters of a temporal-flicker fake: a self-blend whose blend ratio, mask position and colour
/// shift change from frame to frame.
public struct TemporalFlickerParameters: Codable, Sendable, Equatable {
    /// The self-blend at rest; per-frame values vary around it.
    public var base: SelfBlendParameters
    /// Relative dip of the blend ratio, in [0, 1]: the ratio moves in `base * (1 - amplitude ... 1)`.
    public var ratioAmplitude: Double
    /// Mask centre wander, in box sides.
    public var offsetAmplitude: Double
    /// Per-channel colour wander on the 0...255 scale.
    public var colourAmplitude: Double
    /// Frequency of the smooth part of the variation, in cycles per frame.
    public var frequency: Double
    /// Phases (radians) of the ratio, offset-x, offset-y and the three colour oscillations.
    public var phases: [Double]
    /// Share of frame-to-frame random noise against the smooth oscillation, in [0, 1].
    public var noise: Double
    /// Seed of the per-frame noise (frame `t` draws from `SplitMix64.derive(noiseSeed, t)`); below 2^53
    /// so that it survives JSON numbers exactly.
    public var noiseSeed: UInt64

    public init(base: SelfBlendParameters, ratioAmplitude: Double, offsetAmplitude: Double, colourAmplitude: Double,
                frequency: Double, phases: [Double], noise: Double, noiseSeed: UInt64) {
        precondition(phases.count == 6, "TemporalFlickerParameters needs six phases")
        self.base = base
        self.ratioAmplitude = ratioAmplitude
        self.offsetAmplitude = offsetAmplitude
        self.colourAmplitude = colourAmplitude
        self.frequency = frequency
        self.phases = phases
        self.noise = noise
        self.noiseSeed = noiseSeed
    }

    /// Random parameters: a self-blend with blend ratio 0.7–1 whose ratio dips by 30–90 %, mask wander
    /// 1–4 % of the face, colour wander 4–16 levels, periods of 2–20 frames, 0–60 % noise.
    public static func random(using rng: inout SplitMix64) -> TemporalFlickerParameters {
        var base = SelfBlendParameters.random(using: &rng)
        base.blendRatio = rng.uniform(0.7...1)
        return TemporalFlickerParameters(base: base, ratioAmplitude: rng.uniform(0.3...0.9),
                                         offsetAmplitude: rng.uniform(0.01...0.04),
                                         colourAmplitude: rng.uniform(4...16),
                                         frequency: rng.uniform(0.05...0.5),
                                         phases: (0..<6).map { _ in rng.uniform(0...(2 * Double.pi)) },
                                         noise: rng.uniform(0...0.6), noiseSeed: rng.next() >> 11)
    }

    /// The self-blend parameters of frame `index`. A pure function of `index`, so frames can be made in
    /// any order or one at a time.
    public func frame(_ index: Int) -> SelfBlendParameters {
        var rng = SplitMix64(seed: SplitMix64.derive(noiseSeed, UInt64(truncatingIfNeeded: index)))
        let t = Double(index)
        // Each signal is a mix of a sinusoid and white noise, both in [-1, 1].
        func signal(_ k: Int) -> Double {
            (1 - noise) * sin(2 * Double.pi * frequency * t + phases[k]) + noise * rng.uniform(-1...1)
        }
        var p = base
        let dip = 0.5 + 0.5 * signal(0)  // 0...1
        p.blendRatio = max(0.05, min(1, base.blendRatio * (1 - ratioAmplitude * dip)))
        p.mask.centerX += offsetAmplitude * signal(1)
        p.mask.centerY += offsetAmplitude * signal(2)
        p.jitter.offsets = (0..<3).map { base.jitter.offsets[$0] + colourAmplitude * signal(3 + $0) }
        return p
    }
}

/// Temporal flicker: a sequence-level fake whose blend changes from frame to frame (blend ratio, mask
/// position, colour shift), as frame-by-frame face swapping without temporal smoothing produces.
/// Each frame on its own is a self-blend; the tell is the inconsistency across frames.
public enum TemporalFlicker {
    /// Makes frame `index` of a flickering sequence.
    public static func apply(target: RGBImage, box: Box, index: Int, parameters: TemporalFlickerParameters) -> SynthesizedFrame {
        SelfBlend.apply(target: target, box: box, parameters: parameters.frame(index))
    }

    /// Makes a whole flickering sequence.
    /// - Parameters:
    ///   - frames: the real frames, in order.
    ///   - boxes: one face box per frame.
    ///   - parameters: the random draw for the whole sequence.
    /// - Returns: one fake frame (with mask) per input frame.
    public static func apply(frames: [RGBImage], boxes: [Box], parameters: TemporalFlickerParameters) -> [SynthesizedFrame] {
        precondition(frames.count == boxes.count, "TemporalFlicker needs one box per frame")
        return frames.indices.map { apply(target: frames[$0], box: boxes[$0], index: $0, parameters: parameters) }
    }
}

import Foundation

/// SplitMix64 (Steele, Lea and Flood, OOPSLA 2014, "Fast splittable pseudorandom number generators"):
/// a 64-bit state advanced by a Weyl constant and scrambled by two xor-shift-multiply rounds.
///
/// The one seeded generator of the project: fakes (Synthesis), training batches (Detector), baselines
/// and SAE initialisation (Explain), perturbations (Robustness) and the seeding of the tensor
/// engine's xoshiro draw from it, so the same seed gives the same bytes on every machine. Not
/// cryptographic.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    /// The current state; the next output is a function of it alone.
    public var state: UInt64

    /// A generator at `seed`. Any seed is fine, including 0.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    @inlinable public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform `Double` in `[0, 1)` with 53 random bits.
    @inlinable public mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A uniform `Double` in `range` (`lowerBound ... upperBound`).
    @inlinable public mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * unit()
    }

    /// A uniform integer in `range`.
    @inlinable public mutating func integer(_ range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &self)
    }

    /// `true` with probability `probability`.
    @inlinable public mutating func chance(_ probability: Double) -> Bool {
        unit() < probability
    }

    /// One element of a non-empty array, uniformly.
    @inlinable public mutating func pick<T>(_ choices: [T]) -> T {
        precondition(!choices.isEmpty, "SplitMix64.pick needs at least one choice")
        return choices[Int.random(in: 0..<choices.count, using: &self)]
    }

    /// A standard normal draw (Box–Muller; one of the pair is discarded for simplicity).
    @inlinable public mutating func normal() -> Double {
        let u1 = max(unit(), 1e-300), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// An independent generator derived from this one's next output and a `stream` label, so that
    /// sub-tasks (per clip, per method, per frame) get their own reproducible sequences.
    public mutating func split(stream: UInt64 = 0) -> SplitMix64 {
        var derived = SplitMix64(seed: next() ^ (stream &* 0xD1B5_4A32_D192_ED03))
        _ = derived.next()
        return derived
    }

    /// A seed derived from a base seed and any number of labels (clip index, method index, frame),
    /// stable across runs. Use it to give each unit of work its own generator.
    public static func derive(_ seed: UInt64, _ labels: UInt64...) -> UInt64 {
        var generator = SplitMix64(seed: seed)
        var value = generator.next()
        for label in labels {
            generator = SplitMix64(seed: value ^ (label &* 0x9E37_79B9_7F4A_7C15 &+ 0x632B_E59B_D9B4_E019))
            value = generator.next()
        }
        return value
    }
}

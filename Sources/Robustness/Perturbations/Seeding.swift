import Foundation
import Randomness

extension SplitMix64 {
    /// Uniform in the open interval (0, 1), 53 bits (never exactly 0, so it is safe under `log`).
    mutating func openUnit() -> Double {
        (Double(next() >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// Mixes several 64-bit values into one seed (the SplitMix64 finaliser over a running hash).
func mixSeed(_ values: UInt64...) -> UInt64 {
    var hash: UInt64 = 0x243F_6A88_85A3_08D3
    for value in values {
        var z = (hash ^ value) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        hash = z ^ (z >> 31)
    }
    return hash
}

/// A stable 64-bit FNV-1a hash of a string (Swift's `hashValue` is randomised per process).
func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01B3
    }
    return hash
}

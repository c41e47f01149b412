import Foundation
import Synthesis

/// Splits a manipulation set's videos into training and validation, keeping each source group
/// (a real video and the fakes made from it) on one side, deterministically.
///
/// The group of an entry is, in order of preference:
/// 1. its `source`, when that names a file other than the entry itself (`glassbox synth` records the
///    original media there, the same for the real and every fake made from it);
/// 2. its `identity` (the plain layout guesses it from the path: the first sub-folder, else the file
///    stem up to the first `_`, so FaceForensics++'s `000.mp4` and `fake/Deepfakes/000_003.mp4` meet);
/// 3. the file stem up to the first `_`.
///
/// Groups are ordered by a fixed hash of their key (not by name, so that names sorting together,
/// say one actor's clips, do not all land on one side) and moved to validation until it holds the
/// requested fraction of videos and at least one real and one fake, while training keeps both too.
public enum SetSplit {
    /// An entry's place in the split.
    public struct Assignment: Sendable, Equatable {
        public var group: String
        public var split: DataSplit
    }

    /// The source group of an entry (see the type's discussion).
    public static func group(of entry: ManipulationEntry) -> String {
        if let source = entry.source, !source.isEmpty, source != entry.path { return source }
        if let identity = entry.identity, !identity.isEmpty { return identity }
        let stem = ((entry.path as NSString).lastPathComponent as NSString).deletingPathExtension
        return String(stem.split(separator: "_").first ?? Substring(stem))
    }

    /// Assigns every entry to a side.
    /// - Parameters:
    ///   - entries: the set's entries.
    ///   - validationFraction: the share of videos to hold out, in (0, 1).
    /// - Returns: one assignment per entry, in entry order.
    /// - Throws: `TrainingError.noData` when the set cannot be split with reals and fakes on both sides
    ///   (for example when every video shares one source).
    public static func assign(_ entries: [ManipulationEntry], validationFraction: Double) throws -> [Assignment] {
        precondition(validationFraction > 0 && validationFraction < 1, "validationFraction must be in (0, 1)")
        let groups = entries.map(group(of:))
        var members: [String: [Int]] = [:]
        for (position, key) in groups.enumerated() { members[key, default: []].append(position) }
        let order = members.keys.sorted { (stableHash($0), $0) < (stableHash($1), $1) }

        func labels(_ positions: [Int]) -> (real: Int, fake: Int) {
            (positions.filter { !entries[$0].isFake }.count, positions.filter { entries[$0].isFake }.count)
        }
        let target = validationFraction * Double(entries.count)
        var total = labels(Array(entries.indices))
        var held = (real: 0, fake: 0)
        var validationGroups = Set<String>()
        for key in order {
            let done = Double(held.real + held.fake) >= target && held.real > 0 && held.fake > 0
            if done { break }
            let counts = labels(members[key]!)
            // Training must keep at least one real and one fake.
            guard total.real - counts.real > 0, total.fake - counts.fake > 0 else { continue }
            // Once the fraction is reached, only take groups that add a missing label.
            if Double(held.real + held.fake) >= target, !(held.real == 0 && counts.real > 0), !(held.fake == 0 && counts.fake > 0) {
                continue
            }
            validationGroups.insert(key)
            held.real += counts.real; held.fake += counts.fake
            total.real -= counts.real; total.fake -= counts.fake
        }
        guard held.real > 0, held.fake > 0 else {
            throw TrainingError.noData("cannot hold out reals and fakes for validation while keeping both for training "
                                       + "(\(members.count) source group\(members.count == 1 ? "" : "s")); give --validation-set DIR")
        }
        return groups.map { Assignment(group: $0, split: validationGroups.contains($0) ? .validation : .train) }
    }

    /// FNV-1a over the UTF-8 bytes: the same on every run and machine (Swift's `hashValue` is seeded per process).
    static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}

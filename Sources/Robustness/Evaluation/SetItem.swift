import Foundation
import Synthesis

/// One clip of a manipulation set.
public struct SetItem: Codable, Sendable, Hashable {
    /// Absolute path of the clip (or of whatever the scorer reads).
    public var path: String
    /// 1 = fake, 0 = real.
    public var label: Int
    /// The manipulation method of a fake (`real` for reals).
    public var method: String

    public init(path: String, label: Int, method: String? = nil) {
        precondition(label == 0 || label == 1, "label is 0 (real) or 1 (fake), got \(label)")
        self.path = path
        self.label = label
        self.method = method ?? (label == 0 ? "real" : "fake")
    }
}

/// Reads a manipulation set for a robustness run: Synthesis' ``ManipulationSet/load(path:)`` (the one
/// definition of a set that `synth`, `train --set` and `evaluate` share: `manifest.json` as `glassbox
/// synth` writes it, or `real/**` and `fake/<method>/**`), flattened to ``SetItem``s.
public enum SetReader {
    /// Reads a set folder (or its `manifest.json` given directly).
    /// - Parameter path: the set folder or a manifest file.
    /// - Returns: the items, reals first then fakes by method, each group sorted by path.
    /// - Throws: ``RobustnessError/badSet(path:reason:)`` when the folder has neither layout, the
    ///   manifest cannot be parsed, or there are no clips.
    public static func load(path: String) throws -> [SetItem] {
        let set: ManipulationSet
        do { set = try ManipulationSet.load(path: path) } catch let error as ManipulationSetError {
            throw RobustnessError.badSet(path: path, reason: error.description)
        }
        let items = set.entries.map { entry in
            SetItem(path: URL(fileURLWithPath: set.absolutePath(entry.path)).standardizedFileURL.path,
                    label: entry.isFake ? 1 : 0, method: entry.isFake ? (entry.method ?? "fake") : "real")
        }
        guard !items.isEmpty else { throw RobustnessError.badSet(path: path, reason: "no clips found") }
        return items.sorted { ($0.label, $0.method, $0.path) < ($1.label, $1.method, $1.path) }
    }
}

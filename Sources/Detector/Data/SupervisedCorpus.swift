import Foundation
import Synthesis

/// The training data of supervised mode: a user's manipulation set (and optionally a separate
/// validation set) turned into one labelled crop store.
///
/// Every video is assigned to a side (`SetSplit`, or all of a separate validation set), its face
/// crops come from a `VideoCropCache`, and each crop is recorded with `identity` = its source group,
/// `label` = `"real"` or the fake's method, and `source` = the video. A video that cannot be decoded
/// is reported and skipped; it never ends the run.
public enum SupervisedCorpus {
    /// One video of the plan.
    public struct Item: Sendable, Equatable {
        /// Absolute path of the media file.
        public var path: String
        /// `"real"` or the fake's method (`"fake"` when the set names none).
        public var label: String
        /// Source group (see `SetSplit.group(of:)`).
        public var group: String
        public var split: DataSplit
    }

    /// What went into the store, for the metrics JSON.
    public struct Summary: Codable, Sendable, Equatable {
        public var set: String
        public var validationSet: String?
        /// The held-out share of videos, when validation comes from `set` itself.
        public var validationFraction: Double?
        public var framesPerVideo: Int
        /// Videos with at least one face crop, by side then label (`"real"` or a method).
        public var videos: [String: [String: Int]]
        /// Crops by side then label.
        public var crops: [String: [String: Int]]
        /// Source groups held out for validation (empty with a separate validation set).
        public var validationGroups: [String]
        /// One line per video left out (undecodable, or no face found).
        public var skipped: [String]
    }

    /// The label of an entry as stored in crop records.
    static func label(of entry: ManipulationEntry) -> String {
        entry.isFake ? (entry.method.flatMap { $0.isEmpty || $0 == "real" ? nil : $0 } ?? "fake") : "real"
    }

    /// Decides the side of every video.
    /// - Parameters:
    ///   - set: the training set.
    ///   - validationSet: a separate validation set, or nil to hold out part of `set`.
    ///   - validationFraction: share of `set`'s videos held out when `validationSet` is nil.
    /// - Throws: `TrainingError.noData` for an empty set, a set without reals or without fakes, or
    ///   one that cannot be split.
    public static func plan(set: ManipulationSet, validationSet: ManipulationSet?, validationFraction: Double) throws -> [Item] {
        try checkLabels(set)
        func item(_ entry: ManipulationEntry, in owner: ManipulationSet, group: String, split: DataSplit) -> Item {
            Item(path: (owner.absolutePath(entry.path) as NSString).standardizingPath, label: label(of: entry), group: group, split: split)
        }
        if let validationSet {
            try checkLabels(validationSet)
            return set.entries.map { item($0, in: set, group: SetSplit.group(of: $0), split: .train) }
                + validationSet.entries.map { item($0, in: validationSet, group: "validation:" + SetSplit.group(of: $0), split: .validation) }
        }
        let assignments = try SetSplit.assign(set.entries, validationFraction: validationFraction)
        return zip(set.entries, assignments).map { item($0.0, in: set, group: $0.1.group, split: $0.1.split) }
    }

    static func checkLabels(_ set: ManipulationSet) throws {
        guard !set.entries.isEmpty else { throw TrainingError.noData("\(set.root): the set holds no videos") }
        guard set.entries.contains(where: { !$0.isFake }) else {
            throw TrainingError.noData("\(set.root): the set holds no real videos (real/... or label \"real\")")
        }
        guard set.entries.contains(where: \.isFake) else {
            throw TrainingError.noData("\(set.root): the set holds no fake videos (fake/<method>/... or label \"fake\")")
        }
    }

    /// Cuts (or reads from the cache) the crops of every planned video into one store.
    /// - Parameters:
    ///   - items: the plan.
    ///   - cache: the per-video crop cache.
    ///   - progress: after each video: (done, total, path, crops found, whether from the cache).
    ///   - skipped: called with one line per video left out, as it happens.
    /// - Returns: the store and the lines of videos left out.
    public static func build(_ items: [Item], cache: VideoCropCache,
                             progress: (Int, Int, String, Int, Bool) -> Void = { _, _, _, _, _ in },
                             skipped: (String) -> Void = { _ in }) -> (CropStore, [String]) {
        var store = CropStore(size: cache.cropper.storeSize)
        var problems: [String] = []
        for (position, item) in items.enumerated() {
            var found = 0, cached = false
            do {
                let result = try cache.crops(of: item.path)
                found = result.store.count
                cached = result.cached
                if found == 0 {
                    problems.append("\(item.path): no face found, skipped")
                    skipped(problems.last!)
                }
                store.append(contentsOf: result.store) { record in
                    var record = record
                    record.identity = item.group
                    record.split = item.split
                    record.label = item.label
                    return record
                }
            } catch {
                // Video errors already start with the path; say it once.
                let reason = "\(error)".replacingOccurrences(of: item.path + ": ", with: "")
                problems.append("\(item.path): cannot be read, skipped: \(reason)")
                skipped(problems.last!)
            }
            progress(position + 1, items.count, item.path, found, cached)
        }
        return (store, problems)
    }

    /// Checks that both sides hold real and fake crops.
    /// - Throws: `TrainingError.noData` naming what is missing.
    public static func checkCrops(_ store: CropStore, set: String) throws {
        guard store.count > 0 else {
            throw TrainingError.noData("\(set): no faces found in any video (every video was skipped; see the lines above)")
        }
        for split in [DataSplit.train, .validation] {
            let labels = Set(store.indices(in: split).map { store.records[$0].label == "real" })
            let side = split == .train ? "training" : "validation"
            guard labels.contains(true) else { throw TrainingError.noData("no face crops of real videos on the \(side) side") }
            guard labels.contains(false) else { throw TrainingError.noData("no face crops of fake videos on the \(side) side") }
        }
    }

    /// The summary of a built store.
    public static func summary(of store: CropStore, items: [Item], skipped: [String], set: String, validationSet: String?,
                               validationFraction: Double?, framesPerVideo: Int) -> Summary {
        var videos: [String: [String: Set<String>]] = [:]
        var crops: [String: [String: Int]] = [:]
        for record in store.records {
            videos[record.split.rawValue, default: [:]][record.label, default: []].insert(record.source)
            crops[record.split.rawValue, default: [:]][record.label, default: 0] += 1
        }
        let held = validationSet == nil ? Set(items.filter { $0.split == .validation }.map(\.group)).sorted() : []
        return Summary(set: set, validationSet: validationSet, validationFraction: validationFraction, framesPerVideo: framesPerVideo,
                       videos: videos.mapValues { $0.mapValues(\.count) }, crops: crops, validationGroups: held, skipped: skipped)
    }
}

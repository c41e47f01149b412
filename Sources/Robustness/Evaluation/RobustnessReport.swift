import Detector
import Foundation

/// The metrics of one method under one perturbation at one level.
public struct RobustnessCell: Codable, Sendable, Equatable {
    /// Manipulation method, or `all` for every fake against every real.
    public var method: String
    /// Perturbation kind (`none` for the clean baseline).
    public var perturbation: String
    /// The kind's level (0 for `none`).
    public var level: Double
    /// `kind:level`, as in the results file.
    public var id: String
    /// AUC, AP, EER, accuracy and ECE of the method's fakes against all reals under this perturbation.
    public var metrics: BinaryMetrics
    /// Share of the cell's scored clips (its fakes and the reals) whose shortcut flag was raised; nil
    /// when the scorer gave no flags.
    public var shortcutRate: Double?
    /// Baseline AUC minus this cell's AUC (positive = worse than clean); nil without both.
    public var aucDrop: Double?
}

/// One (clip, perturbation) pair that could not be scored.
public struct RobustnessFailure: Codable, Sendable, Equatable {
    public var path: String
    public var perturbation: String
    public var error: String
}

/// The aggregate of a robustness run: per-cell metrics, the worst cells and the failures.
/// Deterministic: the same results give the same JSON (no timestamps; fixed ordering).
public struct RobustnessReport: Codable, Sendable, Equatable {
    /// Format version of this document.
    public var schemaVersion: String = "glassbox.robustness/1"
    /// The run tag (model/settings identity).
    public var tag: String
    /// Decision threshold used for accuracy.
    public var threshold: Double
    /// Perturbation ids in run order, `none` first.
    public var perturbations: [String]
    /// Methods with fakes in the set, sorted.
    public var methods: [String]
    /// Clips in the set, reals and fakes.
    public var realCount: Int
    public var fakeCount: Int
    /// Every method x perturbation x level cell (plus `all` when there are several methods), in
    /// perturbation order, then method order.
    public var cells: [RobustnessCell]
    /// Up to five per-method cells with the lowest AUC (then lowest accuracy), clean baseline excluded.
    public var worstCells: [RobustnessCell]
    /// Pairs that failed, sorted by path then perturbation.
    public var failures: [RobustnessFailure]
    /// Clips with at least one failed pair.
    public var failedClips: Int

    /// Aggregates results.
    /// - Parameters:
    ///   - records: result lines (later lines override earlier ones for the same pair).
    ///   - items: the set.
    ///   - perturbations: the run's perturbations (cells follow this order).
    ///   - threshold: decision threshold for accuracy.
    ///   - tag: the run tag.
    public init(records: [ResultRecord], items: [SetItem], perturbations: [Perturbation], threshold: Double = 0.5,
                tag: String = "") {
        self.tag = tag
        self.threshold = threshold
        self.perturbations = perturbations.map(\.id)
        methods = Array(Set(items.filter { $0.label == 1 }.map(\.method))).sorted()
        realCount = items.filter { $0.label == 0 }.count
        fakeCount = items.count - realCount

        let inSet = Set(items.map(\.path))
        var latest: [PairKey: ResultRecord] = [:]
        for record in records where inSet.contains(record.path) { latest[record.key] = record }
        failures = latest.values.compactMap { r in r.error.map { RobustnessFailure(path: r.path, perturbation: r.perturbation, error: $0) } }
            .sorted { ($0.path, $0.perturbation) < ($1.path, $1.perturbation) }
        failedClips = Set(failures.map(\.path)).count

        let methodOf = Dictionary(items.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var cells: [RobustnessCell] = []
        var baselineAUC: [String: Double] = [:]
        let groups = methods.count > 1 ? methods + ["all"] : methods
        for perturbation in perturbations {
            let scored = latest.values.filter { $0.perturbation == perturbation.id && $0.probability != nil }
                .sorted { $0.path < $1.path }
            let reals = scored.filter { methodOf[$0.path]?.label == 0 }
            for method in groups {
                let fakes = scored.filter { r in
                    guard let item = methodOf[r.path], item.label == 1 else { return false }
                    return method == "all" || item.method == method
                }
                let members = reals + fakes
                let metrics = BinaryMetrics(scores: members.map { $0.probability! }, labels: members.map { methodOf[$0.path]!.label },
                                            threshold: threshold)
                let flags = members.compactMap(\.shortcutFlag)
                let rate = flags.isEmpty ? nil : Double(flags.filter { $0 }.count) / Double(flags.count)
                if perturbation.kind == .none, let auc = metrics.auc { baselineAUC[method] = auc }
                var drop: Double?
                if let base = baselineAUC[method], let auc = metrics.auc { drop = base - auc }
                cells.append(RobustnessCell(method: method, perturbation: perturbation.kind.rawValue, level: perturbation.level,
                                            id: perturbation.id, metrics: metrics, shortcutRate: rate, aucDrop: drop))
            }
        }
        self.cells = cells
        worstCells = Array(cells.filter { $0.method != "all" && $0.perturbation != "none" && $0.metrics.auc != nil }
            .sorted { a, b in
                (a.metrics.auc!, a.metrics.accuracy, a.id, a.method) < (b.metrics.auc!, b.metrics.accuracy, b.id, b.method)
            }
            .prefix(5))
    }

    /// The report as pretty, key-sorted JSON.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Writes `robustness.json`, `robustness.md` and `robustness-auc.png` into `folder`.
    /// - Throws: ``RobustnessError/resultsFile(path:reason:)`` when a file cannot be written.
    public func write(to folder: String) throws {
        let base = URL(fileURLWithPath: folder)
        func put(_ name: String, _ data: Data) throws {
            let url = base.appendingPathComponent(name)
            do { try data.write(to: url, options: .atomic) } catch {
                throw RobustnessError.resultsFile(path: url.path, reason: "cannot write: \(error.localizedDescription)")
            }
        }
        try put("robustness.json", try jsonData())
        try put("robustness.md", Data(markdown().utf8))
        try put("robustness-auc.png", Data(aucChart().pngData()))
    }
}

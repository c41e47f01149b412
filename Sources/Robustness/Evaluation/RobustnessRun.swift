import Foundation
import Imaging

/// What a scorer returns for one (item, perturbation) pair.
public struct ItemScore: Codable, Sendable, Equatable {
    /// Calibrated p(fake) of the clip.
    public var probability: Double
    /// The verdict's shortcut flag, when the scorer assessed it (nil = not assessed).
    public var shortcutFlag: Bool?

    public init(probability: Double, shortcutFlag: Bool? = nil) {
        self.probability = probability
        self.shortcutFlag = shortcutFlag
    }
}

/// How a robustness run scores a clip under a perturbation.
public enum RobustnessScorer: Sendable {
    /// The run loads each clip once with `load`, applies every perturbation itself (through the run's
    /// ``CodecBackend``), and calls `score` on the perturbed frames. `load` should sample the frames
    /// the detector needs (memory is about `threads` clips of them).
    case frames(load: @Sendable (SetItem) throws -> [RGBImage],
                score: @Sendable ([RGBImage], Perturbation) throws -> ItemScore)
    /// The closure does everything for a clip path and a perturbation (e.g. re-encodes the file).
    case path(@Sendable (SetItem, Perturbation) throws -> ItemScore)
}

/// Progress of a run, reported after every finished pair.
public struct RobustnessProgress: Sendable, Equatable {
    /// Pairs finished, including those found done in the results file.
    public var completed: Int
    /// All pairs of the run (items x perturbations).
    public var total: Int
    /// Pairs found done in the results file at start.
    public var resumed: Int
    /// Pairs that failed so far in this session.
    public var failed: Int
    /// Seconds since the run started.
    public var elapsedSeconds: Double
    /// Estimated seconds to go, from this session's rate; nil before the first pair finishes.
    public var etaSeconds: Double?
    /// The clip of the last finished pair.
    public var lastPath: String

    /// Fraction done, 0...1.
    public var fraction: Double { total == 0 ? 1 : Double(completed) / Double(total) }
}

/// Evaluates a detector over a manipulation set under every perturbation: the single entry point of
/// `glassbox robustness SET/`.
///
/// Every method x perturbation x level cell is measured (plus the clean baseline `none`). Work is a
/// queue of clips shared by `threads` workers; a worker loads one clip, runs all of its unfinished
/// perturbations, and appends one JSON line per pair to `outputDir/results.jsonl`. A restarted run
/// with the same output folder and tag skips the pairs already there. A clip that fails (unreadable
/// file, codec error, scorer error) is recorded with its error and skipped; the batch goes on.
///
/// ```
/// let report = try RobustnessRun(set: items, outputDir: "out/", perturbations: Perturbation.standardSuite(),
///                                scorer: .frames(load: load, score: score)).run()
/// print(report.textTable())
/// ```
public struct RobustnessRun: Sendable {
    public var items: [SetItem]
    public var outputDir: String
    public var perturbations: [Perturbation]
    public var scorer: RobustnessScorer
    public var threads: Int
    public var codecs: CodecBackend
    public var tag: String
    public var threshold: Double
    public var retryFailures: Bool
    public var writeOutputs: Bool
    public var progress: (@Sendable (RobustnessProgress) -> Void)?

    /// - Parameters:
    ///   - set: the clips (see ``SetReader/load(path:)``).
    ///   - outputDir: folder for `results.jsonl` and the reports (created if missing).
    ///   - perturbations: the perturbations; the clean baseline `none` is added first if missing.
    ///   - scorer: how a clip is scored.
    ///   - threads: worker threads (clips in flight), at least 1.
    ///   - codecs: encoders for `h264`/`jpeg` in `.frames` mode.
    ///   - tag: identifies the model/settings; results of other tags in the file are ignored.
    ///   - threshold: decision threshold for accuracy.
    ///   - retryFailures: rerun pairs that failed in an earlier session (default true).
    ///   - writeOutputs: write `robustness.json`, `robustness.md` and `robustness-auc.png` at the end.
    ///   - progress: called after every finished pair (from worker threads, serialised).
    public init(set: [SetItem], outputDir: String, perturbations: [Perturbation], scorer: RobustnessScorer,
                threads: Int = 2, codecs: CodecBackend = .standard, tag: String = "", threshold: Double = 0.5,
                retryFailures: Bool = true, writeOutputs: Bool = true,
                progress: (@Sendable (RobustnessProgress) -> Void)? = nil) {
        precondition(threads >= 1, "a robustness run needs at least one thread")
        var list = perturbations
        if !list.contains(where: { $0.kind == .none }) { list.insert(.none, at: 0) }
        var seen = Set<String>()
        self.items = set
        self.outputDir = outputDir
        self.perturbations = list.filter { seen.insert($0.id).inserted }
        self.scorer = scorer
        self.threads = threads
        self.codecs = codecs
        self.tag = tag
        self.threshold = threshold
        self.retryFailures = retryFailures
        self.writeOutputs = writeOutputs
        self.progress = progress
    }

    /// A run over a set folder read with ``SetReader/load(path:)`` (manifest or plain layout).
    /// - Throws: ``RobustnessError/badSet(path:reason:)`` when the set cannot be read.
    public init(setPath: String, outputDir: String, perturbations: [Perturbation], scorer: RobustnessScorer,
                threads: Int = 2, codecs: CodecBackend = .standard, tag: String = "", threshold: Double = 0.5,
                progress: (@Sendable (RobustnessProgress) -> Void)? = nil) throws {
        self.init(set: try SetReader.load(path: setPath), outputDir: outputDir, perturbations: perturbations, scorer: scorer,
                  threads: threads, codecs: codecs, tag: tag, threshold: threshold, progress: progress)
    }

    /// Path of the results file.
    public var resultsPath: String { URL(fileURLWithPath: outputDir).appendingPathComponent("results.jsonl").path }

    /// Runs (or resumes) the evaluation and aggregates it.
    /// - Returns: the report (also written to `outputDir` when `writeOutputs`).
    /// - Throws: ``RobustnessError/resultsFile(path:reason:)`` when the output folder or results file
    ///   cannot be used; item failures never throw.
    public func run() throws -> RobustnessReport {
        let folder = URL(fileURLWithPath: outputDir)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw RobustnessError.resultsFile(path: outputDir, reason: "cannot create folder: \(error.localizedDescription)")
        }
        let url = folder.appendingPathComponent("results.jsonl")
        let runTag = self.tag
        let previous = try ResultsLog.read(url: url).filter { $0.tag == runTag }
        var done = Set<PairKey>()
        for record in previous where record.error == nil || !retryFailures { done.insert(record.key) }

        // Work list: for each clip, the perturbations still to do.
        var work: [(item: SetItem, pending: [Perturbation])] = []
        var resumed = 0
        for item in items {
            let pending = perturbations.filter { !done.contains(PairKey(path: item.path, perturbation: $0.id)) }
            resumed += perturbations.count - pending.count
            if !pending.isEmpty { work.append((item, pending)) }
        }
        let log = try ResultsLog(url: url)
        let state = RunState(total: items.count * perturbations.count, resumed: resumed, progress: progress)
        let workers = min(threads, max(1, work.count))
        let scorer = self.scorer, codecs = self.codecs
        let queue = WorkQueue(count: work.count)
        let sharedWork = work
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let index = queue.next() {
                let (item, pending) = sharedWork[index]
                Self.process(item: item, pending: pending, scorer: scorer, codecs: codecs, tag: runTag, log: log, state: state)
            }
        }
        if let error = state.fatalError { throw error }

        let records = try ResultsLog.read(url: url).filter { $0.tag == runTag }
        let report = RobustnessReport(records: records, items: items, perturbations: perturbations,
                                      threshold: threshold, tag: tag)
        if writeOutputs { try report.write(to: outputDir) }
        return report
    }

    /// One clip: load once (in `.frames` mode), then every pending perturbation.
    private static func process(item: SetItem, pending: [Perturbation], scorer: RobustnessScorer, codecs: CodecBackend,
                                tag: String, log: ResultsLog, state: RunState) {
        let itemSeed = stableHash(item.path)
        var frames: [RGBImage]?
        var loadError: String?
        if case let .frames(load, _) = scorer {
            do { frames = try load(item) } catch { loadError = "cannot load: \(describe(error))" }
        }
        for base in pending {
            if state.fatalError != nil { return }
            var perturbation = base
            perturbation.seed = mixSeed(base.seed, itemSeed)
            var record: ResultRecord
            do {
                if let loadError { throw ItemFailure(message: loadError) }
                let score: ItemScore
                switch scorer {
                case let .frames(_, scoreFrames):
                    let perturbed = try perturbation.apply(frames ?? [], codecs: codecs)
                    score = try scoreFrames(perturbed, perturbation)
                case let .path(scorePath):
                    score = try scorePath(item, perturbation)
                }
                guard score.probability.isFinite, (0...1).contains(score.probability) else {
                    throw ItemFailure(message: "scorer returned p(fake) = \(score.probability), not a probability")
                }
                record = ResultRecord(tag: tag, item: item, perturbation: base.id, probability: score.probability,
                                      shortcutFlag: score.shortcutFlag, error: nil)
            } catch {
                record = ResultRecord(tag: tag, item: item, perturbation: base.id, probability: nil,
                                      shortcutFlag: nil, error: describe(error))
            }
            do {
                try log.append(record)
                state.finished(path: item.path, failed: record.error != nil)
            } catch {
                state.fail(error)
                return
            }
        }
    }

    private static func describe(_ error: Error) -> String {
        if let failure = error as? ItemFailure { return failure.message }
        return String(describing: error)
    }
}

private struct ItemFailure: Error {
    var message: String
}

/// Hands out indices 0..<count to workers, once each.
private final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0
    private let count: Int
    init(count: Int) { self.count = count }
    func next() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard nextIndex < count else { return nil }
        nextIndex += 1
        return nextIndex - 1
    }
}

/// Counters shared by the workers, and the progress callback (called under the lock, so serialised).
private final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private let start = Date()
    private let total: Int
    private let resumed: Int
    private var finishedNow = 0
    private var failedNow = 0
    private var fatal: Error?
    private let progress: (@Sendable (RobustnessProgress) -> Void)?

    init(total: Int, resumed: Int, progress: (@Sendable (RobustnessProgress) -> Void)?) {
        self.total = total
        self.resumed = resumed
        self.progress = progress
    }

    var fatalError: Error? { lock.lock(); defer { lock.unlock() }; return fatal }

    func fail(_ error: Error) { lock.lock(); if fatal == nil { fatal = error }; lock.unlock() }

    func finished(path: String, failed: Bool) {
        lock.lock(); defer { lock.unlock() }
        finishedNow += 1
        if failed { failedNow += 1 }
        let elapsed = Date().timeIntervalSince(start)
        let remaining = total - resumed - finishedNow
        let eta = finishedNow > 0 ? elapsed / Double(finishedNow) * Double(remaining) : nil
        progress?(RobustnessProgress(completed: resumed + finishedNow, total: total, resumed: resumed, failed: failedNow,
                                     elapsedSeconds: elapsed, etaSeconds: eta, lastPath: path))
    }
}

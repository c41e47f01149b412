import Detector
import Foundation
import Imaging
import Testing
@testable import Robustness

/// Counts scorer calls across threads.
final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var calls: [String] = []
    func record(_ key: String) { lock.lock(); calls.append(key); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return calls }
}

@Suite("Set evaluation engine")
struct EngineTests {
    // Set: two reals, two fakes of method A, one fake of method B.
    static let items = [
        SetItem(path: "/set/real/r1.mp4", label: 0), SetItem(path: "/set/real/r2.mp4", label: 0),
        SetItem(path: "/set/fake/A/a1.mp4", label: 1, method: "A"), SetItem(path: "/set/fake/A/a2.mp4", label: 1, method: "A"),
        SetItem(path: "/set/fake/B/b1.mp4", label: 1, method: "B"),
    ]
    // p(fake) per clip name and perturbation id.
    static let table: [String: [String: Double]] = [
        "none": ["r1": 0.1, "r2": 0.4, "a1": 0.8, "a2": 0.3, "b1": 0.9],
        "blur:2": ["r1": 0.2, "r2": 0.6, "a1": 0.7, "a2": 0.5, "b1": 0.55],
        "jpeg:20": ["r1": 0.7, "r2": 0.6, "a1": 0.5, "a2": 0.4, "b1": 0.65],
    ]
    static let perturbations = [Perturbation(.blur, level: 2), Perturbation(.jpeg, level: 20)]

    static func name(_ item: SetItem) -> String { URL(fileURLWithPath: item.path).deletingPathExtension().lastPathComponent }

    /// A path scorer reading the table; flags every clip under jpeg:20 and none elsewhere.
    static func tableScorer(counter: CallCounter? = nil, failing: Set<String> = []) -> RobustnessScorer {
        .path { item, perturbation in
            let clip = name(item)
            counter?.record("\(clip)@\(perturbation.id)")
            if failing.contains(clip) { throw RobustnessError.badSet(path: item.path, reason: "corrupt test clip") }
            return ItemScore(probability: table[perturbation.id]![clip]!, shortcutFlag: perturbation.kind == .jpeg)
        }
    }

    func cell(_ report: RobustnessReport, _ method: String, _ id: String) throws -> RobustnessCell {
        try #require(report.cells.first { $0.method == method && $0.id == id })
    }

    @Test("per-cell metrics match hand-computed values")
    func metrics() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = try RobustnessRun(set: Self.items, outputDir: folder.path, perturbations: Self.perturbations,
                                       scorer: Self.tableScorer(), threads: 2).run()
        #expect(report.perturbations == ["none", "blur:2", "jpeg:20"])
        #expect(report.methods == ["A", "B"])
        #expect(report.cells.count == 9, "3 perturbations x (A, B, all)")

        // A under none: reals 0.1, 0.4; fakes 0.8, 0.3. Pairs fake>real: (0.8,0.1) (0.8,0.4) (0.3,0.1) = 3 of 4.
        let aClean = try cell(report, "A", "none")
        #expect(aClean.metrics.auc == 0.75)
        #expect(aClean.metrics.accuracy == 0.75)          // a2 = 0.3 is missed
        #expect(aClean.metrics.realCount == 2 && aClean.metrics.fakeCount == 2)
        #expect(aClean.shortcutRate == 0)
        // B under none: 0.9 above both reals.
        let bClean = try cell(report, "B", "none")
        #expect(bClean.metrics.auc == 1 && bClean.metrics.accuracy == 1 && bClean.metrics.averagePrecision == 1)
        // A under blur:2: reals 0.2, 0.6; fakes 0.7, 0.5: pairs (0.7>0.2, 0.7>0.6, 0.5>0.2) = 3/4; acc: r2 wrong -> 3/4.
        let aBlur = try cell(report, "A", "blur:2")
        #expect(aBlur.metrics.auc == 0.75 && aBlur.metrics.accuracy == 0.75)
        #expect(aBlur.aucDrop == 0)
        // B under jpeg:20: reals 0.7, 0.6, fake 0.65: AUC 1/2; acc: reals both wrong, fake right -> 1/3.
        let bJPEG = try cell(report, "B", "jpeg:20")
        #expect(bJPEG.metrics.auc == 0.5)
        #expect(abs(bJPEG.metrics.accuracy - 1.0 / 3) < 1e-12)
        #expect(bJPEG.aucDrop == 0.5)
        #expect(bJPEG.shortcutRate == 1)
        // all under jpeg:20: fakes 0.5, 0.4, 0.65 vs reals 0.7, 0.6: only 0.65 > 0.6 -> 1/6.
        let allJPEG = try cell(report, "all", "jpeg:20")
        #expect(abs(allJPEG.metrics.auc! - 1.0 / 6) < 1e-12)
        // Every cell equals BinaryMetrics on the same subset.
        for c in report.cells {
            let reals = Self.items.filter { $0.label == 0 }
            let fakes = Self.items.filter { $0.label == 1 && (c.method == "all" || $0.method == c.method) }
            let members = reals + fakes
            let expected = BinaryMetrics(scores: members.map { Self.table[c.id]![Self.name($0)]! }, labels: members.map(\.label))
            #expect(c.metrics == expected, "\(c.method) @ \(c.id)")
        }
        // Worst cells: lowest AUC first, per method only, baseline excluded.
        #expect(report.worstCells.first?.id == "jpeg:20" && report.worstCells.first?.method == "A")
        #expect(report.worstCells.allSatisfy { $0.method != "all" && $0.id != "none" })
        #expect(report.failures.isEmpty)
        // Outputs.
        for file in ["results.jsonl", "robustness.json", "robustness.md", "robustness-auc.png"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), "\(file)")
        }
        let decoded = try JSONDecoder().decode(RobustnessReport.self, from: Data(contentsOf: folder.appendingPathComponent("robustness.json")))
        #expect(decoded == report)
        let text = report.textTable()
        #expect(text.contains("jpeg") && text.contains("0.750") && text.contains("worst cells: A @ jpeg:20"))
        #expect(report.markdown().contains("| jpeg | 20 | B | 1/2 | 0.500 |"))
    }

    @Test("a restarted run skips finished pairs, including after a torn last line")
    func resume() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = CallCounter()
        let one = try RobustnessRun(set: Self.items, outputDir: folder.path, perturbations: [Self.perturbations[0]],
                                    scorer: Self.tableScorer(counter: first)).run()
        #expect(first.all.count == 10)
        // Simulate a crash mid-write: a torn line at the end.
        let results = folder.appendingPathComponent("results.jsonl")
        let handle = try FileHandle(forWritingTo: results)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"tag":"","path":"/set/real/r1.mp4","perturb"#.utf8))
        try handle.close()

        let second = CallCounter()
        let two = try RobustnessRun(set: Self.items, outputDir: folder.path, perturbations: Self.perturbations,
                                    scorer: Self.tableScorer(counter: second), threads: 2).run()
        #expect(second.all.sorted() == ["a1@jpeg:20", "a2@jpeg:20", "b1@jpeg:20", "r1@jpeg:20", "r2@jpeg:20"])
        #expect(two.cells.count == 9)
        #expect(Array(two.cells.prefix(6)) == one.cells, "resumed cells equal the first run's")

        let third = CallCounter()
        let three = try RobustnessRun(set: Self.items, outputDir: folder.path, perturbations: Self.perturbations,
                                      scorer: Self.tableScorer(counter: third)).run()
        #expect(third.all.isEmpty)
        #expect(three == two)
        // Every line after the torn one parses.
        #expect(try ResultsLog.read(url: results).count == 15)

        // Another tag starts from scratch.
        let fourth = CallCounter()
        _ = try RobustnessRun(set: Self.items, outputDir: folder.path, perturbations: Self.perturbations,
                              scorer: Self.tableScorer(counter: fourth), tag: "other-model").run()
        #expect(fourth.all.count == 15)
    }

    @Test("a throwing clip is reported and skipped; the rest complete; it is retried on resume")
    func failures() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let progress = ProgressLog()
        let report = try RobustnessRun(set: Self.items, outputDir: folder.path, perturbations: Self.perturbations,
                                       scorer: Self.tableScorer(failing: ["a2"]), threads: 2,
                                       progress: { progress.add($0) }).run()
        #expect(report.failures.count == 3 && report.failedClips == 1)
        #expect(report.failures.allSatisfy { $0.path.hasSuffix("a2.mp4") && $0.error.contains("corrupt test clip") })
        let aClean = try #require(report.cells.first { $0.method == "A" && $0.id == "none" })
        #expect(aClean.metrics.fakeCount == 1 && aClean.metrics.auc == 1)
        #expect(report.textTable().contains("failed: 3 pairs in 1 clips"))
        #expect(report.markdown().contains("## Failures"))
        // Progress: one report per pair, ending at the total, with an ETA.
        let seen = progress.all
        #expect(seen.count == 15)
        #expect(seen.map(\.completed).sorted() == Array(1...15))
        #expect(seen.last?.failed == 3 || seen.map(\.failed).max() == 3)
        #expect(seen.allSatisfy { $0.total == 15 && $0.etaSeconds != nil })

        // Resume with the clip repaired: only its pairs run.
        let counter = CallCounter()
        let fixed = try RobustnessRun(set: Self.items, outputDir: folder.path, perturbations: Self.perturbations,
                                      scorer: Self.tableScorer(counter: counter)).run()
        #expect(counter.all.sorted() == ["a2@blur:2", "a2@jpeg:20", "a2@none"])
        #expect(fixed.failures.isEmpty)
    }

    @Test("frames mode: loads once per clip, applies perturbations, reports load failures")
    func framesMode() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let loads = CallCounter()
        // Each clip is two flat frames whose gray level encodes its score; contrast 0 pulls to the mean.
        let levels: [String: UInt8] = ["r1": 40, "r2": 80, "a1": 200, "a2": 120, "b1": 230]
        let scorer = RobustnessScorer.frames(
            load: { item in
                let clip = Self.name(item)
                loads.record(clip)
                guard let v = levels[clip] else { throw RobustnessError.badSet(path: item.path, reason: "unreadable") }
                return [RGBImage(width: 16, height: 8, fill: (v, v, v)), texturedFrame(width: 16, height: 8)]
            },
            score: { frames, perturbation in
                ItemScore(probability: Double(frames[0].pixels[0]) / 255, shortcutFlag: nil)
            })
        let items = Self.items + [SetItem(path: "/set/fake/B/broken.mp4", label: 1, method: "B")]
        let report = try RobustnessRun(set: items, outputDir: folder.path,
                                       perturbations: [Perturbation(.blur, level: 1), Perturbation(.jpeg, level: 90)],
                                       scorer: scorer, threads: 2, codecs: .simulated).run()
        #expect(loads.all.count == 6, "one load per clip")
        #expect(report.failures.count == 3 && report.failures[0].error.contains("cannot load"))
        let bClean = try #require(report.cells.first { $0.method == "B" && $0.id == "none" })
        #expect(bClean.metrics.auc == 1 && bClean.shortcutRate == nil)
        // Flat frames survive blur and JPEG 90 within a level or two: metrics unchanged.
        let bJPEG = try #require(report.cells.first { $0.method == "B" && $0.id == "jpeg:90" })
        #expect(bJPEG.metrics.auc == 1)
    }

    @Test("one thread and two threads give the same report")
    func threadsAgree() throws {
        let a = try temporaryFolder(), b = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let one = try RobustnessRun(set: Self.items, outputDir: a.path, perturbations: Self.perturbations,
                                    scorer: Self.tableScorer(), threads: 1, writeOutputs: false).run()
        let two = try RobustnessRun(set: Self.items, outputDir: b.path, perturbations: Self.perturbations,
                                    scorer: Self.tableScorer(), threads: 2, writeOutputs: false).run()
        #expect(one == two)
        #expect(try one.jsonData() == two.jsonData())
    }

    @Test("the set reader handles plain folders and manifests")
    func setReader() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let manager = FileManager.default
        for path in ["plain/real/x/r1.mp4", "plain/real/r2.avi", "plain/fake/swap/f1.mp4", "plain/fake/blend/f2.mkv",
                     "plain/fake/blend/notes.txt"] {
            let url = folder.appendingPathComponent(path)
            try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            manager.createFile(atPath: url.path, contents: Data([0]))
        }
        let plain = try SetReader.load(path: folder.appendingPathComponent("plain").path)
        #expect(plain.map(\.method) == ["real", "real", "blend", "swap"])
        #expect(plain.map(\.label) == [0, 0, 1, 1])
        #expect(plain[0].path.hasSuffix("plain/real/r2.avi"))

        let manifestSet = folder.appendingPathComponent("manifest")
        try manager.createDirectory(at: manifestSet, withIntermediateDirectories: true)
        let manifest = #"[{"path": "videos/a.mp4", "label": "fake", "method": "selfBlend"}, {"path": "videos/b.mp4", "label": "real"}]"#
        try Data(manifest.utf8).write(to: manifestSet.appendingPathComponent("manifest.json"))
        let listed = try SetReader.load(path: manifestSet.path)
        #expect(listed.map(\.method) == ["real", "selfBlend"])
        #expect(listed[1].path == manifestSet.appendingPathComponent("videos/a.mp4").path)
        #expect(try SetReader.load(path: manifestSet.appendingPathComponent("manifest.json").path) == listed)
        // Synthesis writes a top-level array with "real"/"fake" labels.
        try Data(#"[{"path": "real/r.mp4", "label": "real"}, {"path": "fake/m/f.mp4", "label": "fake", "method": "m"}]"#.utf8)
            .write(to: manifestSet.appendingPathComponent("manifest.json"))
        #expect(try SetReader.load(path: manifestSet.path).map(\.method) == ["real", "m"])

        try Data("[{\"path\": \"x.mp4\"}]".utf8).write(to: manifestSet.appendingPathComponent("manifest.json"))
        #expect(throws: RobustnessError.self) { try SetReader.load(path: manifestSet.path) }
        // One definition of a set across commands: the forms synth never writes are refused here too.
        try Data(#"{"items": [{"path": "videos/b.mp4", "label": 0}]}"#.utf8).write(to: manifestSet.appendingPathComponent("manifest.json"))
        #expect(throws: RobustnessError.self) { try SetReader.load(path: manifestSet.path) }
        #expect(throws: RobustnessError.self) { try SetReader.load(path: folder.appendingPathComponent("missing").path) }
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [RobustnessProgress] = []
    func add(_ p: RobustnessProgress) { lock.lock(); entries.append(p); lock.unlock() }
    var all: [RobustnessProgress] { lock.lock(); defer { lock.unlock() }; return entries }
}

import Foundation
import Imaging
import Synthesis
import Testing
@testable import Detector

@Suite("Best checkpoint selection")
struct BestCheckpointTests {
    func point(_ step: Int, _ auc: Double?) -> ValidationPoint {
        ValidationPoint(step: step, trainLoss: 0, validationLoss: 0, validationAUC: auc, perMethodAUC: [:], trainAUC: nil,
                        validationAUCBatchStatistics: nil, seconds: 0)
    }

    @Test func picksTheStepOfTheHighestAUCAndKeepsTheEarlierOnTies() throws {
        let history = [point(2, 0.61), point(4, 0.83), point(6, nil), point(8, 0.83), point(10, 0.72), point(12, .nan)]
        let best = try #require(BestCheckpoint.best(of: history))
        #expect(best == BestCheckpoint(step: 4, validationAUC: 0.83))
    }

    @Test func missingOrNaNAUCNeverWins() {
        #expect(!BestCheckpoint.improves(nil, auc: nil))
        #expect(!BestCheckpoint.improves(nil, auc: .nan))
        #expect(BestCheckpoint.improves(nil, auc: 0.4))
        #expect(!BestCheckpoint.improves(BestCheckpoint(step: 1, validationAUC: 0.9), auc: 0.9))
        #expect(BestCheckpoint.improves(BestCheckpoint(step: 1, validationAUC: 0.9), auc: 0.91))
        #expect(BestCheckpoint.best(of: [point(1, nil)]) == nil)
    }
}

@Suite("Supervised training")
struct SupervisedTrainingTests {
    /// Entries as `glassbox synth` writes them: each source's real and fakes name the same source.
    func synthEntries(sources: Int) -> [ManipulationEntry] {
        (0..<sources).flatMap { k in
            [ManipulationEntry(path: "real/s\(k).mp4", label: "real", source: "/media/s\(k).mp4", identity: "s\(k)"),
             ManipulationEntry(path: "fake/selfBlend/s\(k).mp4", label: "fake", method: "selfBlend", source: "/media/s\(k).mp4", identity: "s\(k)"),
             ManipulationEntry(path: "fake/crossSwap/s\(k).mp4", label: "fake", method: "crossSwap", source: "/media/s\(k).mp4", identity: "s\(k)")]
        }
    }

    @Test func validationSplitKeepsSourcesTogetherAndIsDeterministic() throws {
        let entries = synthEntries(sources: 10)
        let first = try SetSplit.assign(entries, validationFraction: 0.2)
        #expect(first == (try SetSplit.assign(entries, validationFraction: 0.2)))
        var sides: [String: Set<DataSplit>] = [:]
        for (entry, assignment) in zip(entries, first) {
            #expect(assignment.group == entry.source)
            sides[assignment.group, default: []].insert(assignment.split)
        }
        #expect(sides.values.allSatisfy { $0.count == 1 }, "a source group straddles the split")
        let held = zip(entries, first).filter { $0.1.split == .validation }.map(\.0)
        #expect(held.count == 6, "0.2 of 30 videos is 6: two whole groups of three")
        #expect(held.contains { !$0.isFake } && held.contains(where: \.isFake))
    }

    @Test func plainLayoutGroupsFaceForensicsNames() throws {
        let root = try SupervisedFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // FaceForensics++ names: original 000.mp4; fake 000_003.mp4 is video 000 with 003's face.
        var files: [String] = []
        for k in 0..<10 {
            let id = String(format: "%03d", k), other = String(format: "%03d", (k + 3) % 10)
            files += ["real/\(id).mp4", "fake/Deepfakes/\(id)_\(other).mp4", "fake/FaceSwap/\(id)_\(other).mp4"]
        }
        for file in files {
            try FileManager.default.createDirectory(atPath: ((root + "/" + file) as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: root + "/" + file, contents: Data())
        }
        let set = try ManipulationSet.load(path: root)
        let items = try SupervisedCorpus.plan(set: set, validationSet: nil, validationFraction: 0.2)
        #expect(items.count == 30)
        for group in Set(items.map(\.group)) {
            let members = items.filter { $0.group == group }
            #expect(members.count == 3, "group \(group): \(members.map(\.path))")
            #expect(Set(members.map(\.split)).count == 1)
        }
        #expect(Set(items.map(\.label)) == ["real", "Deepfakes", "FaceSwap"])
    }

    @Test func setsThatCannotTrainGiveClearErrors() throws {
        let reals = [ManipulationEntry(path: "real/a.mp4", label: "real")]
        let fakes = [ManipulationEntry(path: "fake/x/a.mp4", label: "fake", method: "x")]
        func message(_ entries: [ManipulationEntry]) -> String {
            do {
                _ = try SupervisedCorpus.plan(set: ManipulationSet(root: "/sets/s", entries: entries), validationSet: nil, validationFraction: 0.2)
                return ""
            } catch { return "\(error)" }
        }
        #expect(message([]).contains("holds no videos"))
        #expect(message(reals).contains("no fake videos"))
        #expect(message(fakes).contains("no real videos"))
        // One source only: nothing can be held out with both labels on both sides.
        #expect(message(synthEntries(sources: 1)).contains("--validation-set"))
        #expect(throws: TrainingError.self) { try SupervisedCorpus.checkCrops(CropStore(size: 8), set: "/sets/s") }
    }

    /// A store of labelled crops (no video): `people` groups, reals, and fakes of methods with
    /// unequal video counts.
    func labelledStore() -> CropStore {
        var store = CropStore(size: 32)
        let box = Box(x: 8, y: 8, width: 16, height: 16)
        func add(_ source: String, group: String, label: String, frames: Int, split: DataSplit = .train) {
            for frame in 0..<frames {
                let shade = UInt8(truncatingIfNeeded: source.utf8.reduce(0) { $0 &+ Int($1) } &* 7 &+ frame)
                store.append(RGBImage(width: 32, height: 32, fill: (shade, 100, label == "real" ? 50 : 200)),
                             record: CropRecord(identity: group, split: split, source: source, frameIndex: frame * 3, faceBox: box, label: label))
            }
        }
        for person in 0..<3 {
            add("real\(person)", group: "p\(person)", label: "real", frames: 6)
            add("rare\(person)", group: "p\(person)", label: "rare", frames: 6)
        }
        // "common" has ten times as many videos as "rare": balance must come from the method draw.
        for video in 0..<30 { add("common\(video)", group: "p\(video % 3)", label: "common", frames: 6) }
        add("lonely-fake", group: "nobody", label: "rare", frames: 6)
        return store
    }

    @Test func batchesAreBalancedByLabelAndMethodAndPairWithTheirSource() {
        let store = labelledStore()
        let sampler = SupervisedSampler(store: store, split: .train, format: InputFormat(size: 16, margin: 1.3))
        #expect(sampler.methods == ["common", "rare"])
        let batch = sampler.batchWithMasks(pairs: 200, seed: 3)
        #expect(batch.labels.count == 400)
        #expect(batch.labels.filter { $0 == 0 }.count == 200)
        #expect(batch.inputs.count == 400 * 3 * 16 * 16)
        #expect(batch.masks.allSatisfy { $0 == 0 })
        let fakeTags = batch.tags.enumerated().filter { batch.labels[$0.offset] == 1 }.map(\.element)
        let rare = fakeTags.filter { $0.method == "rare" }.count
        #expect((70...130).contains(rare), "methods should be drawn equally often, got \(rare) of 200 rare")
        for pair in 0..<200 {
            let real = batch.tags[2 * pair], fake = batch.tags[2 * pair + 1]
            #expect(real.method == "real" && fake.method != "real")
            #expect(real.jpegQuality == fake.jpegQuality, "the pair must share its compression")
            if fake.identity != "nobody" {
                #expect(real.identity == fake.identity, "a fake pairs with its own source's real")
                #expect(store.records[real.cropIndex].frameIndex == store.records[fake.cropIndex].frameIndex)
            }
        }
        let again = sampler.batchWithMasks(pairs: 200, seed: 3)
        #expect(again.inputs == batch.inputs && again.tags == batch.tags)
    }

    @Test func cropCacheSkipsACorruptVideoAndRereadsWithoutDecoding() throws {
        let folder = try SupervisedFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let root = try SupervisedFixtures.writeSet(in: folder, people: 3, methods: ["swapA"], frames: 6, corrupt: true)
        let set = try ManipulationSet.load(path: root)
        let items = try SupervisedCorpus.plan(set: set, validationSet: nil, validationFraction: 0.3)
        let cache = try SupervisedFixtures.cache(in: folder, framesPerVideo: 6)
        var reported: [String] = []
        var cachedCount = 0
        let (store, skipped) = SupervisedCorpus.build(items, cache: cache, progress: { _, _, _, _, cached in
            if cached { cachedCount += 1 }
        }, skipped: { reported.append($0) })
        #expect(skipped.count == 1)
        #expect(reported == skipped)
        #expect(skipped[0].contains("broken.mp4") && !skipped[0].contains("\n"), "one line naming the file: \(skipped)")
        #expect(cachedCount == 0)
        #expect(store.count == 6 * 6, "six good videos of six frames each")
        #expect(Set(store.records.map(\.label)) == ["real", "swapA"])
        try SupervisedCorpus.checkCrops(store, set: root)
        let summary = SupervisedCorpus.summary(of: store, items: items, skipped: skipped, set: root, validationSet: nil,
                                               validationFraction: 0.3, framesPerVideo: 6)
        let videoCount = summary.videos.values.flatMap(\.values).reduce(0, +)
        #expect(videoCount == 6)
        #expect(summary.videos["validation"]?["real"] == summary.validationGroups.count)
        #expect(summary.crops["train"]?["swapA"] == 6 * (3 - summary.validationGroups.count))
        #expect(summary.skipped == skipped)

        // Second pass: every good video from the cache; the corrupt one is retried and skipped again.
        cachedCount = 0
        let (again, skippedAgain) = SupervisedCorpus.build(items, cache: cache, progress: { _, _, _, _, cached in
            if cached { cachedCount += 1 }
        })
        #expect(cachedCount == 6)
        #expect(skippedAgain.count == 1)
        #expect(again.records == store.records && again.pixels == store.pixels)
    }

    @Test func trainsResumesAndShipsTheBestCheckpoint() throws {
        let folder = try SupervisedFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let root = try SupervisedFixtures.writeSet(in: folder, people: 4, methods: ["swapA", "swapB"], frames: 6)
        let items = try SupervisedCorpus.plan(set: try ManipulationSet.load(path: root), validationSet: nil, validationFraction: 0.25)
        let (store, _) = SupervisedCorpus.build(items, cache: try SupervisedFixtures.cache(in: folder, framesPerVideo: 6))
        try SupervisedCorpus.checkCrops(store, set: root)

        let run = folder + "/run"
        let config = SupervisedFixtures.tinyConfiguration(steps: 4)
        let trainer = DetectorTrainer(configuration: config, store: store, runDirectory: run)
        trainer.log = { _ in }
        trainer.recalibrationBatches = (2, 2)
        trainer.trainProbePairs = 4
        trainer.temporalValidationPairs = 2
        let (_, metrics) = try trainer.run()
        #expect(metrics.history.map(\.step) == [2, 4])
        let best = try #require(BestCheckpoint.best(of: metrics.history))
        #expect(metrics.bestStep == best.step && metrics.bestValidationAUC == best.validationAUC)
        #expect(metrics.selectedStep == best.step && metrics.selection == "best")
        #expect(metrics.finalValidationAUC == metrics.history.last?.validationAUC)
        #expect(FileManager.default.fileExists(atPath: run + "/best.safetensors"))
        #expect(FileManager.default.fileExists(atPath: run + "/checkpoint.safetensors"))
        #expect(metrics.validation?.auc != nil)
        #expect(Set(metrics.perMethodValidationAUC.keys).isSubset(of: ["swapA", "swapB"]))
        #expect(metrics.trainIdentities.allSatisfy { $0.hasPrefix("/originals/") })
        #expect(Set(metrics.trainIdentities).isDisjoint(with: metrics.validationIdentities))

        // The same run again with keepLast: resumes at its end (history and best kept), ships the last weights.
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/state.json"))) as? [String: Any]
        #expect((state?["best"] as? [String: Any])?["step"] as? Int == best.step)
        let resumed = DetectorTrainer(configuration: config, store: store, runDirectory: run)
        var logged: [String] = []
        resumed.log = { logged.append($0) }
        resumed.keepLast = true
        resumed.recalibrationBatches = (2, 2)
        resumed.trainProbePairs = 4
        resumed.temporalValidationPairs = 2
        let (_, last) = try resumed.run()
        #expect(logged.contains { $0.contains("resuming from step 4") })
        #expect(last.history.map(\.step) == [2, 4])
        #expect(last.selection == "last" && last.selectedStep == 4)
        #expect(last.bestStep == best.step)
    }
}

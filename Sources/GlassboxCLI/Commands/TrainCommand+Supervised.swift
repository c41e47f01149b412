import Detector
import Faces
import Foundation
import Synthesis

/// Supervised mode of `glassbox train`: the set, its split and its crop cache.
extension TrainCommand {
    /// Loads the set (and validation set), plans the split, and cuts or reads the crops of every video.
    /// - Returns: the labelled crop store and its summary for the metrics.
    /// - Throws: `CLIError` with exit code 66 for a missing folder, 65 for a set that cannot be trained on.
    static func loadSupervisedCrops(setPath: String, validationSetPath: String?, validationFraction: Double,
                                    framesPerVideo: Int, runDirectory: String) throws -> (CropStore, SupervisedCorpus.Summary) {
        let set = try loadSet(setPath)
        let validationSet = try validationSetPath.map(loadSet)
        let items = try mapTrainingError {
            try SupervisedCorpus.plan(set: set, validationSet: validationSet, validationFraction: validationFraction)
        }
        let held = items.filter { $0.split == .validation }
        Console.err("set: \(items.count) videos (\(items.filter { $0.label == "real" }.count) real, "
                    + "\(items.filter { $0.label != "real" }.count) fake); validation: \(held.count) videos"
                    + (validationSet == nil ? " in \(Set(held.map(\.group)).count) held-out source group(s)" : " from \(validationSetPath!)"))

        // The same crop geometry as real-only mode (CropExtractor's defaults), so training re-crops alike.
        let detector = try FaceDetector.standard()
        let cache = VideoCropCache(folder: runDirectory + "/set-crops", cropper: CropExtractor(detector: detector).cropper,
                                   faces: .detector(detector), framesPerVideo: framesPerVideo)
        try FileManager.default.createDirectory(atPath: cache.folder, withIntermediateDirectories: true)
        let bar = ProgressLine("cutting face crops", total: items.count)
        var fromCache = 0
        let (store, skipped) = SupervisedCorpus.build(items, cache: cache, progress: { _, _, path, found, cached in
            if cached { fromCache += 1 }
            bar.advance(note: "\(URL(fileURLWithPath: path).lastPathComponent): \(found)\(cached ? " (cached)" : "")")
        }, skipped: { line in
            bar.clearLine()
            Console.err("warning: \(line)")
        })
        bar.finish()
        let summary = SupervisedCorpus.summary(of: store, items: items, skipped: skipped, set: setPath, validationSet: validationSetPath,
                                               validationFraction: validationSet == nil ? validationFraction : nil,
                                               framesPerVideo: framesPerVideo)
        Console.err("crops: \(store.count) (train \(store.indices(in: .train).count), validation \(store.indices(in: .validation).count));"
                    + " \(fromCache) of \(items.count) videos from the cache \(cache.folder); \(skipped.count) skipped")
        try mapTrainingError { try SupervisedCorpus.checkCrops(store, set: setPath) }
        try FileOutput.writeJSON(summary, to: runDirectory + "/split.json")
        return (store, summary)
    }

    static func loadSet(_ path: String) throws -> ManipulationSet {
        do {
            return try ManipulationSet.load(path: path)
        } catch let error as ManipulationSetError {
            if case .notAFolder = error { throw CLIError.noInput("\(error)") }
            throw CLIError.dataError("\(error)")
        }
    }

    /// Training data that cannot be used is a data error (exit 65), not a software fault.
    static func mapTrainingError<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as TrainingError {
            throw CLIError.dataError("\(error)")
        }
    }
}

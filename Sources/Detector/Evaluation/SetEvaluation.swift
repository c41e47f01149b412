import Foundation

/// The detector's result on one labelled video of a set.
public struct VideoResult: Codable, Sendable {
    public var path: String
    /// 1 fake, 0 real.
    public var label: Int
    /// Manipulation method of a fake; nil for reals.
    public var method: String?
    /// p(fake) of the video, nil when no face was found.
    public var probability: Double?
    public var verdict: VerdictLabel
    /// Calibrated p(fake) of every scored frame.
    public var frameProbabilities: [Double]

    public init(path: String, label: Int, method: String?, probability: Double?, verdict: VerdictLabel, frameProbabilities: [Double]) {
        self.path = path
        self.label = label
        self.method = method
        self.probability = probability
        self.verdict = verdict
        self.frameProbabilities = frameProbabilities
    }
}

/// Frame- and video-level metrics of a set, overall and per manipulation method.
///
/// Per method, that method's fakes are ranked against all reals. Videos with no face have no
/// score: they are counted (`noFaceVideos`) and left out of the metrics rather than guessed.
public struct SetEvaluation: Codable, Sendable {
    public struct Level: Codable, Sendable {
        public var frame: BinaryMetrics
        public var video: BinaryMetrics
    }

    public var overall: Level
    public var perMethod: [String: Level]
    public var videos: [VideoResult]
    public var noFaceVideos: Int
    public var failures: [String]

    public init(videos: [VideoResult], failures: [String], threshold: Double = 0.5) {
        self.videos = videos
        self.failures = failures
        let scored = videos.filter { $0.probability != nil }
        noFaceVideos = videos.count - scored.count
        func level(_ subset: [VideoResult]) -> Level {
            let frames = subset.flatMap { video in video.frameProbabilities.map { ($0, video.label) } }
            return Level(frame: BinaryMetrics(scores: frames.map(\.0), labels: frames.map(\.1), threshold: threshold),
                         video: BinaryMetrics(scores: subset.map { $0.probability! }, labels: subset.map(\.label), threshold: threshold))
        }
        overall = level(scored)
        let reals = scored.filter { $0.label == 0 }
        var perMethod: [String: Level] = [:]
        for method in Set(scored.compactMap(\.method)) {
            perMethod[method] = level(reals + scored.filter { $0.label == 1 && $0.method == method })
        }
        self.perMethod = perMethod
    }

    /// A fixed-width table: one row per method and one overall.
    public func table() -> String {
        func number(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "  -  " }
        var lines = ["method            videos  video AUC    AP    EER   acc    ECE  | frame AUC  frames"]
        func row(_ name: String, _ level: Level) -> String {
            let v = level.video, f = level.frame
            return name.padding(toLength: 16, withPad: " ", startingAt: 0)
                + String(format: "  %6d", v.realCount + v.fakeCount)
                + "  \(number(v.auc))  \(number(v.averagePrecision))  \(number(v.equalErrorRate))  \(number(v.accuracy))  \(number(v.expectedCalibrationError))"
                + "  |   \(number(f.auc))  \(String(format: "%6d", f.realCount + f.fakeCount))"
        }
        for method in perMethod.keys.sorted() { lines.append(row(method, perMethod[method]!)) }
        lines.append(row("all", overall))
        if noFaceVideos > 0 { lines.append("\(noFaceVideos) video(s) had no face and were not scored") }
        if !failures.isEmpty { lines.append("\(failures.count) video(s) could not be read") }
        return lines.joined(separator: "\n")
    }
}

/// Decides, frame by frame, which decoded frames a ``SamplingOptions`` keeps.
///
/// Frames arrive in presentation order with their time (seconds from the stream start); frames
/// outside the time range never reach the selector.
struct FrameSelector {
    enum Decision: Equatable { case keep, skip, stop }

    private let sampling: FrameSampling
    private let rangeStart: Double?
    private let rangeEnd: Double?
    private let videoFPS: Double
    private let frameCounter: () throws -> Int

    /// Frames seen inside the range so far.
    private var seen = 0
    /// Next tick (targetFPS, evenlySpaced by time) or next target index (evenlySpaced by count).
    private var tick = 0
    private var firstTime: Double? = nil
    /// evenlySpaced by count: frames in the range, when the duration is unknown.
    private var countedFrames: Int? = nil
    private(set) var isDone = false

    init(options: SamplingOptions, info: VideoInfo, frameCounter: @escaping () throws -> Int) {
        self.sampling = options.sampling
        self.rangeStart = options.startSeconds
        self.rangeEnd = options.endSeconds
        self.videoFPS = info.fps
        self.frameCounter = frameCounter
        self.durationSeconds = info.durationSeconds
    }

    private let durationSeconds: Double

    /// Slack for timestamp rounding: a quarter of the shorter frame interval involved.
    private func tolerance(_ rate: Double) -> Double {
        let fastest = max(rate, videoFPS > 0 ? videoFPS : rate)
        return 0.25 / fastest
    }

    mutating func decide(time: Double) throws -> Decision {
        if isDone { return .stop }
        defer { seen += 1 }
        if firstTime == nil { firstTime = time }
        switch sampling {
        case .every:
            return .keep
        case .everyNth(let n):
            return seen % n == 0 ? .keep : .skip
        case .targetFPS(let rate):
            let origin = firstTime!
            let slack = tolerance(rate)
            guard time >= origin + Double(tick) / rate - slack else { return .skip }
            tick = Int(((time - origin + slack) * rate).rounded(.down)) + 1
            return .keep
        case .evenlySpaced(let n):
            let start = rangeStart ?? 0
            let end = rangeEnd.map { min($0, durationSeconds > 0 ? durationSeconds : $0) } ?? durationSeconds
            if end.isFinite && end > start {
                let slack = videoFPS > 0 ? 0.25 / videoFPS : 1e-6
                let target = { (k: Int) in start + (end - start) * Double(k) / Double(n) }
                guard time >= target(tick) - slack else { return .skip }
                while tick < n && target(tick) <= time + slack { tick += 1 }
                if tick >= n { isDone = true }
                return .keep
            }
            // Unknown duration: spread over the counted frames instead.
            if countedFrames == nil { countedFrames = max(1, try frameCounter()) }
            let total = countedFrames!
            let targetIndex = { (k: Int) in Int((Double(k) * Double(total) / Double(n)).rounded(.down)) }
            guard seen >= targetIndex(tick) else { return .skip }
            while tick < n && targetIndex(tick) <= seen { tick += 1 }
            if tick >= n { isDone = true }
            return .keep
        }
    }
}

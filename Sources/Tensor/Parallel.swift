import Dispatch
import Foundation

/// Static work splitting over a fixed number of workers with `DispatchQueue.concurrentPerform`.
///
/// Work is always split into the same contiguous chunks for a given count and thread count, so
/// results that depend on summation order are reproducible for a fixed `threadCount`.
public enum Parallel {
    /// Number of workers: the innermost `withThreadCount` of the current task, else the process-wide
    /// setting (`GLASSBOX_THREADS` or 2 until set).
    public static var threadCount: Int {
        get { scopedThreadCount ?? processThreadCount }
        set { processThreadCount = newValue }
    }

    nonisolated(unsafe) static var processThreadCount: Int = {
        if let s = ProcessInfo.processInfo.environment["GLASSBOX_THREADS"], let n = Int(s), n >= 1 { return n }
        return 2
    }()

    @TaskLocal static var scopedThreadCount: Int?

    /// Runs `body` with `threadCount == count` for the current task only, so that concurrent tasks
    /// (tests running in parallel) cannot change each other's work split in the middle of an operation.
    public static func withThreadCount<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        precondition(count >= 1, "Parallel.withThreadCount: needs at least one worker")
        return try $scopedThreadCount.withValue(count) { try body() }
    }

    /// Calls `body(worker, range)` for `min(threadCount, count / minimumPerWorker)` (at least one)
    /// contiguous ranges covering `0..<count`.
    ///
    /// - Parameters:
    ///   - count: number of work items.
    ///   - minimumPerWorker: fewest items worth waking another worker for (cheap elementwise work).
    ///   - body: called once per worker with its index and its items; runs concurrently.
    ///   - maxWorkers: cap on the workers (callers that sized per-worker buffers beforehand pass that size).
    public static func chunks(_ count: Int, minimumPerWorker: Int = 1, maxWorkers: Int = .max,
                              _ body: (_ worker: Int, _ range: Range<Int>) -> Void) {
        guard count > 0 else { return }
        let workers = max(1, min(threadCount, maxWorkers, count / max(1, minimumPerWorker)))
        if workers == 1 { body(0, 0..<count); return }
        withoutActuallyEscaping(body) { body in
            let box = UnsafeSendableBox(body)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = count * w / workers, hi = count * (w + 1) / workers
                box.value(w, lo..<hi)
            }
        }
    }

    /// Calls `body(i)` for every `i` in `0..<count`, split statically across workers.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        chunks(count) { _, r in for i in r { body(i) } }
    }

    /// Calls `body(i)` for every `i` in `0..<count`, split statically across workers, but only waking another
    /// worker for at least `minimumElements` floats each (`elementsPerItem` per item): a hand-off costs
    /// 8-25 µs, more than the whole of a per-plane pass over a deep layer's few pixels.
    public static func forEach(_ count: Int, elementsPerItem: Int, minimumElements: Int = 1 << 15, _ body: (Int) -> Void) {
        chunks(count, minimumPerWorker: max(1, minimumElements / max(1, elementsPerItem))) { _, r in for i in r { body(i) } }
    }

    /// Number of workers `chunks(count)` will use.
    public static func workers(for count: Int) -> Int { max(1, min(threadCount, count)) }
}

struct UnsafeSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

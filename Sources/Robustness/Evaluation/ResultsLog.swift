import Foundation

/// One finished (item, perturbation) pair: one line of `results.jsonl`.
public struct ResultRecord: Codable, Sendable, Equatable {
    /// The run tag (e.g. the weights' SHA-256); lines of other tags are ignored on resume.
    public var tag: String
    public var path: String
    public var label: Int
    public var method: String
    /// Perturbation id, e.g. `blur:2` or `none`.
    public var perturbation: String
    /// p(fake); nil when the pair failed.
    public var probability: Double?
    /// The scorer's shortcut flag, when it computed one.
    public var shortcutFlag: Bool?
    /// Why the pair failed; nil on success.
    public var error: String?

    public init(tag: String, item: SetItem, perturbation: String, probability: Double?, shortcutFlag: Bool?, error: String?) {
        self.tag = tag
        self.path = item.path
        self.label = item.label
        self.method = item.method
        self.perturbation = perturbation
        self.probability = probability
        self.shortcutFlag = shortcutFlag
        self.error = error
    }

    var key: PairKey { PairKey(path: path, perturbation: perturbation) }
}

struct PairKey: Hashable, Sendable {
    var path: String
    var perturbation: String
}

/// An append-only JSON-lines file of results, so a run survives interruption: every finished pair
/// is one line, flushed as it finishes, and a restarted run reads the file and skips what is done.
///
/// A line cut short by a crash is ignored on reading (and the next append starts on a new line).
final class ResultsLog: @unchecked Sendable {
    let url: URL
    private let handle: FileHandle
    private let lock = NSLock()

    /// Opens (creating if needed) the file for appending.
    init(url: URL) throws {
        self.url = url
        let manager = FileManager.default
        if !manager.fileExists(atPath: url.path) {
            guard manager.createFile(atPath: url.path, contents: nil) else {
                throw RobustnessError.resultsFile(path: url.path, reason: "cannot create")
            }
        }
        do {
            handle = try FileHandle(forUpdating: url)
            let end = try handle.seekToEnd()
            if end > 0 {
                try handle.seek(toOffset: end - 1)
                let last = try handle.read(upToCount: 1)
                try handle.seekToEnd()
                if last != Data([0x0A]) { try handle.write(contentsOf: Data([0x0A])) }
            }
        } catch let error as RobustnessError {
            throw error
        } catch {
            throw RobustnessError.resultsFile(path: url.path, reason: "cannot open for appending: \(error.localizedDescription)")
        }
    }

    deinit { try? handle.close() }

    /// Appends one record as one line. Thread-safe.
    func append(_ record: ResultRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(record)
        data.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        do {
            try handle.write(contentsOf: data)
        } catch {
            throw RobustnessError.resultsFile(path: url.path, reason: "write failed: \(error.localizedDescription)")
        }
    }

    /// Every readable record of the file, in file order (unparsable lines skipped).
    static func read(url: URL) throws -> [ResultRecord] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RobustnessError.resultsFile(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(ResultRecord.self, from: Data($0)) }
    }
}

import Foundation

/// An append-only JSON Lines file for batch results that survives interruption: each record is
/// one `write` of one line, and a torn last line (no newline) is cut off before appending again.
enum JSONLines {
    private struct PathOnly: Decodable {
        var path: String?
        var input: Input?
        struct Input: Decodable { var path: String }
    }

    /// Paths of the videos already scanned successfully (records with `input.path`); recorded
    /// failures (`path` + `error`) are not counted, so a rerun retries them after a fix.
    static func completedPaths(in file: String) throws -> Set<String> {
        guard let data = FileManager.default.contents(atPath: file) else { return [] }
        var paths = Set<String>()
        for line in data.split(separator: 0x0A) {
            guard let record = try? JSONDecoder().decode(PathOnly.self, from: Data(line)) else { continue }
            if let path = record.input?.path { paths.insert(path) }
        }
        return paths
    }

    /// Appends one compact JSON record and a newline.
    static func append<T: Encodable>(_ record: T, to file: String) throws {
        let manager = FileManager.default
        if !manager.fileExists(atPath: file) {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: file).deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            guard manager.createFile(atPath: file, contents: nil) else { throw CLIError.io("\(file): cannot create") }
        }
        guard let handle = FileHandle(forUpdatingAtPath: file) else { throw CLIError.io("\(file): cannot open for appending") }
        defer { try? handle.close() }
        let end = try handle.seekToEnd()
        if end > 0 {
            // Cut a torn last line left by an interrupted run.
            try handle.seek(toOffset: end - 1)
            if handle.readData(ofLength: 1) != Data([0x0A]) {
                try handle.seek(toOffset: 0)
                let content = handle.readDataToEndOfFile()
                let keep = content.lastIndex(of: 0x0A).map { content.distance(from: content.startIndex, to: $0) + 1 } ?? 0
                try handle.truncate(atOffset: UInt64(keep))
            }
            try handle.seekToEnd()
        }
        try handle.write(contentsOf: try FileOutput.encodeJSON(record, pretty: false))
    }
}

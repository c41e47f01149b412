import Foundation

/// Writes files whole or not at all: the bytes go to a temporary sibling first and are renamed
/// into place, so an interrupted run never leaves a half-written JSON or PNG behind.
public enum FileOutput {
    /// Atomically writes `data` to `path`, creating parent folders.
    /// - Throws: `CLIError.io` naming the path and the reason.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url, options: .atomic)
        } catch {
            throw CLIError.io("\(path): cannot write (\(error.localizedDescription))")
        }
    }

    /// Encodes a value as pretty, key-sorted JSON (stable across runs) and writes it atomically.
    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        try write(try encodeJSON(value), to: path)
    }

    /// Pretty, key-sorted JSON with a trailing newline.
    public static func encodeJSON<T: Encodable>(_ value: T, pretty: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var data = try encoder.encode(value)
        data.append(0x0A)
        return data
    }

    /// Creates an output folder (and its parents) up front, so that a long run does not find out at
    /// its first write that it cannot write.
    /// - Throws: `CLIError.io` naming the folder and the reason.
    public static func prepareFolder(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw CLIError.io("\(path): cannot create the output folder (\(error.localizedDescription))")
        }
        guard FileManager.default.isWritableFile(atPath: path) else { throw CLIError.io("\(path): output folder is not writable") }
    }

    /// Checks that an input path exists and is a regular file.
    /// - Throws: `CLIError.noInput` when missing, `CLIError.dataError` when it is a folder.
    public static func requireFile(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError.noInput("\(path): no such file")
        }
        if isDirectory.boolValue { throw CLIError.dataError("\(path): is a directory, expected a video file") }
    }
}

import Foundation

/// One clip of a manipulation set.
public struct SetItem: Codable, Sendable, Hashable {
    /// Absolute path of the clip (or of whatever the scorer reads).
    public var path: String
    /// 1 = fake, 0 = real.
    public var label: Int
    /// The manipulation method of a fake (`real` for reals).
    public var method: String

    public init(path: String, label: Int, method: String? = nil) {
        precondition(label == 0 || label == 1, "label is 0 (real) or 1 (fake), got \(label)")
        self.path = path
        self.label = label
        self.method = method ?? (label == 0 ? "real" : "fake")
    }
}

/// A minimal reader of manipulation sets for robustness runs.
///
/// NOTE: private stand-in until Synthesis' `ManipulationSet.load(path:)` is available to wire in;
/// it reads the same two layouts:
/// - `manifest.json`: an array of entries, or an object holding one under `items`, `entries`,
///   `clips`, `videos` or `samples`. Each entry has `path` (relative to the set folder or absolute),
///   `label` (`"real"`/`"fake"`, `0`/`1` or a Bool `fake`) and, for fakes, `method`.
/// - plain folders: `real/**` and `fake/<method>/**` (files with video or image extensions).
public enum SetReader {
    /// File extensions taken from plain folders.
    public static let mediaExtensions: Set<String> = ["mp4", "m4v", "mov", "avi", "mkv", "webm", "mpg", "mpeg",
                                                      "y4m", "png", "jpg", "jpeg", "bmp", "ppm"]

    /// Reads a set folder (or its `manifest.json` given directly).
    /// - Parameter path: the set folder or a manifest file.
    /// - Returns: the items, reals first then fakes by method, each group sorted by path.
    /// - Throws: ``RobustnessError/badSet(path:reason:)`` when the folder has neither layout or the
    ///   manifest cannot be parsed.
    public static func load(path: String) throws -> [SetItem] {
        var root = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        if root.pathExtension.lowercased() == "json", FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory),
           !isDirectory.boolValue {
            root = root.deletingLastPathComponent()
            let items = try readManifest(URL(fileURLWithPath: path).standardizedFileURL, root: root)
            guard !items.isEmpty else { throw RobustnessError.badSet(path: path, reason: "no clips found") }
            return items.sorted { ($0.label, $0.method, $0.path) < ($1.label, $1.method, $1.path) }
        }
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RobustnessError.badSet(path: path, reason: "not a folder")
        }
        let manifest = root.appendingPathComponent("manifest.json")
        let items: [SetItem]
        if FileManager.default.fileExists(atPath: manifest.path) {
            items = try readManifest(manifest, root: root)
        } else {
            items = try readFolders(root)
        }
        guard !items.isEmpty else { throw RobustnessError.badSet(path: path, reason: "no clips found") }
        return items.sorted { ($0.label, $0.method, $0.path) < ($1.label, $1.method, $1.path) }
    }

    static func readManifest(_ url: URL, root: URL) throws -> [SetItem] {
        func fail(_ reason: String) -> RobustnessError { .badSet(path: url.path, reason: reason) }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        } catch {
            throw fail("manifest.json is not valid JSON: \(error.localizedDescription)")
        }
        var entries: [Any]?
        if let array = json as? [Any] { entries = array }
        if let object = json as? [String: Any] {
            for key in ["items", "entries", "clips", "videos", "samples"] {
                if let array = object[key] as? [Any] { entries = array; break }
            }
        }
        guard let entries else { throw fail("expected an array of entries (or one under 'items')") }
        return try entries.enumerated().map { index, value in
            guard let entry = value as? [String: Any] else { throw fail("entry \(index) is not an object") }
            guard let relative = entry["path"] as? String, !relative.isEmpty else { throw fail("entry \(index) has no 'path'") }
            let label: Int
            switch entry["label"] {
            case let text as String where text.lowercased() == "real": label = 0
            case let text as String where text.lowercased() == "fake": label = 1
            case let number as NSNumber where number.intValue == 0 || number.intValue == 1: label = number.intValue
            default:
                if let fake = entry["fake"] as? Bool { label = fake ? 1 : 0 } else {
                    throw fail("entry \(index) (\(relative)) has no label 'real'/'fake' or 0/1")
                }
            }
            let method = (entry["method"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            let full = relative.hasPrefix("/") ? relative : root.appendingPathComponent(relative).path
            return SetItem(path: full, label: label, method: label == 0 ? "real" : (method ?? "fake"))
        }
    }

    static func readFolders(_ root: URL) throws -> [SetItem] {
        let manager = FileManager.default
        let real = root.appendingPathComponent("real"), fake = root.appendingPathComponent("fake")
        guard manager.fileExists(atPath: real.path) || manager.fileExists(atPath: fake.path) else {
            throw RobustnessError.badSet(path: root.path, reason: "no manifest.json and no real/ or fake/<method>/ folders")
        }
        var items = mediaFiles(under: real).map { SetItem(path: $0, label: 0, method: "real") }
        let methods = ((try? manager.contentsOfDirectory(atPath: fake.path)) ?? []).sorted()
        for method in methods where !method.hasPrefix(".") {
            let folder = fake.appendingPathComponent(method)
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue {
                items += mediaFiles(under: folder).map { SetItem(path: $0, label: 1, method: method) }
            } else if mediaExtensions.contains(folder.pathExtension.lowercased()) {
                items.append(SetItem(path: folder.path, label: 1, method: "fake"))
            }
        }
        return items
    }

    static func mediaFiles(under folder: URL) -> [String] {
        guard let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return []
        }
        var files: [String] = []
        for case let url as URL in enumerator
        where mediaExtensions.contains(url.pathExtension.lowercased()) && !url.lastPathComponent.hasPrefix(".") {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                files.append(url.standardizedFileURL.path)
            }
        }
        return files.sorted()
    }
}

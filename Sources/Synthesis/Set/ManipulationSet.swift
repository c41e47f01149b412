import Foundation

/// The compression a set item went through, so that evaluation can group by it. The real and the
/// fakes made from one source always share it.
public struct CodecSetting: Codable, Sendable, Equatable, Hashable {
    /// `"h264"` (quality = CRF), `"mjpeg"` (quality = FFmpeg qscale 1...31), `"jpeg"` (stills,
    /// quality = libjpeg quality 1...100) or `"png"` (lossless; quality unused).
    public var name: String
    /// The codec's quality number, as described for `name`.
    public var quality: Int

    public init(name: String, quality: Int) {
        self.name = name
        self.quality = quality
    }
}

/// One video or image of a manipulation set.
public struct ManipulationEntry: Codable, Sendable, Equatable {
    /// Path relative to the set folder.
    public var path: String
    /// `"real"` or `"fake"`.
    public var label: String
    /// The manipulation for fakes: a `ManipulationMethod` raw value for sets written here, any name
    /// (say `"Deepfakes"`) for a user's set; `nil` for reals.
    public var method: String?
    /// The real media this was made from (or, for reals, the original file), as given to the writer.
    public var source: String?
    /// The method's parameters as drawn (see `ManipulationParameters(method:json:)`).
    public var parameters: JSONValue?
    /// Path (relative to the set) of the per-frame blend mask: for videos a lossless video
    /// (PNG frames in Matroska, grey = mask * 255) with one frame per frame of `path`; for stills a
    /// grayscale PNG. `nil` for reals.
    public var mask: String?
    /// Compression applied to this item.
    public var codec: CodecSetting?
    /// Identity label, for splitting by identity (the source's file stem when written here).
    public var identity: String?
    /// For cross swaps: the donor's source.
    public var donor: String?
    /// Number of frames (1 for stills), when known.
    public var frames: Int?
    /// Frame rate of the written video, when known.
    public var fps: Double?

    public init(path: String, label: String, method: String? = nil, source: String? = nil, parameters: JSONValue? = nil,
                mask: String? = nil, codec: CodecSetting? = nil, identity: String? = nil, donor: String? = nil,
                frames: Int? = nil, fps: Double? = nil) {
        self.path = path
        self.label = label
        self.method = method
        self.source = source
        self.parameters = parameters
        self.mask = mask
        self.codec = codec
        self.identity = identity
        self.donor = donor
        self.frames = frames
        self.fps = fps
    }

    /// Whether this is a fake.
    public var isFake: Bool { label == "fake" }

    /// The method as a `ManipulationMethod`, when it is one of Glassbox's own.
    public var manipulationMethod: ManipulationMethod? { method.flatMap(ManipulationMethod.init(rawValue:)) }
}

/// Errors reading or writing a manipulation set.
public enum ManipulationSetError: Error, CustomStringConvertible, Equatable {
    /// The folder does not exist or is not a folder.
    case notAFolder(path: String)
    /// The folder has neither `manifest.json` nor `real/` or `fake/`.
    case noSet(path: String)
    /// `manifest.json` is not a JSON array of entries.
    case badManifest(path: String, reason: String)
    /// An entry is unusable.
    case badEntry(path: String, index: Int, reason: String)
    /// No source could be turned into set items.
    case noUsableSource(reasons: [String])

    public var description: String {
        switch self {
        case .notAFolder(let path): "\(path) is not a folder"
        case .noSet(let path): "\(path) holds neither manifest.json nor the plain layout real/... and fake/<method>/..."
        case .badManifest(let path, let reason): "\(path): not a manifest (a JSON array of entries): \(reason)"
        case .badEntry(let path, let index, let reason): "\(path): entry \(index): \(reason)"
        case .noUsableSource(let reasons): "no source could be used:\n  " + reasons.joined(separator: "\n  ")
        }
    }
}

/// A manipulation set: a folder of real and fake media with their labels.
///
/// Two layouts are read:
/// - `manifest.json`: a JSON array of `ManipulationEntry` (paths relative to the folder), as
///   `SetWriter` writes it;
/// - the plain layout: every media file under `real/` is real, every one under `fake/<method>/` is a
///   fake of that method (a user's FaceForensics++-style copy). A mask is attached when
///   `masks/<method>/<same relative path, any extension>` exists.
public struct ManipulationSet: Sendable, Equatable {
    /// The set folder.
    public var root: String
    /// The items, in manifest order (plain layout: reals then fakes, each sorted by path).
    public var entries: [ManipulationEntry]

    public init(root: String, entries: [ManipulationEntry]) {
        self.root = root
        self.entries = entries
    }

    /// The file extensions treated as media in the plain layout.
    public static let mediaExtensions: Set<String> = ["mp4", "mkv", "avi", "mov", "webm", "m4v", "mpg", "mpeg",
                                                      "png", "jpg", "jpeg", "bmp", "webp"]

    /// Absolute path of an entry's file (or of any set-relative path).
    public func absolutePath(_ relative: String) -> String {
        relative.hasPrefix("/") ? relative : (root as NSString).appendingPathComponent(relative)
    }

    /// Loads a set from a folder holding `manifest.json` or the plain layout (the manifest wins when
    /// both are present), or from the path of a manifest file itself.
    /// - Parameter path: the set folder or its `manifest.json`.
    /// - Returns: the set.
    /// - Throws: `ManipulationSetError` when the folder is missing, holds no set, or the manifest is
    ///   malformed.
    public static func load(path: String) throws -> ManipulationSet {
        var isDirectory: ObjCBool = false
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
           path.hasSuffix(".json") {
            return try loadManifest(path, root: (path as NSString).deletingLastPathComponent)
        }
        guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ManipulationSetError.notAFolder(path: path)
        }
        let manifest = (path as NSString).appendingPathComponent("manifest.json")
        if fileManager.fileExists(atPath: manifest) {
            return try loadManifest(manifest, root: path)
        }
        return try loadPlainLayout(path)
    }

    static func loadManifest(_ manifest: String, root: String) throws -> ManipulationSet {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: manifest))
        } catch {
            throw ManipulationSetError.badManifest(path: manifest, reason: "unreadable: \(error.localizedDescription)")
        }
        let entries: [ManipulationEntry]
        do {
            entries = try JSONDecoder().decode([ManipulationEntry].self, from: data)
        } catch {
            throw ManipulationSetError.badManifest(path: manifest, reason: "\(error)")
        }
        for (index, entry) in entries.enumerated() {
            guard entry.label == "real" || entry.label == "fake" else {
                throw ManipulationSetError.badEntry(path: manifest, index: index, reason: "label must be \"real\" or \"fake\", got \"\(entry.label)\"")
            }
            guard !entry.path.isEmpty else {
                throw ManipulationSetError.badEntry(path: manifest, index: index, reason: "empty path")
            }
        }
        return ManipulationSet(root: root, entries: entries)
    }

    static func loadPlainLayout(_ root: String) throws -> ManipulationSet {
        let fileManager = FileManager.default
        let realRoot = (root as NSString).appendingPathComponent("real")
        let fakeRoot = (root as NSString).appendingPathComponent("fake")
        var isDirectory: ObjCBool = false
        let hasReal = fileManager.fileExists(atPath: realRoot, isDirectory: &isDirectory) && isDirectory.boolValue
        let hasFake = fileManager.fileExists(atPath: fakeRoot, isDirectory: &isDirectory) && isDirectory.boolValue
        guard hasReal || hasFake else { throw ManipulationSetError.noSet(path: root) }
        var entries: [ManipulationEntry] = []
        if hasReal {
            for file in mediaFiles(under: realRoot) {
                entries.append(ManipulationEntry(path: "real/" + file, label: "real", source: "real/" + file,
                                                 identity: identityGuess(file)))
            }
        }
        if hasFake {
            let methods = ((try? fileManager.contentsOfDirectory(atPath: fakeRoot)) ?? []).sorted()
            for method in methods {
                let methodRoot = (fakeRoot as NSString).appendingPathComponent(method)
                guard fileManager.fileExists(atPath: methodRoot, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
                let maskRoot = ((root as NSString).appendingPathComponent("masks") as NSString).appendingPathComponent(method)
                let masks = Dictionary(mediaFiles(under: maskRoot).map { (($0 as NSString).deletingPathExtension, $0) },
                                       uniquingKeysWith: { first, _ in first })
                for file in mediaFiles(under: methodRoot) {
                    let mask = masks[(file as NSString).deletingPathExtension].map { "masks/\(method)/" + $0 }
                    entries.append(ManipulationEntry(path: "fake/\(method)/" + file, label: "fake", method: method,
                                                     source: "fake/\(method)/" + file, mask: mask,
                                                     identity: identityGuess(file)))
                }
            }
        }
        return ManipulationSet(root: root, entries: entries)
    }

    /// Media files under `folder`, relative to it, sorted; hidden files and `.partial` leftovers skipped.
    static func mediaFiles(under folder: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: folder) else { return [] }
        var files: [String] = []
        while let item = enumerator.nextObject() as? String {
            let name = (item as NSString).lastPathComponent
            if name.hasPrefix(".") { continue }
            let ext = (name as NSString).pathExtension.lowercased()
            guard mediaExtensions.contains(ext) else { continue }
            var isDirectory: ObjCBool = false
            let full = (folder as NSString).appendingPathComponent(item)
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(item)
            }
        }
        return files.sorted()
    }

    /// A best-effort identity for plain-layout files: the first path component when the file sits in
    /// a sub-folder, else the stem up to the first `_` (FaceForensics++ names fakes `target_source`).
    static func identityGuess(_ relative: String) -> String {
        let components = (relative as NSString).pathComponents
        if components.count > 1 { return components[0] }
        let stem = ((relative as NSString).lastPathComponent as NSString).deletingPathExtension
        return String(stem.split(separator: "_").first ?? Substring(stem))
    }

    /// Writes `manifest.json` into the set folder, whole or not at all (temporary file, then rename).
    /// Keys are sorted and the output pretty-printed, so the same set gives the same bytes.
    /// - Throws: file-system errors.
    public func writeManifest() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(entries)
        try writeAtomically(data, to: (root as NSString).appendingPathComponent("manifest.json"))
    }
}

/// Writes `data` to `path` through a temporary sibling and a rename, so `path` is whole or absent.
func writeAtomically(_ data: Data, to path: String) throws {
    let temporary = path + ".partial"
    try data.write(to: URL(fileURLWithPath: temporary))
    if rename(temporary, path) != 0 {
        let code = errno
        unlink(temporary)
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path,
                                                       NSLocalizedDescriptionKey: "cannot rename \(temporary): \(String(cString: strerror(code)))"])
    }
}

import Foundation
import Imaging

/// Metadata of one stored face crop.
public struct CropRecord: Codable, Sendable, Equatable {
    /// Identity label (the split unit).
    public var identity: String
    public var split: DataSplit
    /// Source file and frame index (0 for stills).
    public var source: String
    public var frameIndex: Int
    /// The detected face box in the crop's pixel coordinates.
    public var faceBox: Box
    /// "real" for extracted crops; a method name for stored fakes.
    public var label: String

    public init(identity: String, split: DataSplit, source: String, frameIndex: Int, faceBox: Box, label: String = "real") {
        self.identity = identity
        self.split = split
        self.source = source
        self.frameIndex = frameIndex
        self.faceBox = faceBox
        self.label = label
    }
}

/// A set of equally sized square RGB face crops with metadata, stored in one file.
///
/// File layout: the 8 bytes `GBCROPS1`, an 8-byte little-endian JSON length, the JSON header
/// (`size`, `records`), then `count * size * size * 3` bytes of pixels. Simple on purpose: it is
/// a cache that `glassbox train` rebuilds from the sources when it is missing or stale.
public struct CropStore: Sendable {
    public let size: Int
    public private(set) var records: [CropRecord] = []
    public private(set) var pixels: [UInt8] = []

    public init(size: Int) {
        precondition(size > 0, "crop size must be positive")
        self.size = size
    }

    public var count: Int { records.count }

    /// Appends a crop of exactly `size x size`.
    public mutating func append(_ crop: RGBImage, record: CropRecord) {
        precondition(crop.width == size && crop.height == size, "crop must be \(size)x\(size), got \(crop.width)x\(crop.height)")
        records.append(record)
        pixels.append(contentsOf: crop.pixels)
    }

    /// Appends every crop of another store of the same size, with its record rewritten.
    /// - Parameters:
    ///   - other: the store to copy from.
    ///   - relabel: the record to store for each of `other`'s records.
    public mutating func append(contentsOf other: CropStore, relabel: (CropRecord) -> CropRecord) {
        precondition(other.size == size, "crop stores differ in crop size: \(other.size) vs \(size)")
        records.append(contentsOf: other.records.map(relabel))
        pixels.append(contentsOf: other.pixels)
    }

    /// The crop at `index` as an image.
    public func image(at index: Int) -> RGBImage {
        let stride = size * size * 3
        return RGBImage(width: size, height: size, pixels: Array(pixels[(index * stride)..<((index + 1) * stride)]))
    }

    /// Indices of crops on one side of the split.
    public func indices(in split: DataSplit) -> [Int] {
        records.indices.filter { records[$0].split == split }
    }

    private struct Header: Codable {
        var size: Int
        var records: [CropRecord]
    }

    private static let magic = Array("GBCROPS1".utf8)

    /// Writes the store atomically.
    public func write(to path: String) throws {
        var data = Data(Self.magic)
        let header = try JSONEncoder().encode(Header(size: size, records: records))
        var length = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(header)
        data.append(contentsOf: pixels)
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Reads a store written by `write(to:)`.
    /// - Throws: `CropStoreError` when the file is not a crop store or is truncated.
    public static func read(from path: String) throws -> CropStore {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count >= 16, Array(data.prefix(8)) == magic else { throw CropStoreError.notACropStore(path) }
        let length = data.subdata(in: 8..<16).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard length < UInt64(data.count - 16) else { throw CropStoreError.truncated(path) }
        let header = try JSONDecoder().decode(Header.self, from: data.subdata(in: 16..<(16 + Int(length))))
        var store = CropStore(size: header.size)
        let expected = header.records.count * header.size * header.size * 3
        let start = 16 + Int(length)
        guard data.count - start == expected else { throw CropStoreError.truncated(path) }
        store.records = header.records
        store.pixels = [UInt8](data.subdata(in: start..<data.count))
        return store
    }
}

public enum CropStoreError: Error, CustomStringConvertible {
    case notACropStore(String)
    case truncated(String)

    public var description: String {
        switch self {
        case .notACropStore(let path): return "\(path): not a Glassbox crop store"
        case .truncated(let path): return "\(path): crop store is truncated"
        }
    }
}

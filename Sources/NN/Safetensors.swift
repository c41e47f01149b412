import Foundation
import Tensor

/// Reading and writing the safetensors format (Hugging Face), validated like the reference
/// implementation (`safetensors` crate, `SafeTensors::read_metadata` / `validate`).
///
/// ```
/// [u64 little-endian N][N bytes JSON header, may end in spaces][data]
/// header: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}
/// ```
/// Checks: `N <= 100 MB`, `8 + N <= file size`, the header is UTF-8 JSON starting with `{`, offsets
/// in order, contiguous from 0 and within bounds, `end − begin = elements × dtype size`, and the last
/// offset equals the data size. F32 and F16 are read (F16 widened to F32); F32 is written.
public enum Safetensors {
    /// Largest accepted header (as in the reference implementation).
    public static let maximumHeaderLength = 100_000_000

    /// Contents of a file: tensors by name and the `__metadata__` string map.
    public struct File: Sendable {
        public var tensors: [String: Tensor]
        public var metadata: [String: String]
        public init(tensors: [String: Tensor], metadata: [String: String] = [:]) {
            self.tensors = tensors; self.metadata = metadata
        }
    }

    /// Reads and validates a file.
    /// - Throws: `SafetensorsError` describing what is wrong, or the I/O error.
    public static func read(contentsOf url: URL) throws -> File {
        let data = try Data(contentsOf: url)
        return try decode(data)
    }

    /// Validates and decodes bytes in safetensors format.
    public static func decode(_ data: Data) throws -> File {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw SafetensorsError.headerTooSmall(fileSize: bytes.count) }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(maximumHeaderLength) else { throw SafetensorsError.headerTooLarge(length: n) }
        let headerLength = Int(n)
        guard 8 + headerLength <= bytes.count else {
            throw SafetensorsError.invalidHeaderLength(length: headerLength, fileSize: bytes.count)
        }
        let headerBytes = bytes[8..<(8 + headerLength)]
        guard let headerString = String(bytes: headerBytes, encoding: .utf8) else { throw SafetensorsError.invalidHeaderUTF8 }
        guard headerString.hasPrefix("{") else { throw SafetensorsError.invalidHeaderStart }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(headerBytes)) } catch {
            throw SafetensorsError.invalidHeaderJSON(String(describing: error))
        }
        guard let object = json as? [String: Any] else { throw SafetensorsError.invalidHeaderJSON("header is not a JSON object") }
        var metadata: [String: String] = [:]
        struct Entry { var name: String; var dtype: String; var shape: [Int]; var begin: Int; var end: Int }
        var entries: [Entry] = []
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw SafetensorsError.invalidMetadata("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw SafetensorsError.invalidMetadata("value of '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any], let offsAny = info["data_offsets"] as? [Any], offsAny.count == 2 else {
                throw SafetensorsError.invalidTensorInfo(name: name, reason: "needs dtype, shape and two data_offsets")
            }
            func nonNegativeInt(_ x: Any) -> Int? {
                guard let num = x as? NSNumber else { return nil }
                let d = num.doubleValue
                guard d >= 0, d == d.rounded(), d < 9e15 else { return nil }
                return num.intValue
            }
            let shape = shapeAny.compactMap(nonNegativeInt)
            guard shape.count == shapeAny.count else { throw SafetensorsError.invalidTensorInfo(name: name, reason: "shape must be non-negative integers") }
            guard let b = nonNegativeInt(offsAny[0]), let e = nonNegativeInt(offsAny[1]) else {
                throw SafetensorsError.invalidTensorInfo(name: name, reason: "data_offsets must be non-negative integers")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: b, end: e))
        }
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        let dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart
        var expectedBegin = 0
        var tensors: [String: Tensor] = [:]
        for e in entries {
            guard e.begin == expectedBegin && e.end >= e.begin else {
                throw SafetensorsError.invalidOffset(name: e.name, begin: e.begin, expected: expectedBegin)
            }
            let elementSize: Int
            switch e.dtype {
            case "F32": elementSize = 4
            case "F16", "BF16": elementSize = 2
            case "F64", "I64", "U64": elementSize = 8
            case "I32", "U32": elementSize = 4
            case "I16", "U16": elementSize = 2
            case "I8", "U8", "BOOL": elementSize = 1
            default: throw SafetensorsError.unsupportedDType(name: e.name, dtype: e.dtype)
            }
            var count = 1
            for d in e.shape {
                let (p, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw SafetensorsError.invalidTensorInfo(name: e.name, reason: "element count overflows") }
                count = p
            }
            guard count * elementSize == e.end - e.begin else {
                throw SafetensorsError.sizeMismatch(name: e.name, expectedBytes: count * elementSize, actualBytes: e.end - e.begin)
            }
            guard e.end <= dataSize else { throw SafetensorsError.truncated(name: e.name, end: e.end, dataSize: dataSize) }
            expectedBegin = e.end
            let base = dataStart + e.begin
            var scalars = [Float](repeating: 0, count: count)
            switch e.dtype {
            case "F32":
                scalars.withUnsafeMutableBytes { dst in
                    bytes.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[base..<(base + count * 4)])) }
                }
            case "F16":
                for i in 0..<count {
                    let h = UInt16(bytes[base + 2 * i]) | UInt16(bytes[base + 2 * i + 1]) << 8
                    scalars[i] = halfToFloat(h)
                }
            case "BF16":
                for i in 0..<count {
                    let h = UInt32(bytes[base + 2 * i]) | UInt32(bytes[base + 2 * i + 1]) << 8
                    scalars[i] = Float(bitPattern: h << 16)
                }
            default:
                throw SafetensorsError.unsupportedDType(name: e.name, dtype: e.dtype)
            }
            tensors[e.name] = Tensor(shape: e.shape, scalars: scalars)
        }
        guard expectedBegin == dataSize else {
            throw SafetensorsError.metadataIncompleteBuffer(coveredBytes: expectedBegin, dataSize: dataSize)
        }
        return File(tensors: tensors, metadata: metadata)
    }

    /// Encodes tensors (as F32, sorted by name) and metadata; the header is padded with spaces to a multiple of 8.
    public static func encode(_ file: File) throws -> Data {
        var header: [String: Any] = [:]
        if !file.metadata.isEmpty { header["__metadata__"] = file.metadata }
        var offset = 0
        let names = file.tensors.keys.sorted()
        for name in names {
            let t = file.tensors[name]!
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.count * 4]] as [String: Any]
            offset += t.count * 4
        }
        var headerData = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (headerData.count % 8) != 0 { headerData.append(0x20) }
        var out = Data(capacity: 8 + headerData.count + offset)
        var n = UInt64(headerData.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(headerData)
        for name in names {
            file.tensors[name]!.withUnsafeBufferPointer { out.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        }
        return out
    }

    /// Writes tensors and metadata to a file (atomically).
    public static func write(_ file: File, to url: URL) throws {
        try encode(file).write(to: url, options: .atomic)
    }

    /// IEEE 754 half to single precision.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exp = UInt32((h >> 10) & 0x1F), mant = UInt32(h & 0x3FF)
        if exp == 0 {
            if mant == 0 { return Float(bitPattern: sign) }
            let v = Float(mant) * powf(2, -24)
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
    }
}

/// What is wrong with a safetensors file.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    case headerTooSmall(fileSize: Int)
    case headerTooLarge(length: UInt64)
    case invalidHeaderLength(length: Int, fileSize: Int)
    case invalidHeaderUTF8
    case invalidHeaderStart
    case invalidHeaderJSON(String)
    case invalidMetadata(String)
    case invalidTensorInfo(name: String, reason: String)
    case unsupportedDType(name: String, dtype: String)
    case invalidOffset(name: String, begin: Int, expected: Int)
    case sizeMismatch(name: String, expectedBytes: Int, actualBytes: Int)
    case truncated(name: String, end: Int, dataSize: Int)
    case metadataIncompleteBuffer(coveredBytes: Int, dataSize: Int)

    public var description: String {
        switch self {
        case .headerTooSmall(let s): return "safetensors: file of \(s) bytes is too small for the 8-byte header length"
        case .headerTooLarge(let n): return "safetensors: header length \(n) exceeds the 100 MB limit"
        case let .invalidHeaderLength(n, s): return "safetensors: header length \(n) runs past the end of the \(s)-byte file (truncated?)"
        case .invalidHeaderUTF8: return "safetensors: header is not valid UTF-8"
        case .invalidHeaderStart: return "safetensors: header does not start with '{'"
        case .invalidHeaderJSON(let m): return "safetensors: header is not valid JSON: \(m)"
        case .invalidMetadata(let m): return "safetensors: bad __metadata__: \(m)"
        case let .invalidTensorInfo(n, r): return "safetensors: tensor '\(n)': \(r)"
        case let .unsupportedDType(n, d): return "safetensors: tensor '\(n)' has unsupported dtype \(d) (F32, F16 and BF16 are read)"
        case let .invalidOffset(n, b, e): return "safetensors: tensor '\(n)' starts at \(b), expected \(e) (offsets must be contiguous and in order)"
        case let .sizeMismatch(n, e, a): return "safetensors: tensor '\(n)' spans \(a) bytes but its shape and dtype need \(e)"
        case let .truncated(n, e, d): return "safetensors: tensor '\(n)' ends at \(e) but the data section has \(d) bytes (truncated file)"
        case let .metadataIncompleteBuffer(c, d): return "safetensors: tensors cover \(c) of \(d) data bytes (file size does not match the header)"
        }
    }
}

extension Layer {
    /// Saves every parameter and buffer by dotted name, with metadata, as F32 safetensors.
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try Safetensors.write(.init(tensors: stateDict(), metadata: metadata), to: url)
    }

    /// Loads parameters by dotted name from a safetensors file.
    /// - Returns: the file's `__metadata__`.
    @discardableResult
    public func load(from url: URL, strict: Bool = true) throws -> [String: String] {
        let f = try Safetensors.read(contentsOf: url)
        try loadStateDict(f.tensors, strict: strict)
        return f.metadata
    }
}

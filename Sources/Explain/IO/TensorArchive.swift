import Foundation

/// A small reader and writer of safetensors files holding Float32 tensors
/// (https://github.com/huggingface/safetensors): 8-byte little-endian header length `N`, `N` bytes of
/// JSON header (`{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
/// "__metadata__": {"key": "value"}}`, padded with spaces to a multiple of 8), then the raw
/// little-endian data. Reading validates what the reference implementation validates: header
/// length within the file, JSON that parses, offsets that tile the data buffer exactly with no gaps
/// or overlaps, and sizes that match `shape × 4 bytes`.
///
/// Used for SAE weights and the per-scan raw attribution maps (`[height, width]` each) so numpy and
/// PyTorch users can load them with `safetensors.numpy.load_file` / `safetensors.torch.load_file`.
/// (Swap for NN's safetensors I/O when it lands; the file format is the same.)
public struct TensorArchive: Sendable, Equatable {
    /// One named tensor.
    public struct Entry: Sendable, Equatable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count,
                         "tensor of shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
            self.shape = shape
            self.values = values
        }
    }

    public var tensors: [String: Entry]
    public var metadata: [String: String]

    public init(tensors: [String: Entry] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The file bytes; tensors in name order (deterministic output).
    public func serialized() throws -> [UInt8] {
        var header: [String: Any] = [:]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let entry = tensors[name]!
            let bytes = entry.values.count * 4
            header[name] = ["dtype": "F32", "shape": entry.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for name in names {
            tensors[name]!.values.withUnsafeBufferPointer { values in
                for v in values {
                    var bits = v.bitPattern.littleEndian
                    withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
                }
            }
        }
        return out
    }

    /// Writes the archive atomically.
    /// - Throws: file-system errors; JSON encoding errors.
    public func write(to url: URL) throws {
        try Data(serialized()).write(to: url, options: .atomic)
    }

    /// Reads an archive.
    /// - Throws: ``ExplainError/invalidFile(path:reason:)`` for malformed files or non-F32 tensors.
    public static func read(from url: URL) throws -> TensorArchive {
        let data = try Data(contentsOf: url)
        return try parse([UInt8](data), path: url.path)
    }

    /// Parses archive bytes; `path` only names the source in errors.
    public static func parse(_ bytes: [UInt8], path: String = "<memory>") throws -> TensorArchive {
        func fail(_ reason: String) -> ExplainError { .invalidFile(path: path, reason: reason) }
        guard bytes.count >= 8 else { throw fail("shorter than the 8-byte header length") }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= 100_000_000, length <= UInt64(bytes.count - 8) else {
            throw fail("header length \(length) exceeds the file (\(bytes.count) bytes)")
        }
        let headerEnd = 8 + Int(length)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])),
              let header = object as? [String: Any] else { throw fail("header is not a JSON object") }
        let dataCount = bytes.count - headerEnd
        var archive = TensorArchive()
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let meta = value as? [String: String] else { throw fail("__metadata__ must map strings to strings") }
                archive.metadata = meta
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  let offsets = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  offsets.count == 2 else { throw fail("tensor \(name) has a malformed entry") }
            guard dtype == "F32" else { throw fail("tensor \(name) has dtype \(dtype); only F32 is supported") }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataCount else {
                throw fail("tensor \(name) has offsets \(offsets) outside the \(dataCount)-byte data buffer")
            }
            let count = shape.reduce(1, *)
            guard offsets[1] - offsets[0] == count * 4 else {
                throw fail("tensor \(name) of shape \(shape) needs \(count * 4) bytes, offsets span \(offsets[1] - offsets[0])")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBufferPointer { out in
                for i in 0..<count {
                    let p = headerEnd + offsets[0] + 4 * i
                    let bits = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
                    out[i] = Float(bitPattern: bits)
                }
            }
            archive.tensors[name] = Entry(shape: shape, values: values)
            ranges.append((offsets[0], offsets[1], name))
        }
        ranges.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var cursor = 0
        for (begin, end, name) in ranges {
            guard begin == cursor else { throw fail("tensor \(name) starts at \(begin), expected \(cursor) (gap or overlap)") }
            cursor = end
        }
        guard cursor == dataCount else { throw fail("tensors cover \(cursor) of \(dataCount) data bytes") }
        return archive
    }

    /// The tensor `name` with the expected shape.
    /// - Throws: ``ExplainError/shapeMismatch(name:expected:actual:)`` if missing or of another shape.
    public func tensor(_ name: String, shape: [Int]) throws -> [Float] {
        guard let entry = tensors[name] else { throw ExplainError.shapeMismatch(name: name, expected: "\(shape)", actual: "missing") }
        guard entry.shape == shape else { throw ExplainError.shapeMismatch(name: name, expected: "\(shape)", actual: "\(entry.shape)") }
        return entry.values
    }
}

import Foundation
import NN
import Tensor

/// Named Float32 arrays with string metadata, stored as safetensors through NN's reader and writer
/// (`NN.Safetensors`, validated like the reference implementation; F32 written, F32/F16 read).
///
/// A plain-array view for Explain's files: SAE weights and the per-scan raw attribution maps
/// (`[height, width]` each), so numpy and PyTorch users can load them with
/// `safetensors.numpy.load_file` / `safetensors.torch.load_file`.
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

    /// The file bytes (tensors in name order, deterministic).
    /// - Throws: JSON encoding errors.
    public func serialized() throws -> [UInt8] {
        let file = Safetensors.File(tensors: tensors.mapValues { Tensor(shape: $0.shape, scalars: $0.values) }, metadata: metadata)
        return [UInt8](try Safetensors.encode(file))
    }

    /// Writes the archive atomically.
    /// - Throws: file-system errors.
    public func write(to url: URL) throws {
        try Data(serialized()).write(to: url, options: .atomic)
    }

    /// Reads an archive.
    /// - Throws: `SafetensorsError` for malformed files; file-system errors.
    public static func read(from url: URL) throws -> TensorArchive {
        try parse([UInt8](Data(contentsOf: url)))
    }

    /// Parses archive bytes.
    /// - Throws: `SafetensorsError` for malformed bytes.
    public static func parse(_ bytes: [UInt8]) throws -> TensorArchive {
        let file = try Safetensors.decode(Data(bytes))
        return TensorArchive(tensors: file.tensors.mapValues { Entry(shape: $0.shape, values: $0.scalars) }, metadata: file.metadata)
    }

    /// The tensor `name` with the expected shape.
    /// - Throws: ``ExplainError/shapeMismatch(name:expected:actual:)`` if missing or of another shape.
    public func tensor(_ name: String, shape: [Int]) throws -> [Float] {
        guard let entry = tensors[name] else { throw ExplainError.shapeMismatch(name: name, expected: "\(shape)", actual: "missing") }
        guard entry.shape == shape else { throw ExplainError.shapeMismatch(name: name, expected: "\(shape)", actual: "\(entry.shape)") }
        return entry.values
    }
}

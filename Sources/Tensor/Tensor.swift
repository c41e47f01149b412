/// An n-dimensional array of `Float32` in row-major order (images are `[N, C, H, W]`).
///
/// `Tensor` is a value: copies share storage until one of them is mutated (copy-on-write through
/// the backing `[Float]`). Shape mistakes are programmer errors and stop with a message naming the
/// operation and both shapes.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// Extent of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// Elements in row-major order.
    public var scalars: [Float]

    /// Creates a tensor from a shape and its elements in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// A tensor filled with one value.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor whose elements are written by `body` (they start uninitialised: write them all).
    public init(uninitializedShape shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.scalars = [Float](unsafeUninitializedCapacity: n) { buf, count in
            body(buf)
            count = n
        }
    }

    /// Samples from a normal distribution.
    public static func randomNormal(shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                                    generator: inout SeededGenerator) -> Tensor {
        let n = shape.reduce(1, *)
        var s = [Float](); s.reserveCapacity(n)
        for _ in 0..<n { s.append(mean + standardDeviation * generator.nextNormal()) }
        return Tensor(shape: shape, scalars: s)
    }

    /// Samples uniformly from `[lower, upper)`.
    public static func randomUniform(shape: [Int], lower: Float = 0, upper: Float = 1,
                                     generator: inout SeededGenerator) -> Tensor {
        let n = shape.reduce(1, *)
        var s = [Float](); s.reserveCapacity(n)
        for _ in 0..<n { s.append(lower + (upper - lower) * generator.nextUniform()) }
        return Tensor(shape: shape, scalars: s)
    }

    /// Number of elements.
    public var count: Int { scalars.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    public var description: String {
        let head = scalars.prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor\(shape)[\(head)\(count > 8 ? ", …" : "")]"
    }

    /// The element at a multi-index.
    public subscript(_ index: Int...) -> Float {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "Tensor subscript: \(index.count) indices for shape \(shape)")
        var f = 0
        for (i, n) in zip(index, shape) {
            precondition(i >= 0 && i < n, "Tensor subscript: index \(index) out of range for shape \(shape)")
            f = f * n + i
        }
        return f
    }

    /// The same elements under a new shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "Tensor.reshaped: cannot view shape \(shape) as \(newShape)")
        var t = self
        t.shape = newShape
        return t
    }

    /// Stops with a message unless the shape is `expected` (`-1` matches any extent).
    public func checkShape(_ expected: [Int], _ name: @autoclosure () -> String) {
        let ok = expected.count == shape.count && zip(expected, shape).allSatisfy { $0 == -1 || $0 == $1 }
        precondition(ok, "\(name()): expected shape \(expected) (-1 = any), got \(shape)")
    }

    /// Read access to the elements.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    /// Write access to the elements (copies the storage first if it is shared).
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// Sum of all elements (accumulated in Double).
    public func sum() -> Float {
        withUnsafeBufferPointer { b in
            var s: Double = 0
            for v in b { s += Double(v) }
            return Float(s)
        }
    }

    /// Mean of all elements.
    public func mean() -> Float { count == 0 ? 0 : sum() / Float(count) }

    /// Largest absolute element.
    public func maxAbs() -> Float { scalars.reduce(0) { max($0, abs($1)) } }

    /// Elementwise sum.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "Tensor +: shapes \(a.shape) and \(b.shape) differ")
        var r = a
        r.withUnsafeMutableBufferPointer { rp in b.withUnsafeBufferPointer { bp in for i in 0..<rp.count { rp[i] += bp[i] } } }
        return r
    }

    /// Elementwise difference.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "Tensor -: shapes \(a.shape) and \(b.shape) differ")
        var r = a
        r.withUnsafeMutableBufferPointer { rp in b.withUnsafeBufferPointer { bp in for i in 0..<rp.count { rp[i] -= bp[i] } } }
        return r
    }

    /// Elementwise product.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "Tensor *: shapes \(a.shape) and \(b.shape) differ")
        var r = a
        r.withUnsafeMutableBufferPointer { rp in b.withUnsafeBufferPointer { bp in for i in 0..<rp.count { rp[i] *= bp[i] } } }
        return r
    }

    /// Scales every element.
    public static func * (a: Tensor, s: Float) -> Tensor {
        var r = a
        r.withUnsafeMutableBufferPointer { rp in for i in 0..<rp.count { rp[i] *= s } }
        return r
    }

    /// `self += other`.
    public static func += (a: inout Tensor, b: Tensor) {
        precondition(a.shape == b.shape, "Tensor +=: shapes \(a.shape) and \(b.shape) differ")
        a.withUnsafeMutableBufferPointer { rp in b.withUnsafeBufferPointer { bp in for i in 0..<rp.count { rp[i] += bp[i] } } }
    }

    /// Transpose of a rank-2 tensor: `[M, N] -> [N, M]`.
    public func transposed() -> Tensor {
        precondition(rank == 2, "Tensor.transposed: needs rank 2, got shape \(shape)")
        let m = shape[0], n = shape[1]
        return Tensor(uninitializedShape: [n, m]) { out in
            withUnsafeBufferPointer { src in
                for i in 0..<m { for j in 0..<n { out[j * m + i] = src[i * n + j] } }
            }
        }
    }

    /// Rows `range` of the outermost dimension: `[N, ...] -> [range.count, ...]`.
    public func slice(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "Tensor.slice: range \(range) out of bounds for shape \(shape)")
        let inner = shape.dropFirst().reduce(1, *)
        var s = shape; s[0] = range.count
        return Tensor(shape: s, scalars: Array(scalars[(range.lowerBound * inner)..<(range.upperBound * inner)]))
    }

    /// Concatenation along the outermost dimension.
    public static func concatenate(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "Tensor.concatenate: no tensors")
        let inner = Array(parts[0].shape.dropFirst())
        for p in parts { precondition(Array(p.shape.dropFirst()) == inner, "Tensor.concatenate: shapes \(parts.map(\.shape)) differ past dimension 0") }
        var s = [Float](); s.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for p in parts { s.append(contentsOf: p.scalars) }
        return Tensor(shape: [parts.reduce(0) { $0 + $1.shape[0] }] + inner, scalars: s)
    }
}

/// Errors for bad input that reaches tensor code from outside (files, user data).
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// A tensor named `name` had shape `actual` where `expected` was required.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case let .shapeMismatch(name, expected, actual):
            return "shape mismatch for \(name): expected \(expected), got \(actual)"
        }
    }
}

import Foundation

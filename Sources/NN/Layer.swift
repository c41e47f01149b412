import Tensor

/// A learnable tensor (or a non-trainable buffer such as batch-norm running statistics) with its gradient.
public final class Parameter {
    /// Current value. Every change (assignment or in-place mutation) bumps `version`.
    public var value: Tensor { didSet { version &+= 1 } }
    /// Counts changes of `value`, so layers can keep derived data (packed weights) until it changes.
    public private(set) var version = 0
    /// Accumulated gradient (same shape as `value`); layers add into it during `backward`.
    public var grad: Tensor
    /// False for buffers that optimizers must not touch (running mean and variance).
    public let isTrainable: Bool

    public init(_ value: Tensor, trainable: Bool = true) {
        self.value = value
        self.grad = Tensor(zeros: value.shape)
        self.isTrainable = trainable
    }

    /// Sets the gradient to zero.
    public func zeroGradient() {
        grad.withUnsafeMutableBufferPointer { g in
            let base = g.baseAddress!
            Parallel.chunks(g.count, minimumPerWorker: 1 << 15) { _, r in (base + r.lowerBound).update(repeating: 0, count: r.count) }
        }
    }
}

/// A network layer with its reverse-mode rule next to its forward rule.
///
/// `forward(_:training:)` keeps what `backward` needs; `backward(_:)` takes `dLoss/dOutput` of the
/// most recent forward call, adds `dLoss/dParameter` into each parameter's `grad`, and returns
/// `dLoss/dInput`. Parameters are named PyTorch-style (`stage1.0.conv.weight`) so state dicts
/// load into the equivalent `torch.nn.Module`.
public protocol Layer: AnyObject {
    /// Runs the layer. `training` selects batch statistics, dropout and so on.
    func forward(_ input: Tensor, training: Bool) -> Tensor
    /// Reverse mode of the last `forward`: returns the gradient with respect to its input.
    func backward(_ gradOutput: Tensor) -> Tensor
    /// All parameters and buffers with names relative to this layer.
    var namedParameters: [(name: String, parameter: Parameter)] { get }
}

extension Layer {
    /// Inference: `forward(input, training: false)`.
    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input, training: false) }

    /// Trainable parameters (what an optimizer updates).
    public var parameters: [Parameter] { namedParameters.filter { $0.parameter.isTrainable }.map(\.parameter) }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Zeroes every parameter's gradient.
    public func zeroGradients() { for p in parameters { p.zeroGradient() } }

    /// Every parameter and buffer by dotted name.
    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (n, p) in namedParameters { d[n] = p.value }
        return d
    }

    /// Replaces parameter values by name.
    ///
    /// - Parameters:
    ///   - state: tensors by dotted name.
    ///   - strict: when true, every parameter must be present and no extra names may appear.
    /// - Throws: `StateDictError` for a missing or unexpected name or a shape mismatch.
    public func loadStateDict(_ state: [String: Tensor], strict: Bool = true) throws {
        let named = namedParameters
        let known = Set(named.map(\.name))
        if strict, let extra = state.keys.sorted().first(where: { !known.contains($0) }) {
            throw StateDictError.unexpectedKey(extra)
        }
        for (n, p) in named {
            guard let t = state[n] else {
                if strict { throw StateDictError.missingKey(n) }
                continue
            }
            guard t.shape == p.value.shape else {
                throw StateDictError.shapeMismatch(name: n, expected: p.value.shape, actual: t.shape)
            }
            p.value = t
        }
    }
}

/// Errors when loading parameters by name.
public enum StateDictError: Error, Equatable, CustomStringConvertible {
    case missingKey(String)
    case unexpectedKey(String)
    case shapeMismatch(name: String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case .missingKey(let k): return "state dict: missing parameter '\(k)'"
        case .unexpectedKey(let k): return "state dict: unexpected parameter '\(k)'"
        case let .shapeMismatch(n, e, a): return "state dict: '\(n)' has shape \(a), model expects \(e)"
        }
    }
}

/// Prefixes child names: `prefix.name`.
public func prefixed(_ prefix: String, _ items: [(name: String, parameter: Parameter)]) -> [(name: String, parameter: Parameter)] {
    items.map { (name: prefix.isEmpty ? $0.name : "\(prefix).\($0.name)", parameter: $0.parameter) }
}

/// Layers applied in order; children are named `0`, `1`, … like `torch.nn.Sequential`.
public final class Sequential: Layer {
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }
    public convenience init(_ layers: any Layer...) { self.init(layers) }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        var x = input
        for l in layers { x = l.forward(x, training: training) }
        return x
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        var g = gradOutput
        for l in layers.reversed() { g = l.backward(g) }
        return g
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        layers.enumerated().flatMap { prefixed(String($0.offset), $0.element.namedParameters) }
    }
}

/// Remembers a value between `forward` and `backward`; `get` stops with a clear message when `forward` has not run.
public struct Cache<T> {
    public init() {}
    private var value: T?
    public mutating func set(_ v: T) { value = v }
    public func get(_ layer: String) -> T {
        guard let v = value else { preconditionFailure("\(layer).backward called before forward") }
        return v
    }
}

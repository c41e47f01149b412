import Dispatch
import Foundation
import NN
import Tensor

/// Throughput of the detector-shaped spatial network (see `runNetworkBenchmark`).
public struct NetworkBenchmarkResult: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        /// `forward`, `inputGradient` (forward + d logit / d input) or `training` (forward, backward, AdamW step).
        public var mode: String
        public var batchSize: Int
        public var threads: Int
        /// Median seconds per call.
        public var medianSeconds: Double
        public var imagesPerSecond: Double
        /// Median process CPU seconds per call (all threads): on a shared machine this moves far less
        /// with other load than wall time does, and shows what a second thread costs in total.
        public var medianCPUSeconds: Double
    }
    /// Kernel build in use (`avx2` or `baseline`).
    public var kernel: String
    public var inputSize: Int
    public var parameterCount: Int
    public var entries: [Entry]
}

/// Measures images per second of `SpatialNetwork` in inference, inference plus input gradient, and
/// training, at each batch size and thread count. Reports the median of repeated calls after one warm-up.
///
/// - Parameters:
///   - batchSizes: batches to time.
///   - threads: worker counts to time (sets `Parallel.threadCount`, restored afterwards).
///   - secondsPerCase: time budget per case (at least 3 timed calls are made).
///   - configuration: network architecture.
///   - seed: seed of the weights and the random input.
/// - Returns: one entry per mode, batch size and thread count.
public func runNetworkBenchmark(batchSizes: [Int] = [1, 8, 32], threads: [Int] = [1, 2], secondsPerCase: Double = 1.0,
                                configuration: SpatialNetworkConfiguration = .init(), seed: UInt64 = 0) -> NetworkBenchmarkResult {
    let saved = Parallel.threadCount
    defer { Parallel.threadCount = saved }
    let net = SpatialNetwork(configuration: configuration, seed: seed)
    let optimizer = AdamW(parameters: net.parameters, learningRate: 1e-4)
    var g = SeededGenerator(seed: seed &+ 1)
    var entries: [NetworkBenchmarkResult.Entry] = []
    for t in threads {
        Parallel.threadCount = t
        for b in batchSizes {
            let s = configuration.inputSize
            let x = Tensor.randomUniform(shape: [b, 3, s, s], generator: &g)
            let labels = Tensor(shape: [b], scalars: (0..<b).map { Float($0 % 2) })
            let modes: [(String, () -> Void)] = [
                ("forward", { _ = net.forward(x, training: false) }),
                ("inputGradient", { _ = net.inputGradient(of: x) }),
                ("training", { net.trainingStep(crops: x, labels: labels, optimizer: optimizer) }),
            ]
            for (name, body) in modes {
                body()  // warm-up
                var times: [Double] = [], cpuTimes: [Double] = []
                let start = DispatchTime.now().uptimeNanoseconds
                while times.count < 3 || (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < secondsPerCase && times.count < 1000) {
                    let t0 = DispatchTime.now().uptimeNanoseconds, c0 = processCPUSeconds()
                    body()
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                    cpuTimes.append(processCPUSeconds() - c0)
                }
                times.sort(); cpuTimes.sort()
                let median = times[times.count / 2]
                entries.append(.init(mode: name, batchSize: b, threads: t, medianSeconds: median, imagesPerSecond: Double(b) / median,
                                     medianCPUSeconds: cpuTimes[cpuTimes.count / 2]))
            }
        }
    }
    return NetworkBenchmarkResult(kernel: CPUFeatures.kernelName, inputSize: configuration.inputSize,
                                  parameterCount: net.parameterCount, entries: entries)
}

/// CPU time of the whole process so far (all threads), in seconds: the benchmarks' steadier clock on a
/// shared machine.
public func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Command-line front end of the network benchmark and of the PyTorch parity check
/// (`bench/torch_reference.py` drives it). Wire it as `glassbox bench nn ARGS...`.
///
/// ```
/// bench [--batches 1,8,32] [--threads 1,2] [--seconds 1] [--json]
/// export-weights OUT.safetensors [--seed N]      random network, BN statistics from 3 training steps
/// parity WEIGHTS.safetensors INPUT.safetensors OUT.safetensors
///        INPUT holds "input" [N, 3, S, S]; OUT gets "logits", "embedding", "input_gradient"
/// ```
public enum NetworkBenchCommand {
    /// Runs one subcommand and returns what to print.
    /// - Throws: `NetworkBenchCommandError` for bad arguments; file errors.
    public static func run(arguments: [String]) throws -> String {
        guard let sub = arguments.first else { throw NetworkBenchCommandError.usage }
        var rest = Array(arguments.dropFirst())
        func option(_ name: String) -> String? {
            guard let i = rest.firstIndex(of: name), i + 1 < rest.count else { return nil }
            let v = rest[i + 1]
            rest.removeSubrange(i...(i + 1))
            return v
        }
        func ints(_ s: String) throws -> [Int] {
            let v = s.split(separator: ",").compactMap { Int($0) }
            guard !v.isEmpty else { throw NetworkBenchCommandError.badValue(s) }
            return v
        }
        switch sub {
        case "bench":
            let batches = try option("--batches").map(ints) ?? [1, 8, 32]
            let threads = try option("--threads").map(ints) ?? [1, 2]
            let seconds = option("--seconds").flatMap(Double.init) ?? 1.0
            let json = rest.contains("--json")
            let r = runNetworkBenchmark(batchSizes: batches, threads: threads, secondsPerCase: seconds)
            if json {
                let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
                return String(data: try enc.encode(r), encoding: .utf8)!
            }
            var lines = ["spatial network \(r.inputSize)x\(r.inputSize), \(r.parameterCount) parameters, kernels: \(r.kernel)",
                         "mode           batch threads   images/s   ms/call  CPU ms/call"]
            for e in r.entries {
                lines.append(String(format: "%-14@ %5d %7d %10.1f %9.2f %12.2f", e.mode as NSString, e.batchSize, e.threads, e.imagesPerSecond,
                                    e.medianSeconds * 1000, e.medianCPUSeconds * 1000))
            }
            return lines.joined(separator: "\n")
        case "export-weights":
            guard let out = rest.first else { throw NetworkBenchCommandError.usage }
            let seed = option("--seed").flatMap(UInt64.init) ?? 0
            let net = SpatialNetwork(seed: seed)
            let opt = AdamW(parameters: net.parameters, learningRate: 1e-3)
            var g = SeededGenerator(seed: seed &+ 7)
            for _ in 0..<3 {
                let x = Tensor.randomUniform(shape: [4, 3, net.configuration.inputSize, net.configuration.inputSize], generator: &g)
                net.trainingStep(crops: x, labels: Tensor(shape: [4], scalars: [0, 1, 0, 1]), optimizer: opt)
            }
            try net.save(to: URL(fileURLWithPath: out))
            return "wrote \(out) (\(net.parameterCount) parameters)"
        case "parity":
            guard rest.count >= 3 else { throw NetworkBenchCommandError.usage }
            let net = try SpatialNetwork.load(from: URL(fileURLWithPath: rest[0]))
            let input = try Safetensors.read(contentsOf: URL(fileURLWithPath: rest[1]))
            guard let x = input.tensors["input"] else { throw NetworkBenchCommandError.badValue("INPUT has no tensor 'input'") }
            let emb = net.embedding(x)
            let (logits, grad) = net.inputGradient(of: x)
            try Safetensors.write(.init(tensors: ["logits": logits, "embedding": emb, "input_gradient": grad]),
                                  to: URL(fileURLWithPath: rest[2]))
            return "wrote \(rest[2])"
        default:
            throw NetworkBenchCommandError.usage
        }
    }
}

/// Bad arguments to `NetworkBenchCommand`.
public enum NetworkBenchCommandError: Error, CustomStringConvertible {
    case usage
    case badValue(String)
    public var description: String {
        switch self {
        case .usage: return "usage: bench [--batches 1,8,32] [--threads 1,2] [--seconds S] [--json] | export-weights OUT [--seed N] | parity WEIGHTS INPUT OUT"
        case .badValue(let v): return "bad value: \(v)"
        }
    }
}

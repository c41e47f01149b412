import Detector
import Foundation
import Tensor

/// `glassbox bench gemm`: the SGEMM kernel's GFLOP/s at a few shapes, 1 and 2 threads.
enum BenchGEMM {
    static let help = """
    gemm    GFLOP/s of the SGEMM kernel (C = A·B, row-major, 2mnk flops per call) at square shapes
            and at the shapes of the detector's convolutions, at 1 and 2 threads (--threads), as the
            median over calls for about --seconds (default 0.5) per cell after a warm-up, by wall
            time and per CPU-second. GLASSBOX_CPU=baseline measures the fallback kernels.
    """

    /// m x n x k; the last two are convolutions of the detector at batch 8: stage 2's 3x3
    /// (64 channels in and out, 32x32 pixels) and stage 4's (256 channels, 4x4 pixels).
    static let shapes: [(name: String, m: Int, n: Int, k: Int)] = [
        ("256^3", 256, 256, 256), ("512^3", 512, 512, 512), ("1024^3", 1024, 1024, 1024),
        ("conv 64x(8*32*32)x576", 64, 8 * 32 * 32, 576), ("conv 256x(8*4*4)x2304", 256, 8 * 4 * 4, 2304),
    ]

    struct Cell: Codable {
        var shape: String, m: Int, n: Int, k: Int, threads: Int
        var gflopsWall: Double, gflopsPerCPUSecond: Double
    }

    static func run(_ arguments: inout Arguments) throws {
        let seconds = try arguments.double("--seconds", default: 0.5, range: 0.01...60)
        let threadList = try arguments.option("--threads") ?? "1,2"
        let json = arguments.flag("--json")
        _ = arguments.positionals()
        try arguments.finish()
        let threads = try threadList.split(separator: ",").map { text -> Int in
            guard let count = Int(text), (1...64).contains(count) else { throw CLIError.usage("--threads expects counts like 1,2") }
            return count
        }
        var cells: [Cell] = []
        for shape in shapes {
            // Any values do: the kernel's speed does not depend on them (no denormals here).
            let a = (0..<(shape.m * shape.k)).map { Float(($0 &* 7919) % 1000) / 1000 - 0.5 }
            let b = (0..<(shape.k * shape.n)).map { Float(($0 &* 104_729) % 1000) / 1000 - 0.5 }
            var c = [Float](repeating: 0, count: shape.m * shape.n)
            let flops = 2 * Double(shape.m) * Double(shape.n) * Double(shape.k)
            for count in threads {
                let (wall, cpu) = Parallel.withThreadCount(count) { () -> (Double, Double) in
                    func call() {
                        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                            GEMM.multiply(m: shape.m, n: shape.n, k: shape.k, a: pa.baseAddress!, aRowStride: shape.k, aColStride: 1,
                                          b: pb.baseAddress!, bRowStride: shape.n, bColStride: 1,
                                          c: pc.baseAddress!, ldc: shape.n, accumulate: false)
                        } } }
                    }
                    call()   // warm-up: page in the buffers and pack once
                    var walls: [Double] = [], cpus: [Double] = []
                    let deadline = Date().addingTimeInterval(seconds)
                    repeat {
                        let w0 = Date(), c0 = processCPUSeconds()
                        call()
                        cpus.append(processCPUSeconds() - c0)
                        walls.append(Date().timeIntervalSince(w0))
                    } while Date() < deadline || walls.count < 3
                    return (walls.sorted()[walls.count / 2], cpus.sorted()[cpus.count / 2])
                }
                cells.append(Cell(shape: shape.name, m: shape.m, n: shape.n, k: shape.k, threads: count,
                                  gflopsWall: flops / wall / 1e9, gflopsPerCPUSecond: flops / max(cpu, 1e-9) / 1e9))
            }
        }
        if json {
            struct Result: Codable { var kernel: String; var cells: [Cell] }
            FileHandle.standardOutput.write(try FileOutput.encodeJSON(Result(kernel: CPUFeatures.kernelName, cells: cells)))
        } else {
            Console.out("SGEMM, \(CPUFeatures.kernelName) kernels, median over about \(seconds) s per cell")
            Console.out("  shape                      threads   GFLOP/s wall   GFLOP/s per CPU-second")
            for cell in cells {
                Console.out(String(format: "  %@ %7d %14.1f %24.1f", cell.shape.padding(toLength: 26, withPad: " ", startingAt: 0),
                                   cell.threads, cell.gflopsWall, cell.gflopsPerCPUSecond))
            }
        }
    }
}

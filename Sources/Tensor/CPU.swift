import Foundation
import TensorKernelsAVX2
import TensorKernelsBaseline

/// The instruction-set level the numeric kernels run at, chosen once per process.
///
/// The kernels are compiled twice (`TensorKernelsBaseline` for any x86-64, `TensorKernelsAVX2` with
/// `-target-cpu haswell`); this picks the AVX2 + FMA build when `/proc/cpuinfo` lists both `avx2` and
/// `fma`, and the baseline build otherwise. `GLASSBOX_CPU=baseline` forces the baseline build.
public enum CPUFeatures {
    /// Whether the AVX2 + FMA kernels are in use.
    public static let usesAVX2: Bool = {
        if let forced = ProcessInfo.processInfo.environment["GLASSBOX_CPU"]?.lowercased(), forced == "baseline" {
            return false
        }
        if let glibc = glibcReportsAVX2AndFMA() { return glibc }
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        guard let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        return flags.contains("avx2") && flags.contains("fma")
    }()

    /// Asks glibc (2.33 and later) which CPUID features are usable, i.e. present and enabled by the OS.
    ///
    /// `__x86_get_cpuid_feature_leaf` (`<sys/platform/x86.h>`) returns `{ cpuid[4], active[4] }` words
    /// (eax, ebx, ecx, edx) for a leaf index: 0 = CPUID leaf 1 (FMA: ecx bit 12), 1 = leaf 7 (AVX2: ebx bit 5).
    /// This runs the CPUID instruction, so it is also right under an emulator, where `/proc/cpuinfo`
    /// shows the host. Returns nil when the symbol is missing (other C libraries, older glibc).
    static func glibcReportsAVX2AndFMA() -> Bool? {
        #if os(Linux) && arch(x86_64)
        guard let symbol = dlsym(nil, "__x86_get_cpuid_feature_leaf") else { return nil }
        typealias Leaf = @convention(c) (UInt32) -> UnsafeRawPointer?
        let leaf = unsafeBitCast(symbol, to: Leaf.self)
        guard let l1 = leaf(0), let l7 = leaf(1) else { return nil }
        let fma = l1.load(fromByteOffset: 16 + 8, as: UInt32.self) & (1 << 12) != 0
        let avx2 = l7.load(fromByteOffset: 16 + 4, as: UInt32.self) & (1 << 5) != 0
        return fma && avx2
        #else
        return nil
        #endif
    }

    /// A short name of the kernel build in use: `"avx2"` or `"baseline"`.
    public static var kernelName: String { usesAVX2 ? "avx2" : "baseline" }
}

/// Function table of one kernel build (see `CPUFeatures`).
struct KernelSet: Sendable {
    let gemmPanels: @Sendable (Int, Int, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int,
                               UnsafePointer<UnsafeMutablePointer<Float>>, UnsafePointer<Int>, Int, Bool) -> Void
    let gatherRows16: @Sendable (UnsafePointer<Float>, UnsafePointer<Int>, Int, UnsafeMutablePointer<Float>) -> Void
    let gatherRows: @Sendable (UnsafePointer<Float>, UnsafePointer<Int>, Int, Int, UnsafeMutablePointer<Float>, Int) -> Void
    let scatterAddRows: @Sendable (UnsafePointer<Float>, Int, UnsafePointer<Int>, Int, Int, UnsafeMutablePointer<Float>) -> Void
    let padPhaseSplitPlane: @Sendable (UnsafePointer<Float>, Int, Int, Int, Int, Int, Int, Int, UnsafeMutablePointer<Float>) -> Void
    let adamW: @Sendable (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                          Int, Float, Float, Float, Float, Float, Float, Float) -> Void
    let gemmNT: @Sendable (Int, Int, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int,
                           UnsafeMutablePointer<Float>, Int, Bool) -> Void
    let exp: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    let siluForward: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    let siluBackward: @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    let sigmoid: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    let affineActivation: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Bool) -> Void
    let affineSiLUBackward: @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int,
                                       Float, Float, Float, Float) -> (Float, Float)
    let centeredSums: @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int, Float) -> (Float, Float)
    let batchNormBackwardApply: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float, Float, Float) -> Void

    static let avx2 = KernelSet(
        gemmPanels: { TensorKernelsAVX2.gemmPanels(m: $0, k: $1, nPanels: $2, a: $3, aPanelStride: $4, b: $5,
                                                   bPanelStride: $6, cPanels: $7, cCols: $8, ldc: $9, accumulate: $10) },
        gatherRows16: { TensorKernelsAVX2.gatherRows16($0, $1, $2, $3) },
        gatherRows: { TensorKernelsAVX2.gatherRows($0, $1, $2, $3, $4, $5) },
        scatterAddRows: { TensorKernelsAVX2.scatterAddRows($0, $1, $2, $3, $4, $5) },
        padPhaseSplitPlane: { TensorKernelsAVX2.padPhaseSplitPlane($0, h: $1, w: $2, padTop: $3, padLeft: $4, stride: $5,
                                                              phaseWidth: $6, rows: $7, $8) },
        adamW: { TensorKernelsAVX2.adamWUpdate($0, $1, $2, $3, $4, learningRate: $5, weightDecay: $6, beta1: $7, beta2: $8,
                                           correction1: $9, correction2: $10, epsilon: $11) },
        gemmNT: { TensorKernelsAVX2.gemmNT(m: $0, n: $1, p: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9) },
        exp: { TensorKernelsAVX2.expArray($0, $1, $2) },
        siluForward: { TensorKernelsAVX2.siluForward($0, $1, $2) },
        siluBackward: { TensorKernelsAVX2.siluBackward($0, $1, $2, $3) },
        sigmoid: { TensorKernelsAVX2.sigmoidForward($0, $1, $2) },
        affineActivation: { TensorKernelsAVX2.affineActivation($0, $1, $2, scale: $3, shift: $4, silu: $5) },
        affineSiLUBackward: { TensorKernelsAVX2.affineSiLUBackward($0, $1, $2, $3, scale: $4, shift: $5, gradScale: $6, center: $7) },
        centeredSums: { TensorKernelsAVX2.centeredSums($0, $1, $2, center: $3) },
        batchNormBackwardApply: { TensorKernelsAVX2.batchNormBackwardApply($0, $1, $2, k: $3, meanGrad: $4, meanGradXhat: $5,
                                                                          mean: $6, invStd: $7) })

    static let baseline = KernelSet(
        gemmPanels: { TensorKernelsBaseline.gemmPanels(m: $0, k: $1, nPanels: $2, a: $3, aPanelStride: $4, b: $5,
                                                       bPanelStride: $6, cPanels: $7, cCols: $8, ldc: $9, accumulate: $10) },
        gatherRows16: { TensorKernelsBaseline.gatherRows16($0, $1, $2, $3) },
        gatherRows: { TensorKernelsBaseline.gatherRows($0, $1, $2, $3, $4, $5) },
        scatterAddRows: { TensorKernelsBaseline.scatterAddRows($0, $1, $2, $3, $4, $5) },
        padPhaseSplitPlane: { TensorKernelsBaseline.padPhaseSplitPlane($0, h: $1, w: $2, padTop: $3, padLeft: $4, stride: $5,
                                                              phaseWidth: $6, rows: $7, $8) },
        adamW: { TensorKernelsBaseline.adamWUpdate($0, $1, $2, $3, $4, learningRate: $5, weightDecay: $6, beta1: $7, beta2: $8,
                                           correction1: $9, correction2: $10, epsilon: $11) },
        gemmNT: { TensorKernelsBaseline.gemmNT(m: $0, n: $1, p: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9) },
        exp: { TensorKernelsBaseline.expArray($0, $1, $2) },
        siluForward: { TensorKernelsBaseline.siluForward($0, $1, $2) },
        siluBackward: { TensorKernelsBaseline.siluBackward($0, $1, $2, $3) },
        sigmoid: { TensorKernelsBaseline.sigmoidForward($0, $1, $2) },
        affineActivation: { TensorKernelsBaseline.affineActivation($0, $1, $2, scale: $3, shift: $4, silu: $5) },
        affineSiLUBackward: { TensorKernelsBaseline.affineSiLUBackward($0, $1, $2, $3, scale: $4, shift: $5, gradScale: $6, center: $7) },
        centeredSums: { TensorKernelsBaseline.centeredSums($0, $1, $2, center: $3) },
        batchNormBackwardApply: { TensorKernelsBaseline.batchNormBackwardApply($0, $1, $2, k: $3, meanGrad: $4, meanGradXhat: $5,
                                                                          mean: $6, invStd: $7) })

    /// The table in use. Choosing it also tunes the allocator once (`AllocatorTuning`).
    static let current: KernelSet = {
        AllocatorTuning.apply()
        return CPUFeatures.usesAVX2 ? .avx2 : .baseline
    }()
}

/// Keeps glibc malloc from handing tensor memory back to the kernel between operations.
///
/// Every layer allocates its output (megabytes at batch 8 and up). By default glibc serves such blocks
/// with `mmap` until its adaptive threshold catches up, and trims the heap top once more than twice that
/// threshold is free, so the same pages are unmapped and faulted in again (zero-filled) on every call:
/// about 3 % of a training step in `perf`. Raising both limits keeps freed blocks in the heap for reuse;
/// the process keeps its peak footprint instead of returning it. Blocks above 32 MB (the glibc maximum
/// for the mmap threshold) are still mapped per call.
enum AllocatorTuning {
    static func apply() { _ = once }

    private static let once: Void = {
        #if os(Linux)
        // `mallopt` is declared in <malloc.h>, which the Glibc module does not import; the option
        // numbers are glibc's M_TRIM_THRESHOLD (-1) and M_MMAP_THRESHOLD (-3).
        guard let symbol = dlsym(nil, "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(-3, 32 << 20)
        _ = mallopt(-1, 1 << 30)
        #endif
    }()
}

/// Register tile of the GEMM micro-kernel (must match `gemmMR`/`gemmNR` of the kernel modules).
let MR = 6
let NR = 16

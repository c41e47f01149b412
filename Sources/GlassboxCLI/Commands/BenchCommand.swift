import Foundation
import Detector
import VideoIO

/// `glassbox bench decode|nn|faces|ig|gemm`: throughput figures, printed, never asserted in tests.
enum BenchCommand: Command {
    static let name = "bench"
    static let summary = "measure decode (against ffmpeg), face finding, network (for PyTorch comparison) and integrated-gradients speed"
    static let help = """
    Usage: glassbox bench decode FILE [--rounds N] [--json]
           glassbox bench nn [--batches 1,8,32] [--threads N] [--seconds S] [--json]
           glassbox bench faces [FILE] [--frames N] [--rounds N] [--json]
           glassbox bench ig [FILE] [--frames N] [--steps N] [--rounds N] [--weights FILE] [--json]
           glassbox bench gemm [--threads 1,2] [--seconds S] [--json]

    decode  Decodes FILE to RGB with Glassbox's reader and with
            `ffmpeg -v error -i FILE -pix_fmt rgb24 -f rawvideo -y /dev/null`, alternating the two
            for N rounds (default 3) in the same run, and prints the median frames per second of
            each and their ratio (ours / ffmpeg), and this process's peak resident memory.
            bench/long-decode.sh makes a 10-minute 1080p clip and runs this on it.
    nn      Images per second of the detector's spatial network on 128x128 crops: forward,
            forward plus input gradient, and a training step, at each batch size.
            bench/torch_reference.py prints PyTorch's figures for the same network.
    \(BenchFaces.help)
    \(BenchIG.help)
    \(BenchGEMM.help)

    Use a release build (swift build -c release) for figures worth quoting.
    """

    static func run(_ arguments: inout Arguments) throws {
        guard let mode = arguments.firstPositional else { throw CLIError.usage("say what to measure: decode, nn, faces, ig or gemm") }
        switch mode {
        case "decode":
            let rounds = try arguments.int("--rounds", default: 3, range: 1...100)
            let json = arguments.flag("--json")
            let words = arguments.positionals()
            try arguments.finish()
            guard words.count == 2 else { throw CLIError.usage("bench decode needs exactly one FILE") }
            try FileOutput.requireFile(words[1])
            let result = try benchmarkDecode(path: words[1], rounds: rounds)
            if json {
                FileHandle.standardOutput.write(try FileOutput.encodeJSON(result))
            } else {
                Console.out("decode+RGB \(result.path) (\(result.width)x\(result.height), \(result.frames) frames, \(result.rounds) rounds, medians)")
                Console.out(String(format: "  glassbox  %8.1f frames/s", result.oursFPS))
                if let ffmpeg = result.ffmpegFPS {
                    Console.out(String(format: "  ffmpeg    %8.1f frames/s", ffmpeg))
                }
                if let ratio = result.ratio { Console.out(String(format: "  ratio     %8.2fx (glassbox / ffmpeg, wall clock)", ratio)) }
                if let cpu = result.cpuRatio {
                    Console.out(String(format: "  CPU ratio %8.2fx (ffmpeg CPU seconds / ours per frame; steadier on a shared machine)", cpu))
                }
                if let note = result.ffmpegNote { Console.out("  note: \(note)") }
                if let rss = result.peakResidentMiB { Console.out(String(format: "  peak RSS  %8.0f MiB (this process)", rss)) }
            }
        case "nn":
            try runNetworkBench(&arguments)
        case "faces":
            try BenchFaces.run(&arguments)
        case "ig":
            try BenchIG.run(&arguments)
        case "gemm":
            try BenchGEMM.run(&arguments)
        default:
            throw CLIError.usage("unknown benchmark '\(mode)': use decode, nn, faces, ig or gemm")
        }
    }
}

/// `glassbox bench nn [bench|export-weights|parity] ...`: the detector network's throughput table,
/// and the two helpers that `bench/torch_reference.py` calls for its parity check.
func runNetworkBench(_ arguments: inout Arguments) throws {
    var rest = arguments.rest().filter { $0 != "nn" }
    if rest.first.map({ !["bench", "export-weights", "parity"].contains($0) }) ?? true { rest.insert("bench", at: 0) }
    do {
        Console.out(try NetworkBenchCommand.run(arguments: rest))
    } catch let error as NetworkBenchCommandError {
        throw CLIError.usage("\(error)")
    }
}

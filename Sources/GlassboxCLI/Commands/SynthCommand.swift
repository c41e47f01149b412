import Faces
import Foundation
import Synthesis

/// `glassbox synth`: writes a manipulation set (real clips, fakes, per-frame masks, manifest).
enum SynthCommand: Command {
    static let name = "synth"
    static let summary = "make a manipulation set: real clips, fakes by each generator, masks, manifest.json"
    static let help = """
    Usage: glassbox synth --from REAL... --out SET/ [--methods a,b] [--seed N] [--seconds S] [--fps F]

    For each real video or image (folders are searched for media files): decodes a short clip
    (at most --seconds from the start, sampled at --fps; stills are one frame), follows the largest
    face, and writes the real clip and one fake per method with its per-frame blend mask:

      SET/real/<name>.mp4|.avi|.png
      SET/fake/<method>/<name>.mp4|.avi|.png
      SET/masks/<method>/<name>.mkv|.png     lossless; grey = mask * 255, one frame per fake frame
      SET/manifest.json                      [{path, label, method, source, parameters, mask, codec, ...}]

    The real and the fakes of one source share one random compression (H.264 CRF 18-35 or MJPEG;
    JPEG quality 60-95 for stills), so compression carries no label signal. Cross swaps take their
    donor face from another source of the same run (another person, presumably). Sources without a
    face are skipped with a message. The same --seed gives the same set.

    Methods: \(ManipulationMethod.allCases.map(\.rawValue).joined(separator: ", "))

    Options:
      --from PATH...   real videos, images or folders (also accepted as plain arguments)
      --out DIR        the set folder (created; files of the same names are replaced)
      --methods a,b    generators to use (default all)
      --seed N         seed (default 0)
      --seconds S      longest clip per video (default 3)
      --fps F          sampling rate of the clips (default 15)
      --max-side N     downscale frames larger than N pixels (default 640)

    Example:
      glassbox synth --from .cache/data/pyfeat/WolfgangLanger_Pexels.mp4 .cache/data/face_recognition \\
                     --out /tmp/set --methods selfBlend,crossSwap --seed 1
    """

    static func run(_ arguments: inout Arguments) throws {
        let from = try arguments.options("--from")
        guard let out = try arguments.option("--out") else { throw CLIError.usage("--out SET/ is required") }
        let methodText = try arguments.options("--methods")
        let seed = try arguments.int("--seed", default: 0, range: 0...Int.max)
        let seconds = try arguments.double("--seconds", default: 3, range: 0.05...600)
        let fps = try arguments.double("--fps", default: 15, range: 0.1...240)
        let maxSide = try arguments.int("--max-side", default: 640, range: 32...8192)
        let rest = arguments.positionals()
        try arguments.finish()

        var methods = ManipulationMethod.allCases
        if !methodText.isEmpty {
            let parsed = ManipulationMethod.parseList(methodText.joined(separator: ","))
            if let invalid = parsed.invalid {
                throw CLIError.usage("unknown method '\(invalid)'; methods: \(ManipulationMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            methods = parsed.methods
        }
        let sources = SetWriter.expandSources(from + rest)
        guard !sources.isEmpty else { throw CLIError.usage("give at least one real video, image or folder with --from") }
        for source in sources where !FileManager.default.fileExists(atPath: source) {
            throw CLIError.noInput("no such file: \(source)")
        }

        let detector: FaceDetector
        do {
            detector = try FaceDetector.standard()
        } catch {
            throw CLIError.noInput("\(error)")
        }
        let options = SetWriterOptions(methods: methods, seed: UInt64(seed), maxSeconds: seconds, fps: fps, maxSide: maxSide)
        let writer = SetWriter(options: options, detector: detector)
        let bar = ProgressLine("synth", total: sources.count * (2 + methods.count))
        let result: SetWriterResult
        do {
            result = try writer.write(sources: sources, to: out) { progress in
                if progress.message.hasPrefix("skipped") {
                    bar.clearLine()
                    Console.err("glassbox synth: \(progress.source): \(progress.message)")
                }
                bar.advance(progress.message.hasPrefix("skipped") ? 1 + methods.count : 1,
                            note: (progress.source as NSString).lastPathComponent)
            }
        } catch let error as ManipulationSetError {
            bar.finish()
            throw CLIError.dataError(error.description)
        }
        bar.finish()
        let reals = result.set.entries.filter { !$0.isFake }.count
        let fakes = result.set.entries.count - reals
        Console.out("wrote \(out)/manifest.json: \(reals) real, \(fakes) fake (\(methods.map(\.rawValue).joined(separator: ", ")))"
                    + (result.skipped.isEmpty ? "" : "; skipped \(result.skipped.count) source(s)"))
    }
}

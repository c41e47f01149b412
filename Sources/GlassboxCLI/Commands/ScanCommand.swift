import Detector
import Explain
import Faces
import Foundation
import Report
import VideoIO

/// `glassbox scan`: the verdict for one video, or for a folder or list of videos.
enum ScanCommand: Command {
    static let name = "scan"
    static let summary = "judge videos: p(fake) per frame, per face track and per video, with a verdict"
    static let help = """
    Usage: glassbox scan FILE [--json OUT] [options]
           glassbox scan FILE|DIR... --jsonl OUT [--shard K/N] [options]

    Decodes the video, tracks faces, scores aligned face crops with the detector and aggregates a
    calibrated verdict: real, fake, unsure (p(fake) within the band around the threshold) or
    noFace (nothing was scored). A video is fake if any of its face tracks is.

    One file: a short summary on stdout, and the explanation document (docs/explanation.schema.json)
    written to --json OUT (default out/<last three path parts>.json, e.g. out/fake_selfBlend_x.json;
    --json - prints it). Explaining is on
    by default: integrated-gradients heatmaps of the most and least suspicious frames of each track
    (PNG files in <OUT stem>.heatmaps/, raw maps in <OUT stem>.attributions.safetensors), the top
    sparse-autoencoder features of the verdict with their ablation effect, and the compression-
    shortcut check (quality ladder, block-grid energy, codec-linked features). If the ladder flips
    the verdict, the verdict becomes unsure and says why.
    Several files or folders (searched recursively for video files): one JSON line per video in
    --jsonl OUT (verdicts only: no explanations in batch mode). Resumable: videos already scanned
    in OUT are skipped, recorded failures are retried. A bad file gets a line with its error and
    the batch goes on; the exit code is then 65.

    Options:
      --weights FILE    detector weights (default weights/detector.safetensors)
      --sae FILE        sparse autoencoder (default weights/sae.safetensors, with sae_features.json)
      --no-explain      verdict only: no heatmaps, features or shortcut check (fast)
      --baseline B      integrated-gradients baseline: blur (sigma 8 px, default), blur:S, black,
                        or noise:N (N uniform-noise draws averaged: maps better localised on the
                        manipulated region, N times the attribution cost)
      --smoothgrad N[:L]  average each map over N noisy copies of the crop (SmoothGrad; noise
                        L x the pixel range, default 0.1); N times the attribution cost
      --steps S         integrated-gradients steps per map (default 32); the JSON reports each
                        map's completeness error, so too few steps show
      --rule R          quadrature rule of the path integral: gauss-legendre (default) or
                        trapezoid
      --frames N        score N frames spread evenly (default: 4 per second, 8 to 64)
      --fps F           score frames at F per second instead
      --start S, --end S   only this time range (seconds)
      --shard K/N       only the K-th of N equal shares of the file list (K = 1..N), for
                        splitting a corpus across machines; shares are disjoint and cover all
    Examples:
      glassbox scan Samples/fake/selfBlend/single_face.mp4 --json out/scan.json
      glassbox scan clip.mp4 --baseline noise:1 --steps 64 --rule trapezoid
      glassbox scan corpus/ --jsonl results.jsonl --shard 2/8
    """

    static let videoExtensions: Set<String> = ["mp4", "mov", "mkv", "webm", "avi", "m4v", "mpg", "mpeg", "ts", "flv", "wmv", "3gp"]

    static func run(_ arguments: inout Arguments) throws {
        let jsonOut = try arguments.option("--json")
        let jsonlOut = try arguments.option("--jsonl")
        let weights = try arguments.option("--weights") ?? Resources.detectorWeights
        let frames = try arguments.option("--frames")
        let fps = try arguments.option("--fps")
        let start = try arguments.option("--start")
        let end = try arguments.option("--end")
        let shard = try arguments.option("--shard")
        let saePath = try arguments.option("--sae") ?? Resources.locate("weights/sae.safetensors")
        let noExplain = arguments.flag("--no-explain")
        let baselineOption = try arguments.option("--baseline")
        let baseline = try BaselineOption.parse(baselineOption ?? "blur")
        if noExplain && baselineOption != nil { throw CLIError.usage("--baseline sets the attribution maps; --no-explain makes none") }
        let smoothingOption = try arguments.option("--smoothgrad")
        let smoothing = try SmoothGradOption.parse(smoothingOption)
        if noExplain && smoothingOption != nil { throw CLIError.usage("--smoothgrad sets the attribution maps; --no-explain makes none") }
        let steps = try arguments.int("--steps", range: 2...1024)
        let ruleOption = try arguments.option("--rule")
        if noExplain && (steps != nil || ruleOption != nil) {
            throw CLIError.usage("--steps and --rule set the attribution maps; --no-explain makes none")
        }
        var settings = ExplanationSettings()
        settings.baseline = baseline
        settings.smoothing = smoothing
        settings.rule = try QuadratureOption.parse(ruleOption)
        if let steps { settings.steps = steps }
        let inputs = arguments.positionals()
        try arguments.finish()
        guard !inputs.isEmpty else { throw CLIError.usage("give a video FILE (or folders/files with --jsonl)") }

        var sampling: SamplingOptions?
        if frames != nil || fps != nil || start != nil || end != nil {
            var options = SamplingOptions(sampling: .evenlySpaced(32))
            if let frames {
                guard let n = Int(frames), n > 0 else { throw CLIError.usage("--frames expects a positive integer") }
                options.sampling = .evenlySpaced(n)
            }
            if let fps {
                guard let rate = Double(fps), rate > 0 else { throw CLIError.usage("--fps expects a positive number") }
                options.sampling = .targetFPS(rate)
            }
            options.startSeconds = try start.map { try seconds($0, "--start") }
            options.endSeconds = try end.map { try seconds($0, "--end") }
            sampling = options
        }

        let model: DetectorModel
        do { model = try DetectorModel.load(from: weights) } catch { throw CLIError.noInput("\(error)") }
        let scanner = VideoScanner(model: model, detector: try FaceDetector.standard())
        let weightsSHA = (try? SHA256.hex(ofFile: weights)) ?? "unknown"
        let context = Context(scanner: scanner, model: model, weights: weights, weightsSHA: weightsSHA, sampling: sampling)

        if let jsonlOut {
            try runBatch(inputs: inputs, output: jsonlOut, shard: shard, context: context)
            return
        }
        guard inputs.count == 1 else { throw CLIError.usage("several inputs need --jsonl OUT") }
        guard shard == nil else { throw CLIError.usage("--shard needs --jsonl OUT") }
        try FileOutput.requireFile(inputs[0])
        // Default output name from the last three path components, so that real/x.mp4 and
        // fake/selfBlend/x.mp4 do not overwrite each other's documents.
        let components = URL(fileURLWithPath: inputs[0]).deletingPathExtension().pathComponents.filter { $0 != "/" && $0 != "." && $0 != ".." }
        let stem = components.suffix(3).joined(separator: "_")
        let documentPath = jsonOut ?? "out/\(stem).json"
        let outputStem = documentPath == "-" ? "out/\(stem)" : String(documentPath.hasSuffix(".json") ? documentPath.dropLast(5) : Substring(documentPath))
        let documentDirectory = URL(fileURLWithPath: documentPath == "-" ? outputStem : documentPath).deletingLastPathComponent().path
        var document: ScanDocument
        if noExplain {
            document = try scanOne(inputs[0], context: context)
        } else {
            document = try scanAndExplain(inputs[0], context: context, saePath: saePath, outputStem: outputStem,
                                          documentDirectory: documentDirectory, settings: settings)
        }
        // With `--json -` stdout carries the JSON alone, so the summary goes to stderr.
        if documentPath == "-" { Console.err(humanSummary(document)) } else { Console.out(humanSummary(document)) }
        let data = try FileOutput.encodeJSON(document)
        if documentPath == "-" {
            FileHandle.standardOutput.write(data)
        } else {
            try FileOutput.write(data, to: documentPath)
            Console.out(noExplain ? "  scan document (no explanation): \(documentPath)" : "  explanation document: \(documentPath)")
        }
    }

    struct Context {
        var scanner: VideoScanner
        var model: DetectorModel
        var weights: String
        var weightsSHA: String
        var sampling: SamplingOptions?
    }

    static func seconds(_ text: String, _ name: String) throws -> Double {
        guard let value = Double(text), value >= 0, value.isFinite else { throw CLIError.usage("\(name) expects seconds >= 0") }
        return value
    }

    static func scanOne(_ path: String, context: Context) throws -> ScanDocument {
        try scanWithDocument(path, context: context).document
    }

    /// Scans one file with a progress line sized by the scanner's plan, and builds its document.
    /// - Parameter keepsCodecWindows: keep the frame windows the shortcut check re-encodes.
    static func scanWithDocument(_ path: String, context: Context,
                                 keepsCodecWindows: Bool = false) throws -> (scan: VideoScan, document: ScanDocument) {
        var bar: ProgressLine?
        let options = ScanOptions(sampling: context.sampling, keepsCodecWindows: keepsCodecWindows)
        let scan = try context.scanner.scan(path: path, options: options) { current, planned in
            if bar == nil { bar = ProgressLine("scanning \(URL(fileURLWithPath: path).lastPathComponent)", total: planned) }
            bar?.set(done: current)
        }
        bar?.finish()
        let document = ScanDocument(scan: scan, path: path, inputSHA256: try SHA256.hex(ofFile: path), model: context.model,
                                    weightsPath: context.weights, weightsSHA256: context.weightsSHA, toolVersion: GlassboxCommand.version)
        return (scan, document)
    }

    /// Scans, then explains: IG maps, SAE features, shortcut check; adjusts the verdict to unsure
    /// when the quality ladder flips it.
    static func scanAndExplain(_ path: String, context: Context, saePath: String, outputStem: String,
                               documentDirectory: String, settings: ExplanationSettings = .init()) throws -> ScanDocument {
        let (scan, scanned) = try scanWithDocument(path, context: context, keepsCodecWindows: true)
        var document = scanned
        guard !scan.tracks.isEmpty else { return document }
        var sae: SparseAutoencoder?
        var dictionary: FeatureDictionary?
        if FileManager.default.fileExists(atPath: saePath) {
            do { sae = try SparseAutoencoder.load(from: URL(fileURLWithPath: saePath)) }
            catch { throw CLIError.dataError("\(saePath): not a usable sparse autoencoder (\(error))") }
            let dictionaryPath = URL(fileURLWithPath: saePath).deletingLastPathComponent().appendingPathComponent("sae_features.json").path
            if let data = FileManager.default.contents(atPath: dictionaryPath) {
                dictionary = try? JSONDecoder().decode(FeatureDictionary.self, from: data)
            }
        }
        Console.err("explaining: integrated gradients, features, shortcut check")
        var explainer = ScanExplainer(model: context.model, sae: sae, dictionary: dictionary)
        explainer.settings = settings
        let (section, maps) = try explainer.explain(scan: scan, outputStem: outputStem, documentDirectory: documentDirectory)
        document.explanation = section
        let check = ShortcutCheck(model: context.model)
        if let robustness = try check.check(scan: scan, maps: maps, codecFeatureShare: explainer.codecFeatureShare(section.features)) {
            document.robustness = robustness
            let shortcut = robustness.shortcut
            if shortcut.verdictFlips, document.verdict.label == .fake || document.verdict.label == .real {
                document.verdict.label = .unsure
                document.verdict.summary += " Marked unsure: " + shortcut.reasons.joined(separator: "; ")
            } else if shortcut.flag {
                document.verdict.summary += " Shortcut warning: " + shortcut.reasons.joined(separator: "; ")
            }
        }
        return document
    }

    /// One map in a line: the logit's rise over the baseline and the two regions that add the most to it.
    /// Net contributions (the regions' signed sums, which add up to that rise by completeness), because
    /// positive shares also count the positive halves of cancelling pixel speckle.
    static func attributionLine(_ record: AttributionRecord) -> String {
        let leading = record.regions.sorted { $0.signedSum > $1.signedSum }.prefix(2)
            .map { String(format: "%@ %+.2f", $0.region.rawValue as NSString, $0.signedSum) }.joined(separator: ", ")
        return String(format: "attribution: frame %d of track %d, fake logit %+.2f over the %@ baseline, most from %@ (completeness error %.2f%%); heatmap %@",
                      record.frameIndex, record.track, record.inputLogit - record.baselineLogit, record.baseline as NSString,
                      leading as NSString, 100 * record.relativeCompletenessError, record.heatmap as NSString)
    }

    static func humanSummary(_ document: ScanDocument) -> String {
        var lines = ["\(document.input.path): \(document.verdict.label.rawValue.uppercased())"
                     + (document.verdict.probability.map { String(format: "  p(fake) = %.3f", $0) } ?? "")]
        lines.append("  \(document.verdict.summary)")
        lines.append("  \(document.sampledFrames) frames sampled, \(document.framesWithFace) with a scored face, \(document.tracks.count) track(s)")
        for track in document.tracks {
            let peak = track.frames.max { $0.probability < $1.probability }
            lines.append(String(format: "  track %d: %@ p(fake) = %.3f over %d frames%@", track.id, track.label.rawValue,
                                track.probability, track.frames.count,
                                peak.map { String(format: "; most suspicious frame %d (p = %.3f)", $0.index, $0.probability) } ?? ""))
        }
        if let explanation = document.explanation {
            if let worst = explanation.attributions.max(by: { $0.inputLogit < $1.inputLogit }) {
                lines.append("  " + attributionLine(worst))
            }
            for feature in explanation.features.prefix(3) {
                lines.append(String(format: "  feature %d \"%@\": contribution %+.3f, switching it off changes p(fake) by %+.3f",
                                    feature.id, feature.label as NSString, feature.contribution, feature.ablationDelta))
            }
            if explanation.features.isEmpty { lines.append("  features: \(explanation.featureSource)") }
        }
        if let robustness = document.robustness {
            let shortcut = robustness.shortcut
            lines.append(String(format: "  shortcut check: %@ (score %.2f; ladder spread %.3f, rise %.3f, fall at mild rungs %.3f)%@",
                                shortcut.flag ? "FLAGGED" : "ok", shortcut.score, shortcut.spread, shortcut.rise, shortcut.mildFall,
                                shortcut.reasons.isEmpty ? "" : ": " + shortcut.reasons.joined(separator: "; ")))
        }
        return lines.joined(separator: "\n")
    }

    /// Expands folders into their video files (sorted, so shards are stable across machines).
    static func expand(_ inputs: [String]) -> [String] {
        var files: [String] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue {
                let enumerator = FileManager.default.enumerator(atPath: input)
                var found: [String] = []
                while let relative = enumerator?.nextObject() as? String {
                    if videoExtensions.contains(URL(fileURLWithPath: relative).pathExtension.lowercased()) {
                        found.append((input as NSString).appendingPathComponent(relative))
                    }
                }
                files.append(contentsOf: found.sorted())
            } else {
                files.append(input)
            }
        }
        return files
    }

    static func parseShard(_ text: String) throws -> (index: Int, count: Int) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, (1...n).contains(k) else {
            throw CLIError.usage("--shard expects K/N with 1 <= K <= N, got '\(text)'")
        }
        return (k, n)
    }

    struct BatchFailure: Codable {
        var path: String
        var error: String
        var exitCode: Int32
    }

    static func runBatch(inputs: [String], output: String, shard: String?, context: Context) throws {
        var files = expand(inputs)
        if let shard {
            let (k, n) = try parseShard(shard)
            files = files.enumerated().filter { $0.offset % n == k - 1 }.map(\.element)
        }
        let done = try JSONLines.completedPaths(in: output)
        let todo = files.filter { !done.contains($0) }
        Console.err("scan: \(files.count) video(s)\(shard.map { " in shard \($0)" } ?? ""), \(files.count - todo.count) already in \(output), \(todo.count) to do")
        let bar = ProgressLine("scanning", total: todo.count)
        var failures = 0
        for path in todo {
            do {
                try FileOutput.requireFile(path)
                let document = try scanOne(path, context: context)
                try JSONLines.append(document, to: output)
                bar.advance(note: "\(URL(fileURLWithPath: path).lastPathComponent): \(document.verdict.label.rawValue)")
            } catch {
                let mapped = mapError(error)
                failures += 1
                bar.clearLine()
                Console.err("glassbox scan: \(mapped.description)")
                try JSONLines.append(BatchFailure(path: path, error: mapped.description, exitCode: mapped.exitCode.rawValue), to: output)
                bar.advance()
            }
        }
        bar.finish()
        Console.out("scanned \(todo.count - failures) video(s), \(failures) failed; results in \(output)")
        if failures > 0 { throw CLIError.reported(.dataError) }
    }
}

import Explain
import Foundation
import Imaging
import Testing
import VideoIO
@testable import GlassboxCLI

@Suite("glassbox command line")
struct CLITests {
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glassbox-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A 10-frame 64x48 H.264 clip written with our own encoder.
    func makeClip(in folder: URL) throws -> String {
        let path = folder.appendingPathComponent("clip.mp4").path
        let writer = try VideoWriter(path: path, width: 64, height: 48, fps: 10, codec: .h264(crf: 23))
        for frame in 0..<10 {
            try writer.append(RGBImage(width: 64, height: 48, fill: (UInt8(frame * 20), 90, 160)))
        }
        try writer.finish()
        return path
    }

    @Test func versionAndHelpSucceed() {
        #expect(GlassboxCommand.run(["--version"]) == .ok)
        #expect(GlassboxCommand.run(["--help"]) == .ok)
        #expect(GlassboxCommand.run(["scan", "--help"]) == .ok)
        #expect(GlassboxCommand.run(["help", "info"]) == .ok)
    }

    @Test func everyCommandHasHelpThatNamesItsUsage() {
        for command in GlassboxCommand.commands {
            #expect(command.help.contains("Usage: glassbox \(command.name)"), "\(command.name) help lacks a usage line")
        }
    }

    @Test func usageErrorsExit64() {
        #expect(GlassboxCommand.run([]) == .usage)
        #expect(GlassboxCommand.run(["no-such-command"]) == .usage)
        #expect(GlassboxCommand.run(["info"]) == .usage)
        #expect(GlassboxCommand.run(["info", "x.mp4", "--bogus"]) == .usage)
    }

    @Test func badInputsGetTheirExitCodes() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("notes.mp4").path
        try Data("this is not a video\n".utf8).write(to: URL(fileURLWithPath: text))
        let empty = folder.appendingPathComponent("empty.mp4").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        var random = SystemRandomNumberGenerator()
        let noise = folder.appendingPathComponent("noise.mp4").path
        try Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }).write(to: URL(fileURLWithPath: noise))

        #expect(GlassboxCommand.run(["info", folder.appendingPathComponent("missing.mp4").path]) == .noInput)
        #expect(GlassboxCommand.run(["info", text]) == .dataError)
        #expect(GlassboxCommand.run(["info", empty]) == .dataError)
        #expect(GlassboxCommand.run(["info", noise]) == .dataError)
        #expect(GlassboxCommand.run(["info", folder.path]) == .dataError)
    }

    @Test func infoReadsAGeneratedClipAndOneBadFileDoesNotHideTheOthers() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let clip = try makeClip(in: folder)
        #expect(GlassboxCommand.run(["info", clip, "--json"]) == .ok)
        let bad = folder.appendingPathComponent("bad.mp4").path
        try Data("nope".utf8).write(to: URL(fileURLWithPath: bad))
        // Both are reported; the exit code says one failed.
        #expect(GlassboxCommand.run(["info", clip, bad]) == .dataError)
    }

    @Test func argumentParserConsumesOptionsAndRejectsLeftovers() throws {
        var arguments = Arguments(["file.mp4", "--json", "--frames", "8", "--out=dir", "--methods", "a,b", "--methods", "c"])
        let json = arguments.flag("--json")
        let frames = try arguments.int("--frames", default: 1)
        let out = try arguments.option("--out")
        let methods = try arguments.options("--methods")
        let positionals = arguments.positionals()
        #expect(json)
        #expect(frames == 8)
        #expect(out == "dir")
        #expect(methods == ["a", "b", "c"])
        #expect(positionals == ["file.mp4"])
        try arguments.finish()

        var bad = Arguments(["--frames", "eight"])
        #expect(throws: CLIError.self) { try bad.int("--frames", default: 1) }
        let leftover = Arguments(["--unknown"])
        #expect(throws: CLIError.self) { try leftover.finish() }
    }

    @Test func commandsRejectBadCallsWithUsageOrInputCodes() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let clip = try makeClip(in: folder)
        let missingWeights = folder.appendingPathComponent("none.safetensors").path
        #expect(GlassboxCommand.run(["explain", clip]) == .usage)
        #expect(GlassboxCommand.run(["explain", clip, "--frame", "3", "--ablate", "1"]) == .usage)
        #expect(GlassboxCommand.run(["scan", clip, "--weights", missingWeights]) == .noInput)
        #expect(GlassboxCommand.run(["scan", clip, "--frames", "zero"]) == .usage)
        #expect(GlassboxCommand.run(["scan", clip, clip]) == .usage)
        #expect(GlassboxCommand.run(["robustness", folder.path, "--perturbations", "warp:3"]) == .usage)
        #expect(GlassboxCommand.run(["robustness", folder.path, "--shortcut", "sometimes"]) == .usage)
        #expect(GlassboxCommand.run(["evaluate", folder.appendingPathComponent("empty-set").path]) == .dataError)
        #expect(GlassboxCommand.run(["train", "--exclude-method", "noSuchMethod"]) == .usage)
        // Supervised-only options without --set, and out-of-range values, are usage errors, not ignored.
        #expect(GlassboxCommand.run(["train", "--frames-per-video", "8"]) == .usage)
        #expect(GlassboxCommand.run(["train", "--also-self-blend"]) == .usage)
        #expect(GlassboxCommand.run(["train", "--set", folder.path, "--validation-fraction", "2"]) == .usage)
        #expect(GlassboxCommand.run(["sae", "fit"]) == .usage)
        #expect(GlassboxCommand.run(["sae", "montage", "--features", "x"]) == .usage)
        #expect(GlassboxCommand.run(["bench", "ig", clip, clip]) == .usage)
        #expect(GlassboxCommand.run(["bench", "gpu"]) == .usage)
        #expect(GlassboxCommand.run(["scan", clip, "--baseline", "grey"]) == .usage)
        #expect(GlassboxCommand.run(["scan", clip, "--no-explain", "--baseline", "black"]) == .usage)
        #expect(GlassboxCommand.run(["faithfulness", folder.path, "--baseline", "noise:0"]) == .usage)
        #expect(GlassboxCommand.run(["scan", clip, "--no-explain", "--smoothgrad", "4"]) == .usage)
        #expect(GlassboxCommand.run(["scan", clip, "--no-explain", "--steps", "16"]) == .usage)
        #expect(GlassboxCommand.run(["scan", clip, "--no-explain", "--rule", "trapezoid"]) == .usage)
        #expect(GlassboxCommand.run(["scan", clip, "--rule", "simpson"]) == .usage)
        #expect(GlassboxCommand.run(["scan", clip, "--steps", "1"]) == .usage)
        #expect(GlassboxCommand.run(["explain", clip, "--frame", "0", "--rule", "midpoint"]) == .usage)
        #expect(GlassboxCommand.run(["faithfulness", folder.path, "--rule", "midpoint"]) == .usage)
        #expect(throws: CLIError.self) { try FileOutput.prepareFolder(clip + "/maps") }   // a file is in the way
        #expect(GlassboxCommand.run(["explain", clip, "--frame", "0", "--smoothgrad", "4:2"]) == .usage)
        #expect(GlassboxCommand.run(["train", "--jpeg-quality", "90-20"]) == .usage)
        #expect(GlassboxCommand.run(["train", "--h264-share", "2"]) == .usage)
        #expect(GlassboxCommand.run(["train", "--dropout", "1"]) == .usage)
        #expect(GlassboxCommand.run(["bench", "gemm", "--threads", "0"]) == .usage)
        #expect(GlassboxCommand.run(["train", "--weight-decay", "-1"]) == .usage)
        #expect(GlassboxCommand.run(["train", "--boundary-target", "edge"]) == .usage)
    }

    @Test func baselineOptionParsesEveryForm() throws {
        #expect(try BaselineOption.parse("blur") == .default)
        #expect(try BaselineOption.parse("blur:3") == .blurred(sigma: 3))
        #expect(try BaselineOption.parse("black") == .black)
        #expect(try BaselineOption.parse("noise") == .uniformNoise(samples: 8, seed: 1))
        #expect(try BaselineOption.parse("noise:4") == .uniformNoise(samples: 4, seed: 1))
        for bad in ["", "blur:0", "blur:x", "black:2", "noise:0", "noise:999", "white"] {
            #expect(throws: CLIError.self) { try BaselineOption.parse(bad) }
        }
    }

    @Test func quadratureOptionParsesBothRules() throws {
        #expect(try QuadratureOption.parse(nil) == .gaussLegendre)
        #expect(try QuadratureOption.parse("gauss-legendre") == .gaussLegendre)
        #expect(try QuadratureOption.parse("Trapezoid") == .trapezoid)
        for bad in ["", "simpson", "gauss"] {
            #expect(throws: CLIError.self) { try QuadratureOption.parse(bad) }
        }
    }

    @Test func smoothGradOptionParsesCountAndLevel() throws {
        #expect(try SmoothGradOption.parse(nil) == nil)
        #expect(try SmoothGradOption.parse("4") == .init(samples: 4, noiseLevel: 0.1, seed: 1))
        #expect(try SmoothGradOption.parse("8:0.2") == .init(samples: 8, noiseLevel: 0.2, seed: 1))
        for bad in ["", "0", "x", "4:0", "4:1.5", "4:y", "300"] {
            #expect(throws: CLIError.self) { try SmoothGradOption.parse(bad) }
        }
    }

    @Test func optionValuesAreNotPositionalsOnceOptionsAreRead() throws {
        var arguments = Arguments(["train", "--run", "runs/x", "--pairs", "10"])
        #expect(arguments.firstPositional == "train")
        let run = try arguments.option("--run")
        let pairs = try arguments.int("--pairs", default: 1)
        #expect(run == "runs/x")
        #expect(pairs == 10)
        #expect(arguments.positionals() == ["train"])
        try arguments.finish()
    }

    @Test func shardsAreDisjointAndCoverTheList() throws {
        let files = (0..<23).map { "v\($0).mp4" }
        var seen: [String] = []
        for k in 1...4 {
            let (index, count) = try ScanCommand.parseShard("\(k)/4")
            seen += files.enumerated().filter { $0.offset % count == index - 1 }.map(\.element)
        }
        #expect(seen.sorted() == files.sorted())
        #expect(Set(seen).count == files.count)
        #expect(throws: CLIError.self) { try ScanCommand.parseShard("5/4") }
        #expect(throws: CLIError.self) { try ScanCommand.parseShard("0/4") }
    }

    @Test func jsonLinesSurviveATornLastLine() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("out.jsonl").path
        struct Input: Codable { var path: String }
        struct Record: Codable { var input: Input }
        struct Failure: Codable { var path: String; var error: String }
        try JSONLines.append(Record(input: Input(path: "a.mp4")), to: file)
        // Simulate an interrupted write: half a record without a newline.
        let handle = try #require(FileHandle(forWritingAtPath: file))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"input": {"path": "b.m"#.utf8))
        try handle.close()
        try JSONLines.append(Record(input: Input(path: "c.mp4")), to: file)
        try JSONLines.append(Failure(path: "d.mp4", error: "not a video"), to: file)
        // Successes are skipped on a rerun; the torn line is gone; recorded failures are retried.
        #expect(try JSONLines.completedPaths(in: file) == ["a.mp4", "c.mp4"])
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
    }

    @Test func faithfulnessMapsFileHoldsCropMaskAndBothMapsForNumpy() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let shape = InputShape(channels: 3, height: 4, width: 5)
        let crop = (0..<60).map { Float($0) / 60 }, mask = (0..<20).map { Float($0 % 2) }
        let trained = Attribution(map: (0..<60).map { Float($0) - 30 }, shape: shape, inputLogit: 2.5, baselineLogit: -1,
                                  expectedDifference: 3.5, steps: 32, rule: .gaussLegendre, baseline: .uniformNoise(samples: 1, seed: 1))
        var random = trained
        random.map = random.map.map { -$0 }
        random.inputLogit = 0.25
        let path = folder.appendingPathComponent("maps/fake_selfBlend_a.mp4-frame7.safetensors").path
        try FaithfulnessCommand.writeMaps(to: path, crop: crop, mask: mask, trained: trained, random: random,
                                          video: "fake/selfBlend/a.mp4", method: "selfBlend", frameIndex: 7)
        let archive = try TensorArchive.read(from: URL(fileURLWithPath: path))
        #expect(archive.tensors["crop"] == .init(shape: [3, 4, 5], values: crop))
        #expect(archive.tensors["mask"] == .init(shape: [4, 5], values: mask))
        #expect(archive.tensors["attribution"] == .init(shape: [3, 4, 5], values: trained.map))
        #expect(archive.tensors["randomModelAttribution"] == .init(shape: [3, 4, 5], values: random.map))
        #expect(archive.metadata["video"] == "fake/selfBlend/a.mp4" && archive.metadata["method"] == "selfBlend")
        #expect(archive.metadata["frameIndex"] == "7" && archive.metadata["steps"] == "32")
        #expect(archive.metadata["inputLogit"] == "2.5" && archive.metadata["randomModelInputLogit"] == "0.25")
        #expect(archive.metadata["baseline"] == trained.baseline.description)
    }

    @Test func explainRegionLinesShowNetContributionBesidePositiveShare() {
        let lines = ExplainCommand.regionLines([
            RegionShare(region: .eyes, positiveShare: 0.149, areaShare: 0.099, signedSum: -5.28),
            RegionShare(region: .background, positiveShare: 0.532, areaShare: 0.385, signedSum: 5.52),
        ])
        #expect(lines == ["  eyes       net   -5.28,  14.9% of positive attribution,   9.9% of the crop",
                          "  background net   +5.52,  53.2% of positive attribution,  38.5% of the crop"])
    }

    @Test func atomicWritesLeaveNoPartialFile() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("sub/doc.json").path
        try FileOutput.writeJSON(["a": 1], to: target)
        let contents = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("sub").path)
        #expect(contents == ["doc.json"])
    }

    @Test func attributionLineNamesTheLargestNetContributors() {
        // Background holds the most positive mass but nets little; the eyes and mouth add the most.
        let regions = [RegionShare(region: .eyes, positiveShare: 0.2, areaShare: 0.1, signedSum: 1.5),
                       RegionShare(region: .mouth, positiveShare: 0.1, areaShare: 0.1, signedSum: 0.75),
                       RegionShare(region: .background, positiveShare: 0.7, areaShare: 0.8, signedSum: 0.25)]
        let record = AttributionRecord(frameIndex: 7, track: 0, rule: "gaussLegendre", steps: 32, baseline: "blur(8.0)",
                                       inputLogit: 3, baselineLogit: 0.5, completenessDelta: 0, relativeCompletenessError: 0,
                                       heatmap: "x.heatmaps/track0-frame7.png", rawMaps: "x.safetensors", rawMapTensor: "t",
                                       cropBox: Box(x: 0, y: 0, width: 10, height: 10), regions: regions, topPatches: [])
        let line = ScanCommand.attributionLine(record)
        #expect(line.contains("fake logit +2.50 over the blur(8.0) baseline, most from eyes +1.50, mouth +0.75"))
        #expect(!line.contains("background"))
    }
}

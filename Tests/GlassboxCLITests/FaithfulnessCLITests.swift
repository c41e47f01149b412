import Explain
import Faces
import Foundation
import Testing
@testable import GlassboxCLI

extension Tag { @Tag static var slow: Self }

/// `glassbox synth` then `glassbox faithfulness` on a fetched portrait: the command's JSON, its maps
/// files and what they must agree on. Skipped with a message when the data or cascades are absent
/// (scripts/fetch-data.sh and scripts/install-deps.sh provide them; CI runs both).
@Suite struct FaithfulnessCLITests {
    static let repository = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(.tags(.slow)) func synthesizedFakeGetsFiguresAndMapsFile() throws {
        let portrait = Self.repository.appendingPathComponent(".cache/data/skimage/astronaut.png").path
        guard FileManager.default.fileExists(atPath: portrait) else { print("skipped: \(portrait) missing (run scripts/fetch-data.sh)"); return }
        guard FileManager.default.fileExists(atPath: FaceDetector.cascadeDirectory) else { print("skipped: no cascades (apt-get install opencv-data)"); return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glassbox-faithfulness-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let set = folder.appendingPathComponent("set").path, maps = folder.appendingPathComponent("maps").path
        let json = folder.appendingPathComponent("faithfulness.json").path
        #expect(GlassboxCommand.run(["synth", "--from", portrait, "--out", set, "--methods", "regionSplice", "--seed", "3"]) == .ok)
        // The small fixture detector keeps this quick in a debug build (the shipped one takes minutes here).
        let detector = Self.repository.appendingPathComponent("Tests/Fixtures/shortcut-detector.safetensors").path
        #expect(GlassboxCommand.run(["faithfulness", set, "--weights", detector, "--max", "1", "--steps", "4", "--rule", "trapezoid",
                                     "--baseline", "black", "--json", json, "--maps", maps]) == .ok)

        let summary = try JSONDecoder().decode(FaithfulnessCommand.Summary.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
        #expect(summary.baseline == "black" && summary.steps == 4 && summary.rule == "trapezoid")
        #expect(summary.fakes == 1 && summary.results.count == 1)
        #expect(summary.results.map(\.method) == ["regionSplice"])
        for result in summary.results {
            #expect(result.maskAreaShare > 0 && result.maskAreaShare < 1, "the mask covers part of the crop")
            #expect(result.enrichment.isFinite && result.enrichment >= 0 && result.patchEnrichment.isFinite)
            #expect(result.relativeCompletenessError.isFinite)

            let name = result.path.replacingOccurrences(of: "/", with: "_") + "-frame\(result.frameIndex).safetensors"
            let archive = try TensorArchive.read(from: URL(fileURLWithPath: maps).appendingPathComponent(name))
            let crop = try #require(archive.tensors["crop"]), mask = try #require(archive.tensors["mask"])
            let attribution = try #require(archive.tensors["attribution"])
            #expect(crop.shape == [3, 128, 128] && attribution.shape == [3, 128, 128] && mask.shape == [128, 128])
            #expect(archive.tensors["randomModelAttribution"]?.shape == [3, 128, 128])
            #expect(archive.metadata["video"] == result.path && archive.metadata["steps"] == "4")
            // The file's mask and map give the JSON's figure: the same count, recomputed.
            let values = attribution.values, planeSize = 128 * 128
            var plane = [Float](repeating: 0, count: planeSize)
            for i in 0..<planeSize {
                let red: Float = values[i], green: Float = values[planeSize + i], blue: Float = values[2 * planeSize + i]
                plane[i] = red + green + blue
            }
            let again = Faithfulness.maskAgreement(map: plane, mask: mask.values, width: 128, height: 128)
            #expect(abs(again.enrichment - result.enrichment) < 1e-9 && abs(again.maskAreaShare - result.maskAreaShare) < 1e-12)
        }
    }
}

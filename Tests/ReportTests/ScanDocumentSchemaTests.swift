import Detector
import Explain
import Faces
import Foundation
import NN
import Testing
@testable import Report

/// The repository root, found from this file's path (tests run from any working directory).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

extension Tag {
    @Tag static var slow: Self
}

@Suite("Explanation document against docs/explanation.schema.json")
struct ScanDocumentSchemaTests {
    /// A small random detector: the document's shape does not depend on the weights' quality.
    static func tinyModel() -> DetectorModel {
        let spatial = SpatialNetwork(configuration: .init(inputSize: 64, stemChannels: 8, stageChannels: [8, 16], blocksPerStage: 1), seed: 5)
        let temporal = TemporalHead(configuration: .init(embeddingDimension: 16, hiddenChannels: 8), seed: 6)
        return DetectorModel(spatial: spatial, temporal: temporal, format: InputFormat(size: 64))
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glassbox-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("a real scan with explanation and shortcut check validates", .tags(.slow))
    func realScanValidates() throws {
        let video = repositoryRoot.appendingPathComponent("Samples/real/single_face.mp4").path
        try #require(FileManager.default.fileExists(atPath: video), "Samples/real/single_face.mp4 is committed")
        let model = Self.tinyModel()
        let scanner = VideoScanner(model: model, detector: try FaceDetector.standard())
        let scan = try scanner.scan(path: video, options: ScanOptions(sampling: .init(sampling: .evenlySpaced(6)), keepsCodecWindows: true))
        #expect(!scan.tracks.isEmpty, "the sample clip shows a face")

        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var explainer = ScanExplainer(model: model, sae: SparseAutoencoder(inputSize: 16, latentCount: 128, k: 8, seed: 1), dictionary: nil)
        explainer.settings.steps = 8
        explainer.settings.framesPerTrack = 2
        let stem = folder.appendingPathComponent("scan").path
        let (section, maps) = try explainer.explain(scan: scan, outputStem: stem, documentDirectory: folder.path)
        var document = ScanDocument(scan: scan, path: video, inputSHA256: try SHA256.hex(ofFile: video), model: model,
                                    weightsPath: "in-memory", weightsSHA256: "none", toolVersion: "test")
        document.explanation = section
        document.robustness = try ShortcutCheck(model: model).check(scan: scan, maps: maps, codecFeatureShare: nil)
        #expect(document.robustness != nil)
        #expect(!section.attributions.isEmpty)
        #expect(section.features.count > 0)

        // Files the document points at exist, and the raw maps load by the names given.
        for record in section.attributions {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(record.heatmap).path))
            let archive = try TensorArchive.read(from: folder.appendingPathComponent(record.rawMaps))
            #expect(archive.tensors[record.rawMapTensor]?.shape == [64, 64])
        }

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(document)
        let schema = try SchemaValidator(schemaData: Data(contentsOf: repositoryRoot.appendingPathComponent("docs/explanation.schema.json")))
        let errors = try schema.validate(data)
        #expect(errors.isEmpty, "schema violations: \(errors.prefix(10))")
    }

    @Test("the validator rejects a document with a wrong type, a bad enum and a missing member")
    func validatorCatchesViolations() throws {
        let schema = try SchemaValidator(schemaData: Data(contentsOf: repositoryRoot.appendingPathComponent("docs/explanation.schema.json")))
        let broken = #"{"schemaVersion": "1.0.0", "tool": {"name": "glassbox", "version": 3}, "verdict": {"label": "maybe", "summary": "x"}}"#
        let errors = try schema.validate(Data(broken.utf8))
        #expect(errors.contains { $0.contains("$.tool.version") })
        #expect(errors.contains { $0.contains("$.verdict.label") })
        #expect(errors.contains { $0.contains("missing required 'input'") })
    }
}

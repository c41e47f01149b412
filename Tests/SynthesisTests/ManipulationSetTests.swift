import Foundation
import Imaging
import Randomness
import Testing
@testable import Synthesis

@Suite struct ManipulationSetTests {
    @Test func manifestRoundTrips() throws {
        let root = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var rng = SplitMix64(seed: 3)
        let parameters = ManipulationParameters.random(for: .crossSwap, using: &rng)
        let set = ManipulationSet(root: root, entries: [
            ManipulationEntry(path: "real/a.mp4", label: "real", source: "/data/a.mp4",
                              codec: CodecSetting(name: "h264", quality: 23), identity: "a", frames: 30, fps: 15),
            ManipulationEntry(path: "fake/crossSwap/a.mp4", label: "fake", method: "crossSwap", source: "/data/a.mp4",
                              parameters: parameters.json, mask: "masks/crossSwap/a.mkv",
                              codec: CodecSetting(name: "h264", quality: 23), identity: "a", donor: "/data/b.mp4",
                              frames: 30, fps: 15),
        ])
        try set.writeManifest()
        let loaded = try ManipulationSet.load(path: root)
        #expect(loaded == set)
        #expect(loaded.entries[1].manipulationMethod == .crossSwap)
        #expect(try ManipulationParameters(method: .crossSwap, json: #require(loaded.entries[1].parameters)) == parameters)
        // The manifest file itself is accepted too, and no temporary file is left behind.
        #expect(try ManipulationSet.load(path: root + "/manifest.json").entries == set.entries)
        #expect(!FileManager.default.fileExists(atPath: root + "/manifest.json.partial"))
    }

    @Test func readsAMinimalHandWrittenManifest() throws {
        let root = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let json = #"[{"path": "r.mp4", "label": "real"}, {"path": "f.mp4", "label": "fake", "method": "Deepfakes", "mask": "m.mp4", "parameters": {"k": [1, "x", true, null]}}]"#
        try Data(json.utf8).write(to: URL(fileURLWithPath: root + "/manifest.json"))
        let set = try ManipulationSet.load(path: root)
        #expect(set.entries.count == 2)
        #expect(set.entries[1].method == "Deepfakes" && set.entries[1].manipulationMethod == nil)
        #expect(set.entries[1].parameters?["k"] == .array([.number(1), .string("x"), .bool(true), .null]))
        #expect(set.absolutePath(set.entries[0].path) == root + "/r.mp4")
    }

    @Test func readsThePlainLayout() throws {
        let root = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = ["real/000.mp4", "real/person/clip.MOV", "real/notes.txt", "real/.hidden.mp4",
                     "fake/Deepfakes/000_003.mp4", "fake/selfBlend/x.png", "masks/Deepfakes/000_003.png"]
        for file in files {
            let path = root + "/" + file
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data([0]).write(to: URL(fileURLWithPath: path))
        }
        let set = try ManipulationSet.load(path: root)
        #expect(set.entries.map(\.path) == ["real/000.mp4", "real/person/clip.MOV", "fake/Deepfakes/000_003.mp4", "fake/selfBlend/x.png"])
        #expect(set.entries.map(\.label) == ["real", "real", "fake", "fake"])
        #expect(set.entries[2].method == "Deepfakes" && set.entries[2].mask == "masks/Deepfakes/000_003.png")
        #expect(set.entries[3].manipulationMethod == .selfBlend && set.entries[3].mask == nil)
        #expect(set.entries.map(\.identity) == ["000", "person", "000", "x"])
    }

    @Test func rejectsWhatIsNotASet() throws {
        let root = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(throws: ManipulationSetError.noSet(path: root)) { try ManipulationSet.load(path: root) }
        #expect(throws: ManipulationSetError.notAFolder(path: root + "/missing")) { try ManipulationSet.load(path: root + "/missing") }
        try Data("{\"not\": \"an array\"}".utf8).write(to: URL(fileURLWithPath: root + "/manifest.json"))
        #expect(throws: ManipulationSetError.self) { try ManipulationSet.load(path: root) }
        try Data(#"[{"path": "a.mp4", "label": "maybe"}]"#.utf8).write(to: URL(fileURLWithPath: root + "/manifest.json"))
        #expect(throws: ManipulationSetError.badEntry(path: root + "/manifest.json", index: 0,
                                                      reason: "label must be \"real\" or \"fake\", got \"maybe\"")) {
            try ManipulationSet.load(path: root)
        }
    }
}

import Foundation
import Imaging
import Testing
import VideoIO
@testable import GlassboxCLI

/// `glassbox train --set`: help, bad calls and sets that cannot be trained on (all fail before training).
@Suite("glassbox train --set")
struct TrainSupervisedCLITests {
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "glassbox-train-set-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A short textured clip with no face in it.
    func writeFacelessClip(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let writer = try VideoWriter(path: path, width: 64, height: 48, fps: 10, codec: .h264(crf: 23))
        for frame in 0..<6 { try writer.append(RGBImage(width: 64, height: 48, fill: (UInt8(frame * 30), 90, 160))) }
        try writer.finish()
    }

    @Test func helpTeachesSupervisedModeWithAnExample() {
        #expect(TrainCommand.help.contains("--set DIR"))
        #expect(TrainCommand.help.contains("glassbox train --set "))
        #expect(TrainCommand.help.contains("--validation-fraction"))
        #expect(TrainCommand.help.contains("--keep-last"))
        #expect(GlassboxCommand.run(["train", "--help"]) == .ok)
    }

    @Test func badCallsAndUnusableSetsGetTheirExitCodes() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let run = folder + "/run"
        #expect(GlassboxCommand.run(["train", "--set", folder + "/missing", "--run", run]) == .noInput)
        #expect(GlassboxCommand.run(["train", "--set", folder, "--run", run]) == .dataError, "neither manifest nor real/ fake/")
        #expect(GlassboxCommand.run(["train", "--validation-set", folder, "--run", run]) == .usage, "--validation-set needs --set")
        #expect(GlassboxCommand.run(["train", "--set", folder, "--boundary-weight", "1", "--run", run]) == .usage)
        #expect(GlassboxCommand.run(["train", "--set", folder, "--data", folder, "--run", run]) == .usage)

        // Reals only: refused before any decoding.
        let realsOnly = folder + "/reals-only"
        try writeFacelessClip(realsOnly + "/real/a.mp4")
        #expect(GlassboxCommand.run(["train", "--set", realsOnly, "--run", run]) == .dataError)
        // Both labels, but no face anywhere: every video is skipped, then a clear data error.
        let faceless = folder + "/faceless"
        for path in ["real/a.mp4", "real/b.mp4", "fake/m/a_b.mp4", "fake/m/b_a.mp4"] { try writeFacelessClip(faceless + "/" + path) }
        #expect(GlassboxCommand.run(["train", "--set", faceless, "--run", run, "--frames-per-video", "3"]) == .dataError)
        #expect(!FileManager.default.fileExists(atPath: run + "/checkpoint.safetensors"))
    }
}

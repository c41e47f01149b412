import Foundation
import Imaging
import Randomness
import Testing
@testable import VideoIO

@Suite("Bad input fails cleanly with a one-line VideoError")
struct BadInputTests {
    @Test func missingPath() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("nope.mp4")
        let error = expectVideoError(.missing) { _ = try VideoReader(path: path) }
        #expect(error?.description == "\(path): no such file")
        expectVideoError(.missing) { _ = try VideoReader.probe(path: dir.file("no/such/dir.mp4")) }
    }

    @Test func directory() throws {
        let dir = try TemporaryDirectory()
        let error = expectVideoError(.badInput) { _ = try VideoReader(path: dir.path) }
        #expect(error?.reason.contains("directory") == true)
    }

    @Test func emptyFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("empty.mp4")
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        let error = expectVideoError(.badInput) { _ = try VideoReader(path: path) }
        #expect(error?.reason.contains("empty") == true)
    }

    @Test func randomBytesNamedMP4() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("random.mp4")
        var generator = SplitMix64(seed: 7)
        let bytes = (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = expectVideoError(.badInput) { _ = try VideoReader(path: path) }
        #expect(error?.operation == "avformat_open_input")
        #expect(error?.code != nil)
        #expect(error?.description.hasPrefix(path + ": ") == true)
    }

    @Test func textFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("notes.mp4")
        try "This is not a video.\nJust some words.\n".write(toFile: path, atomically: true, encoding: .utf8)
        expectVideoError(.badInput) { _ = try VideoReader(path: path) }
        let txt = dir.file("notes.txt")
        try String(repeating: "hello world ", count: 500).write(toFile: txt, atomically: true, encoding: .utf8)
        expectVideoError(.badInput) { _ = try VideoReader(path: txt) }
    }

    @Test("truncated files: header cut off fails at open; tail cut off decodes what is there")
    func truncated() throws {
        let dir = try TemporaryDirectory()
        let good = dir.file("good.mp4")
        try writeNumberedVideo(good, count: 25, codec: .h264(crf: 23))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        for fraction in [0.02, 0.3, 0.6] {
            let path = dir.file("cut\(Int(fraction * 100)).mp4")
            try bytes.prefix(Int(Double(bytes.count) * fraction)).write(to: URL(fileURLWithPath: path))
            let error = expectVideoError(.badInput) { _ = try VideoReader(path: path) }  // moov is at the end
            #expect(error?.code != nil, "\(String(describing: error))")
        }
        // Cut inside the index: FFmpeg may salvage part of it; either way, frames or a clean error.
        let lateCut = dir.file("cut95.mp4")
        try bytes.prefix(bytes.count * 95 / 100).write(to: URL(fileURLWithPath: lateCut))
        do {
            _ = try VideoReader(path: lateCut).frames(.init())
        } catch let error as VideoError {
            #expect(error.kind == .badInput)
        }
        let avi = dir.file("good.avi")
        try writeNumberedVideo(avi, count: 25, codec: .mjpeg(quality: 4))
        let aviBytes = try Data(contentsOf: URL(fileURLWithPath: avi))
        let cutAVI = dir.file("cut.avi")
        try aviBytes.prefix(aviBytes.count * 6 / 10).write(to: URL(fileURLWithPath: cutAVI))
        do {
            let frames = try VideoReader(path: cutAVI).frames(.init())
            #expect(frames.count > 0 && frames.count < 25)
        } catch let error as VideoError {
            #expect(error.kind == .badInput)
        }
    }

    @Test func audioOnly() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("tone.m4a")
        guard ffmpegAvailable else { return }
        try runFFmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=0.5", "-c:a", "aac", "-y", path])
        let error = expectVideoError(.badInput) { _ = try VideoReader(path: path) }
        #expect(error?.reason.contains("no video stream") == true)
        #expect(error?.reason.contains("audio") == true)
    }

    @Test("absurd dimensions in a header are refused before any allocation")
    func absurdDimensions() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("huge.y4m")
        var data = Data("YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n".utf8)
        data.append(Data(repeating: 128, count: 4096))
        try data.write(to: URL(fileURLWithPath: path))
        let error = expectVideoError(.badInput) { _ = try VideoReader(path: path) }
        #expect(error.map { $0.reason.contains("absurd") || $0.code != nil } == true, "\(String(describing: error))")
        // A plausible y4m header with the same layout opens fine (the test exercises the limit).
        let small = dir.file("small.y4m")
        var smallData = Data("YUV4MPEG2 W8 H8 F25:1 Ip A1:1 C420jpeg\nFRAME\n".utf8)
        smallData.append(Data(repeating: 128, count: 96))
        try smallData.write(to: URL(fileURLWithPath: small))
        let frame = try #require(try VideoReader(path: small).nextFrame())
        #expect(frame.image.width == 8)
        #expect(!VideoLimits.accepts(width: 100_000, height: 100_000))
        #expect(!VideoLimits.accepts(width: 0, height: 10))
        #expect(VideoLimits.accepts(width: 7680, height: 4320))
    }

    @Test("loadImage refuses non-images; the writer refuses absurd sizes and unknown containers")
    func otherEntryPoints() throws {
        let dir = try TemporaryDirectory()
        let text = dir.file("fake.png")
        try "not a png".write(toFile: text, atomically: true, encoding: .utf8)
        expectVideoError(.badInput) { _ = try loadImage(path: text) }
        expectVideoError(.missing) { _ = try loadImage(path: dir.file("none.jpg")) }
        expectVideoError(.badInput) {
            _ = try VideoWriter(path: dir.file("huge.mp4"), width: 100_000, height: 100_000, fps: 25, codec: .png)
        }
        expectVideoError(.badInput) {
            _ = try VideoWriter(path: dir.file("clip.unknownext"), width: 16, height: 16, fps: 25, codec: .png)
        }
        expectVideoError(.io) {
            _ = try VideoWriter(path: dir.file("missing/dir/clip.mkv"), width: 16, height: 16, fps: 25, codec: .png)
        }
    }
}

import Foundation
import Imaging
import Testing
@testable import VideoIO

@Suite("VideoWriter, round trips, PNG and JPEG")
struct EncodingTests {
    @Test("the writer is whole or nothing: a dropped writer leaves no file")
    func wholeOrNothing() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("clip.mp4")
        do {
            let writer = try VideoWriter(path: path, width: 64, height: 48, fps: 25, codec: .h264(crf: 23))
            try writer.append(numberedFrame(0))
            #expect(FileManager.default.fileExists(atPath: path + ".partial"))
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        #expect(!FileManager.default.fileExists(atPath: path))

        let writer = try VideoWriter(path: path, width: 64, height: 48, fps: 25, codec: .h264(crf: 23))
        for number in 0..<5 { try writer.append(numberedFrame(number)) }
        try writer.finish()
        #expect(writer.frameCount == 5)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        #expect(try VideoReader.probe(path: path).frameCount == 5)
    }

    @Test("a codec the container cannot hold fails at open and leaves nothing behind")
    func codecContainerMismatch() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("clip.webm")
        expectVideoError(.badInput) {
            _ = try VideoWriter(path: path, width: 32, height: 32, fps: 25, codec: .mpeg4(quality: 4))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("H.264 pads odd sizes in files; roundTrip crops back")
    func oddSizes() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("odd.mp4")
        try writeNumberedVideo(path, count: 3, codec: .h264(crf: 20), width: 65, height: 39)
        let info = try VideoReader.probe(path: path)
        #expect(info.width == 66 && info.height == 40)
        let frames = (0..<3).map { numberedFrame($0, width: 65, height: 39) }
        let back = try roundTrip(frames, codec: .h264(crf: 20))
        #expect(back.count == 3)
        #expect(back.allSatisfy { $0.width == 65 && $0.height == 39 })
        // MJPEG and MPEG-4 take odd sizes as they are.
        let mjpeg = dir.file("odd.avi")
        try writeNumberedVideo(mjpeg, count: 2, codec: .mjpeg(quality: 3), width: 65, height: 39)
        #expect(try VideoReader.probe(path: mjpeg).width == 65)
    }

    @Test("round trips return every frame, and lossy error grows as quality drops",
          arguments: [VideoCodec.h264(crf: 15), .h264(crf: 45), .mjpeg(quality: 2), .mjpeg(quality: 25),
                      .mpeg4(quality: 2), .mpeg4(quality: 25)])
    func roundTripCounts(codec: VideoCodec) throws {
        let frames = (0..<6).map { texturedImage(seed: $0) }
        let back = try roundTrip(frames, codec: codec)
        #expect(back.count == frames.count)
        #expect(back.allSatisfy { $0.width == 96 && $0.height == 64 })
        let error = zip(frames, back).map { meanAbsoluteError($0, $1) }.reduce(0, +) / 6
        #expect(error < 25, "\(codec): MAE \(error)")
    }

    @Test func qualityOrdering() throws {
        let frames = (0..<4).map { texturedImage(seed: $0) }
        func mae(_ codec: VideoCodec) throws -> Double {
            let back = try roundTrip(frames, codec: codec)
            return zip(frames, back).map { meanAbsoluteError($0, $1) }.reduce(0, +)
        }
        #expect(try mae(.h264(crf: 10)) < mae(.h264(crf: 45)))
        #expect(try mae(.mjpeg(quality: 2)) < mae(.mjpeg(quality: 25)))
        #expect(try mae(.mpeg4(quality: 2)) < mae(.mpeg4(quality: 25)))
        #expect(try mae(.png) == 0)
    }

    @Test("round trips are deterministic")
    func deterministic() throws {
        let frames = (0..<5).map { texturedImage(seed: $0 * 3) }
        let same = try roundTrip(frames, codec: .h264(crf: 30)) == roundTrip(frames, codec: .h264(crf: 30))
        #expect(same)
        #expect(try roundTrip([], codec: .png) == [])
    }

    @Test("jpegRoundTrip: libjpeg tables, error falls as quality rises")
    func jpegQuality() throws {
        #expect(libjpegTables(quality: 50).luma.prefix(8) == [16, 11, 10, 16, 24, 40, 51, 61])
        #expect(libjpegTables(quality: 100).luma.allSatisfy { $0 == 1 })
        #expect(libjpegTables(quality: 1).chroma.allSatisfy { $0 == 255 })
        #expect(libjpegTables(quality: 75).luma[0] == 8)
        let image = texturedImage(width: 80, height: 56)
        let errors = try [5, 30, 60, 90].map { meanAbsoluteError(image, try jpegRoundTrip(image, quality: $0)) }
        #expect(errors == errors.sorted(by: >), "\(errors)")
        let odd = try jpegRoundTrip(texturedImage(width: 33, height: 17), quality: 80)
        #expect(odd.width == 33 && odd.height == 17)
    }

    @Test("encodePNG writes a real PNG that loadImage reads back exactly")
    func pngRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let image = texturedImage(width: 37, height: 23)
        let bytes = try encodePNG(image)
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let path = dir.file("picture.png")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let loaded = try loadImage(path: path)
        #expect(loaded.width == 37 && loaded.height == 23)
        #expect(meanAbsoluteError(loaded, image) == 0)
    }

    @Test("loadImage reads a JPEG", .enabled(if: ffmpegAvailable))
    func loadJPEG() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("still.jpg")
        try runFFmpeg(["-f", "lavfi", "-i", "color=c=red:size=40x30", "-frames:v", "1", "-q:v", "2", "-y", path])
        let image = try loadImage(path: path)
        #expect(image.width == 40 && image.height == 30)
        let (r, g, b) = image[20, 15]
        #expect(r > 240 && g < 15 && b < 15)
    }

    @Test("reencode keeps the sampled frames and sets the rate")
    func reencodeClip() throws {
        let dir = try TemporaryDirectory()
        let source = dir.file("source.avi")
        try writeNumberedVideo(source, count: 40, fps: 20, codec: .mjpeg(quality: 3))
        let output = dir.file("out.mp4")
        try reencode(input: source, output: output, codec: .h264(crf: 18), sampling: .init(sampling: .everyNth(4)))
        let info = try VideoReader.probe(path: output)
        #expect(info.frameCount == 10)
        #expect(abs(info.fps - 5) < 0.01)
        let frames = try VideoReader(path: output).frames(.init())
        #expect(frames.map { frameNumber(of: $0.image) } == Array(stride(from: 0, to: 40, by: 4)))
        expectVideoError(.badInput) {
            try reencode(input: source, output: dir.file("none.mp4"), codec: .png, sampling: .init(startSeconds: 99))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("none.mp4")))
    }
}

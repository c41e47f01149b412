import Foundation
import Imaging
import Testing
@testable import VideoIO

@Suite("VideoReader: formats, metadata, streaming")
struct VideoReaderTests {
    @Test("reads back what VideoWriter wrote, frame by frame, with indices and times")
    func streamsWrittenFrames() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("clip.avi")
        let written = try writeNumberedVideo(path, count: 20, fps: 10)
        let reader = try VideoReader(path: path)
        #expect(reader.info.codec == "mjpeg")
        #expect(reader.info.container == "avi")
        #expect(reader.info.width == 64 && reader.info.height == 48)
        #expect(abs(reader.info.fps - 10) < 1e-9)
        #expect(abs(reader.info.durationSeconds - 2) < 0.01)
        #expect(reader.info.frameCount == 20)
        #expect(!reader.info.frameCountIsEstimated)
        var count = 0
        while let frame = try reader.nextFrame() {
            #expect(frame.index == count)
            #expect(abs(frame.timeSeconds - Double(count) / 10) < 1e-6)
            #expect(frameNumber(of: frame.image) == count)
            #expect(meanAbsoluteError(frame.image, written[count]) < 4)
            count += 1
        }
        #expect(count == 20)
        #expect(try reader.nextFrame() == nil)  // end of stream stays a value
        #expect(reader.decodeErrorCount == 0)
    }

    @Test("H.264 in MP4 and Matroska written by VideoWriter")
    func h264Containers() throws {
        let dir = try TemporaryDirectory()
        for name in ["clip.mp4", "clip.mkv", "clip.mov"] {
            let path = dir.file(name)
            try writeNumberedVideo(path, count: 12, codec: .h264(crf: 18))
            let info = try VideoReader.probe(path: path)
            #expect(info.codec == "h264")
            #expect(info.frameCount == 12, "\(name)")
            #expect(!info.frameCountIsEstimated)
            let frames = try VideoReader(path: path).frames(.init())
            #expect(frames.map { frameNumber(of: $0.image) } == Array(0..<12), "\(name)")
        }
    }

    @Test("opens HEVC/MKV, VP9/WebM, MPEG-4/AVI, MJPEG/AVI, H.264/MOV and H.264/MP4 made by the ffmpeg tool",
          .enabled(if: ffmpegAvailable))
    func ffmpegMadeFormats() throws {
        let dir = try TemporaryDirectory()
        var cases: [(file: String, codec: String, container: String, arguments: [String])] = [
            ("h264.mp4", "h264", "mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
            ("h264.mov", "h264", "mov", ["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
            ("mpeg4.avi", "mpeg4", "avi", ["-c:v", "mpeg4", "-q:v", "4"]),
            ("mjpeg.avi", "mjpeg", "avi", ["-c:v", "mjpeg", "-q:v", "4", "-pix_fmt", "yuvj420p"]),
        ]
        if ffmpegHasEncoder("libx265") {
            cases.append(("hevc.mkv", "hevc", "matroska", ["-c:v", "libx265", "-x265-params", "log-level=none",
                                                          "-pix_fmt", "yuv420p"]))
        }
        if ffmpegHasEncoder("libvpx-vp9") {
            cases.append(("vp9.webm", "vp9", "webm", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"]))
        }
        for item in cases {
            let path = dir.file(item.file)
            try runFFmpeg(["-f", "lavfi", "-i", "testsrc=size=96x64:rate=10", "-frames:v", "15"] + item.arguments
                          + ["-y", path])
            let info = try VideoReader.probe(path: path)
            #expect(info.codec == item.codec, "\(item.file)")
            #expect(info.container.contains(item.container), "\(item.file): \(info.container)")
            #expect(info.width == 96 && info.height == 64, "\(item.file)")
            #expect(abs(info.fps - 10) < 0.01, "\(item.file)")
            #expect(info.frameCount == 15, "\(item.file)")
            #expect(abs(info.durationSeconds - 1.5) < 0.11, "\(item.file): \(info.durationSeconds)")
            let reader = try VideoReader(path: path)
            var count = 0
            while let frame = try reader.nextFrame() {
                #expect(frame.image.width == 96 && frame.image.height == 64)
                count += 1
            }
            #expect(count == 15, "\(item.file)")
        }
    }

    @Test("rotation comes from the display matrix; autorotate matches the ffmpeg tool's autorotate",
          .enabled(if: ffmpegAvailable))
    func rotation() throws {
        let dir = try TemporaryDirectory()
        let plain = dir.file("plain.mp4")
        let rotated = dir.file("rotated.mp4")
        try runFFmpeg(["-f", "lavfi", "-i", "testsrc=size=64x32:rate=10", "-frames:v", "3", "-c:v", "libx264",
                       "-pix_fmt", "yuv420p", "-y", plain])
        try runFFmpeg(["-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", "-y", rotated])
        // The ffmpeg tool's own upright rendering of the first frame is the reference.
        let reference = dir.file("upright.rgb")
        try runFFmpeg(["-i", rotated, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", reference])
        let referenceBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: reference)))
        #expect(try VideoReader.probe(path: plain).rotationDegrees == 0)
        let info = try VideoReader.probe(path: rotated)
        // FFmpeg 5.1's mov muxer stores "rotate=90" as a 90-degree counter-clockwise display matrix,
        // which its own autorotate undoes with a counter-clockwise turn: 270 degrees clockwise.
        #expect(info.rotationDegrees == 270)
        #expect(info.width == 64 && info.height == 32)  // coded size
        let coded = try #require(try VideoReader(path: rotated).nextFrame())
        let upright = try #require(try VideoReader(path: rotated, autorotate: true).nextFrame())
        #expect(coded.image.width == 64 && coded.image.height == 32)
        #expect(upright.image.width == 32 && upright.image.height == 64)
        try #require(referenceBytes.count == 32 * 64 * 3)
        let difference = meanAbsoluteError(upright.image, RGBImage(width: 32, height: 64, pixels: referenceBytes))
        #expect(difference < 2, "mean difference from ffmpeg's autorotate: \(difference)")
        let sameAsTurned = upright.image == coded.image.rotatedClockwise(270)
        #expect(sameAsTurned)
    }

    @Test("every pixel survives write + read at awkward sizes (libswscale's SIMD tails and edges)",
          arguments: [(17, 20), (33, 21), (65, 9), (100, 20), (642, 20)])
    func edgePixels(width: Int, height: Int) throws {
        let dir = try TemporaryDirectory()
        for codec in [VideoCodec.mpeg4(quality: 2), .mjpeg(quality: 2)] {
            let path = dir.file("flat-\(codec.encoderName).avi")
            let writer = try VideoWriter(path: path, width: width, height: height, fps: 25, codec: codec)
            try writer.append(RGBImage(width: width, height: height, fill: (200, 60, 30)))
            try writer.finish()
            let image = try #require(try VideoReader(path: path).nextFrame()).image
            var worst = 0
            for y in 0..<image.height {
                for x in 0..<image.width {
                    let (r, g, b) = image[x, y]
                    worst = max(worst, abs(Int(r) - 200), abs(Int(g) - 60), abs(Int(b) - 30))
                }
            }
            #expect(worst <= 4, "\(codec) \(width)x\(height): a pixel is off by \(worst)")
        }
    }

    @Test("decoding an odd-width file matches the ffmpeg tool's RGB, last column included",
          .enabled(if: ffmpegAvailable), arguments: [17, 65, 642])
    func oddWidthMatchesFFmpeg(width: Int) throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("odd.avi")
        let reference = dir.file("odd.rgb")
        try runFFmpeg(["-f", "lavfi", "-i", "testsrc=size=\(width)x24:rate=5", "-frames:v", "1", "-c:v", "mpeg4",
                       "-q:v", "2", "-y", path])
        try runFFmpeg(["-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", reference])
        let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: reference)))
        let image = try #require(try VideoReader(path: path).nextFrame()).image
        try #require(expected.count == image.pixels.count)
        var worstLastColumn = 0, worstAnywhere = 0
        for y in 0..<image.height {
            for x in 0..<image.width {
                for c in 0..<3 {
                    let index = (y * image.width + x) * 3 + c
                    let difference = abs(Int(image.pixels[index]) - Int(expected[index]))
                    worstAnywhere = max(worstAnywhere, difference)
                    if x == image.width - 1 { worstLastColumn = max(worstLastColumn, difference) }
                }
            }
        }
        #expect(worstLastColumn <= 2 && worstAnywhere <= 2, "last column \(worstLastColumn), anywhere \(worstAnywhere)")
    }

    @Test("clockwise rotation moves the top-left pixel to the top-right")
    func rotateHelper() {
        var image = RGBImage(width: 3, height: 2)
        image[0, 0] = (255, 0, 0)
        let turned = image.rotatedClockwise(90)
        #expect(turned.width == 2 && turned.height == 3)
        #expect(turned[1, 0] == (255, 0, 0))
        #expect(image.rotatedClockwise(180)[2, 1] == (255, 0, 0))
        #expect(image.rotatedClockwise(270)[0, 2] == (255, 0, 0))
        #expect(image.rotatedClockwise(360) == image)
    }

    @Test("Matroska has no stored frame count: probe counts packets, info estimates")
    func countsWhenContainerLacksFrameCount() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("clip.mkv")
        try writeNumberedVideo(path, count: 17, fps: 25, codec: .mpeg4(quality: 4))
        let opened = try VideoReader(path: path).info
        let probed = try VideoReader.probe(path: path)
        #expect(probed.frameCount == 17)
        #expect(!probed.frameCountIsEstimated)
        #expect(opened.frameCountIsEstimated)
        #expect(abs(opened.frameCount - 17) <= 1)
    }

    @Test("FFmpeg's log is captured, not printed")
    func logCapture() throws {
        let dir = try TemporaryDirectory()
        let good = dir.file("good.mp4")
        try writeNumberedVideo(good, count: 10, codec: .h264(crf: 23))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let truncated = dir.file("truncated.mp4")
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        FFmpegLog.clear()
        let error = expectVideoError(.badInput) { _ = try VideoReader(path: truncated) }
        #expect(FFmpegLog.recentLines().contains { $0.contains("moov atom not found") })
        #expect(error?.log.contains { $0.contains("moov atom not found") } == true)
    }
}

@Suite("Frame sampling")
struct SamplingTests {
    /// 50 numbered frames at 25 fps (2 s), intra-only so every index is checkable.
    static func clip(_ dir: TemporaryDirectory, codec: VideoCodec = .mjpeg(quality: 3), name: String = "clip.avi",
                     count: Int = 50, fps: Double = 25) throws -> String {
        let path = dir.file(name)
        try writeNumberedVideo(path, count: count, fps: fps, codec: codec)
        return path
    }

    func indices(_ path: String, _ options: SamplingOptions) throws -> [Int] {
        let frames = try VideoReader(path: path).frames(options)
        for frame in frames {
            #expect(frameNumber(of: frame.image) == frame.index, "index \(frame.index) shows another frame")
        }
        return frames.map(\.index)
    }

    @Test func every() throws {
        let dir = try TemporaryDirectory()
        #expect(try indices(Self.clip(dir), .init()) == Array(0..<50))
    }

    @Test func everyNth() throws {
        let dir = try TemporaryDirectory()
        #expect(try indices(Self.clip(dir), .init(sampling: .everyNth(7))) == [0, 7, 14, 21, 28, 35, 42, 49])
    }

    @Test func evenlySpaced() throws {
        let dir = try TemporaryDirectory()
        let path = try Self.clip(dir)
        #expect(try indices(path, .init(sampling: .evenlySpaced(5))) == [0, 10, 20, 30, 40])
        #expect(try indices(path, .init(sampling: .evenlySpaced(1))) == [0])
        #expect(try indices(path, .init(sampling: .evenlySpaced(500))).count == 50)
        #expect(try indices(path, .init(sampling: .evenlySpaced(4), startSeconds: 1, endSeconds: 1.8)) == [25, 30, 35, 40])
    }

    @Test func targetFPS() throws {
        let dir = try TemporaryDirectory()
        let path = try Self.clip(dir)
        #expect(try indices(path, .init(sampling: .targetFPS(5))) == Array(stride(from: 0, to: 50, by: 5)))
        #expect(try indices(path, .init(sampling: .targetFPS(100))) == Array(0..<50))  // never above the source
        #expect(try indices(path, .init(sampling: .targetFPS(2))) == [0, 13, 25, 38])
    }

    @Test func timeRangeAndCap() throws {
        let dir = try TemporaryDirectory()
        let path = try Self.clip(dir)
        #expect(try indices(path, .init(startSeconds: 1, endSeconds: 1.4)) == Array(25..<35))
        #expect(try indices(path, .init(sampling: .everyNth(2), startSeconds: 0.4, maxFrames: 3)) == [10, 12, 14])
        #expect(try indices(path, .init(maxFrames: 0)) == [])
        #expect(try indices(path, .init(startSeconds: 5)) == [])
    }

    @Test("a start far ahead seeks; indices and pictures still match", arguments: ["clip.avi", "clip.mp4"])
    func seekingStart(name: String) throws {
        let dir = try TemporaryDirectory()
        let codec: VideoCodec = name.hasSuffix(".mp4") ? .h264(crf: 18) : .mjpeg(quality: 3)
        let path = try Self.clip(dir, codec: codec, name: name, count: 60, fps: 10)
        #expect(try indices(path, .init(sampling: .everyNth(5), startSeconds: 3.0, maxFrames: 4)) == [30, 35, 40, 45])
        let frames = try VideoReader(path: path).frames(.init(startSeconds: 4.5, endSeconds: 4.8))
        #expect(frames.map(\.index) == [45, 46, 47])
        #expect(frames.map { abs($0.timeSeconds - Double($0.index) / 10) < 1e-6 } == [true, true, true])
    }

    @Test("forEachFrame stops when the body returns false; streaming continues after")
    func stopEarly() throws {
        let dir = try TemporaryDirectory()
        let reader = try VideoReader(path: Self.clip(dir))
        var seen: [Int] = []
        try reader.forEachFrame(.init()) { frame in
            seen.append(frame.index)
            return seen.count < 3
        }
        #expect(seen == [0, 1, 2])
        #expect(try reader.nextFrame()?.index == 3)
    }

    @Test("the selector thins by time and never emits twice")
    func selectorUnit() throws {
        let info = VideoInfo(path: "x", container: "c", codec: "k", width: 1, height: 1, fps: 30, durationSeconds: 1,
                             frameCount: 30, frameCountIsEstimated: false, bitRate: nil, rotationDegrees: 0)
        var selector = FrameSelector(options: .init(sampling: .targetFPS(10)), info: info, frameCounter: { 30 })
        var kept: [Int] = []
        for index in 0..<30 where try selector.decide(time: Double(index) / 30) == .keep { kept.append(index) }
        #expect(kept == Array(stride(from: 0, to: 30, by: 3)))
    }
}

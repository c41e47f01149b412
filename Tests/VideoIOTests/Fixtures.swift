import Foundation
import Imaging
import Randomness
import Testing
@testable import VideoIO

extension Tag {
    /// Tests that take more than a second or two.
    @Tag static var slow: Self
    /// Randomised robustness tests (seeded).
    @Tag static var fuzz: Self
}

/// A fresh temporary directory per test, removed when the value is dropped.
final class TemporaryDirectory {
    let path: String

    init(_ label: String = #function) throws {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "videoio-\(safe)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// A frame whose content encodes its number: a uniform grey `level(n)` with a small colour ramp
/// in the top rows, so decoded frames can be identified even after lossy coding.
func numberedFrame(_ number: Int, width: Int = 64, height: Int = 48) -> RGBImage {
    var image = RGBImage(width: width, height: height, fill: (levelFor(number), levelFor(number), levelFor(number)))
    image.pixels.withUnsafeMutableBufferPointer { pixels in
        for y in 0..<min(4, height) {
            for x in 0..<width {
                let base = (y * width + x) * 3
                pixels[base] = UInt8((x * 255) / max(width - 1, 1))
                pixels[base + 1] = UInt8(truncatingIfNeeded: x + y * 16)
                pixels[base + 2] = 255 - UInt8((x * 255) / max(width - 1, 1))
            }
        }
    }
    return image
}

/// Grey level of frame `number` (steps of 4 so that compression noise cannot confuse neighbours).
func levelFor(_ number: Int) -> UInt8 { UInt8(16 + (number * 4) % 224) }

/// The frame number a decoded numbered frame shows (from the mean of its lower half).
func frameNumber(of image: RGBImage) -> Int {
    var sum = 0.0, count = 0.0
    image.pixels.withUnsafeBufferPointer { pixels in
        for y in (image.height / 2)..<image.height {
            for x in 0..<image.width {
                sum += Double(pixels[(y * image.width + x) * 3 + 1])
                count += 1
            }
        }
    }
    return Int(((sum / count - 16) / 4).rounded())
}

/// Writes `count` numbered frames with VideoWriter.
@discardableResult
func writeNumberedVideo(_ path: String, count: Int, fps: Double = 25, codec: VideoCodec = .mjpeg(quality: 3),
                        width: Int = 64, height: Int = 48) throws -> [RGBImage] {
    let writer = try VideoWriter(path: path, width: width, height: height, fps: fps, codec: codec)
    var frames: [RGBImage] = []
    for number in 0..<count {
        let frame = numberedFrame(number, width: width, height: height)
        try writer.append(frame)
        frames.append(frame)
    }
    try writer.finish()
    return frames
}

/// Mean absolute difference per byte.
func meanAbsoluteError(_ a: RGBImage, _ b: RGBImage) -> Double {
    precondition(a.width == b.width && a.height == b.height, "sizes differ")
    var total = 0
    a.pixels.withUnsafeBufferPointer { pa in
        b.pixels.withUnsafeBufferPointer { pb in
            for index in 0..<pa.count { total += abs(Int(pa[index]) - Int(pb[index])) }
        }
    }
    return Double(total) / Double(a.pixels.count)
}

/// A smooth, textured test picture (gradients and a disc) for codec-quality comparisons.
func texturedImage(width: Int = 96, height: Int = 64, seed: Int = 0) -> RGBImage {
    var image = RGBImage(width: width, height: height)
    for y in 0..<height {
        for x in 0..<width {
            let dx = Double(x - width / 2), dy = Double(y - height / 2)
            let disc = dx * dx + dy * dy < Double(height * height) / 9 ? 80.0 : 0
            let r = 40 + Double(x) * 1.5 + disc
            let g = 30 + Double(y) * 2 + 20 * sin(Double(x + seed) / 3)
            let b = 120 + 60 * cos(Double(x * y + seed) / 50)
            image[x, y] = (UInt8(min(255, r)), UInt8(min(255, max(0, g))), UInt8(min(255, max(0, b))))
        }
    }
    return image
}

/// Whether the ffmpeg command-line tool is on PATH (fixtures for codecs we do not encode).
let ffmpegAvailable: Bool = {
    (try? runFFmpeg(["-version"])) != nil
}()

/// Runs `ffmpeg -nostdin -v error ARGS`; throws when it fails.
func runFFmpeg(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["ffmpeg", "-nostdin", "-v", "error"] + arguments
    process.standardOutput = FileHandle.nullDevice
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if process.terminationStatus != 0 {
        throw FixtureError(description: "ffmpeg \(arguments.joined(separator: " ")): "
                           + String(decoding: message, as: UTF8.self))
    }
}

struct FixtureError: Error, CustomStringConvertible { var description: String }

/// Whether FFmpeg's build has an encoder (libx265, libvpx-vp9, ...).
func ffmpegHasEncoder(_ name: String) -> Bool {
    guard ffmpegAvailable else { return false }
    return (try? runFFmpeg(["-f", "lavfi", "-i", "testsrc=size=64x64:rate=1", "-frames:v", "1", "-c:v", name,
                            "-f", "null", "-"])) != nil
}

/// Expects `body` to throw a VideoError of `kind`; returns it.
@discardableResult
func expectVideoError(_ kind: VideoError.Kind, sourceLocation: SourceLocation = #_sourceLocation,
                      _ body: () throws -> Void) -> VideoError? {
    do {
        try body()
        Issue.record("expected a VideoError (\(kind)), but nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as VideoError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a VideoError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

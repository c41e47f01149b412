import CFFmpeg
import Foundation
import Imaging

/// Loads a still image (JPEG, PNG, BMP, ... anything FFmpeg's image demuxers read) as RGB.
///
/// - Parameter path: the image file.
/// - Returns: its first frame.
/// - Throws: ``VideoError`` as ``VideoReader/init(path:autorotate:)`` does, or `.badInput` when
///   the file holds no picture.
public func loadImage(path: String) throws -> RGBImage {
    let reader = try VideoReader(path: path)
    guard let frame = try reader.nextFrame() else {
        throw VideoError(path: path, operation: "decode", reason: "no picture in the file", kind: .badInput)
    }
    return frame.image
}

/// Encodes one image as a PNG file in memory (FFmpeg's PNG encoder, RGB24, lossless).
///
/// - Parameter image: the picture.
/// - Returns: the bytes of a complete PNG file.
/// - Throws: ``VideoError`` (`.internal`) when FFmpeg lacks the encoder or fails.
public func encodePNG(_ image: RGBImage) throws -> [UInt8] {
    let encoder = try FrameEncoder(codec: .png, width: image.width, height: image.height, fps: 1,
                                   globalHeader: false, threads: 1, path: "<png>")
    var bytes: [UInt8] = []
    let sink: (UnsafeMutablePointer<AVPacket>) throws -> Void = { packet in
        bytes.append(contentsOf: UnsafeBufferPointer(start: packet.pointee.data, count: Int(packet.pointee.size)))
    }
    try encoder.encode(image, sink: sink)
    try encoder.encode(nil, sink: sink)
    return bytes
}

/// Re-encodes (part of) a video with another codec; frames are turned upright on the way.
///
/// The output frame rate is the input's, divided for `everyNth(n)`, or the target for
/// `targetFPS` (at most the input rate). Audio is dropped.
///
/// - Parameters:
///   - input: the source video.
///   - output: the destination; its extension picks the container. Written whole or not at all.
///   - codec: codec and quality.
///   - sampling: which frames to keep (default all).
/// - Throws: ``VideoError`` from reading or writing; `.badInput` when no frame was selected.
public func reencode(input: String, output: String, codec: VideoCodec, sampling: SamplingOptions = .init()) throws {
    let reader = try VideoReader(path: input, autorotate: true)
    let sourceFPS = reader.info.fps > 0 ? reader.info.fps : 25
    let fps: Double
    switch sampling.sampling {
    case .every, .evenlySpaced: fps = sourceFPS
    case .everyNth(let n): fps = sourceFPS / Double(max(n, 1))
    case .targetFPS(let target): fps = min(target, sourceFPS)
    }
    var writer: VideoWriter? = nil
    try reader.forEachFrame(sampling) { frame in
        if writer == nil {
            writer = try VideoWriter(path: output, width: frame.image.width, height: frame.image.height, fps: fps,
                                     codec: codec)
        }
        try writer!.append(frame.image)
        return true
    }
    guard let writer else {
        throw VideoError(path: input, operation: "reencode", reason: "no frames selected to re-encode", kind: .badInput)
    }
    try writer.finish()
}

/// Encodes frames with a codec and decodes them back, in memory (no file, no container).
///
/// The codec ladder and training augmentation use this to see what compression does to pixels.
/// Encoding runs on one thread, so the result is the same on every machine.
///
/// - Parameters:
///   - images: frames of one size, in order (inter-frame codecs use them as a sequence).
///   - codec: codec and quality.
///   - fps: nominal frame rate (affects H.264 rate control only).
/// - Returns: the decoded frames, as many as given, in the same size.
/// - Throws: ``VideoError`` (`.internal`) when FFmpeg fails.
public func roundTrip(_ images: [RGBImage], codec: VideoCodec, fps: Double = 25) throws -> [RGBImage] {
    try roundTrip(images, codec: codec, fps: fps, quantTables: nil)
}

func roundTrip(_ images: [RGBImage], codec: VideoCodec, fps: Double, quantTables: QuantTables?) throws -> [RGBImage] {
    guard let first = images.first else { return [] }
    for image in images {
        precondition(image.width == first.width && image.height == first.height,
                     "roundTrip needs frames of one size: \(first.width)x\(first.height) and \(image.width)x\(image.height)")
    }
    let label = "<roundTrip \(codec.encoderName)>"
    let encoder = try FrameEncoder(codec: codec, width: first.width, height: first.height, fps: fps,
                                   globalHeader: false, threads: 1, quantTables: quantTables, path: label)
    let decoder = try PacketDecoder(codecID: encoder.context.pointee.codec_id, path: label)
    var decoded: [RGBImage] = []
    decoded.reserveCapacity(images.count)
    for image in images {
        try encoder.encode(image) { packet in try decoder.decode(packet, into: &decoded) }
    }
    try encoder.encode(nil) { packet in try decoder.decode(packet, into: &decoded) }
    try decoder.decode(nil, into: &decoded)
    guard decoded.count == images.count else {
        throw VideoError(path: label, operation: "roundTrip",
                         reason: "encoded \(images.count) frames but decoded \(decoded.count)", kind: .internal)
    }
    if encoder.codedWidth != first.width || encoder.codedHeight != first.height {
        decoded = decoded.map { cropped($0, width: first.width, height: first.height) }
    }
    return decoded
}

/// JPEG compression at a libjpeg quality, through FFmpeg's MJPEG encoder, decoded back.
///
/// Quantisation follows libjpeg exactly for the AC coefficients: the Annex K luminance and
/// chrominance tables scaled as `jpeg_quality_scaling` does,
/// ```
/// scale = quality < 50 ? 5000 / quality : 200 - 2 * quality      (percent)
/// q[i]  = clamp((base[i] * scale + 50) / 100, 1, 255)
/// ```
/// handed to the encoder as its matrices with qscale 8 (FFmpeg quantises with `matrix * qscale / 8`).
/// Deviations from libjpeg: FFmpeg fixes the DC quantiser at 8 (libjpeg's value at quality 75), chroma
/// is subsampled 4:2:0 by libswscale's bilinear filter, and the encoder's rounding differs slightly.
///
/// - Parameters:
///   - image: the picture.
///   - quality: 1...100 as in libjpeg (75 is libjpeg's default; higher is better).
/// - Returns: the decoded JPEG, same size.
/// - Throws: ``VideoError`` (`.internal`) when FFmpeg fails.
public func jpegRoundTrip(_ image: RGBImage, quality: Int) throws -> RGBImage {
    precondition((1...100).contains(quality), "JPEG quality must be in 1...100, got \(quality)")
    let tables = libjpegTables(quality: quality)
    return try roundTrip([image], codec: .mjpeg(quality: 8), fps: 25, quantTables: tables)[0]
}

/// libjpeg's quantisation tables (ITU T.81 Annex K, natural order) scaled to `quality`.
func libjpegTables(quality: Int) -> QuantTables {
    let luminance: [Int] = [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ]
    let chrominance: [Int] = [
        17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
        24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    ]
    let q = min(max(quality, 1), 100)
    let scale = q < 50 ? 5000 / q : 200 - 2 * q
    func scaled(_ table: [Int]) -> [UInt16] {
        table.map { UInt16(min(max(($0 * scale + 50) / 100, 1), 255)) }
    }
    return QuantTables(luma: scaled(luminance), chroma: scaled(chrominance))
}

/// The top-left `width x height` part of `image`.
func cropped(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    var out = [UInt8](repeating: 0, count: width * height * 3)
    image.pixels.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for y in 0..<height {
                let s = y * image.width * 3, d = y * width * 3
                for x in 0..<(width * 3) { dst[d + x] = src[s + x] }
            }
        }
    }
    return RGBImage(width: width, height: height, pixels: out)
}

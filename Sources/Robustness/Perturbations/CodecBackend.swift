import Foundation
import Imaging
import VideoIO

/// The encoders behind the `h264` and `jpeg` perturbations, as closures, so perturbations can be
/// tested without FFmpeg and the real codecs are swapped in in one place.
public struct CodecBackend: Sendable {
    /// Shown in errors and reports.
    public var name: String
    /// JPEG encode + decode of each frame at quality 1...100.
    public var jpeg: @Sendable (_ frames: [RGBImage], _ quality: Int) throws -> [RGBImage]
    /// H.264 encode + decode of the clip at CRF 0...51 and the given frame rate.
    public var h264: @Sendable (_ frames: [RGBImage], _ crf: Int, _ fps: Double) throws -> [RGBImage]

    /// Makes a backend from two closures.
    public init(name: String,
                jpeg: @escaping @Sendable ([RGBImage], Int) throws -> [RGBImage],
                h264: @escaping @Sendable ([RGBImage], Int, Double) throws -> [RGBImage]) {
        self.name = name
        self.jpeg = jpeg
        self.h264 = h264
    }

    /// Pure Swift: JPEG through ``SimulatedJPEG`` (the lossy steps of baseline JPEG), H.264 unavailable
    /// (throws ``RobustnessError/codecUnavailable(codec:reason:)``).
    public static let simulated = CodecBackend(
        name: "simulated",
        jpeg: { frames, quality in frames.map { SimulatedJPEG.roundTrip($0, quality: quality) } },
        h264: { _, _, _ in
            throw RobustnessError.codecUnavailable(codec: "h264", reason: "the simulated backend has no video encoder")
        })

    /// FFmpeg through VideoIO: JPEG with libjpeg's quantisation tables (``VideoIO/jpegRoundTrip(_:quality:)``)
    /// and H.264 through libx264 (`veryfast` preset) over the whole clip (``VideoIO/roundTrip(_:codec:fps:)``).
    public static let ffmpeg = CodecBackend(
        name: "ffmpeg",
        jpeg: { frames, quality in try frames.map { try jpegRoundTrip($0, quality: quality) } },
        h264: { frames, crf, fps in try roundTrip(frames, codec: .h264(crf: crf, preset: "veryfast"), fps: fps) })

    /// The backend perturbations use by default: ``ffmpeg``.
    public static var standard: CodecBackend { ffmpeg }
}

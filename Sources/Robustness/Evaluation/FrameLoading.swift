import Foundation
import Imaging
import VideoIO

/// Ready-made frame loaders for ``RobustnessScorer/frames(load:score:)``.
public enum FrameLoading {
    /// Still-image extensions loaded as a one-frame clip.
    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "ppm"]

    /// A loader that decodes `count` frames spread evenly over each clip (a still image gives one
    /// frame), so memory per clip is bounded by `count` frames whatever the clip's length.
    /// - Parameters:
    ///   - count: frames per clip, at least 1.
    ///   - maxSide: when set, frames larger than this on their long side are shrunk (antialiased)
    ///     to it, bounding memory and time further.
    /// - Returns: the loader; it throws ``VideoIO/VideoError`` for unreadable files and
    ///   ``RobustnessError/badSet(path:reason:)`` for clips with no frames.
    public static func evenlySpaced(count: Int = 16, maxSide: Int? = nil) -> @Sendable (SetItem) throws -> [RGBImage] {
        precondition(count >= 1, "a loader needs at least one frame per clip")
        return { item in
            var frames: [RGBImage]
            if imageExtensions.contains(URL(fileURLWithPath: item.path).pathExtension.lowercased()) {
                frames = [try loadImage(path: item.path)]
            } else {
                let reader = try VideoReader(path: item.path)
                frames = try reader.frames(SamplingOptions(sampling: .evenlySpaced(count))).map(\.image)
            }
            guard !frames.isEmpty else { throw RobustnessError.badSet(path: item.path, reason: "no frames decoded") }
            if let maxSide {
                frames = frames.map { frame in
                    let side = max(frame.width, frame.height)
                    guard side > maxSide else { return frame }
                    let scale = Double(maxSide) / Double(side)
                    return frame.resized(width: max(2, Int(Double(frame.width) * scale / 2) * 2),
                                         height: max(2, Int(Double(frame.height) * scale / 2) * 2))
                }
            }
            return frames
        }
    }
}

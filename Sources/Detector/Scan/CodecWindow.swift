import Foundation
import Imaging

/// The part of a scanned frame around one face crop, cut on the frame's own 16-pixel grid and kept
/// at the frame's resolution, so that a robustness check can re-encode what the codec saw.
///
/// Re-encoding the 128x128 aligned crops would put the JPEG and H.264 block grids on the crop's
/// pixels, at a scale and phase no real re-compression has. A window whose origin is a multiple of
/// 16 in the frame keeps both the 8x8 DCT grid and the 16x16 macroblock grid where the frame has
/// them; re-encoding the track's windows as a clip and cutting the crops again from the decoded
/// windows is re-compression of the frames, restricted to the face.
public struct CodecWindow: Sendable {
    /// Block size the window is aligned to: H.264 macroblocks (16) and so also JPEG blocks (8).
    public static let grid = 16

    /// Frame pixels of the window, unresampled.
    public var image: RGBImage
    /// The window's top-left corner in frame pixels (multiples of ``grid``).
    public var originX: Int
    public var originY: Int
    /// The crop's square box in frame pixels (as in ``FrameScore/cropBox``).
    public var cropBox: Box
    /// Which of the track's scored frames this is (index into its crops).
    public var position: Int

    /// Cuts the window around `cropBox` from `frame`: the box plus one grid cell each side, snapped
    /// outwards to the grid and clipped to the frame.
    public init(frame: RGBImage, cropBox: Box, position: Int) {
        let g = Self.grid
        func snapDown(_ v: Double) -> Int { Int((v / Double(g)).rounded(.down)) * g }
        func snapUp(_ v: Double) -> Int { Int((v / Double(g)).rounded(.up)) * g }
        let x0 = max(0, snapDown(cropBox.x) - g), y0 = max(0, snapDown(cropBox.y) - g)
        let x1 = min(frame.width, max(x0 + 1, snapUp(cropBox.x + cropBox.width) + g))
        let y1 = min(frame.height, max(y0 + 1, snapUp(cropBox.y + cropBox.height) + g))
        // A box entirely outside the frame still gets a (tiny) window at the nearest edge.
        let left = min(x0, max(0, frame.width - 1)), top = min(y0, max(0, frame.height - 1))
        image = frame.cropped(x: left, y: top, width: max(1, x1 - left), height: max(1, y1 - top))
        originX = left
        originY = top
        self.cropBox = cropBox
        self.position = position
    }

    /// The aligned crop cut from `window` (this window's pixels, or a re-encoded copy of them padded
    /// on the right and bottom), as the scanner cut it from the frame.
    public func crop(from window: RGBImage, size: Int) -> RGBImage {
        let box = Box(x: cropBox.x - Double(originX), y: cropBox.y - Double(originY), width: cropBox.width, height: cropBox.height)
        // Only the window's own pixels: padding added for the encoder is not frame content.
        let own = window.width == image.width && window.height == image.height
            ? window : window.cropped(x: 0, y: 0, width: image.width, height: image.height)
        return own.resampled(box: box, width: size, height: size, padding: .edge)
    }

    /// The window's pixels padded on the right and bottom (edge pixels repeated) to `width` x
    /// `height`, so that a track's windows form one clip; the grid phase is unchanged.
    public func padded(toWidth width: Int, height: Int) -> RGBImage {
        precondition(width >= image.width && height >= image.height, "padding cannot shrink a window")
        if width == image.width && height == image.height { return image }
        return image.cropped(x: 0, y: 0, width: width, height: height, padding: .edge)
    }
}

import Faces
import Imaging
import Testing
@testable import Detector

@Suite("Codec windows: the face's region of a frame on the frame's own grid")
struct CodecWindowTests {
    /// A 200x120 frame of smooth gradients with a few sharp edges, so resampling errors would show.
    func frame() -> RGBImage {
        var image = RGBImage(width: 200, height: 120)
        for y in 0..<120 {
            for x in 0..<200 {
                let o = (y * 200 + x) * 3
                image.pixels[o] = UInt8((x * 255) / 199)
                image.pixels[o + 1] = UInt8((y * 255) / 119)
                image.pixels[o + 2] = (x / 10 + y / 10) % 2 == 0 ? 40 : 220
            }
        }
        return image
    }

    @Test("the window sits on the 16-pixel grid, covers the crop box, and gives back the scanner's crop")
    func windowReproducesTheCrop() {
        let image = frame()
        for box in [Box(x: 61.3, y: 22.7, width: 50, height: 58), Box(x: -12, y: -8, width: 60, height: 60),
                    Box(x: 150, y: 70, width: 70, height: 66)] {
            let (crop, cropBox) = alignedCrop(image, box: box, margin: 1.3, size: 64)
            let window = CodecWindow(frame: image, cropBox: cropBox, position: 3)
            #expect(window.originX % CodecWindow.grid == 0 && window.originY % CodecWindow.grid == 0)
            #expect(window.position == 3)
            // Inside the frame, the window covers the whole crop box.
            #expect(Double(window.originX) <= max(0, cropBox.x) && Double(window.originY) <= max(0, cropBox.y))
            #expect(Double(window.originX + window.image.width) >= min(200, cropBox.x + cropBox.width))
            #expect(Double(window.originY + window.image.height) >= min(120, cropBox.y + cropBox.height))
            // Its pixels are the frame's.
            #expect(window.image == image.cropped(x: window.originX, y: window.originY, width: window.image.width, height: window.image.height))
            // The crop cut from the window is the crop cut from the frame (edges included).
            #expect(window.crop(from: window.image, size: 64) == crop, "box \(box)")
            // Padding for the encoder changes nothing.
            let padded = window.padded(toWidth: window.image.width + 21, height: window.image.height + 5)
            #expect(padded.width == window.image.width + 21)
            #expect(window.crop(from: padded, size: 64) == crop)
        }
    }
}

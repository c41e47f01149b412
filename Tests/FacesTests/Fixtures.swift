import Foundation
import Imaging
@testable import Faces

/// A generated cascade in OpenCV's traincascade XML format.
///
/// Window 8x8. Stage 0: one stump on feature 0 (right half minus left half, `0 0 8 8 -1` + `4 0 4 8 2`):
/// value >= 0 gives +1, else -1; threshold 0. Stage 1: a depth-2 tree on features 1 (bottom minus top)
/// and 2 (a tilted feature), leaves chosen so the stage always passes unless feature 1 is very negative.
func syntheticCascadeXML(stageThreshold0: String = "0.", extraFeature: String = "") -> String {
    """
    <?xml version="1.0"?>
    <opencv_storage>
    <cascade type_id="opencv-cascade-classifier"><stageType>BOOST</stageType>
      <featureType>HAAR</featureType>
      <height>8</height>
      <width>8</width>
      <stageParams><maxWeakCount>1</maxWeakCount></stageParams>
      <featureParams><maxCatCount>0</maxCatCount></featureParams>
      <stageNum>2</stageNum>
      <stages>
        <_>
          <maxWeakCount>1</maxWeakCount>
          <stageThreshold>\(stageThreshold0)</stageThreshold>
          <weakClassifiers>
            <_>
              <internalNodes>
                0 -1 0 0.</internalNodes>
              <leafValues>
                -1. 1.</leafValues></_></weakClassifiers></_>
        <_>
          <maxWeakCount>1</maxWeakCount>
          <stageThreshold>-5.0000000000000000e-01</stageThreshold>
          <weakClassifiers>
            <_>
              <internalNodes>
                1 -1 1 -0.5 0 -2 2 1.0e-01</internalNodes>
              <leafValues>
                -1. 0.25 1.</leafValues></_></weakClassifiers></_></stages>
      <features>
        <_>
          <rects>
            <_>
              0 0 8 8 -1.</_>
            <_>
              4 0 4 8 2.</_></rects></_>
        <_>
          <rects>
            <_>
              0 0 8 8 -1.</_>
            <_>
              0 4 8 4 2.</_></rects></_>
        <_>
          <rects>
            <_>
              4 0 3 2 -1.</_>
            <_>
              4 1 2 1 2.</_></rects>
          <tilted>1</tilted></_>\(extraFeature)</features></cascade>
    </opencv_storage>
    """
}

/// A seeded pseudo-random gray image (xorshift), values 0...255.
func randomGray(width: Int, height: Int, seed: UInt64) -> GrayBytes {
    var state = seed | 1
    var pixels = [UInt8](repeating: 0, count: width * height)
    for i in 0..<pixels.count {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        pixels[i] = UInt8(truncatingIfNeeded: state >> 24)
    }
    return GrayBytes(width: width, height: height, pixels: pixels)
}

/// Brute-force tilted table by its definition: T(X, Y) = Σ_{y < Y, |x - X + 1| <= Y - y - 1} I(x, y).
func bruteTilted(_ gray: GrayBytes, X: Int, Y: Int) -> Int {
    var total = 0
    for y in 0..<max(0, Y) {
        for x in 0..<gray.width where abs(x - X + 1) <= Y - y - 1 { total += Int(gray.pixels[y * gray.width + x]) }
    }
    return total
}

/// A naive, independent evaluation of a cascade on one window (double precision, direct pixel sums).
func naiveAccepts(_ cascade: CascadeClassifier, _ gray: GrayBytes, x wx: Int, y wy: Int) -> Bool {
    func pixel(_ x: Int, _ y: Int) -> Double { Double(gray.pixels[y * gray.width + x]) }
    let w = cascade.windowWidth, h = cascade.windowHeight
    var s = 0.0, q = 0.0
    for y in (wy + 1)..<(wy + h - 1) { for x in (wx + 1)..<(wx + w - 1) { s += pixel(x, y); q += pixel(x, y) * pixel(x, y) } }
    let area = Double((w - 2) * (h - 2))
    let nf = area * q - s * s
    guard nf > 0, area / nf.squareRoot() < 0.1 else { return false }
    func tiltedTable(_ X: Int, _ Y: Int) -> Double {
        // T of the image, in window-absolute coordinates.
        Double(bruteTilted(gray, X: X, Y: Y))
    }
    func featureValue(_ f: Int) -> Double {
        var value = 0.0
        for r in cascade.features[f].rects {
            var sum = 0.0
            if cascade.features[f].tilted {
                let x = wx + r.x, y = wy + r.y
                sum = tiltedTable(x, y) - tiltedTable(x - r.height, y + r.height) - tiltedTable(x + r.width, y + r.width)
                    + tiltedTable(x + r.width - r.height, y + r.width + r.height)
            } else {
                for y in (wy + r.y)..<(wy + r.y + r.height) { for x in (wx + r.x)..<(wx + r.x + r.width) { sum += pixel(x, y) } }
            }
            value += Double(r.weight) * sum
        }
        return value / nf.squareRoot()
    }
    var weak = 0
    for stage in 0..<cascade.stageCount {
        var total = 0.0
        while weak < Int(cascade.stageWeakEnd[stage]) {
            let root = Int(cascade.weakNodeStart[weak])
            var index = 0
            repeat {
                let n = root + index
                index = Int(featureValue(Int(cascade.nodeFeature[n])) < Double(cascade.nodeThreshold[n]) ? cascade.nodeLeft[n] : cascade.nodeRight[n])
            } while index > 0
            total += Double(cascade.leaves[Int(cascade.weakLeafStart[weak]) - index])
            weak += 1
        }
        if total < Double(cascade.stageThreshold[stage]) { return false }
    }
    return true
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("faces-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Path of a file fetched by scripts/fetch-data.sh (`GLASSBOX_DATA` or `<repo>/.cache/data`).
func dataPath(_ relative: String) -> String {
    if let root = ProcessInfo.processInfo.environment["GLASSBOX_DATA"] { return root + "/" + relative }
    let repo = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return repo.appendingPathComponent(".cache/data/" + relative).path
}

import Foundation
import Imaging
import Testing
@testable import Robustness

@Suite("AUC chart")
struct ChartTests {
    @Test("the chart is a valid PNG of the announced size with every series colour on it")
    func png() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = try RobustnessRun(set: EngineTests.items, outputDir: folder.path,
                                       perturbations: EngineTests.perturbations, scorer: EngineTests.tableScorer()).run()
        let spec = report.aucChartSpec()
        #expect(spec.seriesNames == ["A", "B", "all"])
        #expect(spec.panels.map(\.title) == ["blur (sigma)", "jpeg (quality)"])
        #expect(spec.panels[1].xLabels == ["clean", "20"])
        #expect(spec.panels[1].values[1] == [1, 0.5])
        let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent("robustness-auc.png")))
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let image = try PNG.decode(bytes)
        #expect(image.width == spec.size.width && image.height == spec.size.height)
        var colours = Set<[UInt8]>()
        for i in stride(from: 0, to: image.pixels.count, by: 3) { colours.insert(Array(image.pixels[i..<(i + 3)])) }
        for s in 0..<3 {
            let c = RGB.palette[s]
            #expect(colours.contains([c.r, c.g, c.b]), "series \(s) colour drawn")
        }
        #expect(colours.contains([0, 0, 0]) && colours.contains([255, 255, 255]))
    }

    @Test("text renders glyph pixels; unknown characters fall back to '?'")
    func font() {
        var canvas = Canvas(width: 40, height: 10)
        canvas.text("A1", x: 0, y: 0, color: .black)
        let ink = stride(from: 0, to: canvas.pixels.count, by: 3).filter { canvas.pixels[$0] == 0 }.count
        let expected = (BitmapFont.glyphs["A"]! + BitmapFont.glyphs["1"]!).reduce(0) { $0 + $1.nonzeroBitCount }
        #expect(ink == expected)
        #expect(BitmapFont.rows(for: "a") == BitmapFont.glyphs["A"])
        #expect(BitmapFont.rows(for: "é") == BitmapFont.glyphs["?"])
        #expect(BitmapFont.width(of: "abc", scale: 2) == 34)
    }
}

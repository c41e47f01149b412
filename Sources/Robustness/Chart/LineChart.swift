import Foundation
import Imaging

/// Small-multiple line charts rendered to an image with the built-in rasteriser: one panel per
/// perturbation kind, one coloured line per series (method), markers at the points, a shared legend
/// with colour swatches, and text in the 5x7 bitmap font.
public struct LineChart: Sendable, Equatable {
    /// One panel: a title, the x tick labels (points are evenly spaced) and its series.
    public struct Panel: Sendable, Equatable {
        public var title: String
        public var xLabels: [String]
        /// Values per series, aligned with `xLabels`; nil leaves a gap.
        public var values: [[Double?]]
        public init(title: String, xLabels: [String], values: [[Double?]]) {
            self.title = title
            self.xLabels = xLabels
            self.values = values
        }
    }

    public var title: String
    public var yLabel: String
    /// Series names, in legend order; each panel's `values` follow it.
    public var seriesNames: [String]
    public var panels: [Panel]
    /// The y range; values outside are clamped to the frame.
    public var yRange: ClosedRange<Double>
    /// Dashed reference line (e.g. chance AUC 0.5), if any.
    public var referenceY: Double?
    /// Panel size in pixels and panels per row.
    public var panelWidth = 260
    public var panelHeight = 200
    public var columns = 4

    public init(title: String, yLabel: String, seriesNames: [String], panels: [Panel], yRange: ClosedRange<Double>,
                referenceY: Double? = nil) {
        precondition(yRange.upperBound > yRange.lowerBound, "chart y range must not be empty")
        self.title = title
        self.yLabel = yLabel
        self.seriesNames = seriesNames
        self.panels = panels
        self.yRange = yRange
        self.referenceY = referenceY
    }

    /// Layout constants.
    private static let margin = 12, titleHeight = 28, legendRow = 16
    private static let plotLeft = 34, plotRight = 10, plotTop = 18, plotBottom = 22

    /// Image size for the current panels.
    public var size: (width: Int, height: Int) {
        let cols = max(1, min(columns, panels.count))
        let rows = max(1, (panels.count + cols - 1) / cols)
        let legendRows = legendLayout(width: cols * panelWidth).rows
        return (2 * Self.margin + cols * panelWidth,
                2 * Self.margin + Self.titleHeight + rows * panelHeight + legendRows * Self.legendRow + 6)
    }

    /// Legend entries laid out left to right, wrapping: positions relative to the legend's origin.
    private func legendLayout(width: Int) -> (positions: [(x: Int, row: Int)], rows: Int) {
        var positions: [(x: Int, row: Int)] = []
        var x = 0, row = 0
        for name in seriesNames {
            let entry = 14 + BitmapFont.width(of: name) + 16
            if x > 0 && x + entry > width { x = 0; row += 1 }
            positions.append((x, row))
            x += entry
        }
        return (positions, seriesNames.isEmpty ? 0 : row + 1)
    }

    /// Renders the chart.
    public func render() -> RGBImage {
        let (width, height) = size
        var canvas = Canvas(width: width, height: height)
        let cols = max(1, min(columns, panels.count))
        canvas.text(title, x: Self.margin, y: Self.margin, color: .black, scale: 2)

        // Legend under the title.
        let legendTop = Self.margin + Self.titleHeight - 6
        let layout = legendLayout(width: cols * panelWidth)
        for (index, name) in seriesNames.enumerated() {
            let colour = RGB.palette[index % RGB.palette.count]
            let x = Self.margin + layout.positions[index].x, y = legendTop + layout.positions[index].row * Self.legendRow
            canvas.fillRect(x: x, y: y, width: 10, height: 10, color: colour)
            canvas.strokeRect(x: x, y: y, width: 10, height: 10, color: .black)
            canvas.text(name, x: x + 14, y: y + 2, color: .black)
        }
        let panelsTop = legendTop + layout.rows * Self.legendRow + 6

        for (p, panel) in panels.enumerated() {
            let ox = Self.margin + (p % cols) * panelWidth, oy = panelsTop + (p / cols) * panelHeight
            drawPanel(panel, into: &canvas, originX: ox, originY: oy)
        }
        return canvas.image
    }

    private func drawPanel(_ panel: Panel, into canvas: inout Canvas, originX ox: Int, originY oy: Int) {
        let left = ox + Self.plotLeft, right = ox + panelWidth - Self.plotRight
        let top = oy + Self.plotTop, bottom = oy + panelHeight - Self.plotBottom
        canvas.centredText(panel.title, cx: (left + right) / 2, y: oy + 4, color: .black)
        let span = yRange.upperBound - yRange.lowerBound
        func yPixel(_ v: Double) -> Int {
            let t = (min(max(v, yRange.lowerBound), yRange.upperBound) - yRange.lowerBound) / span
            return bottom - Int((t * Double(bottom - top)).rounded())
        }
        let n = panel.xLabels.count
        func xPixel(_ i: Int) -> Int {
            n <= 1 ? (left + right) / 2 : left + 18 + Int((Double(i) / Double(n - 1) * Double(right - left - 30)).rounded())
        }
        // Grid and y ticks: steps of 0.1 (0.2 when the range is wide).
        let step = span > 0.6 ? 0.2 : 0.1
        var tick = (yRange.lowerBound / step).rounded(.up) * step
        while tick <= yRange.upperBound + 1e-9 {
            let y = yPixel(tick)
            canvas.fillRect(x: left + 1, y: y, width: right - left - 1, height: 1, color: .lightGray)
            canvas.fillRect(x: left - 3, y: y, width: 3, height: 1, color: .black)
            let label = String(format: "%.1f", tick)
            canvas.text(label, x: left - 5 - BitmapFont.width(of: label), y: y - 3, color: .black)
            tick += step
        }
        if let reference = referenceY, yRange.contains(reference) {
            canvas.dashedHorizontal(x0: left + 1, x1: right - 1, y: yPixel(reference), color: .gray)
        }
        // Axes.
        canvas.fillRect(x: left, y: top, width: 1, height: bottom - top + 1, color: .black)
        canvas.fillRect(x: left, y: bottom, width: right - left + 1, height: 1, color: .black)
        // X ticks and labels.
        for (i, label) in panel.xLabels.enumerated() {
            let x = xPixel(i)
            canvas.fillRect(x: x, y: bottom + 1, width: 1, height: 3, color: .black)
            canvas.centredText(label, cx: x, y: bottom + 6, color: .black)
        }
        // Series: lines between consecutive known points, then markers on top.
        for (s, values) in panel.values.enumerated() {
            let colour = RGB.palette[s % RGB.palette.count]
            for i in 1..<max(1, min(values.count, n)) {
                if let a = values[i - 1], let b = values[i] {
                    canvas.line(xPixel(i - 1), yPixel(a), xPixel(i), yPixel(b), color: colour, radius: 1)
                }
            }
        }
        for (s, values) in panel.values.enumerated() {
            let colour = RGB.palette[s % RGB.palette.count]
            for (i, value) in values.prefix(n).enumerated() {
                guard let value else { continue }
                canvas.fillDisc(cx: xPixel(i), cy: yPixel(value), radius: 3, color: .black)
                canvas.fillDisc(cx: xPixel(i), cy: yPixel(value), radius: 2, color: colour)
            }
        }
    }
}

extension RobustnessReport {
    /// AUC against level, one panel per perturbation kind (clean baseline as the first point), one
    /// line per method (plus `all`).
    public func aucChartSpec() -> LineChart {
        let series = cells.reduce(into: [String]()) { if !$0.contains($1.method) { $0.append($1.method) } }
        var kinds: [String] = []
        for cell in cells where cell.perturbation != "none" && !kinds.contains(cell.perturbation) { kinds.append(cell.perturbation) }
        func auc(_ method: String, _ id: String) -> Double? {
            cells.first { $0.method == method && $0.id == id }?.metrics.auc
        }
        let panels = kinds.map { kind -> LineChart.Panel in
            var ids: [String] = [], labels: [String] = []
            for cell in cells where cell.perturbation == kind && !ids.contains(cell.id) {
                ids.append(cell.id)
                labels.append(Perturbation.format(cell.level))
            }
            let unit = Perturbation.Kind(rawValue: kind)?.levelName ?? ""
            return LineChart.Panel(title: "\(kind) (\(unit))", xLabels: ["clean"] + labels,
                                   values: series.map { m in [auc(m, "none")] + ids.map { auc(m, $0) } })
        }
        let all = cells.compactMap(\.metrics.auc)
        let low = min(0.5, ((all.min() ?? 0.5) * 10).rounded(.down) / 10)
        return LineChart(title: "AUC against perturbation level", yLabel: "AUC", seriesNames: series,
                         panels: panels.isEmpty ? [LineChart.Panel(title: "clean", xLabels: ["clean"],
                                                                    values: series.map { [auc($0, "none")] })] : panels,
                         yRange: max(0, low)...1, referenceY: 0.5)
    }

    /// The AUC chart rendered (see ``aucChartSpec()``).
    public func aucChart() -> RGBImage { aucChartSpec().render() }
}

import Foundation

extension RobustnessReport {
    /// Column headers shared by the text and Markdown tables.
    static let headers = ["perturbation", "level", "method", "fake/real", "AUC", "AP", "EER", "acc", "ECE", "shortcut"]

    /// One row of the table for a cell.
    static func row(_ cell: RobustnessCell) -> [String] {
        let m = cell.metrics
        func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "-" }
        return [cell.perturbation, cell.perturbation == "none" ? "-" : Perturbation.format(cell.level), cell.method,
                "\(m.fakeCount)/\(m.realCount)", f(m.auc), f(m.averagePrecision), f(m.equalErrorRate), f(m.accuracy),
                f(m.expectedCalibrationError), cell.shortcutRate.map { String(format: "%.0f%%", $0 * 100) } ?? "-"]
    }

    /// A fixed-width plain-text table for stdout: every cell, then the worst cells and failures.
    public func textTable() -> String {
        let rows = cells.map(Self.row)
        var widths = Self.headers.map(\.count)
        for row in rows { for (i, text) in row.enumerated() { widths[i] = max(widths[i], text.count) } }
        func line(_ fields: [String]) -> String {
            fields.enumerated().map { i, text in
                let pad = String(repeating: " ", count: widths[i] - text.count)
                return i < 3 ? text + pad : pad + text   // names left, numbers right
            }.joined(separator: "  ")
        }
        var out = [line(Self.headers), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        var previous = ""
        for (cell, row) in zip(cells, rows) {
            if cell.id != previous && !previous.isEmpty && methods.count > 1 { out.append("") }
            previous = cell.id
            out.append(line(row))
        }
        out.append("")
        out.append("clips: \(realCount) real, \(fakeCount) fake; methods: \(methods.joined(separator: ", "))")
        if !worstCells.isEmpty {
            out.append("worst cells: " + worstCells.map { c in
                "\(c.method) @ \(c.id) AUC \(String(format: "%.3f", c.metrics.auc ?? .nan))"
            }.joined(separator: "; "))
        }
        if !failures.isEmpty {
            out.append("failed: \(failures.count) pairs in \(failedClips) clips (see robustness.json)")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// A Markdown report: summary, worst cells, the full table, failures.
    public func markdown() -> String {
        var out = ["# Robustness report", ""]
        out.append("- clips: \(realCount) real, \(fakeCount) fake")
        out.append("- methods: \(methods.map { "`\($0)`" }.joined(separator: ", "))")
        out.append("- perturbations: \(perturbations.map { "`\($0)`" }.joined(separator: ", "))")
        out.append("- decision threshold: \(Perturbation.format(threshold))" + (tag.isEmpty ? "" : "; tag `\(tag)`"))
        out.append("")
        func table(_ cells: [RobustnessCell], extra: Bool = false) {
            let headers = Self.headers + (extra ? ["AUC drop"] : [])
            out.append("| " + headers.joined(separator: " | ") + " |")
            out.append("|" + headers.enumerated().map { i, _ in i < 3 ? "---|" : "---:|" }.joined())
            for cell in cells {
                var row = Self.row(cell)
                if extra { row.append(cell.aucDrop.map { String(format: "%+.3f", $0) } ?? "-") }
                out.append("| " + row.joined(separator: " | ") + " |")
            }
            out.append("")
        }
        if !worstCells.isEmpty {
            out.append("## Worst cells")
            out.append("")
            table(worstCells, extra: true)
        }
        out.append("## All cells")
        out.append("")
        out.append("Each method's fakes against all reals under the same perturbation; `all` pools every method.")
        out.append("Shortcut = share of the cell's clips whose verdict was flagged as leaning on compression.")
        out.append("")
        table(cells, extra: true)
        out.append("![AUC against level](robustness-auc.png)")
        out.append("")
        if !failures.isEmpty {
            out.append("## Failures (\(failures.count) pairs in \(failedClips) clips, skipped)")
            out.append("")
            for failure in failures.prefix(50) {
                out.append("- `\(failure.path)` under `\(failure.perturbation)`: \(failure.error.replacingOccurrences(of: "\n", with: " "))")
            }
            if failures.count > 50 { out.append("- ... and \(failures.count - 50) more (see robustness.json)") }
            out.append("")
        }
        return out.joined(separator: "\n")
    }
}

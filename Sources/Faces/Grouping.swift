import Imaging

/// Clusters overlapping windows the way OpenCV's `groupRectangles` does (Viola and Jones' "minimum
/// neighbours" post-processing).
///
/// Two windows are similar when every edge differs by at most `eps * (min widths + min heights) / 2`;
/// clusters are the connected components of that relation. Each cluster becomes its average rectangle
/// (rounded) with its member count as the number of neighbours. Clusters with `count <= groupThreshold`
/// are dropped, and so is a cluster lying inside another (within `eps` of its size) when the other has
/// more than `max(3, count)` members or this one has fewer than 3.
/// - Parameters:
///   - windows: raw accepted windows.
///   - groupThreshold: `minNeighbors`; 0 returns every window with one neighbour.
///   - eps: relative tolerance, 0.2 in OpenCV.
/// - Returns: grouped rectangles with their neighbour counts.
func groupWindows(_ windows: [RawWindow], groupThreshold: Int, eps: Double = 0.2) -> [(window: RawWindow, neighbors: Int)] {
    if groupThreshold <= 0 || windows.isEmpty { return windows.map { ($0, 1) } }
    // Union-find partition.
    var parent = Array(0..<windows.count)
    func root(_ i: Int) -> Int {
        var i = i
        while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }
        return i
    }
    for i in 0..<windows.count {
        let a = windows[i]
        for j in (i + 1)..<windows.count {
            let b = windows[j]
            let delta = eps * Double(min(a.width, b.width) + min(a.height, b.height)) * 0.5
            if Double(abs(a.x - b.x)) <= delta && Double(abs(a.y - b.y)) <= delta
                && Double(abs(a.x + a.width - b.x - b.width)) <= delta
                && Double(abs(a.y + a.height - b.y - b.height)) <= delta {
                let ri = root(i), rj = root(j)
                if ri != rj { parent[rj] = ri }
            }
        }
    }
    var classOf = [Int: Int]()
    var sums: [(x: Int, y: Int, w: Int, h: Int, n: Int)] = []
    for (i, w) in windows.enumerated() {
        let r = root(i)
        let cls: Int
        if let existing = classOf[r] { cls = existing } else { cls = sums.count; classOf[r] = cls; sums.append((0, 0, 0, 0, 0)) }
        sums[cls].x += w.x; sums[cls].y += w.y; sums[cls].w += w.width; sums[cls].h += w.height; sums[cls].n += 1
    }
    let averaged = sums.map { s -> (RawWindow, Int) in
        let inv = 1 / Double(s.n)
        return (RawWindow(x: Int((Double(s.x) * inv).rounded()), y: Int((Double(s.y) * inv).rounded()),
                          width: Int((Double(s.w) * inv).rounded()), height: Int((Double(s.h) * inv).rounded())), s.n)
    }
    var result: [(window: RawWindow, neighbors: Int)] = []
    for (i, (r1, n1)) in averaged.enumerated() where n1 > groupThreshold {
        var inside = false
        for (j, (r2, n2)) in averaged.enumerated() where j != i && n2 > groupThreshold {
            let dx = Int((Double(r2.width) * eps).rounded()), dy = Int((Double(r2.height) * eps).rounded())
            if r1.x >= r2.x - dx && r1.y >= r2.y - dy && r1.x + r1.width <= r2.x + r2.width + dx
                && r1.y + r1.height <= r2.y + r2.height + dy && (n2 > max(3, n1) || n1 < 3) {
                inside = true
                break
            }
        }
        if !inside { result.append((r1, n1)) }
    }
    return result
}

/// Greedy non-maximum suppression: keeps detections in decreasing score order and drops any that
/// overlaps a kept one by IoU above `iouThreshold` or covers more than `containment` of the smaller box.
/// - Returns: the kept detections, highest score first.
func suppressNonMaxima(_ detections: [FaceDetection], iouThreshold: Double = 0.3, containment: Double = 0.7) -> [FaceDetection] {
    let ordered = detections.enumerated().sorted {
        $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset
    }.map(\.element)
    var kept: [FaceDetection] = []
    for candidate in ordered {
        let clash = kept.contains { other in
            if candidate.box.intersectionOverUnion(other.box) > iouThreshold { return true }
            let left = max(candidate.box.x, other.box.x), top = max(candidate.box.y, other.box.y)
            let right = min(candidate.box.x + candidate.box.width, other.box.x + other.box.width)
            let bottom = min(candidate.box.y + candidate.box.height, other.box.y + other.box.height)
            let intersection = max(0, right - left) * max(0, bottom - top)
            let smaller = min(candidate.box.area, other.box.area)
            return smaller > 0 && intersection / smaller > containment
        }
        if !clash { kept.append(candidate) }
    }
    return kept
}

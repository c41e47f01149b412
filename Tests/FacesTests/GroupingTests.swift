import Imaging
import Testing
@testable import Faces

@Suite struct GroupingTests {
    @Test func groupsLikeOpenCVGroupRectangles() {
        let cluster = [RawWindow(x: 10, y: 10, width: 20, height: 20), RawWindow(x: 11, y: 10, width: 20, height: 20),
                       RawWindow(x: 12, y: 12, width: 20, height: 20), RawWindow(x: 10, y: 12, width: 22, height: 22),
                       RawWindow(x: 9, y: 11, width: 20, height: 20)]
        let lonely = [RawWindow(x: 100, y: 100, width: 20, height: 20), RawWindow(x: 101, y: 100, width: 20, height: 20)]
        let groups = groupWindows(cluster + lonely, groupThreshold: 3)
        #expect(groups.count == 1)
        #expect(groups[0].neighbors == 5)
        // Average: x (52/5 = 10.4) -> 10, y (55/5 = 11) -> 11, width (102/5 = 20.4) -> 20.
        #expect(groups[0].window == RawWindow(x: 10, y: 11, width: 20, height: 20))
        #expect(groupWindows(cluster + lonely, groupThreshold: 1).count == 2)
        #expect(groupWindows(cluster, groupThreshold: 0).count == 5)
    }

    @Test func dropsASmallGroupInsideAStrongerOne() {
        var windows = (0..<8).map { RawWindow(x: 10 + $0 % 2, y: 10, width: 40, height: 40) }
        windows += (0..<4).map { RawWindow(x: 20 + $0 % 2, y: 20, width: 12, height: 12) }
        let groups = groupWindows(windows, groupThreshold: 2)
        #expect(groups.count == 1 && groups[0].neighbors == 8)
    }

    @Test func nonMaximumSuppressionKeepsTheBest() {
        let a = FaceDetection(box: Box(x: 0, y: 0, width: 10, height: 10), score: 3)
        let b = FaceDetection(box: Box(x: 1, y: 1, width: 10, height: 10), score: 5)
        let inner = FaceDetection(box: Box(x: 2, y: 2, width: 5, height: 5), score: 9)
        let far = FaceDetection(box: Box(x: 50, y: 50, width: 10, height: 10), score: 1)
        #expect(suppressNonMaxima([a, b, far]) == [b, far])
        #expect(suppressNonMaxima([a, inner]) == [inner])
    }

    @Test func intersectionOverUnion() {
        let a = Box(x: 0, y: 0, width: 10, height: 10)
        #expect(a.intersectionOverUnion(a) == 1)
        #expect(abs(a.intersectionOverUnion(Box(x: 5, y: 0, width: 10, height: 10)) - 50.0 / 150.0) < 1e-12)
        #expect(a.intersectionOverUnion(Box(x: 10, y: 0, width: 10, height: 10)) == 0)
    }
}

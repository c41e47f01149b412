import Randomness
import Synthesis

/// The crops of a labelled store on one side of the split, grouped by video: what the supervised
/// samplers draw from.
///
/// Records whose `label` is `"real"` are reals; any other label is the fake's method. A record's
/// `identity` is its source group (a real video and the fakes made from it), its `source` the video.
struct LabelledVideos: Sendable {
    struct Video: Sendable {
        var source: String
        var group: String
        /// `"real"` or the method.
        var label: String
        /// Store indices in frame order.
        var indices: [Int]
    }

    let videos: [Video]
    /// Real videos, all and by source group.
    let realVideos: [Int]
    let realVideosByGroup: [String: [Int]]
    /// Methods in name order, with their fake videos.
    let methods: [String]
    let fakeVideosByMethod: [String: [Int]]

    /// - Parameters:
    ///   - minimumCrops: leave out videos with fewer crops (sequences need `frames` crops).
    init(store: CropStore, split: DataSplit, minimumCrops: Int = 1) {
        var bySource: [String: [Int]] = [:]
        for index in store.indices(in: split) { bySource[store.records[index].source, default: []].append(index) }
        // Sorted keys: dictionary order is not stable across runs, and batches must be.
        var videos: [Video] = []
        for source in bySource.keys.sorted() {
            let indices = bySource[source]!.sorted { store.records[$0].frameIndex < store.records[$1].frameIndex }
            guard indices.count >= minimumCrops else { continue }
            let first = store.records[indices[0]]
            videos.append(Video(source: source, group: first.identity, label: first.label, indices: indices))
        }
        self.videos = videos
        realVideos = videos.indices.filter { videos[$0].label == "real" }
        realVideosByGroup = Dictionary(grouping: realVideos, by: { videos[$0].group })
        let fakes = videos.indices.filter { videos[$0].label != "real" }
        fakeVideosByMethod = Dictionary(grouping: fakes, by: { videos[$0].label })
        methods = fakeVideosByMethod.keys.sorted()
    }

    /// True when there is at least one real and one fake video.
    var hasBothLabels: Bool { !realVideos.isEmpty && !methods.isEmpty }

    /// A fake video (method first, so every method is equally likely whatever its video count) and
    /// a real video to go with it: one made from the same source when there is one, so that the
    /// pair differs by the manipulation rather than by the person.
    /// - Returns: video positions, and whether the real shares the fake's source.
    func drawPair(using rng: inout SplitMix64) -> (real: Int, fake: Int, sameSource: Bool) {
        precondition(hasBothLabels, "a supervised pair needs real and fake videos")
        let method = methods[Int(rng.next() % UInt64(methods.count))]
        let candidates = fakeVideosByMethod[method]!
        let fake = candidates[Int(rng.next() % UInt64(candidates.count))]
        if let siblings = realVideosByGroup[videos[fake].group] {
            return (siblings[Int(rng.next() % UInt64(siblings.count))], fake, true)
        }
        return (realVideos[Int(rng.next() % UInt64(realVideos.count))], fake, false)
    }

    /// Position in `video`'s crops of the crop whose frame is nearest `frameIndex`.
    func nearest(frameIndex: Int, in video: Int, store: CropStore) -> Int {
        let indices = videos[video].indices
        var best = 0
        for (position, index) in indices.enumerated()
        where abs(store.records[index].frameIndex - frameIndex) < abs(store.records[indices[best]].frameIndex - frameIndex) {
            best = position
        }
        return best
    }
}

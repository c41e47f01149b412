import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Errors from loading a cascade file.
public enum CascadeError: Error, CustomStringConvertible, Equatable {
    /// The file does not exist or cannot be read.
    case unreadable(path: String)
    /// The XML is not well formed.
    case invalidXML(path: String, reason: String)
    /// Well-formed XML that is not a usable cascade.
    case malformed(path: String, reason: String)
    /// A cascade type this implementation does not evaluate (LBP, HOG, old-style).
    case unsupported(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path): return "\(path): cascade file missing or unreadable"
        case let .invalidXML(path, reason): return "\(path): not valid XML (\(reason))"
        case let .malformed(path, reason): return "\(path): not a usable cascade (\(reason))"
        case let .unsupported(path, reason): return "\(path): unsupported cascade (\(reason))"
        }
    }
}

/// One weighted rectangle of a Haar-like feature, in window coordinates of the base window size.
struct HaarRect: Sendable, Equatable {
    var x: Int, y: Int, width: Int, height: Int
    var weight: Float
}

/// A Haar-like feature: 2 or 3 weighted rectangle sums (Viola and Jones, CVPR 2001), optionally on the
/// 45-degree rotated integral image (Lienhart and Maydt, ICIP 2002, "An extended set of Haar-like
/// features for rapid object detection").
struct HaarFeature: Sendable, Equatable {
    var rects: [HaarRect]
    var tilted: Bool
}

/// A boosted cascade of Haar-feature decision trees read from an OpenCV cascade XML file
/// (the format written by `opencv_traincascade`, e.g. `haarcascade_frontalface_default.xml`).
///
/// The model is a list of stages. Each stage sums the leaf values of its weak classifiers (decision
/// stumps or small trees over Haar features) and rejects the window when the sum is below the stage
/// threshold (Viola and Jones, "Rapid object detection using a boosted cascade of simple features",
/// CVPR 2001). Feature values are normalised by the window's standard deviation exactly as OpenCV's
/// `HaarEvaluator` does.
///
/// Flat layout (all arrays immutable after loading):
/// ```
/// stages:  stageThreshold[s], stageWeakEnd[s]   (weak classifiers stageWeakEnd[s-1] ..< stageWeakEnd[s])
/// weak w:  nodes weakNodeStart[w] ..., leaves weakLeafStart[w] ...
/// node n:  nodeFeature[n], nodeThreshold[n], nodeLeft[n], nodeRight[n]
///          child > 0: node index relative to the tree root; child <= 0: leaf index -child
/// ```
public final class CascadeClassifier: Sendable {
    /// Base window width in pixels (24 for the frontal default cascade).
    public let windowWidth: Int
    /// Base window height in pixels.
    public let windowHeight: Int
    /// The file this cascade was read from (or a description for generated cascades).
    public let source: String

    let stageThreshold: [Float]
    let stageWeakEnd: [Int32]
    let weakNodeStart: [Int32]
    let weakLeafStart: [Int32]
    let nodeFeature: [Int32]
    let nodeThreshold: [Float]
    let nodeLeft: [Int32]
    let nodeRight: [Int32]
    let leaves: [Float]
    let features: [HaarFeature]

    /// Number of stages.
    public var stageCount: Int { stageThreshold.count }
    /// Number of weak classifiers over all stages.
    public var weakClassifierCount: Int { weakNodeStart.count }
    /// Whether any feature uses the rotated (tilted) integral image.
    public var hasTiltedFeatures: Bool { features.contains { $0.tilted } }

    /// Loads an OpenCV Haar cascade XML file.
    /// - Parameter path: path of a `haarcascade_*.xml` file in the `opencv_traincascade` format.
    /// - Throws: ``CascadeError`` when the file is missing, not XML, not a Haar boosted cascade, or
    ///   internally inconsistent (indices out of range, counts not matching).
    public convenience init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw CascadeError.unreadable(path: path) }
        try self.init(xml: data, source: path)
    }

    /// Parses cascade XML from memory.
    /// - Parameters:
    ///   - xml: the XML bytes.
    ///   - source: a name for error messages.
    /// - Throws: ``CascadeError``.
    public init(xml: Data, source: String = "<memory>") throws {
        let reader = CascadeXMLReader()
        let parser = XMLParser(data: xml)
        parser.delegate = reader
        guard parser.parse() else {
            let reason = reader.failure ?? parser.parserError.map { "\($0.localizedDescription) at line \(parser.lineNumber)" } ?? "parse failed"
            if reader.failure != nil { throw CascadeError.malformed(path: source, reason: reason) }
            throw CascadeError.invalidXML(path: source, reason: reason)
        }
        if let failure = reader.failure { throw CascadeError.malformed(path: source, reason: failure) }
        if reader.sawOldFormat && reader.stages.isEmpty {
            throw CascadeError.unsupported(path: source, reason: "old-style (OpenCV 1.x) cascade; use the opencv_traincascade format")
        }
        if let type = reader.featureType, type != "HAAR" {
            throw CascadeError.unsupported(path: source, reason: "feature type \(type); only HAAR is implemented")
        }
        if let type = reader.stageType, type != "BOOST" {
            throw CascadeError.unsupported(path: source, reason: "stage type \(type); only BOOST is implemented")
        }
        guard let width = reader.width, let height = reader.height, width > 0, height > 0 else {
            throw CascadeError.malformed(path: source, reason: "missing or invalid <width>/<height>")
        }
        guard !reader.stages.isEmpty else { throw CascadeError.malformed(path: source, reason: "no <stages>") }
        guard !reader.features.isEmpty else { throw CascadeError.malformed(path: source, reason: "no <features>") }

        var stageThreshold = [Float](), stageWeakEnd = [Int32]()
        var weakNodeStart = [Int32](), weakLeafStart = [Int32]()
        var nodeFeature = [Int32](), nodeThreshold = [Float](), nodeLeft = [Int32](), nodeRight = [Int32]()
        var leaves = [Float]()
        for (s, stage) in reader.stages.enumerated() {
            guard let threshold = stage.threshold else {
                throw CascadeError.malformed(path: source, reason: "stage \(s) has no <stageThreshold>")
            }
            guard !stage.weak.isEmpty else { throw CascadeError.malformed(path: source, reason: "stage \(s) has no weak classifiers") }
            for (w, weak) in stage.weak.enumerated() {
                let where_ = "stage \(s), weak classifier \(w)"
                guard !weak.nodes.isEmpty, weak.nodes.count % 4 == 0 else {
                    throw CascadeError.malformed(path: source, reason: "\(where_): <internalNodes> needs groups of 4 numbers (categorical/LBP nodes are not supported)")
                }
                let nodeCount = weak.nodes.count / 4
                guard weak.leaves.count == nodeCount + 1 else {
                    throw CascadeError.malformed(path: source, reason: "\(where_): \(nodeCount) nodes need \(nodeCount + 1) leaf values, found \(weak.leaves.count)")
                }
                weakNodeStart.append(Int32(nodeThreshold.count))
                weakLeafStart.append(Int32(leaves.count))
                for n in 0..<nodeCount {
                    let left = Int(weak.nodes[4 * n]), right = Int(weak.nodes[4 * n + 1]), feature = Int(weak.nodes[4 * n + 2])
                    guard Double(left) == weak.nodes[4 * n], Double(right) == weak.nodes[4 * n + 1], Double(feature) == weak.nodes[4 * n + 2] else {
                        throw CascadeError.malformed(path: source, reason: "\(where_): node indices must be integers")
                    }
                    for child in [left, right] {
                        guard (child > 0 && child < nodeCount) || (child <= 0 && -child < weak.leaves.count) else {
                            throw CascadeError.malformed(path: source, reason: "\(where_): child \(child) out of range")
                        }
                    }
                    guard feature >= 0 && feature < reader.features.count else {
                        throw CascadeError.malformed(path: source, reason: "\(where_): feature \(feature) out of range (\(reader.features.count) features)")
                    }
                    nodeLeft.append(Int32(left)); nodeRight.append(Int32(right))
                    nodeFeature.append(Int32(feature)); nodeThreshold.append(Float(weak.nodes[4 * n + 3]))
                }
                leaves += weak.leaves.map { Float($0) }
            }
            stageThreshold.append(Float(threshold))
            stageWeakEnd.append(Int32(weakNodeStart.count))
        }
        var features = [HaarFeature]()
        for (f, raw) in reader.features.enumerated() {
            guard (1...3).contains(raw.rects.count) else {
                throw CascadeError.malformed(path: source, reason: "feature \(f) has \(raw.rects.count) rectangles (1 to 3 expected)")
            }
            var rects = [HaarRect]()
            for r in raw.rects {
                guard r.count == 5 else { throw CascadeError.malformed(path: source, reason: "feature \(f): a rectangle needs 5 numbers") }
                let rect = HaarRect(x: Int(r[0]), y: Int(r[1]), width: Int(r[2]), height: Int(r[3]), weight: Float(r[4]))
                let inside: Bool
                if raw.tilted {
                    inside = rect.x - rect.height >= 0 && rect.x + rect.width <= width && rect.y >= 0
                        && rect.y + rect.width + rect.height <= height && rect.width >= 0 && rect.height >= 0
                } else {
                    inside = rect.x >= 0 && rect.y >= 0 && rect.width >= 0 && rect.height >= 0
                        && rect.x + rect.width <= width && rect.y + rect.height <= height
                }
                guard inside else {
                    throw CascadeError.malformed(path: source, reason: "feature \(f): rectangle \(r) outside the \(width)x\(height) window")
                }
                rects.append(rect)
            }
            features.append(HaarFeature(rects: rects, tilted: raw.tilted))
        }
        self.windowWidth = width
        self.windowHeight = height
        self.source = source
        self.stageThreshold = stageThreshold
        self.stageWeakEnd = stageWeakEnd
        self.weakNodeStart = weakNodeStart
        self.weakLeafStart = weakLeafStart
        self.nodeFeature = nodeFeature
        self.nodeThreshold = nodeThreshold
        self.nodeLeft = nodeLeft
        self.nodeRight = nodeRight
        self.leaves = leaves
        self.features = features
    }

    /// A copy with every feature mirrored left-right in the window (`x -> W - x - width`), which detects
    /// the mirror image of what this cascade detects (a left profile from a right-profile cascade)
    /// without flipping the image. `nil` when the cascade has tilted features.
    func mirrored() -> CascadeClassifier? {
        if hasTiltedFeatures { return nil }
        let flipped = features.map { feature in
            HaarFeature(rects: feature.rects.map {
                HaarRect(x: windowWidth - $0.x - $0.width, y: $0.y, width: $0.width, height: $0.height, weight: $0.weight)
            }, tilted: false)
        }
        return CascadeClassifier(copying: self, features: flipped, source: source + " (mirrored)")
    }

    private init(copying other: CascadeClassifier, features: [HaarFeature], source: String) {
        windowWidth = other.windowWidth; windowHeight = other.windowHeight; self.source = source
        stageThreshold = other.stageThreshold; stageWeakEnd = other.stageWeakEnd
        weakNodeStart = other.weakNodeStart; weakLeafStart = other.weakLeafStart
        nodeFeature = other.nodeFeature; nodeThreshold = other.nodeThreshold
        nodeLeft = other.nodeLeft; nodeRight = other.nodeRight; leaves = other.leaves
        self.features = features
    }
}

/// Raw parse results, checked and flattened by `CascadeClassifier.init(xml:source:)`.
private final class CascadeXMLReader: NSObject, XMLParserDelegate {
    struct RawWeak { var nodes: [Double] = []; var leaves: [Double] = [] }
    struct RawStage { var threshold: Double?; var weak: [RawWeak] = [] }
    struct RawFeature { var rects: [[Double]] = []; var tilted = false }

    var width: Int?
    var height: Int?
    var stageType: String?
    var featureType: String?
    var stages: [RawStage] = []
    var features: [RawFeature] = []
    var sawOldFormat = false
    var failure: String?

    private var path: [String] = []
    private var text = ""
    private var stage = RawStage()
    private var weak = RawWeak()
    private var feature = RawFeature()

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        path.append(elementName)
        text = ""
        if elementName == "trees" || attributeDict["type_id"] == "opencv-haar-classifier" { sawOldFormat = true }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    /// ASCII white space, compared as UTF-8 bytes: splitting and trimming by `Character` (grapheme
    /// breaking) or through `NSString` took half of a scan's start-up on the 1-2 MB cascade files.
    private static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 10 || byte == 9 || byte == 13 }

    /// `text` without leading and trailing ASCII white space.
    private var trimmedText: String {
        let bytes = text.utf8
        guard let first = bytes.firstIndex(where: { !Self.isSpace($0) }),
              let last = bytes.lastIndex(where: { !Self.isSpace($0) }) else { return "" }
        return String(Substring(bytes[first...last]))
    }

    private func numbers(_ parser: XMLParser) -> [Double] {
        var out = [Double]()
        for token in text.utf8.split(whereSeparator: Self.isSpace) {
            guard let value = Double(Substring(token)) else {
                fail(parser, "'\(token)' is not a number in <\(path.last ?? "")> at line \(parser.lineNumber)")
                return []
            }
            out.append(value)
        }
        return out
    }

    private func fail(_ parser: XMLParser, _ message: String) {
        if failure == nil { failure = message }
        parser.abortParsing()
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        let parent = path.count >= 2 ? path[path.count - 2] : ""
        let grandparent = path.count >= 3 ? path[path.count - 3] : ""
        let inStages = path.contains("stages"), inFeatures = path.contains("features")
        switch elementName {
        case "width" where !inStages && !inFeatures && parent != "stageParams" && parent != "featureParams":
            width = Int(trimmedText)
        case "height" where !inStages && !inFeatures && parent != "stageParams" && parent != "featureParams":
            height = Int(trimmedText)
        case "stageType": stageType = trimmedText
        case "featureType": featureType = trimmedText
        case "stageThreshold" where inStages: stage.threshold = Double(trimmedText)
        case "internalNodes" where inStages: weak.nodes = numbers(parser)
        case "leafValues" where inStages: weak.leaves = numbers(parser)
        case "tilted" where inFeatures: feature.tilted = trimmedText == "1"
        case "_" where parent == "weakClassifiers":
            stage.weak.append(weak); weak = RawWeak()
        case "_" where parent == "stages":
            stages.append(stage); stage = RawStage()
        case "_" where parent == "rects" && grandparent == "_":
            feature.rects.append(numbers(parser))
        case "_" where parent == "features":
            features.append(feature); feature = RawFeature()
        default: break
        }
        path.removeLast()
        text = ""
    }
}

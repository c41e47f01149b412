import Detector
import Foundation
import Imaging
import VideoIO

/// The explanation document of one scan: the JSON that `glassbox scan --json` writes.
///
/// This type is the schema; `docs/explanation.schema.json` describes the same shape for other
/// languages, and a test validates real output against it. Bump `currentSchemaVersion` on any
/// change that a reader could notice.
public struct ScanDocument: Codable, Sendable {
    public static let currentSchemaVersion = "1.0.0"

    public var schemaVersion: String = ScanDocument.currentSchemaVersion
    public var tool: ToolInfo
    public var input: InputInfo
    public var model: ModelInfo
    public var sampling: SamplingInfo
    public var verdict: VerdictInfo
    public var sampledFrames: Int
    public var framesWithFace: Int
    public var tracks: [TrackInfo]
    /// Integrated-gradients maps and SAE features (absent with `--no-explain`).
    public var explanation: ExplanationSection?
    /// The compression-shortcut check (absent with `--no-explain`).
    public var robustness: RobustnessSection?

    public init(tool: ToolInfo, input: InputInfo, model: ModelInfo, sampling: SamplingInfo, verdict: VerdictInfo,
                sampledFrames: Int, framesWithFace: Int, tracks: [TrackInfo]) {
        self.tool = tool
        self.input = input
        self.model = model
        self.sampling = sampling
        self.verdict = verdict
        self.sampledFrames = sampledFrames
        self.framesWithFace = framesWithFace
        self.tracks = tracks
    }

    public struct ToolInfo: Codable, Sendable {
        public var name: String = "glassbox"
        public var version: String
        public init(version: String) { self.version = version }
    }

    public struct InputInfo: Codable, Sendable {
        public var path: String
        public var sha256: String
        public var width: Int
        public var height: Int
        public var fps: Double
        public var frameCount: Int
        public var frameCountIsEstimated: Bool
        public var durationSeconds: Double
        public var codec: String
        public var container: String
        public var rotationDegrees: Int
    }

    public struct ModelInfo: Codable, Sendable {
        public var weights: String
        public var sha256: String
        public var architecture: String
        public var inputSize: Int
        public var temperature: Double
        public var threshold: Double
        public var unsureBand: Double
    }

    public struct SamplingInfo: Codable, Sendable {
        /// `every`, `everyNth:N`, `evenlySpaced:N` or `targetFPS:F`.
        public var mode: String
        public var startSeconds: Double?
        public var endSeconds: Double?
        public var cropMargin: Double
    }

    public struct VerdictInfo: Codable, Sendable {
        public var label: VerdictLabel
        public var probability: Double?
        public var summary: String
    }

    public struct TrackInfo: Codable, Sendable {
        public var id: Int
        public var label: VerdictLabel
        public var probability: Double
        public var temporalLogit: Double?
        public var frames: [FrameScore]
    }
}

extension SamplingOptions {
    /// A compact text form for provenance: `evenlySpaced:32`.
    public var descriptionForProvenance: String {
        switch sampling {
        case .every: return "every"
        case .everyNth(let n): return "everyNth:\(n)"
        case .evenlySpaced(let n): return "evenlySpaced:\(n)"
        case .targetFPS(let fps): return "targetFPS:\(fps)"
        }
    }
}

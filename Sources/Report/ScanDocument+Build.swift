import Detector
import Foundation
import VideoIO

extension ScanDocument {
    /// Builds the document of a scan.
    /// - Parameters:
    ///   - scan: the scanner's result.
    ///   - path: the scanned file as the user named it.
    ///   - inputSHA256: digest of the scanned file.
    ///   - model: the detector used.
    ///   - weightsPath: its weights file; `weightsSHA256` its digest.
    ///   - toolVersion: `glassbox --version`.
    public init(scan: VideoScan, path: String, inputSHA256: String, model: DetectorModel, weightsPath: String,
                weightsSHA256: String, toolVersion: String) {
        let info = scan.info
        self.init(
            tool: ToolInfo(version: toolVersion),
            input: InputInfo(path: path, sha256: inputSHA256, width: info.width, height: info.height, fps: info.fps,
                             frameCount: info.frameCount, frameCountIsEstimated: info.frameCountIsEstimated,
                             durationSeconds: info.durationSeconds, codec: info.codec, container: info.container,
                             rotationDegrees: info.rotationDegrees),
            model: ModelInfo(weights: weightsPath, sha256: weightsSHA256, architecture: model.architectureDescription,
                             inputSize: model.format.size, temperature: model.calibration.temperature,
                             threshold: model.rule.threshold, unsureBand: model.rule.unsureBand),
            sampling: SamplingInfo(mode: scan.sampling.descriptionForProvenance, startSeconds: scan.sampling.startSeconds,
                                   endSeconds: scan.sampling.endSeconds, cropMargin: model.format.margin),
            verdict: VerdictInfo(label: scan.verdict.label, probability: scan.verdict.probability, summary: scan.verdict.summary),
            sampledFrames: scan.sampledFrames,
            framesWithFace: scan.framesWithFace,
            tracks: scan.tracks.map { TrackInfo(id: $0.id, label: $0.label, probability: $0.probability,
                                                temporalLogit: $0.temporalLogit, frames: $0.frames) })
    }
}

import Foundation
import Imaging
import Randomness

/// The manipulations Glassbox can synthesise.
public enum ManipulationMethod: String, CaseIterable, Codable, Sendable {
    /// The frame blended with a jittered, warped copy of itself (Shiohara and Yamasaki, CVPR 2022).
    case selfBlend
    /// Another person's face aligned, colour-transferred and blended in.
    case crossSwap
    /// The eyes or the mouth replaced from another moment of the same clip.
    case regionSplice
    /// The face down- and up-sampled (nearest, bilinear or transposed-convolution checkerboard).
    case upsampling
    /// A self-blend whose blend ratio, mask position and colour change from frame to frame.
    case temporalFlicker

    /// Parses a comma-separated list such as `"selfBlend,crossSwap"` (also accepting kebab-case
    /// `self-blend` and lower case); `nil` names the offending entry through `invalid`.
    public static func parseList(_ text: String) -> (methods: [ManipulationMethod], invalid: String?) {
        var methods: [ManipulationMethod] = []
        for raw in text.split(separator: ",") {
            let key = raw.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "-", with: "")
                .replacingOccurrences(of: "_", with: "").lowercased()
            guard let method = allCases.first(where: { $0.rawValue.lowercased() == key }) else {
                return (methods, String(raw))
            }
            if !methods.contains(method) { methods.append(method) }
        }
        return (methods, nil)
    }
}

/// The random draw of one manipulation: which method, with which values.
public enum ManipulationParameters: Sendable, Equatable {
    case selfBlend(SelfBlendParameters)
    case crossSwap(CrossSwapParameters)
    case regionSplice(RegionSpliceParameters)
    case upsampling(UpsamplingParameters)
    case temporalFlicker(TemporalFlickerParameters)

    /// The method these parameters belong to.
    public var method: ManipulationMethod {
        switch self {
        case .selfBlend: .selfBlend
        case .crossSwap: .crossSwap
        case .regionSplice: .regionSplice
        case .upsampling: .upsampling
        case .temporalFlicker: .temporalFlicker
        }
    }

    /// Draws random parameters for `method`.
    /// - Parameters:
    ///   - method: the manipulation.
    ///   - rng: the generator to draw from.
    ///   - hasReference: whether another moment of the clip will be passed (region splice only).
    public static func random(for method: ManipulationMethod, using rng: inout SplitMix64,
                              hasReference: Bool = true) -> ManipulationParameters {
        switch method {
        case .selfBlend: .selfBlend(.random(using: &rng))
        case .crossSwap: .crossSwap(.random(using: &rng))
        case .regionSplice: .regionSplice(.random(using: &rng, hasReference: hasReference))
        case .upsampling: .upsampling(.random(using: &rng))
        case .temporalFlicker: .temporalFlicker(.random(using: &rng))
        }
    }

    /// The values as a JSON value (the method's parameter struct, without the method name), as stored
    /// in a manifest's `parameters`.
    public var json: JSONValue {
        switch self {
        case .selfBlend(let p): JSONValue(encoding: p)
        case .crossSwap(let p): JSONValue(encoding: p)
        case .regionSplice(let p): JSONValue(encoding: p)
        case .upsampling(let p): JSONValue(encoding: p)
        case .temporalFlicker(let p): JSONValue(encoding: p)
        }
    }

    /// Reads parameters back from a manifest's `parameters`.
    /// - Throws: `DecodingError` when `json` does not hold `method`'s parameter struct.
    public init(method: ManipulationMethod, json: JSONValue) throws {
        switch method {
        case .selfBlend: self = .selfBlend(try json.decode(SelfBlendParameters.self))
        case .crossSwap: self = .crossSwap(try json.decode(CrossSwapParameters.self))
        case .regionSplice: self = .regionSplice(try json.decode(RegionSpliceParameters.self))
        case .upsampling: self = .upsampling(try json.decode(UpsamplingParameters.self))
        case .temporalFlicker: self = .temporalFlicker(try json.decode(TemporalFlickerParameters.self))
        }
    }
}

/// The one entry point for making fakes, for the set writer and for on-the-fly training.
///
/// Cost: all work happens in a square region about twice the face box, on `Float` buffers; on a
/// 160x160 aligned crop one call takes on the order of a millisecond or a few.
public enum Synthesizer {
    /// Makes one fake frame with random parameters drawn from `seed`.
    ///
    /// Deterministic: the same inputs and seed give the same bytes.
    /// - Parameters:
    ///   - method: the manipulation.
    ///   - target: the real frame or aligned face crop (the face box inside it).
    ///   - box: the face box in `target`.
    ///   - donor: another person's face (cross swap). When `nil`, the target mirrored left-right is
    ///     the donor: still a misaligned, colour-shifted face, but no identity change.
    ///   - reference: another moment of the same clip (region splice). When `nil`, the target itself
    ///     with a larger misalignment is used.
    ///   - frameIndex: the frame's position in its clip (temporal flicker varies with it).
    ///   - seed: the random seed.
    /// - Returns: the fake, its frame-size blend mask, and the parameters that were drawn.
    public static func makeFake(_ method: ManipulationMethod, target: RGBImage, box: Box,
                                donor: FaceSample? = nil, reference: FaceSample? = nil,
                                frameIndex: Int = 0, seed: UInt64) -> (frame: SynthesizedFrame, parameters: ManipulationParameters) {
        var rng = SplitMix64(seed: seed)
        var parameters = ManipulationParameters.random(for: method, using: &rng, hasReference: reference != nil)
        if donor == nil, case .crossSwap(var p) = parameters {
            p.mirrorDonor = true
            parameters = .crossSwap(p)
        }
        let frame = makeFake(parameters: parameters, target: target, box: box, donor: donor,
                             reference: reference, frameIndex: frameIndex)
        return (frame, parameters)
    }

    /// Makes one fake frame with given parameters (for example the same draw on every frame of a clip).
    ///
    /// A cross swap without a donor uses the mirrored target (`mirrorDonor` is forced on).
    /// - Parameters: as `makeFake(_:target:box:donor:reference:frameIndex:seed:)`.
    /// - Returns: the fake and its frame-size blend mask.
    public static func makeFake(parameters: ManipulationParameters, target: RGBImage, box: Box,
                                donor: FaceSample? = nil, reference: FaceSample? = nil,
                                frameIndex: Int = 0) -> SynthesizedFrame {
        precondition(box.width > 0 && box.height > 0, "Synthesizer.makeFake needs a non-empty face box")
        switch parameters {
        case .selfBlend(let p):
            return SelfBlend.apply(target: target, box: box, parameters: p)
        case .crossSwap(var p):
            if donor == nil { p.mirrorDonor = true }
            return CrossSwap.apply(target: target, box: box, donor: donor ?? FaceSample(image: target, box: box), parameters: p)
        case .regionSplice(let p):
            return RegionSplice.apply(target: target, box: box, reference: reference, parameters: p)
        case .upsampling(let p):
            return Upsampling.apply(target: target, box: box, parameters: p)
        case .temporalFlicker(let p):
            return TemporalFlicker.apply(target: target, box: box, index: frameIndex, parameters: p)
        }
    }
}

import Foundation

extension SparseAutoencoder {
    /// The format tag written to `__metadata__["format"]`.
    public static let formatName = "glassbox-topk-sae-v1"

    /// The weights as a safetensors archive with PyTorch `nn.Linear` names and layouts:
    /// `encoder.weight [m, d]`, `encoder.bias [m]`, `decoder.weight [d, m]` (columns are the unit
    /// latent directions), `decoder.bias [d]` (= `b_dec`, also subtracted before the encoder).
    /// `__metadata__`: `format`, `d_in`, `d_sae`, `k`, `input_scale` (multiply embeddings by it before
    /// encoding, divide reconstructions by it), plus `extra`.
    public func archive(extra: [String: String] = [:]) -> TensorArchive {
        let d = inputSize, m = latentCount
        var decoderT = [Float](repeating: 0, count: d * m)
        for j in 0..<m { for i in 0..<d { decoderT[i * m + j] = decoderWeight[j * d + i] } }
        var metadata = extra
        metadata["format"] = Self.formatName
        metadata["d_in"] = String(d)
        metadata["d_sae"] = String(m)
        metadata["k"] = String(k)
        metadata["input_scale"] = String(inputScale)
        return TensorArchive(tensors: [
            "encoder.weight": .init(shape: [m, d], values: encoderWeight),
            "encoder.bias": .init(shape: [m], values: encoderBias),
            "decoder.weight": .init(shape: [d, m], values: decoderT),
            "decoder.bias": .init(shape: [d], values: decoderBias),
        ], metadata: metadata)
    }

    /// Rebuilds an autoencoder from ``archive(extra:)`` output.
    /// - Throws: ``ExplainError`` when metadata or tensors are missing or mis-shaped.
    public init(archive: TensorArchive) throws {
        func number(_ key: String) throws -> String {
            guard let v = archive.metadata[key] else { throw ExplainError.invalidArgument(name: key, reason: "missing from SAE metadata") }
            return v
        }
        guard let d = Int(try number("d_in")), let m = Int(try number("d_sae")), let k = Int(try number("k")),
              let scale = Float(try number("input_scale")), d > 0, m > 0, k >= 1, k <= m, scale > 0 else {
            throw ExplainError.invalidArgument(name: "SAE metadata", reason: "d_in, d_sae, k, input_scale must be valid numbers")
        }
        self.init(inputSize: d, latentCount: m, k: k)
        inputScale = scale
        encoderWeight = try archive.tensor("encoder.weight", shape: [m, d])
        encoderBias = try archive.tensor("encoder.bias", shape: [m])
        decoderBias = try archive.tensor("decoder.bias", shape: [d])
        let decoderT = try archive.tensor("decoder.weight", shape: [d, m])
        for j in 0..<m { for i in 0..<d { decoderWeight[j * d + i] = decoderT[i * m + j] } }
    }

    /// Writes `weights/sae.safetensors`-style weights.
    /// - Throws: file-system errors.
    public func save(to url: URL, extra: [String: String] = [:]) throws {
        try archive(extra: extra).write(to: url)
    }

    /// Loads weights written by ``save(to:extra:)``.
    /// - Throws: ``ExplainError`` for malformed files.
    public static func load(from url: URL) throws -> SparseAutoencoder {
        try SparseAutoencoder(archive: TensorArchive.read(from: url))
    }
}

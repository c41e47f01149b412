import Foundation

extension SparseAutoencoder {
    /// The format tag written to `__metadata__["format"]` by an SAE without whitening (unchanged
    /// since the first files, which therefore still load).
    public static let formatName = "glassbox-topk-sae-v1"
    /// The format tag of an SAE with a ``Whitening``: v1 plus three tensors.
    public static let whitenedFormatName = "glassbox-topk-sae-v2"

    /// The weights as a safetensors archive with PyTorch `nn.Linear` names and layouts:
    /// `encoder.weight [m, d]`, `encoder.bias [m]`, `decoder.weight [d, m]` (columns are the unit
    /// latent directions), `decoder.bias [d]` (= `b_dec`, also subtracted before the encoder).
    /// `__metadata__`: `format`, `d_in`, `d_sae`, `k`, `input_scale` (multiply embeddings by it before
    /// encoding, divide reconstructions by it), plus `extra`.
    /// With whitening (format v2) also `whitening.mean [d]`, `whitening.forward [d, d]`,
    /// `whitening.inverse [d, d]`: encode `((x - mean) @ forwardᵀ) * input_scale`, and decode
    /// `(x̂_n / input_scale) @ inverseᵀ + mean`.
    public func archive(extra: [String: String] = [:]) -> TensorArchive {
        let d = inputSize, m = latentCount
        var decoderT = [Float](repeating: 0, count: d * m)
        for j in 0..<m { for i in 0..<d { decoderT[i * m + j] = decoderWeight[j * d + i] } }
        var metadata = extra
        metadata["format"] = whitening == nil ? Self.formatName : Self.whitenedFormatName
        metadata["d_in"] = String(d)
        metadata["d_sae"] = String(m)
        metadata["k"] = String(k)
        metadata["input_scale"] = String(inputScale)
        var tensors: [String: TensorArchive.Entry] = [
            "encoder.weight": .init(shape: [m, d], values: encoderWeight),
            "encoder.bias": .init(shape: [m], values: encoderBias),
            "decoder.weight": .init(shape: [d, m], values: decoderT),
            "decoder.bias": .init(shape: [d], values: decoderBias),
        ]
        if let whitening {
            tensors["whitening.mean"] = .init(shape: [d], values: whitening.mean)
            tensors["whitening.forward"] = .init(shape: [d, d], values: whitening.forward)
            tensors["whitening.inverse"] = .init(shape: [d, d], values: whitening.inverse)
        }
        return TensorArchive(tensors: tensors, metadata: metadata)
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
        if archive.tensors["whitening.forward"] != nil {
            whitening = Whitening(mean: try archive.tensor("whitening.mean", shape: [d]),
                                  forward: try archive.tensor("whitening.forward", shape: [d, d]),
                                  inverse: try archive.tensor("whitening.inverse", shape: [d, d]))
        }
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

import Foundation

extension SAETrainer {
    /// Writes the model, Adam moments, dead-latent counters and step counts to one safetensors file
    /// (model tensors under their usual names, moments as `adam.m.<name>` / `adam.v.<name>`,
    /// counters as `trainer.since_fired`), so that training can resume exactly.
    /// - Throws: file-system errors.
    public func saveCheckpoint(to url: URL) throws {
        var archive = model.archive(extra: ["trainer.steps": String(stepCount), "trainer.epochs": String(epochsDone)])
        for (name, state) in momentState() {
            archive.tensors["adam.m.\(name)"] = .init(shape: [state.m.count], values: state.m)
            archive.tensors["adam.v.\(name)"] = .init(shape: [state.v.count], values: state.v)
        }
        let since = sinceFiredState()
        archive.tensors["trainer.since_fired"] = .init(shape: [since.count], values: since.map { Float($0) })
        try archive.write(to: url)
    }

    /// A trainer that continues from ``saveCheckpoint(to:)``.
    /// - Parameters:
    ///   - url: the checkpoint.
    ///   - configuration: hyper-parameters for the remaining epochs.
    /// - Throws: ``ExplainError`` or `SafetensorsError` for malformed checkpoints.
    public convenience init(resumingFrom url: URL, configuration: Configuration) throws {
        let archive = try TensorArchive.read(from: url)
        let model = try SparseAutoencoder(archive: archive)
        self.init(model: model, configuration: configuration)
        guard let steps = archive.metadata["trainer.steps"].flatMap(Int.init),
              let epochs = archive.metadata["trainer.epochs"].flatMap(Int.init) else {
            throw ExplainError.invalidArgument(name: "checkpoint", reason: "trainer.steps / trainer.epochs missing from metadata")
        }
        var moments: [String: (m: [Float], v: [Float])] = [:]
        for (name, state) in momentState() {
            moments[name] = (try archive.tensor("adam.m.\(name)", shape: [state.m.count]),
                             try archive.tensor("adam.v.\(name)", shape: [state.v.count]))
        }
        let since = try archive.tensor("trainer.since_fired", shape: [model.latentCount]).map { Int($0) }
        restore(moments: moments, sinceFired: since, steps: steps, epochs: epochs)
    }
}

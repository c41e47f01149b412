import Foundation
import Imaging
import Testing
@testable import Detector
import NN
import Tensor

@Suite struct SpatialNetworkTests {
    static let small = SpatialNetworkConfiguration(inputSize: 16, stemChannels: 4, stageChannels: [6, 8], blocksPerStage: 2)

    @Test func shapesAndEmbedding() {
        let net = SpatialNetwork(configuration: Self.small, seed: 1)
        var g = SeededGenerator(seed: 2)
        let x = Tensor.randomUniform(shape: [3, 3, 16, 16], generator: &g)
        let e = net.embedding(x)
        #expect(e.shape == [3, 8])
        #expect(net.frameLogit(fromEmbedding: e) == net(x))
        #expect(net(x).shape == [3, 1])
    }

    @Test(arguments: [false, true])
    func inputGradientMatchesFiniteDifferences(antialiased: Bool) {
        var config = Self.small
        config.antialiased = antialiased
        let net = SpatialNetwork(configuration: config, seed: 3)
        var g = SeededGenerator(seed: 4)
        // Give the batch norms non-trivial running statistics first.
        let opt = SGD(parameters: net.parameters, learningRate: 0.01)
        net.trainingStep(crops: .randomUniform(shape: [4, 3, 16, 16], generator: &g), labels: Tensor(shape: [4], scalars: [0, 1, 0, 1]), optimizer: opt)
        let x = Tensor.randomUniform(shape: [2, 3, 16, 16], generator: &g)
        let (logits, grad) = net.inputGradient(of: x)
        #expect(grad.shape == x.shape)
        for _ in 0..<10 {
            let i = Int(g.next() % UInt64(x.count))
            var xp = x, xm = x
            xp.scalars[i] += 1e-2; xm.scalars[i] -= 1e-2
            let num = (net(xp).sum() - net(xm).sum()) / 2e-2
            #expect(abs(num - grad.scalars[i]) <= 2e-2 * max(1, abs(num)), "input[\(i)]: numeric \(num) vs \(grad.scalars[i])")
        }
        #expect(logits == net(x))
    }

    @Test func antialiasedNetworkKeepsShapesNamesAndOldMetadata() throws {
        var config = Self.small
        config.antialiased = true
        let net = SpatialNetwork(configuration: config, seed: 5)
        var g = SeededGenerator(seed: 6)
        #expect(net.embedding(.randomUniform(shape: [2, 3, 16, 16], generator: &g)).shape == [2, 8])
        // Same parameters as the plain network (blur-pool has none), same downsampled sizes.
        #expect(net.namedParameters.map(\.name) == SpatialNetwork(configuration: Self.small, seed: 5).namedParameters.map(\.name))
        // The flag round-trips, and plain configurations are written as before (no new key).
        let decoded = try JSONDecoder().decode(SpatialNetworkConfiguration.self, from: JSONEncoder().encode(config))
        #expect(decoded == config)
        let plain = String(decoding: try JSONEncoder().encode(Self.small), as: UTF8.self)
        #expect(!plain.contains("antialiased"))
        #expect(try JSONDecoder().decode(SpatialNetworkConfiguration.self, from: Data(plain.utf8)) == Self.small)
    }

    @Test func trainingLowersLossOnASeparableToyTask() {
        let net = SpatialNetwork(configuration: Self.small, seed: 5)
        let opt = AdamW(parameters: net.parameters, learningRate: 3e-3)
        var g = SeededGenerator(seed: 6)
        // Fakes are brighter: an easy signal the network must pick up.
        var first: Float = 0, last: Float = 0
        for step in 0..<30 {
            var x = Tensor.randomUniform(shape: [8, 3, 16, 16], lower: 0, upper: 0.5, generator: &g)
            let labels = Tensor(shape: [8], scalars: (0..<8).map { Float($0 % 2) })
            x.withUnsafeMutableBufferPointer { p in for n in stride(from: 1, to: 8, by: 2) { for j in 0..<(3 * 256) { p[n * 768 + j] += 0.4 } } }
            let l = net.trainingStep(crops: x, labels: labels, optimizer: opt)
            if step == 0 { first = l }
            last = l
        }
        #expect(last < first * 0.5, "loss \(first) -> \(last)")
    }

    @Test func saveAndLoadRoundTrip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spatial-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let net = SpatialNetwork(configuration: Self.small, seed: 7)
        let url = dir.appendingPathComponent("s.safetensors")
        try net.save(to: url)
        let back = try SpatialNetwork.load(from: url)
        #expect(back.configuration == Self.small)
        #expect(back.stateDict() == net.stateDict())
        #expect(Set(net.stateDict().keys).contains("stages.1.0.bn.running_var"))
        let meta = try Safetensors.read(contentsOf: url).metadata
        #expect(meta["input_mean"] == "0.5,0.5,0.5")

        let head = TemporalHead(configuration: .init(embeddingDimension: 8, hiddenChannels: 4), seed: 8)
        let both = dir.appendingPathComponent("d.safetensors")
        try DetectorNetworkFile.save(spatial: net, temporal: head, to: both)
        let (s2, t2, _) = try DetectorNetworkFile.load(from: both)
        #expect(s2.stateDict() == net.stateDict() && t2.stateDict() == head.stateDict())
    }

    @Test func temporalHeadGradients() {
        let head = TemporalHead(configuration: .init(embeddingDimension: 5, hiddenChannels: 3), seed: 9)
        var g = SeededGenerator(seed: 10)
        let x = Tensor.randomNormal(shape: [2, 6, 5], generator: &g)
        let y = head.forward(x, training: true)
        #expect(y.shape == [2, 1])
        head.zeroGradients()
        let dx = head.backward(Tensor(repeating: 1, shape: [2, 1]))
        for i in [0, 7, 23, 59] {
            var xp = x, xm = x
            xp.scalars[i] += 1e-2; xm.scalars[i] -= 1e-2
            let num = (head.forward(xp, training: true).sum() - head.forward(xm, training: true).sum()) / 2e-2
            #expect(abs(num - dx.scalars[i]) <= 1e-2 * max(1, abs(num)))
        }
        #expect(head.forward(x.slice(0..<1).reshaped([6, 5]), training: false).shape == [1, 1])
    }
}

@Suite("Input scale: legacy byte / 255² configurations load as the same network on byte / 255")
struct InputScaleTests {
    @Test func cropsReachTheNetworkInZeroToOne() {
        var crop = RGBImage(width: 4, height: 4, fill: (255, 0, 51))
        crop.pixels[0] = 0
        let values = InputFormat(size: 4).tensorValues(crop)
        #expect(values[0] == 0 && values[1] == 1)          // red plane: 0, then 255
        #expect(values[16] == 0)                            // green plane
        #expect(abs(values[32] - 0.2) < 1e-6)               // blue plane: 51 / 255
    }

    @Test func legacyConfigurationComputesTheSameFunction() throws {
        let config = SpatialNetworkConfiguration(inputSize: 16, stemChannels: 4, stageChannels: [6, 8], blocksPerStage: 2)
        #expect(config.pixelRange == "0...1")
        let legacyNet = SpatialNetwork(configuration: config, seed: 7)
        var g = SeededGenerator(seed: 8)
        let opt = SGD(parameters: legacyNet.parameters, learningRate: 0.01)
        legacyNet.trainingStep(crops: .randomUniform(shape: [4, 3, 16, 16], generator: &g), labels: Tensor(shape: [4], scalars: [0, 1, 0, 1]),
                               optimizer: opt)
        // A configuration as written before `pixelRange` existed.
        var json = try #require(String(data: JSONEncoder().encode(config), encoding: .utf8))
        json = json.replacingOccurrences(of: ",\"pixelRange\":\"0...1\"", with: "").replacingOccurrences(of: "\"pixelRange\":\"0...1\",", with: "")
        #expect(!json.contains("pixelRange"))
        let decoded = try JSONDecoder().decode(SpatialNetworkConfiguration.self, from: Data(json.utf8))
        #expect(decoded.inputMean == [127.5, 127.5, 127.5] && decoded.inputStd == [63.75, 63.75, 63.75])
        #expect(decoded.pixelRange == "0...1")
        let converted = SpatialNetwork(configuration: decoded, seed: 99)
        try converted.loadStateDict(legacyNet.stateDict())
        // Bytes -> the old input (byte / 255²) for the legacy network, the new one (byte / 255) for the converted one.
        let bytes = (0..<(2 * 3 * 16 * 16)).map { _ in Float(g.next() % 256) }
        let old = legacyNet(Tensor(shape: [2, 3, 16, 16], scalars: bytes.map { $0 / 65025 }))
        let new = converted(Tensor(shape: [2, 3, 16, 16], scalars: bytes.map { $0 / 255 }))
        for (a, b) in zip(old.scalars, new.scalars) { #expect(abs(a - b) <= 1e-4 * max(1, abs(a)), "\(a) vs \(b)") }
        // And it round-trips in the new form.
        let again = try JSONDecoder().decode(SpatialNetworkConfiguration.self, from: JSONEncoder().encode(decoded))
        #expect(again == decoded)
    }
}

@Suite("Auxiliary training heads")
struct AuxiliaryHeadTests {
    /// A method-classification head on the embedding learns to tell classes apart that the crops
    /// encode (a colour per class), and sends gradient into the network it rides on.
    @Test func methodHeadLearnsAndTrainsTheNetwork() {
        let config = SpatialNetworkConfiguration(inputSize: 16, stemChannels: 4, stageChannels: [6, 8, 8], blocksPerStage: 1)
        let net = SpatialNetwork(configuration: config, seed: 3)
        let step = BoundaryHeadStep(network: net, weight: 0.5, methodClasses: 3, methodWeight: 1, seed: 4)
        #expect(step.methodHead != nil)
        #expect(step.parameters.count == net.parameters.count + step.head.parameters.count + 2)
        #expect(BoundaryHeadStep(network: net, weight: 0.5, seed: 4).methodHead == nil, "off by default")
        // Class c: channel c bright. Labels: class 0 real, others fake.
        let classes = [0, 1, 2, 0, 1, 2, 0, 1]
        var pixels = [Float](repeating: 0.1, count: classes.count * 3 * 16 * 16)
        for (i, c) in classes.enumerated() { for p in 0..<256 { pixels[(i * 3 + c) * 256 + p] = 0.9 } }
        let crops = Tensor(shape: [classes.count, 3, 16, 16], scalars: pixels)
        let labels = Tensor(shape: [classes.count], scalars: classes.map { $0 == 0 ? 0 : 1 })
        let masks = Tensor(shape: [classes.count, 1, 2, 2], scalars: [Float](repeating: 0, count: classes.count * 4))
        func methodLoss() -> Float {
            Loss.softmaxCrossEntropy(step.methodHead!.forward(net.embedding(crops), training: false), classes: classes).loss
        }
        let stemBefore = net.stem.conv.weight.value.scalars
        let before = methodLoss()
        let optimizer = AdamW(parameters: step.parameters, learningRate: 0.01)
        for _ in 0..<40 { _ = step.step(crops: crops, labels: labels, masks: masks, classes: classes, optimizer: optimizer) }
        let after = methodLoss()
        #expect(after < before / 2, "method loss \(before) -> \(after)")
        #expect(net.stem.conv.weight.value.scalars != stemBefore)
    }
}

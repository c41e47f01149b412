import Foundation
import Imaging
import Testing
@testable import Explain
import Randomness

/// An SAE with identity encoder/decoder on d = m = 4: latent j fires with the j-th coordinate.
func identitySAE(k: Int, scale: Float = 1) -> SparseAutoencoder {
    var sae = SparseAutoencoder(inputSize: 4, latentCount: 4, k: k)
    sae.encoderWeight = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    sae.decoderWeight = sae.encoderWeight
    sae.inputScale = scale
    return sae
}

@Suite struct FeatureDictionaryTests {
    /// Latent 0 fires exactly on selfBlend fakes blended at the mouth, latent 1 on low-quality
    /// codecs, latent 2 on identity 3 (independently, k = 3); latent 3 never fires.
    func fixture() -> ([Float], [SampleMetadata]) {
        var x: [Float] = [], meta: [SampleMetadata] = []
        let methods = ["selfBlend", "crossSwap", "real"], regions = ["mouth", "eyes"], qualities = ["low", "high"]
        var n = 0
        for method in methods { for region in regions { for quality in qualities { for identity in 0..<4 {
            var e: [Float] = [0, 0, 0, 0]
            if method == "selfBlend" && region == "mouth" { e[0] = 2 + Float(n % 3) }
            if quality == "low" { e[1] = 1 }
            if identity == 3 { e[2] = 1.5 }
            x += e
            meta.append(SampleMetadata(tags: ["method": method, "region": region, "quality": quality, "identity": String(identity)],
                                       numeric: ["codecQuality": quality == "low" ? 20 : 90]))
            n += 1
        } } } }
        return (x, meta)
    }

    @Test func labelsStatsAndContributions() throws {
        let (x, meta) = fixture()
        let count = meta.count
        let sae = identitySAE(k: 3, scale: 2)   // identity, inputs scaled by 2
        let w: [Float] = [1, -0.5, 0.25, 3]
        let dictionary = try FeatureDictionary.build(sae: sae, embeddings: x, count: count, metadata: meta, readoutWeights: w,
                                                     options: .init(topSampleCount: 3))
        #expect(dictionary.features.count == 4 && dictionary.sampleCount == count)
        #expect(dictionary[0].label == "selfBlend · mouth region")
        #expect(dictionary[0].labelTags == ["method": "selfBlend", "region": "mouth"])
        #expect(dictionary[1].label == "codec: low quality")
        #expect(dictionary[2].label == "identity 3")
        #expect(dictionary[3].label == "dead" && dictionary[3].firingRate == 0)
        #expect(dictionary[0].labelScore > 0.5)
        // Stats: latent 0 fires on the 8 selfBlend·mouth samples.
        #expect(abs(dictionary[0].firingRate - 8.0 / Double(count)) < 1e-12)
        #expect(dictionary[0].topSamples.count == 3)
        #expect(dictionary[0].topActivations == [8, 8, 6])   // (2 + {2, 2, 1}) * scale 2
        #expect(x[dictionary[0].topSamples[0] * 4] == 4 && x[dictionary[0].topSamples[2] * 4] == 3)
        // Direct contribution = decoder column · w / scale.
        #expect(abs(dictionary[1].directContribution! - (-0.25)) < 1e-9)
        // Codec quality correlates negatively with the low-quality latent.
        #expect(dictionary[1].correlations["codecQuality"]! < -0.5)
        // Codable round trip.
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("sae_features.json")
        try dictionary.write(to: url)
        #expect(try FeatureDictionary.read(from: url) == dictionary)
    }

    @Test func metadataCountMustMatch() {
        #expect(throws: ExplainError.self) {
            try FeatureDictionary.build(sae: identitySAE(k: 1), embeddings: [1, 0, 0, 0], count: 1, metadata: [.init(), .init()])
        }
    }
}

@Suite struct FeatureAblationTests {
    let w: [Float] = [1, -2, 0.5, 0.25]
    var readout: ([Float]) throws -> Float { { e in zip(e, [1, -2, 0.5, 0.25] as [Float]).reduce(0.1) { $0 + $1.0 * $1.1 } } }

    @Test func errorTermSpliceIsExactAndAblationRemovesTheFeature() throws {
        let ablation = FeatureAblation(sae: identitySAE(k: 2, scale: 4), readout: readout)
        let e: [Float] = [0.8, 0.3, -0.2, 0.05]   // latents 0 and 1 fire (k = 2)
        let nothing = try ablation.effect(of: [], embedding: e)
        #expect(nothing.splicedLogit == nothing.originalLogit && nothing.deltaPFake == 0)
        #expect(ablation.splicedEmbedding(e, mode: .reconstructionPlusError) == e)
        let without0 = try ablation.effect(of: [0], embedding: e)
        #expect(abs(without0.ablatedLogit - (without0.originalLogit - 0.8)) < 1e-6)
        #expect(abs(without0.deltaPFake - (sigmoid(without0.ablatedLogit) - sigmoid(without0.originalLogit))) < 1e-12)
        #expect(without0.deltaPFake < 0)
        // The pure reconstruction drops what the SAE cannot represent (k = 2 of 3 non-zero coordinates).
        let pure = try ablation.effect(of: [], embedding: e, mode: .reconstruction)
        #expect(abs(pure.splicedLogit - (0.1 + 0.8 - 0.6)) < 1e-6)
        #expect(ablation.splicedEmbeddings(e, count: 1, mode: .reconstruction) == [0.8, 0.3, 0, 0])
    }

    @Test func topFeaturesRankByContributionWithAblationDeltas() throws {
        let ablation = FeatureAblation(sae: identitySAE(k: 3), readout: readout)
        let e: [Float] = [0.5, 0.4, 2, 0]
        let records = try ablation.topFeatures(embedding: e, readoutWeights: w, count: 3)
        // Contributions: 0.5 * 1, 0.4 * -2, 2 * 0.5 → by magnitude: latent 2 (1.0), 1 (-0.8), 0 (0.5).
        #expect(records.map(\.id) == [2, 1, 0])
        #expect(abs(records[1].contribution + 0.8) < 1e-6 && records[1].ablationDelta > 0)
        #expect(records[0].label == "feature 2")
        let fake = try ablation.topFeatures(embedding: e, readoutWeights: w, count: 2, ranking: .towardsFake)
        #expect(fake.map(\.id) == [2, 0])
        // Under the exact splice the ablation delta of a linear readout follows from the contribution.
        let logit = Double(try readout(e))
        for r in records { #expect(abs(r.ablationDelta - (sigmoid(logit - r.contribution) - sigmoid(logit))) < 1e-6) }
    }
}

@Suite struct ExplanationRecordTests {
    @Test func attributionRecordFromIGEncodesTheDocumentFields() throws {
        let shape = InputShape(channels: 3, height: 16, width: 16)
        var rng = SplitMix64(seed: 3)
        let model = LinearToyModel(inputShape: shape, weights: (0..<shape.count).map { _ in rng.nextGaussian() }, bias: 0)
        let attribution = try IntegratedGradients(.init(steps: 8, normalization: .imageNet))
            .attribute(model, inputs: toyInputs(shape: shape, count: 1, seed: 2), count: 1)[0]
        let record = AttributionRecord(attribution: attribution, frameIndex: 12, track: 0, faceBox: Box(x: 2, y: 2, width: 12, height: 12),
                                       cropBox: Box(x: 100, y: 50, width: 64, height: 64), heatmap: "heatmaps/f12_t0.png",
                                       rawMaps: "scan.maps.safetensors", rawMapTensor: "frame12.track0", patchSize: 8, patchCount: 2)
        #expect(record.regions.count == FaceRegion.allCases.count && record.topPatches.count == 2)
        #expect(record.baseline == "blur(8.0)" && record.rule == "gaussLegendre" && record.steps == 8)
        let data = try JSONEncoder().encode(record)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["frameIndex", "track", "method", "steps", "baseline", "completenessDelta", "relativeCompletenessError",
                    "heatmap", "rawMaps", "rawMapTensor", "cropBox", "regions", "topPatches"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(try JSONDecoder().decode(AttributionRecord.self, from: data) == record)
        let feature = FeatureRecord(id: 7, label: "selfBlend · mouth region", activation: 1.5, contribution: 0.8, ablationDelta: -0.12)
        #expect(try JSONDecoder().decode(FeatureRecord.self, from: JSONEncoder().encode(feature)) == feature)
    }
}

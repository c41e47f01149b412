import Foundation
import Testing
@testable import NN
import Tensor

@Suite struct SafetensorsTests {
    func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("nn-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// Builds a file by hand: header JSON string and raw data bytes.
    func raw(_ header: String, _ data: [UInt8], lengthOverride: UInt64? = nil) -> Data {
        var d = Data()
        var n = (lengthOverride ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: data)
        return d
    }

    @Test func roundTripWithMetadataAndModule() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let net = Sequential(Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, seed: 1), BatchNorm2D(channels: 3))
        let url = dir.appendingPathComponent("m.safetensors")
        try net.save(to: url, metadata: ["format": "pt", "note": "test"])
        let other = Sequential(Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, seed: 99), BatchNorm2D(channels: 3))
        let meta = try other.load(from: url)
        #expect(meta == ["format": "pt", "note": "test"])
        #expect(other.stateDict() == net.stateDict())
        let f = try Safetensors.read(contentsOf: url)
        #expect(Set(f.tensors.keys) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"])
        let bytes = try Data(contentsOf: url)
        #expect((bytes.count - 8) % 4 == 0)
    }

    @Test func readsF16() throws {
        // 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800
        let d = raw(#"{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}}"#, [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38])
        let f = try Safetensors.decode(d)
        #expect(f.tensors["h"]!.scalars == [1, -2, 0.5])
    }

    @Test func rejectsBadFiles() throws {
        let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let data8 = [UInt8](repeating: 0, count: 8)
        #expect(throws: Never.self) { try Safetensors.decode(raw(ok, data8)) }
        #expect(throws: SafetensorsError.headerTooSmall(fileSize: 3)) { try Safetensors.decode(Data([1, 2, 3])) }
        #expect(throws: SafetensorsError.headerTooLarge(length: 200_000_000)) {
            try Safetensors.decode(raw(ok, data8, lengthOverride: 200_000_000))
        }
        // Truncated: header length runs past the end.
        #expect(throws: SafetensorsError.invalidHeaderLength(length: 5000, fileSize: 8 + ok.utf8.count + 8)) {
            try Safetensors.decode(raw(ok, data8, lengthOverride: 5000))
        }
        // Truncated data section.
        #expect(throws: SafetensorsError.truncated(name: "a", end: 8, dataSize: 4)) { try Safetensors.decode(raw(ok, [0, 0, 0, 0])) }
        // Extra bytes after the last tensor.
        #expect(throws: SafetensorsError.metadataIncompleteBuffer(coveredBytes: 8, dataSize: 12)) {
            try Safetensors.decode(raw(ok, data8 + [0, 0, 0, 0]))
        }
        // Size mismatch between shape and offsets.
        #expect(throws: SafetensorsError.sizeMismatch(name: "a", expectedBytes: 12, actualBytes: 8)) {
            try Safetensors.decode(raw(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data8))
        }
        // Gap between tensors.
        #expect(throws: SafetensorsError.invalidOffset(name: "b", begin: 8, expected: 4)) {
            try Safetensors.decode(raw(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, data8 + [0, 0, 0, 0]))
        }
        #expect(throws: SafetensorsError.invalidHeaderStart) { try Safetensors.decode(raw(" [1]", [])) }
        #expect(throws: SafetensorsError.self) { try Safetensors.decode(raw("{not json", [])) }
        #expect(throws: SafetensorsError.invalidMetadata("value of 'k' is not a string")) {
            try Safetensors.decode(raw(#"{"__metadata__":{"k":1}}"#, []))
        }
        #expect(throws: SafetensorsError.unsupportedDType(name: "a", dtype: "Q4")) {
            try Safetensors.decode(raw(#"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, [0]))
        }
    }

    @Test func loadRejectsWrongShapesAndNames() throws {
        let lin = Linear(inputFeatures: 3, outputFeatures: 2)
        #expect(throws: StateDictError.shapeMismatch(name: "weight", expected: [2, 3], actual: [3, 2])) {
            try lin.loadStateDict(["weight": Tensor(zeros: [3, 2]), "bias": Tensor(zeros: [2])])
        }
        #expect(throws: StateDictError.missingKey("bias")) { try lin.loadStateDict(["weight": Tensor(zeros: [2, 3])]) }
        #expect(throws: StateDictError.unexpectedKey("extra")) {
            try lin.loadStateDict(["weight": Tensor(zeros: [2, 3]), "bias": Tensor(zeros: [2]), "extra": Tensor(zeros: [1])])
        }
    }
}

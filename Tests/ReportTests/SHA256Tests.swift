import Foundation
import Testing
@testable import Report

@Suite("SHA-256")
struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hex(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func streamingEqualsOneShotAcrossBlockBoundaries() throws {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = SHA256()
        hasher.update(bytes[0..<63]); hasher.update(bytes[63..<64]); hasher.update(bytes[64..<500]); hasher.update(bytes[500...])
        let streamed = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        #expect(streamed == SHA256.hex(bytes))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID()).bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try SHA256.hex(ofFile: path) == streamed)
    }
}

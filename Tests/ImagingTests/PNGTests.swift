import Foundation
import Testing
@testable import Imaging

@Suite struct ChecksumTests {
    @Test func crc32CheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum(Array("IEND".utf8)) == 0xAE42_6082)
    }

    @Test func adler32KnownValue() {
        #expect(Adler32.checksum(Array("Wikipedia".utf8)) == 0x11E6_0398)
        #expect(Adler32.checksum([UInt8]()) == 1)
        // Long input exercises the modulo steps.
        let long = [UInt8](repeating: 255, count: 100_000)
        var a: UInt64 = 1, b: UInt64 = 0
        for byte in long { a = (a + UInt64(byte)) % 65521; b = (b + a) % 65521 }
        #expect(Adler32.checksum(long) == UInt32(b << 16 | a))
    }
}

@Suite struct ZlibTests {
    static func sample() -> [UInt8] {
        var state: UInt32 = 12345
        var bytes = [UInt8]()
        for i in 0..<70_000 {  // over 65535 forces several stored blocks
            state = state &* 1_103_515_245 &+ 12345
            bytes.append(i % 3 == 0 ? UInt8(state >> 24) : UInt8(i / 500 % 7))
        }
        return bytes
    }

    @Test(arguments: [DeflateMode.stored, .fixedHuffman])
    func roundTrip(mode: DeflateMode) throws {
        let data = Self.sample()
        let compressed = Zlib.compress(data, mode: mode)
        #expect(try Zlib.decompress(compressed) == data)
        #expect(try Zlib.decompress(Zlib.compress([], mode: mode)) == [])
        let text = Array(String(repeating: "all work and no play makes jack a dull boy. ", count: 400).utf8)
        let packed = Zlib.compress(text, mode: mode)
        #expect(try Zlib.decompress(packed) == text)
        if mode == .fixedHuffman { #expect(packed.count < text.count / 20) } else { #expect(packed.count > text.count) }
    }

    @Test func decodesPythonZlibFixedAndDynamic() throws {
        // python3: zlib.compress(b"abracadabra alakazam " * 30 + b"z"*30+b"y"*15+b"x"*10 ..., 9) (fixed Huffman)
        let fixed: [UInt8] = [120, 218, 75, 76, 42, 74, 76, 78, 76, 73, 4, 82, 10, 137, 57, 137, 217, 137, 85, 137, 185, 10, 137,
                              163, 130, 163, 130, 180, 20, 172, 194, 11, 42, 81, 65, 5, 28, 208, 87, 27, 0, 251, 228, 57, 93]
        let text = try Zlib.decompress(fixed)
        #expect(text.count == 795)
        #expect(String(decoding: text.prefix(21), as: UTF8.self) == "abracadabra alakazam ")
        // python3: random.seed(1); bytes(random.choice(b'aaaaaaaabbbbccd efghij') for _ in range(600)); level 9
        // gives a dynamic-Huffman block (BTYPE 2); zlib.crc32 of the 600 bytes is 2718514535.
        let dynamic: [UInt8] = [120, 218, 37, 82, 139, 21, 196, 48, 8, 90, 197, 213, 192, 111, 220, 127, 128, 195, 94, 250, 154, 198, 79, 16, 180, 104, 16, 22, 246, 28, 48, 184, 15, 130, 56, 31, 240, 10, 190, 112, 36, 194, 74, 158, 189, 144, 215, 83, 132, 96, 122, 46, 200, 182, 244, 254, 110, 202, 170, 37, 98, 19, 72, 167, 201, 201, 233, 118, 229, 203, 131, 18, 90, 178, 25, 220, 26, 29, 145, 114, 192, 216, 165, 108, 163, 83, 25, 51, 140, 17, 60, 170, 117, 225, 42, 2, 161, 202, 196, 168, 148, 12, 38, 150, 79, 24, 102, 50, 156, 126, 193, 196, 136, 60, 238, 141, 92, 47, 188, 12, 228, 19, 249, 230, 62, 255, 180, 232, 21, 128, 183, 190, 37, 121, 29, 152, 196, 23, 234, 253, 248, 175, 51, 143, 176, 127, 217, 106, 128, 130, 18, 95, 98, 43, 241, 255, 165, 38, 112, 146, 90, 199, 200, 208, 215, 21, 191, 194, 50, 219, 207, 214, 69, 158, 164, 224, 231, 220, 63, 45, 40, 40, 33, 39, 199, 5, 89, 52, 126, 77, 84, 142, 20, 159, 12, 29, 78, 232, 148, 173, 208, 235, 227, 171, 39, 240, 90, 121, 126, 103, 245, 78, 123, 77, 207, 71, 70, 252, 142, 215, 83, 193, 107, 70, 18, 121, 248, 39, 51, 135, 127, 182, 179, 117, 109, 210, 182, 55, 191, 184, 218, 81, 241, 225, 25, 158, 132, 159, 212, 219, 233, 162, 56, 247, 11, 8, 41, 95, 172, 166, 70, 91, 205, 149, 53, 143, 178, 212, 81, 33, 159, 60, 13, 230, 166, 52, 121, 170, 196, 93, 237, 91, 127, 212, 72, 235, 18, 222, 145, 159, 31, 195, 236, 226, 81]
        #expect(dynamic[2] >> 1 & 3 == 2)
        let out = try Zlib.decompress(dynamic)
        #expect(out.count == 600 && CRC32.checksum(out) == 2_718_514_535)
    }

    @Test func rejectsCorruptStreams() {
        var stream = Zlib.compress(Array("hello hello hello".utf8))
        stream[stream.count - 1] ^= 1
        #expect(throws: PNGError.self) { try Zlib.decompress(stream) }
        #expect(throws: PNGError.self) { try Zlib.decompress([0x78, 0x01, 0x00]) }
        #expect(throws: PNGError.self) { try Zlib.decompress(Array(Zlib.compress(Array("abcabcabc".utf8)).prefix(5))) }
    }
}

@Suite struct PNGFileTests {
    @Test(arguments: [DeflateMode.stored, .fixedHuffman])
    func rgbRoundTrip(mode: DeflateMode) throws {
        let image = gradientImage(width: 13, height: 9)
        let data = PNG.encode(image, mode: mode)
        #expect(Array(data.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(try PNG.decode(data) == image)
    }

    @Test func grayWritesAsGrayscale() throws {
        let gray = GrayImage(width: 4, height: 3, values: (0..<12).map { Float($0 * 20) })
        let decoded = try PNG.decode(PNG.encode(gray))
        #expect(decoded[3, 2] == (220, 220, 220))
        #expect(PNG.encode(gray)[25] == 0)  // IHDR colour type: grayscale
    }

    @Test func fileRoundTripAndErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imaging-png-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("a.png").path
        let image = gradientImage(width: 20, height: 17)
        try image.writePNG(to: path)
        #expect(try RGBImage(contentsOfPNG: path) == image)
        #expect(throws: PNGError.self) { try RGBImage(contentsOfPNG: dir.appendingPathComponent("missing.png").path) }
        #expect(throws: PNGError.notPNG) { try PNG.decode(Array("not a png at all".utf8)) }
        var corrupt = image.pngData()
        corrupt[20] ^= 0xFF  // inside IHDR: CRC mismatch
        #expect(throws: PNGError.self) { try PNG.decode(corrupt) }
        #expect(throws: PNGError.self) { try PNG.decode(Array(image.pngData().prefix(40))) }
    }

    @Test func decodesFetchedSolvayPNGWhenPresent() throws {
        let path = dataPath("solvay/Solvay_conference_1927_Version2_640x440.png")
        guard FileManager.default.fileExists(atPath: path) else {
            print("skipped: \(path) missing (run scripts/fetch-data.sh)")
            return
        }
        let image = try RGBImage(contentsOfPNG: path)
        #expect(image.width == 640 && image.height == 440)
        #expect(try PNG.decode(image.pngData()) == image)
    }
}

/// Path of a file fetched by scripts/fetch-data.sh (`GLASSBOX_DATA` or `<repo>/.cache/data`).
func dataPath(_ relative: String) -> String {
    if let root = ProcessInfo.processInfo.environment["GLASSBOX_DATA"] { return root + "/" + relative }
    // #filePath is <repo>/Tests/ImagingTests/PNGTests.swift
    let repo = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return repo.appendingPathComponent(".cache/data/" + relative).path
}

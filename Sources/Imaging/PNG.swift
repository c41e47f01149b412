import Foundation

// PNG (ISO/IEC 15948, RFC 2083) writing and reading in pure Swift, with the zlib (RFC 1950) and
// DEFLATE (RFC 1951) code it needs. The encoder writes 8-bit RGB or gray, filters each row with the
// minimum-sum-of-absolute-differences heuristic and compresses with greedy LZ77 + the fixed Huffman
// code (or stored blocks). The decoder reads every non-interlaced PNG (gray, RGB, palette, with or
// without alpha, 1 to 16 bits) and returns RGB.

/// Errors from reading PNG files.
public enum PNGError: Error, CustomStringConvertible, Equatable {
    case notPNG
    case truncated(String)
    case badChecksum(String)
    case unsupported(String)
    case malformed(String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .notPNG: return "not a PNG file (bad signature)"
        case let .truncated(what): return "PNG truncated: \(what)"
        case let .badChecksum(what): return "PNG checksum mismatch: \(what)"
        case let .unsupported(what): return "unsupported PNG: \(what)"
        case let .malformed(what): return "malformed PNG: \(what)"
        case let .io(path, reason): return "\(path): \(reason)"
        }
    }
}

// MARK: - Checksums

/// CRC-32 (ISO 3309 / ITU-T V.42, polynomial 0xEDB88320 reflected), as PNG chunks use it.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Continues a CRC over `bytes`; start with `crc: 0`.
    public static func checksum<C: Collection>(_ bytes: C, crc: UInt32 = 0) -> UInt32 where C.Element == UInt8 {
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }
}

/// Adler-32 (RFC 1950), the zlib stream checksum.
public enum Adler32 {
    /// Continues an Adler-32 over `bytes`; start with `adler: 1`.
    public static func checksum(_ bytes: UnsafeBufferPointer<UInt8>, adler: UInt32 = 1) -> UInt32 {
        var a = adler & 0xFFFF, b = adler >> 16
        var index = 0
        while index < bytes.count {
            let end = min(bytes.count, index + 5552)  // largest run without UInt32 overflow
            while index < end { a += UInt32(bytes[index]); b += a; index += 1 }
            a %= 65521; b %= 65521
        }
        return (b << 16) | a
    }

    public static func checksum(_ bytes: [UInt8], adler: UInt32 = 1) -> UInt32 {
        bytes.withUnsafeBufferPointer { checksum($0, adler: adler) }
    }
}

// MARK: - DEFLATE tables (RFC 1951, 3.2.5)

private let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
                                 67, 83, 99, 115, 131, 163, 195, 227, 258]
private let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
private let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                                   1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
private let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10,
                                    11, 11, 12, 12, 13, 13]

// MARK: - Deflate (compression)

/// LSB-first bit writer for DEFLATE.
private struct BitWriter {
    var bytes: [UInt8] = []
    var buffer: UInt64 = 0
    var count = 0

    mutating func write(_ value: UInt32, bits: Int) {
        buffer |= UInt64(value) << UInt64(count)
        count += bits
        while count >= 8 { bytes.append(UInt8(truncatingIfNeeded: buffer)); buffer >>= 8; count -= 8 }
    }

    /// Writes a Huffman code, which DEFLATE stores most-significant bit first.
    mutating func writeCode(_ code: UInt32, bits: Int) {
        var reversed: UInt32 = 0
        for i in 0..<bits { reversed |= ((code >> UInt32(i)) & 1) << UInt32(bits - 1 - i) }
        write(reversed, bits: bits)
    }

    mutating func alignToByte() { if count > 0 { write(0, bits: 8 - count) } }
}

/// How ``Zlib/compress(_:mode:)`` encodes.
public enum DeflateMode: Sendable {
    /// Stored (uncompressed) blocks only.
    case stored
    /// Greedy LZ77 with hash chains and the fixed Huffman code.
    case fixedHuffman
}

/// zlib streams (RFC 1950) around raw DEFLATE (RFC 1951).
public enum Zlib {
    /// Compresses `data` into a zlib stream.
    public static func compress(_ data: [UInt8], mode: DeflateMode = .fixedHuffman) -> [UInt8] {
        var writer = BitWriter()
        writer.bytes.reserveCapacity(data.count / 2 + 64)
        writer.bytes += [0x78, 0x01]  // CM=8, CINFO=7 (32K window), FLEVEL=0, FCHECK makes it a multiple of 31
        switch mode {
        case .stored: deflateStored(data, into: &writer)
        case .fixedHuffman: deflateFixed(data, into: &writer)
        }
        writer.alignToByte()
        let adler = Adler32.checksum(data)
        writer.bytes += [UInt8(adler >> 24), UInt8((adler >> 16) & 0xFF), UInt8((adler >> 8) & 0xFF), UInt8(adler & 0xFF)]
        return writer.bytes
    }

    private static func deflateStored(_ data: [UInt8], into writer: inout BitWriter) {
        var offset = 0
        repeat {
            let length = min(65535, data.count - offset)
            let last = offset + length == data.count
            writer.write(last ? 1 : 0, bits: 1)
            writer.write(0, bits: 2)
            writer.alignToByte()
            writer.bytes += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            writer.bytes += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
    }

    private static func writeLiteral(_ value: Int, _ writer: inout BitWriter) {
        switch value {
        case 0...143: writer.writeCode(UInt32(0x30 + value), bits: 8)
        case 144...255: writer.writeCode(UInt32(0x190 + value - 144), bits: 9)
        case 256...279: writer.writeCode(UInt32(value - 256), bits: 7)
        default: writer.writeCode(UInt32(0xC0 + value - 280), bits: 8)
        }
    }

    private static func deflateFixed(_ data: [UInt8], into writer: inout BitWriter) {
        writer.write(1, bits: 1)  // BFINAL: one block
        writer.write(1, bits: 2)  // BTYPE = 01, fixed Huffman
        let n = data.count
        let hashBits = 15, hashSize = 1 << hashBits, window = 32768, maxChain = 24
        var head = [Int32](repeating: -1, count: hashSize)
        var previous = [Int32](repeating: -1, count: window)
        // Length and distance symbol lookup.
        var lengthSymbol = [UInt8](repeating: 0, count: 259)
        for s in 0..<29 {
            let top = s == 28 ? 258 : lengthBase[s] + (1 << lengthExtra[s]) - 1
            for l in lengthBase[s]...min(258, top) { lengthSymbol[l] = UInt8(s) }
        }
        lengthSymbol[258] = 28
        data.withUnsafeBufferPointer { src in
            head.withUnsafeMutableBufferPointer { head in
                previous.withUnsafeMutableBufferPointer { prev in
                    @inline(__always) func hash(_ i: Int) -> Int {
                        let v = (Int(src[i]) << 16) | (Int(src[i + 1]) << 8) | Int(src[i + 2])
                        return ((v &* 2_654_435_761) >> 17) & (hashSize - 1)
                    }
                    @inline(__always) func insert(_ i: Int) {
                        guard i + 2 < n else { return }
                        let h = hash(i)
                        prev[i & (window - 1)] = head[h]
                        head[h] = Int32(i)
                    }
                    var i = 0
                    while i < n {
                        var bestLength = 0, bestDistance = 0
                        if i + 2 < n {
                            var candidate = Int(head[hash(i)])
                            var chain = maxChain
                            let maxLength = min(258, n - i)
                            while candidate >= 0 && i - candidate <= window - 1 && chain > 0 {
                                if src[candidate + bestLength] == src[i + bestLength] || bestLength == 0 {
                                    var l = 0
                                    while l < maxLength && src[candidate + l] == src[i + l] { l += 1 }
                                    if l > bestLength { bestLength = l; bestDistance = i - candidate; if l == maxLength { break } }
                                }
                                let next = Int(prev[candidate & (window - 1)])
                                if next >= candidate { break }
                                candidate = next
                                chain -= 1
                            }
                        }
                        if bestLength >= 3 {
                            let ls = Int(lengthSymbol[bestLength])
                            writeLiteral(257 + ls, &writer)
                            if lengthExtra[ls] > 0 { writer.write(UInt32(bestLength - lengthBase[ls]), bits: lengthExtra[ls]) }
                            var ds = 0
                            while ds < 29 && distanceBase[ds + 1] <= bestDistance { ds += 1 }
                            writer.writeCode(UInt32(ds), bits: 5)
                            if distanceExtra[ds] > 0 { writer.write(UInt32(bestDistance - distanceBase[ds]), bits: distanceExtra[ds]) }
                            for k in 0..<bestLength { insert(i + k) }
                            i += bestLength
                        } else {
                            writeLiteral(Int(src[i]), &writer)
                            insert(i)
                            i += 1
                        }
                    }
                }
            }
        }
        writeLiteral(256, &writer)  // end of block
    }

    /// Decompresses a zlib stream (checks the header and the Adler-32).
    /// - Throws: ``PNGError`` when the stream is malformed or truncated.
    public static func decompress(_ data: [UInt8]) throws -> [UInt8] {
        guard data.count >= 6 else { throw PNGError.truncated("zlib stream of \(data.count) bytes") }
        let cmf = data[0], flg = data[1]
        guard cmf & 0x0F == 8, (UInt16(cmf) << 8 | UInt16(flg)) % 31 == 0 else { throw PNGError.malformed("bad zlib header") }
        guard flg & 0x20 == 0 else { throw PNGError.unsupported("zlib preset dictionary") }
        var inflater = Inflater(data: data, start: 2)
        let output = try inflater.run()
        let p = inflater.bytePositionAfterAlign()
        guard p + 4 <= data.count else { throw PNGError.truncated("zlib Adler-32 missing") }
        let expected = UInt32(data[p]) << 24 | UInt32(data[p + 1]) << 16 | UInt32(data[p + 2]) << 8 | UInt32(data[p + 3])
        guard Adler32.checksum(output) == expected else { throw PNGError.badChecksum("zlib Adler-32") }
        return output
    }
}

// MARK: - Inflate (decompression), after Mark Adler's puff.c

private struct Huffman {
    var counts = [Int](repeating: 0, count: 16)   // codes of each length
    var symbols: [Int]                             // symbols ordered by code

    init(lengths: [Int]) throws {
        symbols = [Int](repeating: 0, count: lengths.count)
        for l in lengths { counts[l] += 1 }
        counts[0] = 0
        var offsets = [Int](repeating: 0, count: 16)
        for l in 1..<15 { offsets[l + 1] = offsets[l] + counts[l] }
        for (symbol, l) in lengths.enumerated() where l != 0 { symbols[offsets[l]] = symbol; offsets[l] += 1 }
        var left = 1
        for l in 1..<16 { left <<= 1; left -= counts[l]; if left < 0 { throw PNGError.malformed("over-subscribed Huffman code") } }
    }
}

private struct Inflater {
    let data: [UInt8]
    var position: Int
    var bitBuffer = 0
    var bitCount = 0
    var output: [UInt8] = []

    init(data: [UInt8], start: Int) { self.data = data; position = start }

    mutating func bits(_ need: Int) throws -> Int {
        var value = bitBuffer
        while bitCount < need {
            guard position < data.count else { throw PNGError.truncated("deflate data ended early") }
            value |= Int(data[position]) << bitCount
            position += 1
            bitCount += 8
        }
        bitBuffer = value >> need
        bitCount -= need
        return value & ((1 << need) - 1)
    }

    func bytePositionAfterAlign() -> Int { position }  // bits left in the buffer belong to the dropped partial byte

    mutating func decode(_ h: Huffman) throws -> Int {
        var code = 0, first = 0, index = 0
        for l in 1..<16 {
            code |= try bits(1)
            let count = h.counts[l]
            if code - count < first { return h.symbols[index + (code - first)] }
            index += count
            first += count
            first <<= 1
            code <<= 1
        }
        throw PNGError.malformed("invalid Huffman code")
    }

    mutating func run() throws -> [UInt8] {
        var last = 0
        repeat {
            last = try bits(1)
            switch try bits(2) {
            case 0: try stored()
            case 1: try codes(Inflater.fixedLengths, Inflater.fixedDistances)
            case 2: try dynamic()
            default: throw PNGError.malformed("deflate block type 3")
            }
        } while last == 0
        return output
    }

    mutating func stored() throws {
        bitBuffer = 0; bitCount = 0
        guard position + 4 <= data.count else { throw PNGError.truncated("stored block header") }
        let length = Int(data[position]) | Int(data[position + 1]) << 8
        let complement = Int(data[position + 2]) | Int(data[position + 3]) << 8
        guard length == (~complement & 0xFFFF) else { throw PNGError.malformed("stored block length check") }
        position += 4
        guard position + length <= data.count else { throw PNGError.truncated("stored block") }
        output += data[position..<(position + length)]
        position += length
    }

    static let fixedLengths: Huffman = {
        var lengths = [Int](repeating: 8, count: 288)
        for i in 144..<256 { lengths[i] = 9 }
        for i in 256..<280 { lengths[i] = 7 }
        return try! Huffman(lengths: lengths)
    }()
    static let fixedDistances: Huffman = try! Huffman(lengths: [Int](repeating: 5, count: 30))

    mutating func codes(_ lengthCode: Huffman, _ distanceCode: Huffman) throws {
        while true {
            var symbol = try decode(lengthCode)
            if symbol < 256 { output.append(UInt8(symbol)); continue }
            if symbol == 256 { return }
            symbol -= 257
            guard symbol < 29 else { throw PNGError.malformed("bad length symbol") }
            let length = lengthBase[symbol] + (try bits(lengthExtra[symbol]))
            let ds = try decode(distanceCode)
            guard ds < 30 else { throw PNGError.malformed("bad distance symbol") }
            let distance = distanceBase[ds] + (try bits(distanceExtra[ds]))
            guard distance <= output.count else { throw PNGError.malformed("distance too far back") }
            let from = output.count - distance
            for k in 0..<length { output.append(output[from + k]) }
        }
    }

    mutating func dynamic() throws {
        let nlen = try bits(5) + 257, ndist = try bits(5) + 1, ncode = try bits(4) + 4
        guard nlen <= 286, ndist <= 30 else { throw PNGError.malformed("bad dynamic block counts") }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var codeLengths = [Int](repeating: 0, count: 19)
        for i in 0..<ncode { codeLengths[order[i]] = try bits(3) }
        let lencode = try Huffman(lengths: codeLengths)
        var lengths = [Int]()
        while lengths.count < nlen + ndist {
            let symbol = try decode(lencode)
            if symbol < 16 { lengths.append(symbol); continue }
            var value = 0, repeatCount = 0
            if symbol == 16 {
                guard let previous = lengths.last else { throw PNGError.malformed("repeat with no previous length") }
                value = previous; repeatCount = 3 + (try bits(2))
            } else if symbol == 17 { repeatCount = 3 + (try bits(3)) } else { repeatCount = 11 + (try bits(7)) }
            guard lengths.count + repeatCount <= nlen + ndist else { throw PNGError.malformed("too many code lengths") }
            lengths += [Int](repeating: value, count: repeatCount)
        }
        try codes(Huffman(lengths: Array(lengths[0..<nlen])), Huffman(lengths: Array(lengths[nlen...])))
    }
}

// MARK: - PNG

/// PNG encoding and decoding.
public enum PNG {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Encodes an RGB image as an 8-bit truecolour PNG.
    /// - Parameters:
    ///   - image: the pixels.
    ///   - mode: DEFLATE mode (fixed Huffman by default; `.stored` is fastest and largest).
    /// - Returns: the PNG file bytes.
    public static func encode(_ image: RGBImage, mode: DeflateMode = .fixedHuffman) -> [UInt8] {
        encode(raw: image.pixels, width: image.width, height: image.height, channels: 3, mode: mode)
    }

    /// Encodes a gray image as an 8-bit grayscale PNG; values are rounded and clamped to 0...255.
    public static func encode(_ image: GrayImage, mode: DeflateMode = .fixedHuffman) -> [UInt8] {
        encode(raw: image.values.map(clampToByte), width: image.width, height: image.height, channels: 1, mode: mode)
    }

    static func encode(raw: [UInt8], width: Int, height: Int, channels: Int, mode: DeflateMode) -> [UInt8] {
        let stride = width * channels
        // Filtered scanlines: [H, 1 + W*C], the first byte of each the filter type.
        var filtered = [UInt8](repeating: 0, count: height * (stride + 1))
        var candidate = [UInt8](repeating: 0, count: stride)
        filtered.withUnsafeMutableBufferPointer { out in
            raw.withUnsafeBufferPointer { src in
                candidate.withUnsafeMutableBufferPointer { cand in
                    for y in 0..<height {
                        let row = y * stride
                        var bestType = 0, bestScore = Int.max
                        for type in 0..<(mode == .stored ? 1 : 5) {
                            var score = 0
                            for i in 0..<stride {
                                let x = Int(src[row + i])
                                let a = i >= channels ? Int(src[row + i - channels]) : 0
                                let b = y > 0 ? Int(src[row - stride + i]) : 0
                                let c = (i >= channels && y > 0) ? Int(src[row - stride + i - channels]) : 0
                                let predictor: Int
                                switch type {
                                case 0: predictor = 0
                                case 1: predictor = a
                                case 2: predictor = b
                                case 3: predictor = (a + b) >> 1
                                default: predictor = paeth(a, b, c)
                                }
                                let v = UInt8(truncatingIfNeeded: x - predictor)
                                cand[i] = v
                                score += v < 128 ? Int(v) : 256 - Int(v)
                            }
                            if score < bestScore {
                                bestScore = score; bestType = type
                                let o = y * (stride + 1)
                                out[o] = UInt8(type)
                                for i in 0..<stride { out[o + 1 + i] = cand[i] }
                            }
                        }
                        _ = bestType
                    }
                }
            }
        }
        var file = signature
        var header = [UInt8]()
        header += bigEndian(UInt32(width)); header += bigEndian(UInt32(height))
        header += [8, channels == 3 ? 2 : 0, 0, 0, 0]  // depth 8, colour type, deflate, adaptive filter, no interlace
        appendChunk("IHDR", header, to: &file)
        appendChunk("IDAT", Zlib.compress(filtered, mode: mode), to: &file)
        appendChunk("IEND", [], to: &file)
        return file
    }

    @inline(__always) static func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static func appendChunk(_ type: String, _ data: [UInt8], to file: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        file += bigEndian(UInt32(data.count))
        file += typeBytes
        file += data
        file += bigEndian(CRC32.checksum(data, crc: CRC32.checksum(typeBytes)))
    }

    /// Decodes a PNG file to RGB (alpha is dropped, gray is replicated, 16-bit keeps the high byte).
    /// - Throws: ``PNGError`` for anything that is not a well-formed, non-interlaced PNG.
    public static func decode(_ bytes: [UInt8]) throws -> RGBImage {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { throw PNGError.notPNG }
        var p = 8
        var width = 0, height = 0, depth = 0, colorType = -1
        var palette = [UInt8]()
        var compressed = [UInt8]()
        var sawEnd = false
        func u32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        while p < bytes.count {
            guard p + 12 <= bytes.count else { throw PNGError.truncated("chunk header at byte \(p)") }
            let length = u32(p)
            let type = String(decoding: bytes[(p + 4)..<(p + 8)], as: UTF8.self)
            guard length <= bytes.count - p - 12 else { throw PNGError.truncated("\(type) chunk of \(length) bytes") }
            let body = bytes[(p + 8)..<(p + 8 + length)]
            let crc = UInt32(u32(p + 8 + length))
            guard CRC32.checksum(body, crc: CRC32.checksum(bytes[(p + 4)..<(p + 8)])) == crc else {
                throw PNGError.badChecksum("\(type) chunk CRC")
            }
            switch type {
            case "IHDR":
                guard length == 13 else { throw PNGError.malformed("IHDR length \(length)") }
                width = u32(p + 8); height = u32(p + 12)
                depth = Int(bytes[p + 16]); colorType = Int(bytes[p + 17])
                guard bytes[p + 20] == 0 else { throw PNGError.unsupported("interlaced (Adam7) images") }
                guard width > 0, height > 0, width <= 1 << 15, height <= 1 << 15 else {
                    throw PNGError.unsupported("size \(width)x\(height)")
                }
                let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
                guard allowed[colorType]?.contains(depth) == true else {
                    throw PNGError.unsupported("colour type \(colorType) with bit depth \(depth)")
                }
            case "PLTE": palette = Array(body)
            case "IDAT": compressed += body
            case "IEND": sawEnd = true
            default: break
            }
            p += 12 + length
            if sawEnd { break }
        }
        guard colorType >= 0 else { throw PNGError.malformed("no IHDR chunk") }
        guard !compressed.isEmpty else { throw PNGError.truncated("no IDAT data") }
        let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType]!
        let bitsPerPixel = channels * depth
        let stride = (width * bitsPerPixel + 7) / 8
        let bpp = max(1, bitsPerPixel / 8)
        let raw = try Zlib.decompress(compressed)
        guard raw.count >= height * (stride + 1) else { throw PNGError.truncated("image data has \(raw.count) of \(height * (stride + 1)) bytes") }
        // Unfilter into [H, stride].
        var lines = [UInt8](repeating: 0, count: height * stride)
        try lines.withUnsafeMutableBufferPointer { out in
            try raw.withUnsafeBufferPointer { src in
                for y in 0..<height {
                    let type = src[y * (stride + 1)]
                    let s = y * (stride + 1) + 1, o = y * stride
                    for i in 0..<stride {
                        let x = Int(src[s + i])
                        let a = i >= bpp ? Int(out[o + i - bpp]) : 0
                        let b = y > 0 ? Int(out[o - stride + i]) : 0
                        let c = (i >= bpp && y > 0) ? Int(out[o - stride + i - bpp]) : 0
                        let value: Int
                        switch type {
                        case 0: value = x
                        case 1: value = x + a
                        case 2: value = x + b
                        case 3: value = x + (a + b) >> 1
                        case 4: value = x + paeth(a, b, c)
                        default: throw PNGError.malformed("filter type \(type) in row \(y)")
                        }
                        out[o + i] = UInt8(truncatingIfNeeded: value)
                    }
                }
            }
        }
        if colorType == 3 && palette.count < 3 { throw PNGError.malformed("palette image without PLTE") }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        try rgb.withUnsafeMutableBufferPointer { dst in
            try lines.withUnsafeBufferPointer { src in
                for y in 0..<height {
                    let row = y * stride
                    for x in 0..<width {
                        let o = (y * width + x) * 3
                        if depth < 8 {
                            let bit = x * depth
                            let byte = Int(src[row + bit / 8])
                            let value = (byte >> (8 - depth - bit % 8)) & ((1 << depth) - 1)
                            if colorType == 3 {
                                guard 3 * value + 2 < palette.count else { throw PNGError.malformed("palette index \(value) out of range") }
                                dst[o] = palette[3 * value]; dst[o + 1] = palette[3 * value + 1]; dst[o + 2] = palette[3 * value + 2]
                            } else {
                                let gray = UInt8(value * 255 / ((1 << depth) - 1))
                                dst[o] = gray; dst[o + 1] = gray; dst[o + 2] = gray
                            }
                            continue
                        }
                        let step = depth / 8  // 1 or 2 bytes per sample; take the high byte
                        let s = row + x * channels * step
                        switch colorType {
                        case 0, 4:
                            let g = src[s]; dst[o] = g; dst[o + 1] = g; dst[o + 2] = g
                        case 3:
                            let value = Int(src[s])
                            guard 3 * value + 2 < palette.count else { throw PNGError.malformed("palette index \(value) out of range") }
                            dst[o] = palette[3 * value]; dst[o + 1] = palette[3 * value + 1]; dst[o + 2] = palette[3 * value + 2]
                        default:
                            dst[o] = src[s]; dst[o + 1] = src[s + step]; dst[o + 2] = src[s + 2 * step]
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: rgb)
    }
}

extension RGBImage {
    /// The image as PNG file bytes; see ``PNG/encode(_:mode:)-(RGBImage,_)``.
    public func pngData(mode: DeflateMode = .fixedHuffman) -> [UInt8] { PNG.encode(self, mode: mode) }

    /// Writes the image as a PNG file.
    /// - Throws: ``PNGError/io(path:reason:)`` when the file cannot be written.
    public func writePNG(to path: String, mode: DeflateMode = .fixedHuffman) throws {
        do { try Data(pngData(mode: mode)).write(to: URL(fileURLWithPath: path)) } catch {
            throw PNGError.io(path: path, reason: "cannot write PNG: \(error.localizedDescription)")
        }
    }

    /// Reads a PNG file.
    /// - Throws: ``PNGError`` when the file is missing or not a readable PNG.
    public init(contentsOfPNG path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PNGError.io(path: path, reason: "cannot read file")
        }
        do { self = try PNG.decode([UInt8](data)) } catch let error as PNGError {
            throw PNGError.io(path: path, reason: error.description)
        }
    }
}

extension GrayImage {
    /// Writes the image as an 8-bit grayscale PNG (values rounded and clamped to 0...255).
    public func writePNG(to path: String, mode: DeflateMode = .fixedHuffman) throws {
        do { try Data(PNG.encode(self, mode: mode)).write(to: URL(fileURLWithPath: path)) } catch {
            throw PNGError.io(path: path, reason: "cannot write PNG: \(error.localizedDescription)")
        }
    }
}

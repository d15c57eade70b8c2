import Testing

@testable import Netstack

/// Parses "0a 0b ff" (spaces optional) into bytes.
func hex(_ string: String) -> [UInt8] {
    let digits = string.filter { !$0.isWhitespace }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// A UDP/IPv4 header from 192.168.0.1 to 192.168.0.199, total length 0x73, DF, TTL 64, whose
/// checksum 0xb861 is the widely published worked example.
let capturedIPv4 = hex("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7")

@Suite("Internet checksum (RFC 1071)")
struct ChecksumTests {
    @Test("RFC 1071 section 3 example: sum ddf2")
    func rfcExample() {
        let data = hex("0001 f203 f4f5 f6f7")
        #expect(InternetChecksum.sum(data) == 0xddf2)
        #expect(InternetChecksum.checksum(data) == 0x220d)
    }

    @Test("the 8-byte fast path over buffers sums as the byte-by-byte path over any sequence")
    func fastPathMatches() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let split = Int.random(in: 0...bytes.count, using: &generator)
            var fast = InternetChecksum()
            fast.add(bytes[..<split])
            fast.add(bytes[split...])
            var slow = InternetChecksum()
            slow.add(bytes.lazy.map { $0 })  // not contiguous: the byte-by-byte path
            #expect(fast.sum == slow.sum, "\(bytes.count) bytes split at \(split)")
        }
    }

    @Test("odd lengths pad the last byte with zero")
    func oddLengths() {
        #expect(InternetChecksum.sum([0x01]) == 0x0100)
        #expect(InternetChecksum.sum(hex("0001 f2")) == 0xf201)
        #expect(InternetChecksum.sum(hex("0001 f203 f4f5 f6")) == 0xddf2 &- 0x00f7)
        #expect(InternetChecksum.sum([]) == 0)
        #expect(InternetChecksum.checksum([]) == 0xffff)
    }

    @Test("carries fold back in")
    func carries() {
        #expect(InternetChecksum.sum(hex("ffff 0001")) == 0x0001)
        #expect(InternetChecksum.sum([UInt8](repeating: 0xff, count: 100_000)) == 0xffff)
        // The odd last byte is the high half of a word: 0xffff + 0xff00 folds to 0xff00.
        #expect(InternetChecksum.sum([UInt8](repeating: 0xff, count: 100_001)) == 0xff00)
        #expect(InternetChecksum.combine(0xffff, 0x0001) == 0x0001)
    }

    @Test("pieces of any length, odd boundaries included, sum as the joined bytes")
    func incremental() {
        let data = (0..<257).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let whole = InternetChecksum.sum(data)
        for split in [0, 1, 2, 3, 127, 128, 256, 257] {
            var accumulator = InternetChecksum()
            accumulator.add(data[..<split])
            accumulator.add(data[split...])
            #expect(accumulator.sum == whole, "split at \(split)")
        }
        var bytewise = InternetChecksum()
        for byte in data { bytewise.add([byte]) }
        #expect(bytewise.sum == whole)
        // An initial value (a pseudo-header sum) carries through.
        #expect(InternetChecksum.sum(data[4...], initial: InternetChecksum.sum(data[..<4])) == whole)
    }

    @Test("RFC 1624 update equals a full recomputation")
    func rfc1624() {
        var decremented = capturedIPv4
        decremented[8] = 0x3f  // TTL 64 -> 63: word 0x4011 becomes 0x3f11
        decremented[10] = 0
        decremented[11] = 0
        let recomputed = InternetChecksum.checksum(decremented)
        #expect(recomputed == 0xb961)
        #expect(InternetChecksum.update(checksum: 0xb861, oldWord: 0x4011, newWord: 0x3f11) == recomputed)
    }
}

@Suite("Ethernet header view")
struct EthernetHeaderTests {
    let frame = hex("ffffffffffff 0242ac110002 0800") + capturedIPv4

    @Test("fields at their offsets")
    func fields() throws {
        let ethernet = try #require(EthernetHeader(frame))
        #expect(ethernet.destination == .broadcast)
        #expect(ethernet.destination.isMulticast)
        #expect(ethernet.source.description == "02:42:ac:11:00:02")
        #expect(!ethernet.source.isMulticast)
        #expect(ethernet.etherType == .ipv4)
        #expect(Array(ethernet.payload) == capturedIPv4)
    }

    @Test("encode golden bytes")
    func encode() throws {
        let source = try #require(MACAddress(hex("0242ac110002")))
        #expect(EthernetHeader.encode(destination: .broadcast, source: source, etherType: .arp)
            == hex("ffffffffffff 0242ac110002 0806"))
    }

    @Test("every frame shorter than 14 bytes is rejected")
    func truncated() {
        for length in 0..<EthernetHeader.size {
            #expect(EthernetHeader(Array(frame.prefix(length))) == nil)
        }
        #expect(EthernetHeader(Array(frame.prefix(14)))?.payload.isEmpty == true)
        #expect(MACAddress([1, 2, 3]) == nil)
    }
}

@Suite("IPv4 header view")
struct IPv4HeaderTests {
    @Test("fields of a captured header")
    func fields() throws {
        let packet = capturedIPv4 + [UInt8](repeating: 0xab, count: 0x73 - 20)
        let ip = try #require(IPv4Header(packet))
        #expect(ip.version == 4)
        #expect(ip.headerLength == 20)
        #expect(ip.tos == 0)
        #expect(ip.totalLength == 0x73)
        #expect(ip.identification == 0)
        #expect(ip.dontFragment)
        #expect(!ip.moreFragments)
        #expect(ip.fragmentOffset == 0)
        #expect(ip.ttl == 64)
        #expect(ip.protocol == .udp)
        #expect(ip.checksum == 0xb861)
        #expect(ip.isChecksumValid)
        #expect(ip.source == IPv4Address(192, 168, 0, 1))
        #expect(ip.destination.description == "192.168.0.199")
        #expect(ip.options.isEmpty)
        #expect(ip.payload.count == 0x73 - 20)
    }

    @Test("a view inside a frame: offsets are relative, Ethernet padding is cut off")
    func inFrame() throws {
        // A 28-byte ICMP packet in a frame padded to the 60-byte Ethernet minimum.
        var ip = IPv4Header.encode(
            source: IPv4Address(10, 0, 0, 1), destination: IPv4Address(10, 0, 0, 2), protocol: .icmp, payloadLength: 8)
        ip += hex("0800f7ff00000000")
        let frame = hex("020000000002 020000000001 0800") + ip + [UInt8](repeating: 0, count: 60 - 14 - ip.count)
        let ethernet = try #require(EthernetHeader(frame))
        let header = try #require(IPv4Header(ethernet.payload))
        #expect(header.source == IPv4Address(10, 0, 0, 1))
        #expect(header.protocol == .icmp)
        #expect(Array(header.payload) == hex("0800f7ff00000000"))
        #expect(header.isChecksumValid)
    }

    @Test("encode reproduces the captured header")
    func encodeGolden() {
        let bytes = IPv4Header.encode(
            source: IPv4Address(192, 168, 0, 1), destination: IPv4Address(192, 168, 0, 199), protocol: .udp,
            payloadLength: 0x73 - 20)
        #expect(bytes == capturedIPv4)
    }

    @Test("a corrupted header fails the checksum")
    func badChecksum() throws {
        var packet = capturedIPv4
        packet[2] = 0x00
        packet[3] = 0x14  // total length 20, so the view accepts a bare header
        let ip = try #require(IPv4Header(packet))
        #expect(!ip.isChecksumValid)
    }

    @Test("options are part of the header")
    func options() throws {
        var packet = IPv4Header.encode(
            source: IPv4Address(1, 2, 3, 4), destination: IPv4Address(5, 6, 7, 8), protocol: .tcp, payloadLength: 4)
        packet[0] = 0x46  // IHL 6: four bytes of options (NOP NOP NOP EOL)
        packet.insert(contentsOf: [1, 1, 1, 0], at: 20)
        packet[2] = 0
        packet[3] = 28
        let ip = try #require(IPv4Header(packet + [9, 9, 9, 9]))
        #expect(ip.headerLength == 24)
        #expect(Array(ip.options) == [1, 1, 1, 0])
        #expect(Array(ip.payload) == [9, 9, 9, 9])
    }

    @Test("truncated and inconsistent headers are rejected")
    func malformed() {
        for length in 0..<20 {
            #expect(IPv4Header(Array(capturedIPv4.prefix(length))) == nil, "length \(length)")
        }
        // Total length 0x73 but only the 20 header bytes present.
        #expect(IPv4Header(capturedIPv4) == nil)

        func with(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
            var packet = capturedIPv4 + [UInt8](repeating: 0, count: 0x73 - 20)
            edit(&packet)
            return packet
        }
        #expect(IPv4Header(with { $0[0] = 0x65 }) == nil)  // version 6
        #expect(IPv4Header(with { $0[0] = 0x44 }) == nil)  // IHL 4 < 5
        #expect(IPv4Header(with { $0[0] = 0x40 }) == nil)  // IHL 0
        #expect(IPv4Header(with { $0[2] = 0; $0[3] = 19 }) == nil)  // total length < header
        #expect(IPv4Header(with { $0[2] = 0; $0[3] = 0x74 }) == nil)  // total length > buffer
        #expect(IPv4Header(with { $0[2] = 0xff; $0[3] = 0xff }) == nil)
        // IHL 15 (60 bytes) in a 24-byte buffer whose total length says 24.
        #expect(IPv4Header(hex("4f00 0018 0000 4000 4011 0000 c0a8 0001 c0a8 00c7 00000000")) == nil)
    }
}

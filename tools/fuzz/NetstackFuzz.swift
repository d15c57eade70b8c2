// libFuzzer entry for the Netstack's packet parsing: the input is cut into frames (a length
// byte, then that many bytes, up to the end) that arrive on an Ethernet interface of a stack
// with a TCP listener and a UDP port open, with the clock moving between frames. Whatever
// the frames say, the stack must never trap, hang or read out of bounds (AddressSanitizer
// watches); it answers or drops. The same bytes also go through the header views directly,
// and, whole, through the route netlink parser the Netstack reads a namespace with.

@_cdecl("LLVMFuzzerTestOneInput")
public func netstackFuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    fuzzRouteNetlink(bytes)
    let clock = ManualClock()
    let stack = Stack(clock: clock)
    let (link, peer) = ChannelLink.pair()
    stack.addInterface(link, subnets: [IPv4Subnet(IPv4Address(198, 18, 0, 2), prefixLength: 24)])
    let listener = try? stack.listenTCP(port: 80)
    let udp = try? stack.bindUDP(port: 53)
    let own = link.hardwareAddress!.bytes
    var index = 0
    while index < bytes.count {
        let length = Int(bytes[index])
        index += 1
        var frame = Array(bytes[index..<min(index + length, bytes.count)])
        index += length
        // Most frames are addressed to the stack and carry IPv4, so parsing goes deep.
        if frame.count >= 14 && frame[0] & 1 == 0 {
            frame.replaceSubrange(0..<6, with: own)
            if frame[12] & 1 == 0 { (frame[12], frame[13]) = (0x08, frame[13] & 1 == 0 ? 0x00 : 0x06) }
        }
        if frame.count >= 34 && frame[12] == 0x08 && frame[13] == 0x00 { fixUp(&frame) }
        stack.receive([frame], on: 0)
        clock.advance(by: UInt64(length) * 10_000_000)
        stack.runTimers()
        _ = peer.takeInbox()
        _ = try? listener?.accept()?.read(maximum: 1 << 16)
        _ = udp?.receive()
        let slice = frame[...]
        _ = EthernetHeader(slice)
        _ = ARPHeader(slice)
        if let ip = IPv4Header(slice) { _ = ip.isChecksumValid; _ = TCPHeader(ip.payload); _ = UDPHeader(ip.payload); _ = ICMPv4Header(ip.payload) }
        _ = TCPHeader(slice)
    }
    return 0
}

/// Route netlink bytes, as a program's requests and as a reply: its messages (those of the first message's sequence number, so that
/// most are taken) each decoded as a link, an address and a route.
func fuzzRouteNetlink(_ bytes: [UInt8]) {
    let sequence = bytes.count >= 12 ? UInt32(bytes[8]) | UInt32(bytes[9]) << 8 | UInt32(bytes[10]) << 16 | UInt32(bytes[11]) << 24 : 0
    // The same bytes as a program's requests, answered as the Sentry answers them.
    _ = RouteNetlinkWire.requests(bytes[...])
    guard let parsed = try? RouteNetlinkWire.parse(bytes[...], sequence: sequence) else { return }
    for message in parsed.messages {
        _ = try? RouteNetlinkWire.link(from: message.payload)
        _ = try? RouteNetlinkWire.address(from: message.payload)
        _ = try? RouteNetlinkWire.route(from: message.payload)
    }
}

/// Makes an IPv4 frame's fields the stack checks first hold (version, a header length within
/// the frame, the destination, the checksums), so the fuzzer's bytes reach the transport
/// layers' parsing instead of stopping at a checksum.
func fixUp(_ frame: inout [UInt8]) {
    let ip = 14
    frame[ip] = 0x40 | max(frame[ip] & 0x0f, 5)
    let headerLength = Int(frame[ip] & 0x0f) * 4
    guard frame.count >= ip + headerLength else { return }
    let total = frame.count - ip
    (frame[ip + 2], frame[ip + 3]) = (UInt8(total >> 8), UInt8(truncatingIfNeeded: total))
    frame.replaceSubrange((ip + 16)..<(ip + 20), with: [198, 18, 0, 2])
    (frame[ip + 10], frame[ip + 11]) = (0, 0)
    let sum = InternetChecksum.checksum(frame[ip..<(ip + headerLength)])
    (frame[ip + 10], frame[ip + 11]) = (UInt8(sum >> 8), UInt8(truncatingIfNeeded: sum))
    let transport = ip + headerLength
    let source = IPv4Address(rawValue: frame[(ip + 12)..<(ip + 16)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    let checksumOffset: Int
    switch frame[ip + 9] {
    case 6: checksumOffset = 16
    case 17: checksumOffset = 6
    default: return
    }
    guard frame.count >= transport + checksumOffset + 2 else { return }
    (frame[transport + checksumOffset], frame[transport + checksumOffset + 1]) = (0, 0)
    let protocolNumber = IPProtocolNumber(rawValue: frame[ip + 9])
    let segmentSum = ~TransportChecksum.sum(source: source, destination: IPv4Address(198, 18, 0, 2), protocol: protocolNumber, segment: frame[transport...])
    (frame[transport + checksumOffset], frame[transport + checksumOffset + 1]) = (UInt8(segmentSum >> 8), UInt8(truncatingIfNeeded: segmentSum))
}

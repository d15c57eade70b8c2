/// What Linux does in software for a frame that left its TCP checksum or its segmentation
/// to the link (skb_checksum_help; tcp_gso_segment), for links that have no kernel behind
/// them: the in-memory test link, so that tests see the frames a veth's peer would.
enum SoftwareOffload {
    /// The frames `frame` becomes on the wire. One that leaves nothing to the link goes as it
    /// is. Otherwise its TCP packet is cut into segments of `segmentSize` payload bytes (one
    /// segment without segmentation), each with the headers repeated: the sequence number
    /// advanced, FIN and PSH only on the last, the IPv4 identification counting up, and the
    /// checksum completed from the pseudo-header sum the frame carries, adjusted for the
    /// segment's length. `linkHeaderLength` bytes of link header come first.
    static func finish(_ frame: OutboundFrame, linkHeaderLength: Int) -> [[UInt8]] {
        guard frame.checksumPending || frame.segmentSize > 0 else { return [frame.bytes] }
        let bytes = frame.bytes
        // The stack's own frames: a malformed one is a bug, and goes out as it is.
        guard bytes.count >= linkHeaderLength, let ip = IPv4Header(bytes[linkHeaderLength...]), ip.protocol == .tcp,
            let tcp = TCPHeader(ip.payload)
        else { return [bytes] }
        let ipStart = linkHeaderLength
        let tcpStart = ipStart + ip.headerLength
        let payloadStart = tcpStart + tcp.headerLength
        let payloadCount = bytes.count - payloadStart
        let size = frame.segmentSize > 0 ? frame.segmentSize : max(payloadCount, 1)
        let pseudoHeaderSum = tcp.checksum
        let originalLength = UInt16(truncatingIfNeeded: bytes.count - tcpStart)
        var segments: [[UInt8]] = []
        var offset = 0
        repeat {
            let end = min(offset + size, payloadCount)
            var segment = Array(bytes[0..<payloadStart])
            segment += bytes[(payloadStart + offset)..<(payloadStart + end)]
            // IPv4: length, identification, checksum.
            segment.storeBigEndian(UInt16(segment.count - ipStart), at: ipStart + 2)
            segment.storeBigEndian(ip.identification &+ UInt16(truncatingIfNeeded: segments.count), at: ipStart + 4)
            segment.storeBigEndian(UInt16(0), at: ipStart + 10)
            segment.storeBigEndian(InternetChecksum.checksum(segment[ipStart..<tcpStart]), at: ipStart + 10)
            // TCP: sequence number, flags, checksum.
            segment.storeBigEndian(tcp.sequenceNumber &+ UInt32(offset), at: tcpStart + 4)
            if end < payloadCount { segment[tcpStart + 13] &= ~(TCPFlags.fin.rawValue | TCPFlags.psh.rawValue) }
            let length = UInt16(truncatingIfNeeded: segment.count - tcpStart)
            segment.storeBigEndian(InternetChecksum.combine(InternetChecksum.combine(pseudoHeaderSum, ~originalLength), length), at: tcpStart + 16)
            segment.storeBigEndian(InternetChecksum.checksum(segment[tcpStart...]), at: tcpStart + 16)
            segments.append(segment)
            offset = end
        } while offset < payloadCount
        return segments
    }
}

/// Where the stack's packets leave it (gVisor's `stack.LinkEndpoint`). The stack calls
/// `transmit` with a batch of frames; frames come in through `Stack.receive(_:on:)`.
public protocol LinkEndpoint: AnyObject {
    /// The largest network-layer packet the link carries (1500 on Ethernet).
    var mtu: Int { get }
    /// The link's MAC address; nil for a link without link-layer headers (loopback), whose
    /// frames are bare IPv4 packets and which needs no ARP.
    var hardwareAddress: MACAddress? { get }
    /// What the link finishes for the stack (none unless it says so).
    var offloads: LinkOffloads { get }
    /// Sends `frames` (Ethernet frames, or IPv4 packets on a link without hardware address).
    func transmit(_ frames: [OutboundFrame])
}

extension LinkEndpoint {
    public var offloads: LinkOffloads { LinkOffloads() }
}

/// Work a link does for the stack, as a NIC's offloads do for Linux (gVisor's
/// `stack.LinkEndpointCapabilities` and GSO): the stack then leaves it undone in the frames
/// it sends.
public struct LinkOffloads: Equatable, Sendable {
    /// The link writes TCP checksums (the frame's field holds the pseudo-header's sum).
    public var checksum = false
    /// The link cuts TCP packets of up to this many bytes (IPv4 header onwards) into segments
    /// that fit the MTU (0: it does not). Needs `checksum`.
    public var segmentationLimit = 0

    public init(checksum: Bool = false, segmentationLimit: Int = 0) {
        self.checksum = checksum
        self.segmentationLimit = segmentationLimit
    }
}

/// A frame on its way out, with what the link is to finish for it (`LinkOffloads`).
public struct OutboundFrame: Sendable {
    public var bytes: [UInt8]
    /// The TCP checksum is the link's to write: its field holds the pseudo-header's sum.
    public var checksumPending = false
    /// A TCP packet larger than the MTU, which the link cuts into segments of this many
    /// payload bytes (0: the frame goes as it is).
    public var segmentSize = 0

    public init(_ bytes: [UInt8], checksumPending: Bool = false, segmentSize: Int = 0) {
        self.bytes = bytes
        self.checksumPending = checksumPending
        self.segmentSize = segmentSize
    }

    /// The same frame behind a link-layer `header`.
    func behind(_ header: [UInt8]) -> OutboundFrame {
        OutboundFrame(header + bytes, checksumPending: checksumPending, segmentSize: segmentSize)
    }
}

/// The loopback interface: what it sends comes back in, on the next `Stack.poll`. Its
/// packets are never damaged, so it leaves checksums unwritten as Linux's does.
public final class LoopbackLink: LinkEndpoint {
    public let mtu: Int
    public var hardwareAddress: MACAddress? { nil }
    public var offloads: LinkOffloads { LinkOffloads(checksum: true) }
    /// Packets sent and not yet taken back in.
    private(set) var queue: [[UInt8]] = []
    /// Sees every packet sent (`--pcap-log`).
    public var capture: (([UInt8]) -> Void)?

    public init(mtu: Int = 65536) { self.mtu = mtu }

    public func transmit(_ frames: [OutboundFrame]) {
        if let capture { for frame in frames { capture(frame.bytes) } }
        queue += frames.map(\.bytes)
    }

    /// Takes the queued packets.
    func drain() -> [[UInt8]] {
        defer { queue = [] }
        return queue
    }
}

/// One end of an in-memory Ethernet link between two stacks, for tests: frames sent on one
/// end queue for the other, through an optional `impairment` that may drop, duplicate or
/// reorder them (it returns the frames to deliver, in order). With `offloads`, it finishes
/// checksums and cuts segments in software first (`SoftwareOffload`), as the kernel does
/// for a veth, so the peer sees only ordinary frames.
public final class ChannelLink: LinkEndpoint {
    public let mtu: Int
    public let hardwareAddress: MACAddress?
    public var offloads = LinkOffloads()
    /// Frames sent by the peer, waiting for `Stack.receive`.
    public var inbox: [[UInt8]] = []
    weak var peer: ChannelLink?
    public var impairment: (([UInt8]) -> [[UInt8]])?
    /// Every frame this end transmitted (before impairment and segmentation), for inspection.
    public private(set) var transmitted = 0
    /// The largest frame this end transmitted, before segmentation.
    public private(set) var largestTransmitted = 0

    init(mtu: Int, address: MACAddress) {
        self.mtu = mtu
        self.hardwareAddress = address
    }

    /// Two connected ends with MAC addresses 02:00:00:00:00:01 and :02 (the second with MTU
    /// `mtuB` when given).
    public static func pair(mtu: Int = 1500, mtuB: Int? = nil) -> (ChannelLink, ChannelLink) {
        let a = ChannelLink(mtu: mtu, address: MACAddress([2, 0, 0, 0, 0, 1])!)
        let b = ChannelLink(mtu: mtuB ?? mtu, address: MACAddress([2, 0, 0, 0, 0, 2])!)
        a.peer = b
        b.peer = a
        return (a, b)
    }

    public func transmit(_ frames: [OutboundFrame]) {
        transmitted += frames.count
        guard let peer else { return }
        for frame in frames {
            largestTransmitted = max(largestTransmitted, frame.bytes.count)
            for wire in SoftwareOffload.finish(frame, linkHeaderLength: EthernetHeader.size) {
                peer.inbox += impairment?(wire) ?? [wire]
            }
        }
    }

    /// Takes the frames waiting.
    public func takeInbox() -> [[UInt8]] {
        defer { inbox = [] }
        return inbox
    }
}

/// Where the stack's packets leave it (gVisor's `stack.LinkEndpoint`). The stack calls
/// `transmit` with a batch of frames; frames come in through `Stack.receive(_:on:)`.
public protocol LinkEndpoint: AnyObject {
    /// The largest network-layer packet the link carries (1500 on Ethernet).
    var mtu: Int { get }
    /// The link's MAC address; nil for a link without link-layer headers (loopback), whose
    /// frames are bare IPv4 packets and which needs no ARP.
    var hardwareAddress: MACAddress? { get }
    /// Sends `frames` (Ethernet frames, or IPv4 packets on a link without hardware address).
    func transmit(_ frames: [[UInt8]])
}

/// The loopback interface: what it sends comes back in, on the next `Stack.poll`.
public final class LoopbackLink: LinkEndpoint {
    public let mtu: Int
    public var hardwareAddress: MACAddress? { nil }
    /// Packets sent and not yet taken back in.
    private(set) var queue: [[UInt8]] = []
    /// Sees every packet sent (`--pcap-log`).
    public var capture: (([UInt8]) -> Void)?

    public init(mtu: Int = 65536) { self.mtu = mtu }

    public func transmit(_ frames: [[UInt8]]) {
        if let capture { for frame in frames { capture(frame) } }
        queue += frames
    }

    /// Takes the queued packets.
    func drain() -> [[UInt8]] {
        defer { queue = [] }
        return queue
    }
}

/// One end of an in-memory Ethernet link between two stacks, for tests: frames sent on one
/// end queue for the other, through an optional `impairment` that may drop, duplicate or
/// reorder them (it returns the frames to deliver, in order).
public final class ChannelLink: LinkEndpoint {
    public let mtu: Int
    public let hardwareAddress: MACAddress?
    /// Frames sent by the peer, waiting for `Stack.receive`.
    public var inbox: [[UInt8]] = []
    weak var peer: ChannelLink?
    public var impairment: (([UInt8]) -> [[UInt8]])?
    /// Every frame this end transmitted (before impairment), for inspection.
    public private(set) var transmitted = 0

    init(mtu: Int, address: MACAddress) {
        self.mtu = mtu
        self.hardwareAddress = address
    }

    /// Two connected ends with MAC addresses 02:00:00:00:00:01 and :02.
    public static func pair(mtu: Int = 1500) -> (ChannelLink, ChannelLink) {
        let a = ChannelLink(mtu: mtu, address: MACAddress([2, 0, 0, 0, 0, 1])!)
        let b = ChannelLink(mtu: mtu, address: MACAddress([2, 0, 0, 0, 0, 2])!)
        a.peer = b
        b.peer = a
        return (a, b)
    }

    public func transmit(_ frames: [[UInt8]]) {
        transmitted += frames.count
        guard let peer else { return }
        for frame in frames { peer.inbox += impairment?(frame) ?? [frame] }
    }

    /// Takes the frames waiting.
    public func takeInbox() -> [[UInt8]] {
        defer { inbox = [] }
        return inbox
    }
}

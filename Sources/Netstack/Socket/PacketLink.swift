import HostSys
import LinuxABI

/// The link to the sandbox's veth (`--network=sandbox`): an AF_PACKET socket on the
/// interface. The frames of one flush leave in one batch (sendmmsg); a thread of the service
/// takes what arrives in batches (recvmmsg) and hands each batch to the stack at once
/// (`SocketService.startReceiving`). The kernel finishes TCP checksums and cuts large TCP
/// packets into segments (checksum and segmentation offload, through the frames' virtio-net
/// headers), as it does for a guest's virtio NIC. A frame the host refuses to send is
/// dropped, as a full device queue drops one.
public final class PacketLink: LinkEndpoint, @unchecked Sendable {
    let socket: PacketSocket
    public let hardwareAddress: MACAddress?
    public var mtu: Int { socket.mtu }
    public var offloads: LinkOffloads { LinkOffloads(checksum: true, segmentationLimit: Self.segmentationLimit) }
    /// The largest TCP packet handed to the kernel to cut (a veth's gso_max_size is 64 KiB).
    static let segmentationLimit = Int(UInt16.max)
    /// Frames the host refused to send.
    private(set) var sendFailures = 0
    /// Sees every frame sent and received (`--pcap-log`).
    public var capture: PacketCapture?
    /// Where a batch is laid out for sendmmsg (used under the stack's lock).
    private var staging: [UInt8] = []

    public init(socket: PacketSocket) {
        self.socket = socket
        hardwareAddress = MACAddress(socket.hardwareAddress)
    }

    public func transmit(_ frames: [OutboundFrame]) {
        var batchStart = 0
        while batchStart < frames.count {
            let batch = frames[batchStart..<min(batchStart + PacketSocket.batchLimit, frames.count)]
            batchStart = batch.endIndex
            staging.removeAll(keepingCapacity: true)
            var described: [PacketSocket.OutgoingFrame] = []
            described.reserveCapacity(batch.count)
            for frame in batch {
                capture?.record(frame.bytes)
                described.append(Self.describe(frame, at: staging.count))
                staging += frame.bytes
            }
            var sent = 0
            while sent < described.count {
                let taken = staging.withUnsafeBytes { bytes in
                    Result { () throws(Errno) in try socket.send(Array(described[sent...]), from: bytes) }
                }
                guard case .success(let count) = taken, count > 0 else {
                    // The kernel refused the next frame (a full queue, a veth going away, a
                    // frame it will not take): that one drops (TCP sends it again), the rest
                    // of the batch still goes.
                    sendFailures += 1
                    sent += 1
                    continue
                }
                sent += count
            }
        }
    }

    /// What the kernel is told of `frame` (at `offset` of the batch): where its TCP checksum
    /// lies when the checksum is the kernel's to write, and how to cut it.
    private static func describe(_ frame: OutboundFrame, at offset: Int) -> PacketSocket.OutgoingFrame {
        var described = PacketSocket.OutgoingFrame(offset: offset, count: frame.bytes.count)
        guard frame.checksumPending || frame.segmentSize > 0 else { return described }
        // The stack's own TCP frame: Ethernet, then IPv4 (its header length in the low nibble).
        let ipStart = EthernetHeader.size
        guard frame.bytes.count >= ipStart + IPv4Header.minimumSize + TCPHeader.minimumSize else { return described }
        let tcpStart = ipStart + Int(frame.bytes[ipStart] & 0x0f) * 4
        guard frame.bytes.count >= tcpStart + TCPHeader.minimumSize else { return described }
        described.checksum = (tcpStart, 16)
        if frame.segmentSize > 0 {
            described.segmentation = (frame.segmentSize, tcpStart + Int(frame.bytes[tcpStart + 12] >> 4) * 4)
        }
        return described
    }
}

extension SocketService {
    /// The stack of a sandbox with a network: the loopback, and each of `links` (one per
    /// interface of `configuration`, in its order) with its subnets, and the routes of
    /// `configuration`. Also returns the stack's id of each link's interface.
    public static func sandbox(links: [PacketLink], configuration: NetworkConfiguration) -> (service: SocketService, interfaces: [Int]) {
        precondition(links.count == configuration.interfaces.count, "one link per interface")
        let stack = Stack(clock: MonotonicClock())
        stack.addInterface(LoopbackLink(), subnets: [IPv4Subnet(IPv4Address(127, 0, 0, 1), prefixLength: 8)])
        var ids: [String: Int] = [:]
        var interfaces: [Int] = []
        for (link, interface) in zip(links, configuration.interfaces) {
            let id = stack.addInterface(link, name: interface.name, subnets: interface.subnets)
            ids[interface.name] = id
            interfaces.append(id)
        }
        for route in configuration.routes {
            guard let id = ids[route.interface] else { continue }
            stack.addRoute(route.destination, gateway: route.gateway, interface: id)
        }
        return (SocketService(stack: stack), interfaces)
    }

    /// Frames taken from the packet socket in one call, at most.
    static let receiveBatch = 32
    /// Room for one received frame: a 64 KiB packet the host did not cut (its TCP segments
    /// arrive whole over a veth, as GRO would deliver them) and its Ethernet header.
    static let receiveStride = 65536 + 64

    /// Starts the thread that reads frames from `link` (interface `interface` of the stack)
    /// and hands each batch of them to the stack.
    public func startReceiving(from link: PacketLink, interface: Int) throws(Errno) {
        try HostThread.detach { [weak self] in
            let stride = Self.receiveStride
            // The frames are handed to the stack as views into this buffer (no copy each):
            // the stack keeps nothing of them, so the buffer is ours again for the next batch.
            var buffer = [UInt8](repeating: 0, count: stride * Self.receiveBatch)
            while let service = self {
                let received = buffer.withUnsafeMutableBytes { bytes in
                    Result { () throws(Errno) in try link.socket.receive(into: bytes, stride: stride) }
                }
                let frames: [PacketSocket.ReceivedFrame]
                switch received {
                case .success(let taken): frames = taken
                case .failure(.EBADF): return
                case .failure:
                    // A transient failure (ENOBUFS, ENETDOWN while the veth goes down): go on.
                    Clock.sleep(nanoseconds: 10_000_000)
                    continue
                }
                let views = frames.enumerated().map { index, frame in
                    (bytes: buffer[(index * stride)..<(index * stride + min(frame.count, stride))], checksumTrusted: frame.checksumTrusted)
                }
                if let capture = link.capture { for view in views { capture.record(Array(view.bytes)) } }
                service.deliver(views, on: interface)
            }
        }
    }
}

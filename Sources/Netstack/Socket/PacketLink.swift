import HostSys
import LinuxABI

/// The link to the sandbox's veth (`--network=sandbox`): an AF_PACKET socket on the
/// interface. Frames the stack sends go out as they are; a thread of the service reads what
/// arrives (`SocketService.startReceiving`). A frame the host refuses to send is dropped, as a
/// full device queue drops one.
public final class PacketLink: LinkEndpoint, @unchecked Sendable {
    let socket: PacketSocket
    public let hardwareAddress: MACAddress?
    public var mtu: Int { socket.mtu }
    /// Frames the host refused to send.
    private(set) var sendFailures = 0
    /// Sees every frame sent and received (`--pcap-log`).
    public var capture: PacketCapture?

    public init(socket: PacketSocket) {
        self.socket = socket
        hardwareAddress = MACAddress(socket.hardwareAddress)
    }

    public func transmit(_ frames: [[UInt8]]) {
        for frame in frames {
            capture?.record(frame)
            let sent = frame.withUnsafeBytes { bytes in Result { () throws(Errno) in try socket.send(bytes) } }
            if case .failure = sent { sendFailures += 1 }
        }
    }
}

extension SocketService {
    /// The stack of `--network=sandbox`: the loopback, and `link` with `address` (a default
    /// route through `gateway`, when given).
    public static func sandbox(link: PacketLink, address: IPv4Subnet, gateway: IPv4Address?) -> SocketService {
        let stack = Stack(clock: MonotonicClock())
        stack.addInterface(LoopbackLink(), subnets: [IPv4Subnet(IPv4Address(127, 0, 0, 1), prefixLength: 8)])
        let interface = stack.addInterface(link, subnets: [address])
        if let gateway { stack.addRoute(IPv4Subnet(IPv4Address(rawValue: 0), prefixLength: 0), gateway: gateway, interface: interface) }
        return SocketService(stack: stack)
    }

    /// Starts the thread that reads frames from `link` (interface `interface` of the stack)
    /// and hands them to the stack.
    public func startReceiving(from link: PacketLink, interface: Int) throws(Errno) {
        try HostThread.detach { [weak self] in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536 + 64, alignment: 16)
            defer { buffer.deallocate() }
            while let service = self {
                let received: (count: Int, checksumTrusted: Bool)
                do throws(Errno) {
                    received = try link.socket.receive(into: buffer)
                } catch .EBADF {
                    return
                } catch {
                    // A transient failure (ENOBUFS, ENETDOWN while the veth goes down): go on.
                    Clock.sleep(nanoseconds: 10_000_000)
                    continue
                }
                let (count, trusted) = received
                let frame = Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                link.capture?.record(frame)
                service.deliver([frame], on: interface, checksumsTrusted: trusted)
            }
        }
    }
}

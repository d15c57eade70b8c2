import CShim
import Glibc

/// An AF_PACKET socket bound to one network interface (packet(7)): every Ethernet frame on
/// the interface in, frames out as they are. Opening needs CAP_NET_RAW; the socket keeps
/// working once the capability is dropped.
public final class PacketSocket: @unchecked Sendable {
    public let fd: FileDescriptor
    public let interfaceIndex: Int32
    /// The interface's MAC address (six bytes) and MTU.
    public let hardwareAddress: [UInt8]
    public let mtu: Int

    /// Opens a socket on interface `name` (ENODEV if there is none).
    public init(interface name: String) throws(Errno) {
        var index: Int32 = 0
        var mac = [UInt8](repeating: 0, count: 6)
        var mtu: Int32 = 0
        let result = mac.withUnsafeMutableBufferPointer { cshim_packet_open(name, &index, $0.baseAddress, &mtu) }
        guard result >= 0 else { throw Errno(rawValue: -result) }
        fd = FileDescriptor(owning: result)
        interfaceIndex = index
        hardwareAddress = mac
        self.mtu = Int(mtu)
    }

    /// Waits for the next frame the interface received (frames this host sent are skipped)
    /// and returns its length in `buffer`, and whether the kernel vouches for its transport
    /// checksum (a packet of the host's own whose checksum is offloaded, so not yet written;
    /// or one already verified).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> (count: Int, checksumTrusted: Bool) {
        while true {
            var outgoing: Int32 = 0
            var trusted: Int32 = 0
            let count = cshim_packet_receive(fd.rawValue, buffer.baseAddress, buffer.count, &outgoing, &trusted)
            if count < 0 {
                let error = Errno(rawValue: Int32(-count))
                if error == .EINTR { continue }
                throw error
            }
            if outgoing == 0 { return (count, trusted != 0) }
        }
    }

    /// Sends one frame.
    public func send(_ frame: UnsafeRawBufferPointer) throws(Errno) {
        let count = cshim_packet_send(fd.rawValue, frame.baseAddress, frame.count)
        if count < 0 { throw Errno(rawValue: Int32(-count)) }
    }
}

/// Network interfaces of the calling process's network namespace.
public enum NetworkInterface {
    /// Sets interface `name` up (needs CAP_NET_ADMIN in the namespace).
    public static func setUp(_ name: String) throws(Errno) {
        let result = cshim_interface_up(name)
        if result < 0 { throw Errno(rawValue: -result) }
    }
}

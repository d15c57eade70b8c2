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

    /// The most frames one `receive` or `send` moves.
    public static let batchLimit = 64

    /// Opens a socket on interface `name` (ENODEV if there is none), with `bufferBytes` of
    /// receive and send queue each. Frames carry virtio-net headers (checksum and
    /// segmentation offload); frames the socket sent are not received back.
    public init(interface name: String, bufferBytes: Int = 8 << 20) throws(Errno) {
        var index: Int32 = 0
        var mac = [UInt8](repeating: 0, count: 6)
        var mtu: Int32 = 0
        let result = mac.withUnsafeMutableBufferPointer { cshim_packet_open(name, Int32(clamping: bufferBytes), &index, $0.baseAddress, &mtu) }
        guard result >= 0 else { throw Errno(rawValue: -result) }
        fd = FileDescriptor(owning: result)
        interfaceIndex = index
        hardwareAddress = mac
        self.mtu = Int(mtu)
    }

    /// A frame `receive` took: its length, and whether the kernel vouches for its transport
    /// checksum (a packet of this host's own whose checksum is offloaded, so not yet written;
    /// or one already verified).
    public struct ReceivedFrame: Sendable {
        public let count: Int
        public let checksumTrusted: Bool
    }

    /// Waits for the next frame the interface received and takes it with those already
    /// waiting behind it: frame i lands at `buffers[i * stride...]`, at most
    /// `buffers.count / stride` (and `batchLimit`) of them.
    public func receive(into buffers: UnsafeMutableRawBufferPointer, stride: Int) throws(Errno) -> [ReceivedFrame] {
        let capacity = min(buffers.count / stride, Self.batchLimit)
        precondition(capacity > 0, "room for one frame at least")
        var frames = [cshim_packet_in](repeating: cshim_packet_in(), count: capacity)
        while true {
            let count = frames.withUnsafeMutableBufferPointer {
                cshim_packet_receive_batch(fd.rawValue, buffers.baseAddress?.assumingMemoryBound(to: UInt8.self), stride, UInt32(capacity), $0.baseAddress)
            }
            if count < 0 {
                let error = Errno(rawValue: -count)
                if error == .EINTR { continue }
                throw error
            }
            return frames.prefix(Int(count)).map { ReceivedFrame(count: Int($0.length), checksumTrusted: $0.checksum_trusted != 0) }
        }
    }

    /// A frame for `send`: `count` bytes at `offset` of the batch's buffer, and what the
    /// kernel is to finish for it.
    public struct OutgoingFrame: Sendable {
        public var offset: Int
        public var count: Int
        /// Where the transport header starts, and its checksum field within it, when the
        /// kernel is to write that checksum (the field holds the pseudo-header's sum).
        public var checksum: (start: Int, offset: Int)?
        /// For an IPv4 TCP packet the kernel cuts into segments: the payload bytes of each,
        /// and the bytes of the headers (through TCP's) each repeats.
        public var segmentation: (size: Int, headerLength: Int)?

        public init(offset: Int, count: Int, checksum: (start: Int, offset: Int)? = nil, segmentation: (size: Int, headerLength: Int)? = nil) {
            self.offset = offset
            self.count = count
            self.checksum = checksum
            self.segmentation = segmentation
        }
    }

    /// Sends `frames` (at most `batchLimit`) from `buffer` in one call; returns how many the
    /// kernel took (the rest found its queue full).
    public func send(_ frames: [OutgoingFrame], from buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        let described = frames.prefix(Self.batchLimit).map { frame in
            precondition(frame.offset >= 0 && frame.count >= 0 && frame.offset + frame.count <= buffer.count, "frame inside the buffer")
            return cshim_packet_out(
                offset: frame.offset, length: UInt32(frame.count),
                checksum_start: UInt16(frame.checksum?.start ?? 0), checksum_offset: UInt16(frame.checksum?.offset ?? 0),
                segment_size: UInt16(frame.segmentation?.size ?? 0), header_length: UInt16(frame.segmentation?.headerLength ?? 0))
        }
        while true {
            let count = described.withUnsafeBufferPointer {
                cshim_packet_send_batch(fd.rawValue, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.baseAddress, UInt32($0.count))
            }
            if count < 0 {
                let error = Errno(rawValue: -count)
                if error == .EINTR { continue }
                throw error
            }
            return Int(count)
        }
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

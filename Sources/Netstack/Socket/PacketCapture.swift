import HostSys

/// `--pcap-log`: frames written as a pcap capture file (the classic libpcap format:
/// microsecond timestamps, little-endian), readable by tcpdump and Wireshark. Write errors
/// end the capture, not the stack.
///
/// Locks: `lock` guards the file: frames come from the stack's thread and a link's receiving
/// thread.
public final class PacketCapture: @unchecked Sendable {
    /// The link-layer type of the frames: Ethernet, or bare IPv4 packets (the loopback).
    public enum LinkType: UInt32, Sendable {
        case ethernet = 1
        case rawIPv4 = 228
    }

    private let fd: FileDescriptor
    private let lock = Monitor()
    private var failed = false

    /// Starts a capture on `fd` (an open, writable file) with its file header.
    public init(fd: consuming FileDescriptor, linkType: LinkType) {
        self.fd = fd
        var header: [UInt8] = []
        for word in [UInt32(0xa1b2_c3d4)] { header += withUnsafeBytes(of: word.littleEndian) { Array($0) } }
        for half in [UInt16(2), UInt16(4)] { header += withUnsafeBytes(of: half.littleEndian) { Array($0) } }
        for word in [UInt32(0), 0, 65535, linkType.rawValue] { header += withUnsafeBytes(of: word.littleEndian) { Array($0) } }
        write(header)
    }

    /// Records one frame, stamped with the wall-clock time.
    public func record(_ frame: [UInt8]) {
        let now = Clock.now(realtime: true)
        var record: [UInt8] = []
        record.reserveCapacity(16 + frame.count)
        let captured = UInt32(min(frame.count, 65535))
        let stamp = [UInt32(truncatingIfNeeded: now.seconds), UInt32(truncatingIfNeeded: now.nanoseconds / 1000)]
        for word in stamp + [captured, UInt32(truncatingIfNeeded: frame.count)] {
            record += withUnsafeBytes(of: word.littleEndian) { Array($0) }
        }
        record += frame.prefix(Int(captured))
        write(record)
    }

    private func write(_ bytes: [UInt8]) {
        lock.locked {
            guard !failed else { return }
            let result = bytes.withUnsafeBytes { buffer in Result { () throws(Errno) in try fd.writeAll(buffer) } }
            if case .failure = result { failed = true }
        }
    }
}

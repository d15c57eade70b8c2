import CShim
import Glibc
import LinuxABI

/// Unix-domain socket pairs and file-descriptor passing (SCM_RIGHTS, unix(7)).
public enum UnixSocket {
    /// The most fds one message carries (the kernel's SCM_MAX_FD is 253).
    public static let maxDescriptorsPerMessage = 253

    /// A connected pair of AF_UNIX sockets of `type` (stream by default), close-on-exec.
    public static func pair(type: Int32 = SocketType.stream) throws(Errno) -> DescriptorPair {
        var fds: [Int32] = [-1, -1]
        _ = try hostCall { socketpair(AddressFamily.unix, type | SocketType.closeOnExecFlag, 0, &fds) }
        return DescriptorPair(first: FileDescriptor(owning: fds[0]), second: FileDescriptor(owning: fds[1]))
    }

    /// Sends `bytes` (at least one byte: a stream socket drops fds sent with no data) and
    /// the fds `descriptors` in one message. The fds stay open here; the receiver gets copies.
    /// EPIPE when the peer is gone (no SIGPIPE: MSG_NOSIGNAL).
    public static func send(
        on socket: borrowing FileDescriptor, bytes: UnsafeRawBufferPointer, descriptors: [Int32] = []
    ) throws(Errno) -> Int {
        precondition(bytes.count > 0 || descriptors.isEmpty, "fds need at least one byte of data")
        guard descriptors.count <= maxDescriptorsPerMessage else { throw .EINVAL }
        let fd = socket.rawValue
        var iov = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
        let controlLength = descriptors.isEmpty ? 0 : cshim_cmsg_space(descriptors.count * 4)
        let control = UnsafeMutableRawBufferPointer.allocate(byteCount: max(controlLength, 1), alignment: 8)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0)
        var message = msghdr()
        return try withUnsafeMutablePointer(to: &iov) { (iovPointer) throws(Errno) -> Int in
            message.msg_iov = iovPointer
            message.msg_iovlen = 1
            if !descriptors.isEmpty {
                message.msg_control = control.baseAddress
                message.msg_controllen = controlLength
                // The header sits at the start of the buffer we just sized for it.
                let header = cshim_cmsg_firsthdr(&message)!
                header.pointee.cmsg_level = SocketLevel.socket
                header.pointee.cmsg_type = SocketLevel.rights
                header.pointee.cmsg_len = cshim_cmsg_len(descriptors.count * 4)
                let data = UnsafeMutableRawPointer(cshim_cmsg_data(header)!)
                for (index, descriptor) in descriptors.enumerated() {
                    data.storeBytes(of: descriptor, toByteOffset: index * 4, as: Int32.self)
                }
            }
            return try hostCall { sendmsg(fd, &message, MessageFlags.noSignal.rawValue) }
        }
    }

    /// Receives up to `buffer.count` bytes and up to `maxDescriptors` fds (close-on-exec).
    /// Returns the byte count (0: the peer closed) and the fds. If the sender passed more fds
    /// than fit, the kernel closed the rest and this throws EMSGSIZE after closing those that did.
    public static func receive(
        on socket: borrowing FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, maxDescriptors: Int = 16
    ) throws(Errno) -> ReceivedMessage {
        let fd = socket.rawValue
        var iov = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
        let controlLength = cshim_cmsg_space(max(maxDescriptors, 1) * 4)
        let control = UnsafeMutableRawBufferPointer.allocate(byteCount: controlLength, alignment: 8)
        defer { control.deallocate() }
        var message = msghdr()
        let count = try withUnsafeMutablePointer(to: &iov) { (iovPointer) throws(Errno) -> Int in
            message.msg_iov = iovPointer
            message.msg_iovlen = 1
            message.msg_control = control.baseAddress
            message.msg_controllen = controlLength
            return try hostCall { recvmsg(fd, &message, MessageFlags.closeOnExec.rawValue) }
        }
        var received = ReceivedDescriptors()
        var header = message.msg_controllen > 0 ? cshim_cmsg_firsthdr(&message) : nil
        while let current = header {
            if current.pointee.cmsg_level == SocketLevel.socket && current.pointee.cmsg_type == SocketLevel.rights {
                let payload = Int(current.pointee.cmsg_len) - cshim_cmsg_len(0)
                let data = UnsafeRawPointer(cshim_cmsg_data(current)!)
                for index in 0..<max(0, payload / 4) {
                    received.append(data.loadUnaligned(fromByteOffset: index * 4, as: Int32.self))
                }
            }
            header = cshim_cmsg_nxthdr(&message, current)
        }
        if MessageFlags(rawValue: message.msg_flags).contains(.controlTruncated) { throw .EMSGSIZE }
        return ReceivedMessage(count: count, descriptors: received)
    }
}

/// What `UnixSocket.receive` got: the byte count (0: the peer closed) and the fds.
@frozen
public struct ReceivedMessage: ~Copyable {
    public var count: Int
    public var descriptors: ReceivedDescriptors
}

/// File descriptors received from another process; any not taken are closed with this value.
public struct ReceivedDescriptors: ~Copyable {
    private var pending: [Int32] = []

    public init() {}

    mutating func append(_ fd: Int32) { pending.append(fd) }

    deinit { for fd in pending { closeOwned(fd) } }

    /// How many fds are left to take.
    public var count: Int { pending.count }

    /// Takes the next fd in the order they were sent, or nil when none is left.
    public mutating func take() -> FileDescriptor? {
        pending.isEmpty ? nil : FileDescriptor(owning: pending.removeFirst())
    }
}

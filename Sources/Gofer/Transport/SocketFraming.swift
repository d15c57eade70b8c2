import HostSys
import LinuxABI

/// A lisafs message on a unix stream socket: the 8-byte header (payload length, MID), the
/// payload, and fds sent with the header's first byte (SCM_RIGHTS).
struct SocketMessage: ~Copyable {
    var messageID: LisafsMessageID
    var payload: [UInt8]
    var descriptors: ReceivedDescriptors
}

/// Why a socket exchange failed.
enum SocketFramingError: Error, Equatable {
    /// The peer closed the socket (at a message boundary).
    case closed
    /// The peer sent a header this side refuses (too large), or closed mid-message.
    case malformed(String)
    case host(Errno)
}

enum SocketFraming {
    /// Sends one message with `descriptors` attached.
    static func send(
        on socket: borrowing FileDescriptor, _ id: LisafsMessageID, payload: [UInt8], descriptors: [Int32] = []
    ) throws(SocketFramingError) {
        var writer = ByteWriter(capacity: LisafsSocketHeader.size + payload.count)
        LisafsSocketHeader(messageID: id, payloadLength: UInt32(payload.count)).encode(into: &writer)
        writer.writeBytes(payload)
        let bytes = writer.bytes
        let sent = bytes.withUnsafeBytes { buffer in
            Result { () throws(Errno) in
                // The first sendmsg carries the fds; the rest of a large message follows.
                var done = try UnixSocket.send(on: socket, bytes: buffer, descriptors: descriptors)
                while done < buffer.count {
                    done += try UnixSocket.send(on: socket, bytes: UnsafeRawBufferPointer(rebasing: buffer[done...]))
                }
            }
        }
        do {
            try sent.get()
        } catch {
            throw error == .EPIPE || error == .ECONNRESET ? .closed : .host(error)
        }
    }

    /// Receives one message, refusing a header that announces more than `maxMessageSize`
    /// before reading the payload. Fds that came with the header are returned with it.
    static func receive(on socket: borrowing FileDescriptor, maxMessageSize: UInt32, maxDescriptors: Int = 4)
        throws(SocketFramingError) -> SocketMessage
    {
        let header = UnsafeMutableRawBufferPointer.allocate(byteCount: LisafsSocketHeader.size, alignment: 8)
        defer { header.deallocate() }
        var first: ReceivedMessage
        do {
            first = try UnixSocket.receive(on: socket, into: header, maxDescriptors: maxDescriptors)
        } catch {
            throw error == .ECONNRESET ? .closed : .host(error)
        }
        if first.count == 0 { throw .closed }
        try readExactly(socket, UnsafeMutableRawBufferPointer(rebasing: header[first.count...]))
        var reader = ByteReader(copying: UnsafeRawBufferPointer(header))
        let decoded: LisafsSocketHeader
        do {
            decoded = try LisafsSocketHeader(decoding: &reader, maxMessageSize: maxMessageSize)
        } catch {
            throw .malformed(error.description)
        }
        let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(decoded.payloadLength), alignment: 8)
        defer { payload.deallocate() }
        try readExactly(socket, payload)
        return SocketMessage(messageID: decoded.messageID, payload: Array(payload), descriptors: first.descriptors)
    }

    private static func readExactly(_ socket: borrowing FileDescriptor, _ buffer: UnsafeMutableRawBufferPointer) throws(SocketFramingError) {
        guard !buffer.isEmpty else { return }
        let complete: Bool
        do {
            complete = try socket.readExactly(into: buffer)
        } catch {
            throw error == .EIO ? .malformed("the peer closed in the middle of a message") : .host(error)
        }
        if !complete { throw .malformed("the peer closed in the middle of a message") }
    }
}

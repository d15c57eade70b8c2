import HostSys

/// The fds one side needs to open its end of a channel (an `Endpoint` or a ring end): the
/// channel's memfd and this side's socket, whose hang-up tells the other side that this one
/// is gone and which carries fds between the two.
@frozen
public struct ChannelFiles: ~Copyable {
    public var memory: FileDescriptor
    public var socket: FileDescriptor

    public init(memory: consuming FileDescriptor, socket: consuming FileDescriptor) {
        self.memory = memory
        self.socket = socket
    }
}

/// The files of a new channel: `local` for the creator, `remote` for the peer process.
@frozen
public struct ChannelFilePair: ~Copyable {
    public var local: ChannelFiles
    public var remote: ChannelFiles

    /// Pairs `memory` (already laid out and sealed) with a new socket pair.
    init(memory: consuming FileDescriptor) throws(FlipcallError) {
        let sockets = try host { () throws(Errno) in try UnixSocket.pair() }
        let peerMemory = try host { () throws(Errno) in try memory.duplicate() }
        local = ChannelFiles(memory: memory, socket: sockets.first)
        remote = ChannelFiles(memory: peerMemory, socket: sockets.second)
    }
}

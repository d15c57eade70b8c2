import HostSys
import LinuxABI

/// A reply ready to send: its message ID, payload, and the open files whose host fds travel
/// with it (donated). The reply holds the files, so a Close racing the send cannot close an fd
/// before it is sent.
public struct LisafsReply: Sendable {
    public let messageID: LisafsMessageID
    public let payload: [UInt8]
    let donated: [OpenNode]

    /// The host fds to send with the reply, valid while the reply lives.
    public var donatedDescriptors: [Int32] { donated.map { $0.fd.rawValue } }

    init(_ response: some LisafsResponse, donating donated: [OpenNode] = []) {
        self.messageID = type(of: response).messageID
        self.payload = response.encoded()
        self.donated = donated
    }

    /// The Error reply with `errno`.
    public init(error errno: LinuxErrno) {
        self.init(ErrorResponse(errno: UInt32(bitPattern: errno.rawValue)))
    }
}

extension LisafsServer {
    /// Handles one request: decodes it (malformed input becomes an Error reply with the decode
    /// error's errno), runs it, and encodes the answer. Never throws and never traps on what
    /// the client sent. Channel requests belong to the transport and are not handled here.
    public func handle(_ id: LisafsMessageID, payload: [UInt8]) -> LisafsReply {
        var reader = ByteReader(payload)
        return handle(id, payload: &reader)
    }

    /// `handle` for a payload that is the rest of `payload` (a request read in place).
    public func handle(_ id: LisafsMessageID, payload: inout ByteReader) -> LisafsReply {
        guard let type = LisafsMessages.requestType(for: id), Self.supportedMessages.contains(id), id != .channel else {
            return LisafsReply(error: .ENOSYS)
        }
        let request: any LisafsRequest
        do {
            request = try type.init(decodingAll: &payload)
        } catch {
            return LisafsReply(error: error.errno)
        }
        do {
            return try run(request)
        } catch {
            return LisafsReply(error: error)
        }
    }

    private func run(_ request: any LisafsRequest) throws(LinuxErrno) -> LisafsReply {
        switch request {
        case is MountRequest: return LisafsReply(try mount())
        case let request as FStatRequest: return LisafsReply(try fstat(request))
        case let request as SetStatRequest: return LisafsReply(try setStat(request))
        case let request as WalkRequest: return LisafsReply(try walk(request))
        case let request as WalkStatRequest: return LisafsReply(try walkStat(request))
        case let request as OpenAtRequest:
            let (response, donated) = try openAt(request)
            return LisafsReply(response, donating: donated.map { [$0] } ?? [])
        case let request as OpenCreateAtRequest:
            let (response, donated) = try openCreateAt(request)
            return LisafsReply(response, donating: donated.map { [$0] } ?? [])
        case let request as CloseRequest: return LisafsReply(close(request))
        case let request as FSyncRequest: return LisafsReply(try fsync(request))
        case let request as PWriteRequest: return LisafsReply(try pwrite(request))
        case let request as PReadRequest: return LisafsReply(try pread(request))
        case let request as MkdirAtRequest: return LisafsReply(try mkdirAt(request))
        case let request as MknodAtRequest: return LisafsReply(try mknodAt(request))
        case let request as SymlinkAtRequest: return LisafsReply(try symlinkAt(request))
        case let request as LinkAtRequest: return LisafsReply(try linkAt(request))
        case let request as FStatFSRequest: return LisafsReply(try fstatfs(request))
        case let request as FAllocateRequest: return LisafsReply(try fallocate(request))
        case let request as ReadLinkAtRequest: return LisafsReply(try readLink(request))
        case let request as FlushRequest: return LisafsReply(try flush(request))
        case let request as UnlinkAtRequest: return LisafsReply(try unlinkAt(request))
        case let request as RenameAtRequest: return LisafsReply(try renameAt(request))
        case let request as RenameAt2Request: return LisafsReply(try renameAt2(request))
        case let request as Getdents64Request: return LisafsReply(try getdents64(request))
        default: throw .ENOSYS
        }
    }
}

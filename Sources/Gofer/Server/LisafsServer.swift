import HostSys
import LinuxABI

/// The lisafs server of one gofer connection: serves the tree under `root`, naming files by
/// FD ids it hands out (DESIGN.md, "Gofer and lisafs").
///
/// Rules that keep the client inside the tree:
/// - every path the server resolves is one component, relative to a directory fd it holds,
///   opened with O_NOFOLLOW; a name that is empty, `.`, `..`, or contains `/` is refused
///   (EINVAL), so a walk cannot climb out and a symlink is never followed by the server;
/// - changes of mode, owner and times go to the fd itself (AT_EMPTY_PATH), never by name;
/// - a read-only tree refuses every mutation with EROFS, whatever the client asks.
///
/// Locks: `FDTable` and each `ControlNode` have their own mutex; no call holds two at once.
/// Many channels may call the same server at once.
public final class LisafsServer: Sendable {
    /// The largest message (header included) the server accepts and sends.
    public let maxMessageSize: UInt32
    public let readOnly: Bool
    let root: ControlNode
    let table = FDTable()

    /// Serves the directory `root` (an fd of it; an O_PATH one suffices).
    public init(root: borrowing FileDescriptor, readOnly: Bool, maxMessageSize: UInt32 = Lisafs.maxMessageSize) throws(Errno) {
        let fd = try root.openAt(".", flags: [.path, .directory])
        self.root = ControlNode(fd: fd, fileType: FileMode.directory, parent: nil, name: "")
        self.readOnly = readOnly
        self.maxMessageSize = maxMessageSize
    }

    /// How many FD ids the client holds (for leak checks).
    public var openFileCount: Int { table.count }

    /// The messages this server implements (Mount's answer lists them).
    public static let supportedMessages: [LisafsMessageID] = [
        .mount, .channel, .fstat, .setStat, .walk, .walkStat, .openAt, .openCreateAt, .close, .fsync,
        .pwrite, .pread, .mkdirAt, .mknodAt, .symlinkAt, .linkAt, .fstatFS, .fallocate, .readLinkAt,
        .flush, .unlinkAt, .renameAt, .getdents64, .renameAt2,
    ]

    // MARK: Looking up FD ids

    func control(_ id: LisafsFDID) throws(LinuxErrno) -> ControlNode {
        guard case .control(let node)? = table.lookup(id) else { throw .EBADF }
        return node
    }

    func directory(_ id: LisafsFDID) throws(LinuxErrno) -> ControlNode {
        let node = try control(id)
        guard node.isDirectory else { throw .ENOTDIR }
        return node
    }

    func open(_ id: LisafsFDID) throws(LinuxErrno) -> OpenNode {
        guard case .open(let node)? = table.lookup(id) else { throw .EBADF }
        return node
    }

    /// The host fd behind any FD id (control or open), for calls that accept either.
    func anyNode(_ id: LisafsFDID) throws(LinuxErrno) -> ServerFile {
        guard let file = table.lookup(id) else { throw .EBADF }
        return file
    }

    func writable() throws(LinuxErrno) {
        if readOnly { throw .EROFS }
    }
}

/// Checks that `name` is one path component the server may resolve: not empty, not `.` or
/// `..`, no `/` (and no NUL, which the decoder already refused).
func component(_ name: SizedString) throws(LinuxErrno) -> HostPath {
    let bytes = name.bytes
    guard !bytes.isEmpty, bytes != [0x2e], bytes != [0x2e, 0x2e], !bytes.contains(0x2f),
        let path = HostPath(bytes: bytes)
    else { throw .EINVAL }
    return path
}

extension LisafsStatx {
    /// The lisafs form of a host statx (the kernel struct without its spare fields).
    init(_ stat: LinuxStatx) {
        self.init()
        mask = stat.mask
        blockSize = stat.blksize
        attributes = stat.attributes
        linkCount = stat.nlink
        uid = stat.uid
        gid = stat.gid
        mode = stat.mode
        inode = stat.ino
        size = stat.size
        blocks = stat.blocks
        attributesMask = stat.attributesMask
        accessTime = LisafsStatxTimestamp(stat.atime)
        birthTime = LisafsStatxTimestamp(stat.btime)
        changeTime = LisafsStatxTimestamp(stat.ctime)
        modificationTime = LisafsStatxTimestamp(stat.mtime)
        rdevMajor = stat.rdevMajor
        rdevMinor = stat.rdevMinor
        devMajor = stat.devMajor
        devMinor = stat.devMinor
    }
}

extension LisafsStatxTimestamp {
    init(_ time: LinuxStatxTimestamp) {
        self.init()
        seconds = time.seconds
        nanoseconds = time.nanoseconds
    }
}

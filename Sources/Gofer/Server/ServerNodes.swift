import HostSys
import LinuxABI
import Synchronization

/// A file the client walked to: an O_PATH fd the server opened without following symlinks,
/// and where it was found (parent and name), for the calls Linux only offers by name
/// (chmod, chown, utimes, reopening for I/O). A rename through this server moves the name.
final class ControlNode: Sendable {
    let fd: FileDescriptor
    /// S_IFMT bits when the node was opened.
    let fileType: UInt32
    private let location: Mutex<(parent: ControlNode?, name: HostPath)>

    init(fd: consuming FileDescriptor, fileType: UInt32, parent: ControlNode?, name: HostPath) {
        self.fd = fd
        self.fileType = fileType
        self.location = Mutex((parent, name))
    }

    var parent: ControlNode? { location.withLock { $0.parent } }
    var name: HostPath { location.withLock { $0.name } }
    var isDirectory: Bool { fileType == FileMode.directory }
    var isSymlink: Bool { fileType == FileMode.symlink }

    /// Records that the file now lives as `name` in `parent`.
    func move(to parent: ControlNode, name: HostPath) {
        location.withLock { $0 = (parent, name) }
    }

    /// Whether this node was found as `name` in `parent`.
    func isNamed(_ name: HostPath, in parent: ControlNode) -> Bool {
        location.withLock { $0.parent === parent && $0.name == name }
    }
}

/// A file opened for I/O from a control node (OpenAt, OpenCreateAt).
final class OpenNode: Sendable {
    let node: ControlNode
    let fd: FileDescriptor
    let flags: OpenFlags

    init(node: ControlNode, fd: consuming FileDescriptor, flags: OpenFlags) {
        self.node = node
        self.fd = fd
        self.flags = flags
    }

    var isReadable: Bool { flags.rawValue & OpenFlags.accessModeMask != OpenFlags.writeOnly.rawValue }
    var isWritable: Bool { flags.rawValue & OpenFlags.accessModeMask != OpenFlags.readOnly.rawValue }
}

/// What an FD id names on the server.
enum ServerFile: Sendable {
    case control(ControlNode)
    case open(OpenNode)
}

/// The FD ids one connection holds. Ids are handed out in increasing order and never reused,
/// so a stale id from the client can never name a newer file.
final class FDTable: Sendable {
    private struct State {
        var next: UInt64 = 1
        var files: [LisafsFDID: ServerFile] = [:]
    }

    private let state = Mutex(State())

    /// Stores `file` under a fresh id.
    func insert(_ file: ServerFile) -> LisafsFDID {
        state.withLock { state in
            let id = LisafsFDID(state.next)
            state.next += 1
            state.files[id] = file
            return id
        }
    }

    func lookup(_ id: LisafsFDID) -> ServerFile? { state.withLock { $0.files[id] } }

    /// Removes `id`; the file closes when no call still uses it.
    @discardableResult
    func remove(_ id: LisafsFDID) -> Bool { state.withLock { $0.files.removeValue(forKey: id) != nil } }

    var count: Int { state.withLock { $0.files.count } }

    /// Every control node in the table (for renames, which move names of open nodes).
    var controlNodes: [ControlNode] {
        state.withLock { state in
            state.files.values.compactMap { file in
                switch file {
                case .control(let node): return node
                case .open(let open): return open.node
                }
            }
        }
    }
}

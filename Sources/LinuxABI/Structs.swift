// Linux structs whose byte layout crosses a boundary (guest memory, ptrace, the host).
// Each has the exact x86-64 layout; LinuxABITests compare sizes and offsets with the C headers.

/// `struct timespec`.
public struct LinuxTimespec: Hashable, Sendable {
    public var seconds: Int64
    public var nanoseconds: Int64

    public init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// A duration of `nanoseconds` split into seconds and nanoseconds (negative clamps to 0).
    public init(totalNanoseconds: Int64) {
        let total = max(0, totalNanoseconds)
        self.init(seconds: total / 1_000_000_000, nanoseconds: total % 1_000_000_000)
    }

    /// Whether the nanosecond field is in 0..<1e9 and seconds are not negative, as syscalls
    /// taking a timespec require (else EINVAL).
    public var isValid: Bool { seconds >= 0 && (0..<1_000_000_000).contains(nanoseconds) }

    /// The time in nanoseconds, saturating at `Int64.max` (some 292 years: "forever", which
    /// is what `sleep infinity` asks for with seconds = INT64_MAX). Call on valid values.
    public var totalNanoseconds: Int64 {
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow, product <= Int64.max - nanoseconds else { return Int64.max }
        return product + nanoseconds
    }
}

/// `struct stat` as x86-64 fstat(2) and newfstatat(2) fill it (144 bytes).
public struct LinuxStat: Hashable, Sendable {
    public var dev: UInt64 = 0
    public var ino: UInt64 = 0
    public var nlink: UInt64 = 0
    public var mode: UInt32 = 0
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    var pad0: Int32 = 0
    public var rdev: UInt64 = 0
    public var size: Int64 = 0
    public var blksize: Int64 = 0
    public var blocks: Int64 = 0
    public var atime = LinuxTimespec(seconds: 0, nanoseconds: 0)
    public var mtime = LinuxTimespec(seconds: 0, nanoseconds: 0)
    public var ctime = LinuxTimespec(seconds: 0, nanoseconds: 0)
    var reserved: (Int64, Int64, Int64) = (0, 0, 0)

    public init() {}

    public static func == (lhs: LinuxStat, rhs: LinuxStat) -> Bool {
        lhs.dev == rhs.dev && lhs.ino == rhs.ino && lhs.nlink == rhs.nlink && lhs.mode == rhs.mode
            && lhs.uid == rhs.uid && lhs.gid == rhs.gid && lhs.rdev == rhs.rdev && lhs.size == rhs.size
            && lhs.blksize == rhs.blksize && lhs.blocks == rhs.blocks && lhs.atime == rhs.atime
            && lhs.mtime == rhs.mtime && lhs.ctime == rhs.ctime
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(dev)
        hasher.combine(ino)
        hasher.combine(mtime)
    }
}

/// `struct user_regs_struct`: the general registers ptrace(PTRACE_GETREGS) moves (216 bytes).
public struct LinuxUserRegs: Hashable, Sendable {
    public var r15: UInt64 = 0, r14: UInt64 = 0, r13: UInt64 = 0, r12: UInt64 = 0
    public var rbp: UInt64 = 0, rbx: UInt64 = 0, r11: UInt64 = 0, r10: UInt64 = 0
    public var r9: UInt64 = 0, r8: UInt64 = 0, rax: UInt64 = 0, rcx: UInt64 = 0
    public var rdx: UInt64 = 0, rsi: UInt64 = 0, rdi: UInt64 = 0
    /// The syscall number at a syscall stop (rax holds -ENOSYS there).
    public var origRax: UInt64 = 0
    public var rip: UInt64 = 0, cs: UInt64 = 0, eflags: UInt64 = 0, rsp: UInt64 = 0, ss: UInt64 = 0
    public var fsBase: UInt64 = 0, gsBase: UInt64 = 0
    public var ds: UInt64 = 0, es: UInt64 = 0, fs: UInt64 = 0, gs: UInt64 = 0

    public init() {}
}

/// `struct cmsghdr` as it precedes each control message (16 bytes on x86-64).
public struct LinuxControlMessageHeader: Hashable, Sendable {
    public var length: UInt64
    public var level: Int32
    public var type: Int32

    public init(length: UInt64, level: Int32, type: Int32) {
        self.length = length
        self.level = level
        self.type = type
    }
}

/// `struct statx_timestamp`.
public struct LinuxStatxTimestamp: Hashable, Sendable {
    public var seconds: Int64 = 0
    public var nanoseconds: UInt32 = 0
    var reserved: Int32 = 0

    public init(seconds: Int64 = 0, nanoseconds: UInt32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// `struct statx` as statx(2) fills it (256 bytes); lisafs carries it on the wire.
public struct LinuxStatx: Sendable {
    public var mask: UInt32 = 0
    public var blksize: UInt32 = 0
    public var attributes: UInt64 = 0
    public var nlink: UInt32 = 0
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var mode: UInt16 = 0
    var spare0: UInt16 = 0
    public var ino: UInt64 = 0
    public var size: UInt64 = 0
    public var blocks: UInt64 = 0
    public var attributesMask: UInt64 = 0
    public var atime = LinuxStatxTimestamp()
    public var btime = LinuxStatxTimestamp()
    public var ctime = LinuxStatxTimestamp()
    public var mtime = LinuxStatxTimestamp()
    public var rdevMajor: UInt32 = 0
    public var rdevMinor: UInt32 = 0
    public var devMajor: UInt32 = 0
    public var devMinor: UInt32 = 0
    public var mountID: UInt64 = 0
    public var dioMemoryAlignment: UInt32 = 0
    public var dioOffsetAlignment: UInt32 = 0
    var spare3: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    public init() {}

    /// The STATX_* bits of `mask`.
    public static let typeBit: UInt32 = 0x1
    public static let modeBit: UInt32 = 0x2
    public static let nlinkBit: UInt32 = 0x4
    public static let uidBit: UInt32 = 0x8
    public static let gidBit: UInt32 = 0x10
    public static let atimeBit: UInt32 = 0x20
    public static let mtimeBit: UInt32 = 0x40
    public static let ctimeBit: UInt32 = 0x80
    public static let inoBit: UInt32 = 0x100
    public static let sizeBit: UInt32 = 0x200
    public static let blocksBit: UInt32 = 0x400
    /// Everything `stat` returns (STATX_BASIC_STATS).
    public static let basicStats: UInt32 = 0x7ff
}

/// File type bits of a mode (S_IFMT and the types, inode(7)), and the set-ID and sticky bits.
public enum FileMode {
    public static let setUID: UInt32 = 0o4000
    public static let setGID: UInt32 = 0o2000
    public static let sticky: UInt32 = 0o1000
    public static let typeMask: UInt32 = 0o170000
    public static let socket: UInt32 = 0o140000
    public static let symlink: UInt32 = 0o120000
    public static let regular: UInt32 = 0o100000
    public static let block: UInt32 = 0o060000
    public static let directory: UInt32 = 0o040000
    public static let character: UInt32 = 0o020000
    public static let fifo: UInt32 = 0o010000
}

/// `struct statfs` as x86-64 statfs(2) and fstatfs(2) fill it (120 bytes).
public struct LinuxStatfs: Sendable {
    public var type: Int64 = 0
    public var blockSize: Int64 = 0
    public var blocks: UInt64 = 0
    public var blocksFree: UInt64 = 0
    public var blocksAvailable: UInt64 = 0
    public var files: UInt64 = 0
    public var filesFree: UInt64 = 0
    public var fsid: (Int32, Int32) = (0, 0)
    public var nameLength: Int64 = 0
    public var fragmentSize: Int64 = 0
    public var flags: Int64 = 0
    var spare: (Int64, Int64, Int64, Int64) = (0, 0, 0, 0)

    public init() {}
}

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

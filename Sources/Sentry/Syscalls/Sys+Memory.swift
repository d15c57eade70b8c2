import LinuxABI

extension Syscalls {
    static let page = UInt64(linuxPageSize)

    static func pageAligned(_ value: UInt64) -> Bool { value & (page - 1) == 0 }

    /// `length` rounded up to pages, or nil if that overflows.
    static func roundUpToPage(_ length: UInt64) -> UInt64? {
        length > UInt64.max - (page - 1) ? nil : (length + page - 1) & ~(page - 1)
    }

    /// Implements Linux brk(2): an address at or above the heap's start moves the break there
    /// (mapping or unmapping whole pages); anything else, or a failure, leaves the break where
    /// it is. Always returns the break.
    static func brk(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let mm = task.mm
        let requested = arguments[0]
        guard requested >= mm.brkStart, requested < Loader.stackTop - Loader.stackSize,
            let newTop = roundUpToPage(requested), let oldTop = roundUpToPage(mm.brk)
        else { return .value(Int64(mm.brk)) }
        do {
            if newTop > oldTop {
                try mm.mapAnonymous(at: oldTop, length: newTop - oldTop, protection: [.read, .write])
            } else if newTop < oldTop {
                try mm.unmap(address: newTop, length: oldTop - newTop)
            }
        } catch {
            return .value(Int64(mm.brk))
        }
        mm.brk = requested
        return .value(Int64(requested))
    }

    /// Implements Linux mmap(2): anonymous mappings, and private file mappings, which are
    /// filled from the file when mapped (a private mapping never writes back, so only later
    /// changes to the file are not seen). Shared writable file mappings are ENOSYS until the
    /// page cache lands.
    static func mmap(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (address, length) = (arguments[0], arguments[1])
        let protection = MemoryProtection(rawValue: Int32(truncatingIfNeeded: arguments[2]))
        let flags = MapFlags(rawValue: Int32(truncatingIfNeeded: arguments[3]))
        let offset = arguments[5]
        guard length > 0, let size = roundUpToPage(length), pageAligned(address) || !flags.contains(.fixed) else { throw .EINVAL }
        let sharing = flags.rawValue & 0x3
        guard sharing == MapFlags.shared.rawValue || sharing == MapFlags.private.rawValue else { throw .EINVAL }
        var file: FileDescription?
        if !flags.contains(.anonymous) {
            guard pageAligned(offset), offset <= UInt64(Int64.max) - size else { throw .EINVAL }
            let opened = try task.fds.get(fd(arguments[4]))
            guard opened.isReadable else { throw .EACCES }
            if sharing == MapFlags.shared.rawValue && protection.contains(.write) { throw .ENOSYS }
            file = opened
        }
        let mm = task.mm
        let start: UInt64
        if flags.contains(.fixed) || flags.contains(.fixedNoReplace) {
            guard address <= ELFFile.userAddressSpaceEnd, size <= ELFFile.userAddressSpaceEnd - address else { throw .ENOMEM }
            if flags.contains(.fixedNoReplace) {
                guard !mm.vmas.contains(where: { $0.start < address + size && address < $0.end }) else { throw .EEXIST }
            } else {
                try mm.unmap(address: address, length: size)
            }
            start = address
        } else {
            start = try mm.findFreeRange(length: size)
        }
        try mm.mapAnonymous(at: start, length: size, protection: protection)
        if let file {
            // Fill from the file; the part of the last page past the end of file stays zero.
            let ranges = try mm.ranges(start, Int(length))
            if try file.operations.read(into: ranges, at: Int64(offset)) == nil {
                let bytes = try file.operations.read(count: Int(length), at: Int64(offset))
                try mm.copyOut(bytes, to: start)
            }
        }
        return .value(Int64(start))
    }

    /// Implements Linux munmap(2).
    static func munmap(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (address, length) = (arguments[0], arguments[1])
        guard pageAligned(address), length > 0, let size = roundUpToPage(length), address <= ELFFile.userAddressSpaceEnd,
            size <= ELFFile.userAddressSpaceEnd - address
        else { throw .EINVAL }
        try task.mm.unmap(address: address, length: size)
        return .value(0)
    }

    /// Implements Linux mprotect(2) (PROT_GROWSDOWN/UP are EINVAL).
    static func mprotect(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (address, length) = (arguments[0], arguments[1])
        let bits = Int32(truncatingIfNeeded: arguments[2])
        guard pageAligned(address), bits & ~0x7 == 0, let size = roundUpToPage(length) else { throw .EINVAL }
        guard size > 0 else { return .value(0) }
        try task.mm.protect(address: address, length: size, protection: MemoryProtection(rawValue: bits))
        return .value(0)
    }
}

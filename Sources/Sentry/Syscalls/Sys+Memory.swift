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
    /// brk(2) with the address space locked across its steps (see `brkLocked`).
    static func brk(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let mm = task.mm
        return try mm.locked { () throws(LinuxErrno) -> SyscallOutcome in try brkLocked(task, mm, arguments) }
    }

    private static func brkLocked(_ task: Task, _ mm: MemoryManager, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
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

    /// Implements Linux mmap(2): anonymous mappings (MAP_SHARED ones are shared with forked
    /// children, not copied), and private file mappings, which are filled from the file when
    /// mapped (a private mapping never writes back, so only later changes to the file are not
    /// seen). Shared writable file mappings are ENOSYS until the page cache lands.
    /// mmap(2) with the address space locked across its steps (see `mmapLocked`).
    static func mmap(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let mm = task.mm
        return try mm.locked { () throws(LinuxErrno) -> SyscallOutcome in try mmapLocked(task, mm, arguments) }
    }

    private static func mmapLocked(_ task: Task, _ mm: MemoryManager, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (address, length) = (arguments[0], arguments[1])
        let protection = MemoryProtection(rawValue: Int32(truncatingIfNeeded: arguments[2]))
        let flags = MapFlags(rawValue: Int32(truncatingIfNeeded: arguments[3]))
        let offset = arguments[5]
        guard length > 0, let size = roundUpToPage(length), pageAligned(address) || !flags.contains(.fixed) else { throw .EINVAL }
        let sharing = flags.rawValue & 0x3
        guard sharing == MapFlags.shared.rawValue || sharing == MapFlags.private.rawValue else { throw .EINVAL }
        var file: FileDescription?
        if !flags.contains(.anonymous) {
            guard pageAligned(offset), size <= UInt64(Int64.max), offset <= UInt64(Int64.max) - size else { throw .EINVAL }
            let opened = try task.fds.get(fd(arguments[4]))
            guard opened.isReadable else { throw .EACCES }
            if sharing == MapFlags.shared.rawValue && protection.contains(.write) { throw .ENOSYS }
            file = opened
        }
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
        if file == nil && sharing == MapFlags.shared.rawValue {
            try mm.mapSharedAnonymous(at: start, length: size, protection: protection)
            return .value(Int64(start))
        }
        try mm.mapAnonymous(at: start, length: size, protection: protection)
        if let file {
            // Fill from the file; the part of the last page past the end of file stays zero.
            let ranges = try mm.ranges(start, Int(length), writing: true)
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

extension Syscalls {
    static let mremapMayMove: UInt64 = 1, mremapFixed: UInt64 = 2, mremapDontUnmap: UInt64 = 4

    /// Implements Linux mremap(2) for a range inside one mapping: shrinking unmaps the tail;
    /// growing extends in place when the pages after it are free, else (MREMAP_MAYMOVE) moves
    /// the contents to a new range (MREMAP_FIXED: at `new_address`) and unmaps the old one.
    /// An old size of 0 (duplicating a shared mapping) and MREMAP_DONTUNMAP are EINVAL.
    /// mremap(2) with the address space locked across its steps (see `mremapLocked`).
    static func mremap(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let mm = task.mm
        return try mm.locked { () throws(LinuxErrno) -> SyscallOutcome in try mremapLocked(task, mm, arguments) }
    }

    private static func mremapLocked(_ task: Task, _ mm: MemoryManager, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (oldAddress, flags, newAddress) = (arguments[0], arguments[3], arguments[4])
        guard pageAligned(oldAddress), flags & ~(mremapMayMove | mremapFixed) == 0,
            flags & mremapFixed == 0 || flags & mremapMayMove != 0,
            let oldSize = roundUpToPage(arguments[1]), let newSize = roundUpToPage(arguments[2]), oldSize > 0, newSize > 0,
            oldAddress <= ELFFile.userAddressSpaceEnd, oldSize <= ELFFile.userAddressSpaceEnd - oldAddress
        else { throw .EINVAL }
        guard let vma = mm.vma(containing: oldAddress), oldAddress + oldSize <= vma.end else { throw .EFAULT }
        guard !vma.shared else { throw .EINVAL }  // the sandbox's page stays where it is
        // Memory shared with other processes only shrinks here: growing or moving it would
        // need the shared object to grow under every process's mapping.
        if vma.sharedMemory != nil && (newSize > oldSize || flags & mremapFixed != 0) { throw .ENOMEM }
        if flags & mremapFixed == 0 {
            if newSize <= oldSize {
                if newSize < oldSize { try mm.unmap(address: oldAddress + newSize, length: oldSize - newSize) }
                return .value(Int64(oldAddress))
            }
            let tail = oldAddress + oldSize
            if oldAddress + oldSize == vma.end, newSize - oldSize <= ELFFile.userAddressSpaceEnd - tail,
                (try? mm.mapAnonymous(at: tail, length: newSize - oldSize, protection: vma.protection)) != nil
            {
                return .value(Int64(oldAddress))
            }
            guard flags & mremapMayMove != 0 else { throw .ENOMEM }
        }
        let target: UInt64
        if flags & mremapFixed != 0 {
            guard pageAligned(newAddress), newAddress <= ELFFile.userAddressSpaceEnd,
                newSize <= ELFFile.userAddressSpaceEnd - newAddress,
                newAddress + newSize <= oldAddress || oldAddress + oldSize <= newAddress
            else { throw .EINVAL }
            try mm.unmap(address: newAddress, length: newSize)
            target = newAddress
        } else {
            target = try mm.findFreeRange(length: newSize)
        }
        try mm.mapAnonymous(at: target, length: newSize, protection: vma.protection)
        // Both ranges lie in one mapping each (checked above; the new one is fresh), so the
        // contents move as one copy within the memory file, holes skipped.
        guard let source = mm.vma(containing: oldAddress), let destination = mm.vma(containing: target) else { throw .EFAULT }
        mm.file.copy(from: source.fileOffset + (oldAddress - source.start), to: destination.fileOffset, count: min(oldSize, newSize))
        try mm.unmap(address: oldAddress, length: oldSize)
        return .value(Int64(target))
    }

    /// madvise(2) advice values.
    static let adviseDontNeed: UInt64 = 4, adviseFree: UInt64 = 8
    static let adviceHints: Set<UInt64> = [0, 1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]

    /// Implements Linux madvise(2): MADV_DONTNEED and MADV_FREE zero the range (what private
    /// anonymous memory reads as afterwards, and the memory goes back to the host); the other
    /// advice values are hints the Sentry accepts without acting on them. Unknown advice is
    /// EINVAL; an unmapped range ENOMEM.
    static func madvise(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (address, advice) = (arguments[0], arguments[2])
        guard pageAligned(address), let size = roundUpToPage(arguments[1]), address <= ELFFile.userAddressSpaceEnd,
            size <= ELFFile.userAddressSpaceEnd - address
        else { throw .EINVAL }
        guard advice == adviseDontNeed || advice == adviseFree || adviceHints.contains(advice) else { throw .EINVAL }
        guard size > 0 else { return .value(0) }
        if advice == adviseDontNeed || advice == adviseFree {
            try task.mm.discard(address: address, length: size)
        }
        return .value(0)
    }
}

extension Syscalls {
    static let msyncAsync: UInt64 = 1, msyncInvalidate: UInt64 = 2, msyncSync: UInt64 = 4

    /// Implements Linux msync(2). No mapping writes back to a file (shared writable file
    /// mappings are refused at mmap), so there is nothing to flush: the call checks its
    /// arguments (EINVAL) and that the range is mapped (ENOMEM).
    static func msync(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (address, flags) = (arguments[0], arguments[2])
        guard pageAligned(address), flags & ~(msyncAsync | msyncInvalidate | msyncSync) == 0,
            flags & (msyncAsync | msyncSync) != (msyncAsync | msyncSync), let size = roundUpToPage(arguments[1]),
            size <= UInt64.max - address
        else { throw .EINVAL }
        try task.mm.requireMapped(address, address + size)
        return .value(0)
    }

    /// Implements Linux membarrier(2): MEMBARRIER_CMD_QUERY answers that no command is
    /// available (callers then use their fallbacks); any other command, or flags, is EINVAL.
    static func membarrier(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard arguments[0] == 0, arguments[1] == 0 else { throw .EINVAL }
        return .value(0)
    }
}

extension Syscalls {
    /// Implements Linux mincore(2): a byte per page of [addr, addr + length) (length rounded
    /// up to pages), 1 for a page in memory. EINVAL for an unaligned address, ENOMEM for a
    /// range not fully mapped or past the user address space.
    static func mincore(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (address, length) = (arguments[0], arguments[1])
        guard pageAligned(address) else { throw .EINVAL }
        guard let rounded = roundUpToPage(length), rounded <= UInt64.max - address else { throw .ENOMEM }
        if rounded == 0 { return .value(0) }
        let vector = try task.mm.residency(address, address + rounded)
        try task.mm.copyOut(vector, to: arguments[2])
        return .value(0)
    }
}

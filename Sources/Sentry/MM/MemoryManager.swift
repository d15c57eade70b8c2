import HostSys
import LinuxABI
import Synchronization

/// The memory file: a memfd that holds all of a sandbox's program memory. The platform maps
/// ranges of it into the program's address space; the Sentry maps all of it once, so that
/// copying to and from the program is a memcpy (DESIGN.md, "MM/").
public final class MemoryFile {
    public let fd: FileDescriptor
    private let mapping: MappedRegion
    public let capacity: UInt64
    private var next: UInt64 = 0

    /// A sparse file of `capacity` bytes (only pages that are touched use memory).
    public init(capacity: UInt64 = 1 << 32) throws(LinuxErrno) {
        do {
            fd = try HostSys.MemoryFile.create(name: "sentry-memory", size: Int(capacity), seals: [.shrink])
            mapping = try MappedRegion(fd: fd, length: Int(capacity), flags: [.shared, .noReserve])
        } catch {
            throw error.linuxErrno
        }
        self.capacity = capacity
    }

    private let allocation = Monitor()
    /// Ranges given back by `free`, sorted by offset and coalesced; `next` is the end of
    /// everything ever handed out.
    private var freeRanges: [(offset: UInt64, length: UInt64)] = []

    /// Reserves `length` bytes (page-aligned) and returns their offset: the first freed range
    /// that fits, else fresh space at the end. Processes of the sandbox allocate from their
    /// own threads, so this locks.
    func allocate(_ length: UInt64) throws(LinuxErrno) -> UInt64 {
        let offset: UInt64? = allocation.locked {
            if let index = freeRanges.firstIndex(where: { $0.length >= length }) {
                let range = freeRanges[index]
                if range.length == length {
                    freeRanges.remove(at: index)
                } else {
                    freeRanges[index] = (range.offset + length, range.length - length)
                }
                return range.offset
            }
            guard length <= capacity - next else { return nil }
            defer { next += length }
            return next
        }
        guard let offset else { throw .ENOMEM }
        return offset
    }

    /// Returns `count` bytes at `offset` (page-aligned, from `allocate`, no longer mapped
    /// anywhere) to the host and to the allocator.
    func free(at offset: UInt64, count: UInt64) {
        guard count > 0 else { return }
        discard(at: offset, count: count)
        allocation.locked {
            var index = freeRanges.firstIndex { $0.offset > offset } ?? freeRanges.endIndex
            freeRanges.insert((offset, count), at: index)
            // Merge with the next range, then with the previous one.
            if index + 1 < freeRanges.count, offset + count == freeRanges[index + 1].offset {
                freeRanges[index].length += freeRanges[index + 1].length
                freeRanges.remove(at: index + 1)
            }
            if index > 0, freeRanges[index - 1].offset + freeRanges[index - 1].length == offset {
                freeRanges[index - 1].length += freeRanges[index].length
                freeRanges.remove(at: index)
                index -= 1
            }
            // A free range at the end goes back to fresh space.
            if freeRanges[index].offset + freeRanges[index].length == next {
                next = freeRanges[index].offset
                freeRanges.remove(at: index)
            }
        }
    }

    /// The page of vDSO parameters every program of the sandbox maps read-only (`VDSO`), kept
    /// current by the timekeeper: its offset, allocated on first use.
    func vdsoParametersPage() throws(LinuxErrno) -> UInt64 {
        try allocation.locked { () throws(LinuxErrno) -> UInt64 in
            if let vdsoParameters { return vdsoParameters }
            let page = UInt64(linuxPageSize)
            guard page <= capacity - next else { throw .ENOMEM }
            let offset = next
            next += page
            vdsoParameters = offset
            if let view = bytes(at: offset, count: Int(page)).baseAddress { Timekeeper.shared.attach(page: view) }
            return offset
        }
    }
    private var vdsoParameters: UInt64?

    deinit {
        if let vdsoParameters, let view = bytes(at: vdsoParameters, count: linuxPageSize).baseAddress { Timekeeper.shared.detach(page: view) }
    }

    /// The Sentry's view of `count` bytes at `offset`.
    func bytes(at offset: UInt64, count: Int) -> UnsafeMutableRawBufferPointer {
        precondition(offset + UInt64(count) <= capacity)
        return UnsafeMutableRawBufferPointer(start: mapping.base + Int(offset), count: count)
    }

    /// Copies `count` bytes at `source` to `destination` (a fresh allocation, all zeros),
    /// skipping the holes of the sparse file: pages a program never touched are not read and
    /// not committed in the copy (fork of a process with an 8 MiB stack copies what it used).
    func copy(from source: UInt64, to destination: UInt64, count: UInt64) {
        let (seekData, seekHole): (Int32, Int32) = (3, 4)
        let end = source + count
        var position = source
        while position < end {
            var start = position, chunkEnd = end
            do {
                start = UInt64(try fd.seek(to: Int64(position), whence: seekData))
                if start >= end { break }
                chunkEnd = min(UInt64(try fd.seek(to: Int64(start), whence: seekHole)), end)
            } catch .ENXIO {
                break  // no data after `position`
            } catch {
                (start, chunkEnd) = (position, end)  // cannot tell holes apart: copy the rest
            }
            bytes(at: destination + (start - source), count: Int(chunkEnd - start))
                .copyMemory(from: UnsafeRawBufferPointer(bytes(at: start, count: Int(chunkEnd - start))))
            position = chunkEnd
        }
    }

    /// Whether each page of `count` bytes at `offset` (page-aligned) holds data: a page a
    /// program never touched (or gave back) is a hole of the sparse file.
    func present(at offset: UInt64, count: UInt64) -> [Bool] {
        let (seekData, seekHole): (Int32, Int32) = (3, 4)
        let pageSize = UInt64(linuxPageSize)
        var pages = [Bool](repeating: false, count: Int(count / pageSize))
        let end = offset + count
        var position = offset
        while position < end {
            let start: UInt64, chunkEnd: UInt64
            do {
                start = UInt64(try fd.seek(to: Int64(position), whence: seekData))
                if start >= end { break }
                chunkEnd = min(UInt64(try fd.seek(to: Int64(start), whence: seekHole)), end)
            } catch {
                break  // ENXIO: no data after `position`
            }
            for page in (start - offset) / pageSize..<(chunkEnd - offset + pageSize - 1) / pageSize { pages[Int(page)] = true }
            position = chunkEnd
        }
        return pages
    }

    /// Gives the memory of `count` bytes at `offset` (page-aligned) back to the host; they
    /// read as zeros afterwards and stay allocated.
    func discard(at offset: UInt64, count: UInt64) {
        precondition(offset + count <= capacity)
        do {
            try mapping.remove(offset: Int(offset), count: Int(count))
        } catch {
            // Freed memory is handed to other programs: it must read as zeros either way.
            bytes(at: offset, count: Int(count)).initializeMemory(as: UInt8.self, repeating: 0)
        }
    }
}

/// One mapping of the program's address space: [start, end) backed by the memory file.
struct VMA {
    var start: UInt64
    var end: UInt64
    var fileOffset: UInt64
    var protection: MemoryProtection
    /// Memory of the sandbox's rather than of this address space (the vDSO's parameter page,
    /// which the Sentry keeps current for every program): it is never freed, copied or
    /// zeroed here, never made writable, and the Sentry never writes into it for the program.
    var shared = false
    /// For a MAP_SHARED|MAP_ANONYMOUS mapping: the memory it shares with the processes it
    /// was forked into, freed with the last mapping of it (never by this address space).
    var sharedMemory: SharedMemory?
    /// Whether mprotect may make it writable (false for a System V segment attached
    /// SHM_RDONLY, as Linux clears VM_MAYWRITE).
    var mayWrite = true

    /// Whether this address space owns the memory (frees, copies at fork, zeroes).
    var isPrivate: Bool { !shared && sharedMemory == nil }

    /// The part [low, high) of this mapping, with everything else the same.
    func slice(_ low: UInt64, _ high: UInt64) -> VMA {
        var part = self
        (part.start, part.end, part.fileOffset) = (low, high, fileOffset + (low - start))
        return part
    }
}

/// The memory of a MAP_SHARED|MAP_ANONYMOUS mapping: one range of the memory file that
/// every process the mapping was forked into maps at the same place, so a write by one is
/// seen by all (as Linux's shmem object behind it). Freed when the last mapping goes.
final class SharedMemory: @unchecked Sendable {
    let file: MemoryFile
    let offset: UInt64
    let length: UInt64
    /// A System V segment's key (shmget(2)); nil for MAP_SHARED|MAP_ANONYMOUS memory.
    let systemVKey: Int32?

    init(file: MemoryFile, offset: UInt64, length: UInt64, systemVKey: Int32? = nil) {
        (self.file, self.offset, self.length, self.systemVKey) = (file, offset, length, systemVKey)
    }

    deinit { file.free(at: offset, count: length) }
}

/// A program's address space: its mappings (VMAs), its program break, and copies in and out
/// of its memory.
///
/// Locks: `layout` (recursive) is held across every change of the mappings and every copy in
/// or out, so the threads of a program see each mmap, munmap or mprotect whole; memory
/// syscalls hold it across their several steps (`locked`). `vmaList` lets /proc read the
/// mappings from other processes without waiting for a change in progress. A range a
/// blocking call writes into stays allocated while `pinned`: munmap frees it afterwards.
public final class MemoryManager {
    let file: MemoryFile
    let platform: any AddressSpace
    private let layout = RecursiveLock()
    /// Views handed out by `withPinnedRanges` still in use, and the ranges whose freeing
    /// waits for them.
    private var pins = 0
    private var deferredFrees: [(UInt64, UInt64)] = []
    /// Shared memory unmapped while pinned: kept alive until the pins go.
    private var deferredShared: [SharedMemory] = []
    /// The mappings, sorted by address. Behind a lock: the program's thread changes them,
    /// and /proc readers in other processes list them (/proc/PID/maps, status).
    private(set) var vmas: [VMA] {
        get { vmaList.withLock { $0 } }
        set { vmaList.withLock { $0 = newValue } }
    }
    private let vmaList = Mutex<[VMA]>([])
    /// The start of the heap (brk(2)): set by the loader after the last segment.
    var brkStart: UInt64 = 0
    /// The current program break.
    var brk: UInt64 = 0
    /// Where execve put the vDSO's image (its parameter page lies just below), for /proc.
    var vdsoBase: UInt64?
    /// Where mmap without a hint places mappings: top-down from here.
    static let mmapBase: UInt64 = 0x7f00_0000_0000

    public init(file: MemoryFile, platform: any AddressSpace) {
        self.file = file
        self.platform = platform
    }

    /// Runs `body` holding the address space's lock: a memory syscall's steps, seen whole by
    /// the program's other threads.
    func locked<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        try layout.locked(body)
    }

    /// Frees a memory-file range, or defers it while pinned views may still write to it.
    private func release(_ offset: UInt64, _ count: UInt64) {
        if pins > 0 { deferredFrees.append((offset, count)) } else { file.free(at: offset, count: count) }
    }

    /// The program is gone (exited, or exec'd into a new address space): its memory goes
    /// back to the host. No two address spaces share a range of the memory file, but for the
    /// sandbox's own (`VMA.shared`).
    deinit {
        for (offset, count) in deferredFrees { file.free(at: offset, count: count) }
        for vma in vmas where vma.isPrivate { file.free(at: vma.fileOffset, count: vma.end - vma.start) }
    }

    /// Maps `length` bytes of the memory file at `fileOffset`, which the sandbox owns, at
    /// `address` (both page-aligned), read-only or read-execute: a `VMA.shared` mapping.
    func mapShared(at address: UInt64, length: UInt64, fileOffset: UInt64, protection: MemoryProtection) throws(LinuxErrno) {
        precondition(!protection.contains(.write), "shared mappings are never writable")
        try layout.locked { () throws(LinuxErrno) in
            let end = address + length
            guard !vmas.contains(where: { $0.start < end && address < $0.end }), !overlapsPlatformPage(address, end) else { throw .EEXIST }
            try platform.map(address: address, length: length, protection: protection, fileOffset: fileOffset)
            vmas.append(VMA(start: address, end: end, fileOffset: fileOffset, protection: protection, shared: true))
            vmas.sort { $0.start < $1.start }
        }
    }

    /// Maps fresh zeroed memory at [address, address + length) (both page-aligned).
    /// Refuses ranges that overlap a mapping or the platform's own page.
    public func mapAnonymous(at address: UInt64, length: UInt64, protection: MemoryProtection) throws(LinuxErrno) {
        try layout.locked { () throws(LinuxErrno) in
            let page = UInt64(linuxPageSize)
            guard address % page == 0, length % page == 0, length > 0, address <= ELFFile.userAddressSpaceEnd,
                length <= ELFFile.userAddressSpaceEnd - address
            else { throw .EINVAL }
            let end = address + length
            guard !vmas.contains(where: { $0.start < end && address < $0.end }), !overlapsPlatformPage(address, end)
            else { throw .EEXIST }
            let offset = try file.allocate(length)
            do throws(LinuxErrno) {
                try platform.map(address: address, length: length, protection: protection, fileOffset: offset)
            } catch {
                file.free(at: offset, count: length)
                throw error
            }
            vmas.append(VMA(start: address, end: end, fileOffset: offset, protection: protection))
            vmas.sort { $0.start < $1.start }
        }
    }

    /// Maps fresh zeroed memory at [address, address + length) that forked children share
    /// rather than copy (MAP_SHARED|MAP_ANONYMOUS).
    func mapSharedAnonymous(at address: UInt64, length: UInt64, protection: MemoryProtection) throws(LinuxErrno) {
        try layout.locked { () throws(LinuxErrno) in
            guard length % UInt64(linuxPageSize) == 0, length > 0 else { throw .EINVAL }
            try attach(SharedMemory(file: file, offset: try file.allocate(length), length: length), at: address, protection: protection)
        }
    }

    /// Maps all of `memory` at `address` (page-aligned; the range must be free: EEXIST, or
    /// EINVAL past the user address space); without `mayWrite` it can never become writable.
    func attach(_ memory: SharedMemory, at address: UInt64, protection: MemoryProtection, mayWrite: Bool = true) throws(LinuxErrno) {
        try layout.locked { () throws(LinuxErrno) in
            let length = memory.length
            guard address % UInt64(linuxPageSize) == 0, address <= ELFFile.userAddressSpaceEnd,
                length <= ELFFile.userAddressSpaceEnd - address
            else { throw .EINVAL }
            let end = address + length
            guard !vmas.contains(where: { $0.start < end && address < $0.end }), !overlapsPlatformPage(address, end)
            else { throw .EEXIST }
            try platform.map(address: address, length: length, protection: protection, fileOffset: memory.offset)
            vmas.append(VMA(start: address, end: end, fileOffset: memory.offset, protection: protection, sharedMemory: memory, mayWrite: mayWrite))
            vmas.sort { $0.start < $1.start }
        }
    }

    /// How many mappings of this address space are of `memory` (System V's attach count,
    /// summed over processes: each piece counts, as Linux's shm_open for a split mapping).
    func attachments(of memory: SharedMemory) -> Int {
        vmas.filter { $0.sharedMemory === memory }.count
    }

    /// The lowest free range of `length` bytes below `mmapBase`, searching top-down (where
    /// Linux puts mmap(2) mappings without a hint).
    func findFreeRange(length: UInt64) throws(LinuxErrno) -> UInt64 {
        try layout.locked { () throws(LinuxErrno) -> UInt64 in
            guard length <= Self.mmapBase - 0x1_0000 else { throw .ENOMEM }
            var candidate = Self.mmapBase - length
            for vma in vmas.reversed() where vma.start < Self.mmapBase {
                if vma.end <= candidate { break }
                guard vma.start >= length else { throw .ENOMEM }
                candidate = min(candidate, vma.start - length)
            }
            guard candidate >= 0x1_0000 else { throw .ENOMEM }
            return candidate
        }
    }

    /// Removes [address, address + length) from the VMAs (splitting those that straddle the
    /// edges) and from the platform, and frees the memory behind it. Unmapped parts of the
    /// range are fine, as in munmap(2).
    func unmap(address: UInt64, length: UInt64) throws(LinuxErrno) {
        try layout.locked { () throws(LinuxErrno) in
            guard length <= UInt64.max - address, !overlapsPlatformPage(address, address + length) else { throw .EINVAL }
            let end = address + length
            var kept: [VMA] = []
            var released: [(UInt64, UInt64)] = []
            for vma in vmas {
                if vma.end <= address || vma.start >= end {
                    kept.append(vma)
                    continue
                }
                let low = max(vma.start, address)
                if vma.isPrivate { released.append((vma.fileOffset + (low - vma.start), min(vma.end, end) - low)) }
                if let memory = vma.sharedMemory, pins > 0 { deferredShared.append(memory) }
                if vma.start < address { kept.append(vma.slice(vma.start, address)) }
                if vma.end > end { kept.append(vma.slice(end, vma.end)) }
            }
            try platform.unmap(address: address, length: length)
            vmas = kept.sorted { $0.start < $1.start }
            for (offset, count) in released { release(offset, count) }
        }
    }

    /// Zeroes [address, address + length) in place, keeping the mappings (madvise(2)
    /// MADV_DONTNEED on private anonymous memory: the pages read as zeros afterwards). The
    /// range must be fully mapped, else ENOMEM.
    func discard(address: UInt64, length: UInt64) throws(LinuxErrno) {
        try layout.locked { () throws(LinuxErrno) in
            guard length <= UInt64.max - address else { throw .ENOMEM }
            let end = address + length
            try requireMapped(address, end)
            // Shared memory keeps its contents: only this mapping's view would go on Linux.
            for vma in vmas where vma.end > address && vma.start < end && vma.isPrivate {
                let low = max(vma.start, address)
                file.discard(at: vma.fileOffset + (low - vma.start), count: min(vma.end, end) - low)
            }
        }
    }

    /// ENOMEM unless every page of [address, end) is mapped.
    func requireMapped(_ address: UInt64, _ end: UInt64) throws(LinuxErrno) {
        guard address <= end, end <= ELFFile.userAddressSpaceEnd else { throw .ENOMEM }
        var covered = address
        for vma in vmas where vma.end > address && vma.start < end {
            guard vma.start <= covered else { throw .ENOMEM }
            covered = vma.end
        }
        guard covered >= end else { throw .ENOMEM }
    }

    /// Whether [address, end) touches the platform's own code page, which the program can
    /// neither replace nor remove.
    private func overlapsPlatformPage(_ address: UInt64, _ end: UInt64) -> Bool {
        PtraceStub.codeAddress < end && address < PtraceStub.codeAddress + PtraceStub.codeLength
    }

    /// mincore(2)'s answer for [address, end) (page-aligned, fully mapped: else ENOMEM): a
    /// byte per page, 1 where the page is in memory. Pages of the Sentry's memory file are in
    /// memory once touched; the vDSO's parameter page always is.
    func residency(_ address: UInt64, _ end: UInt64) throws(LinuxErrno) -> [UInt8] {
        try layout.locked { () throws(LinuxErrno) -> [UInt8] in
            try requireMapped(address, end)
            var result: [UInt8] = []
            for vma in vmas where vma.end > address && vma.start < end {
                let (from, to) = (max(vma.start, address), min(vma.end, end))
                if vma.shared {
                    result += [UInt8](repeating: 1, count: Int((to - from) / UInt64(linuxPageSize)))
                } else {
                    result += file.present(at: vma.fileOffset + (from - vma.start), count: to - from).map { $0 ? 1 : 0 }
                }
            }
            return result
        }
    }

    /// The VMA containing `address`, if any.
    func vma(containing address: UInt64) -> VMA? {
        vmas.first { $0.start <= address && address < $0.end }
    }

    /// Changes the protection of [address, address + length), which must be fully mapped
    /// (else ENOMEM, as mprotect(2)).
    func protect(address: UInt64, length: UInt64, protection: MemoryProtection) throws(LinuxErrno) {
        try layout.locked { () throws(LinuxErrno) in
            guard length <= UInt64.max - address else { throw .ENOMEM }
            let end = address + length
            try requireMapped(address, end)
            if protection.contains(.write), vmas.contains(where: { ($0.shared || !$0.mayWrite) && $0.end > address && $0.start < end }) {
                throw .EACCES
            }
            try platform.protect(address: address, length: length, protection: protection)
            var updated: [VMA] = []
            for vma in vmas {
                guard vma.end > address && vma.start < end else {
                    updated.append(vma)
                    continue
                }
                let low = max(vma.start, address)
                let high = min(vma.end, end)
                if vma.start < low { updated.append(vma.slice(vma.start, low)) }
                var changed = vma.slice(low, high)
                changed.protection = protection
                updated.append(changed)
                if high < vma.end { updated.append(vma.slice(high, vma.end)) }
            }
            vmas = updated.sorted { $0.start < $1.start }
        }
    }

    /// A copy of this address space for a forked child, in `platform` (the child's stub): the
    /// same mappings at the same addresses with the same protections, each backed by a fresh
    /// range of the memory file holding a copy of the bytes (copy-on-write comes later), but
    /// for the sandbox's shared ranges, which the child maps as they are. The parent must not
    /// run while this copies (it waits in its fork).
    func copy(to platform: any AddressSpace) throws(LinuxErrno) -> MemoryManager {
        try layout.locked { () throws(LinuxErrno) -> MemoryManager in
            let child = MemoryManager(file: file, platform: platform)
            for vma in vmas {
                let length = vma.end - vma.start
                if !vma.isPrivate {  // the sandbox's page, or memory shared with the child
                    child.vmas.append(vma)
                    try platform.map(address: vma.start, length: length, protection: vma.protection, fileOffset: vma.fileOffset)
                    continue
                }
                let offset = try file.allocate(length)
                // Recorded first, so that the child's deinit frees it if anything below fails.
                child.vmas.append(VMA(start: vma.start, end: vma.end, fileOffset: offset, protection: vma.protection))
                file.copy(from: vma.fileOffset, to: offset, count: length)
                try platform.map(address: vma.start, length: length, protection: vma.protection, fileOffset: offset)
            }
            child.brkStart = brkStart
            child.brk = brk
            child.vdsoBase = vdsoBase
            return child
        }
    }

    /// Removes every mapping (execve(2) replacing the image).
    func unmapAll() throws(LinuxErrno) {
        try layout.locked { () throws(LinuxErrno) in
            for vma in vmas {
                try platform.unmap(address: vma.start, length: vma.end - vma.start)
                if vma.isPrivate { release(vma.fileOffset, vma.end - vma.start) }
                if let memory = vma.sharedMemory, pins > 0 { deferredShared.append(memory) }
            }
            vmas = []
            brkStart = 0
            brk = 0
            vdsoBase = nil
        }
    }

    /// The Sentry's views of the program's bytes at [address, address + count), or EFAULT if
    /// any of them is unmapped, or (`writing`) is the sandbox's shared memory.
    func ranges(_ address: UInt64, _ count: Int, writing: Bool = false) throws(LinuxErrno) -> [UnsafeMutableRawBufferPointer] {
        try layout.locked { () throws(LinuxErrno) -> [UnsafeMutableRawBufferPointer] in
            var result: [UnsafeMutableRawBufferPointer] = []
            var current = address
            guard UInt64(count) <= UInt64.max - address else { throw .EFAULT }
            let end = address + UInt64(count)
            while current < end {
                guard let vma = vmas.first(where: { $0.start <= current && current < $0.end }), !(writing && vma.shared),
                    !(writing && vma.sharedMemory != nil && !vma.protection.contains(.write))  // another process's memory, read-only here
                else { throw .EFAULT }
                let length = min(end, vma.end) - current
                result.append(file.bytes(at: vma.fileOffset + (current - vma.start), count: Int(length)))
                current += length
            }
            return result
        }
    }

    /// Copies `count` bytes out of the program's memory (EFAULT if unmapped).
    public func copyIn(from address: UInt64, count: Int) throws(LinuxErrno) -> [UInt8] {
        try layout.locked { () throws(LinuxErrno) -> [UInt8] in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count)
            for range in try ranges(address, count) { bytes += range }
            return bytes
        }
    }

    /// Copies a NUL-terminated string out of the program's memory, without the NUL: at most
    /// `maximum` bytes before the NUL (else ENAMETOOLONG), EFAULT if it runs into unmapped memory.
    public func copyInString(from address: UInt64, maximum: Int) throws(LinuxErrno) -> [UInt8] {
        try layout.locked { () throws(LinuxErrno) -> [UInt8] in
            var bytes: [UInt8] = []
            var current = address
            while bytes.count <= maximum {
                guard let vma = vmas.first(where: { $0.start <= current && current < $0.end }) else { throw .EFAULT }
                let chunk = Int(min(vma.end - current, UInt64(maximum + 1 - bytes.count)))
                let view = file.bytes(at: vma.fileOffset + (current - vma.start), count: chunk)
                if let end = view.firstIndex(of: 0) {
                    return bytes + view[0..<end]
                }
                bytes += view
                current += UInt64(chunk)
            }
            throw .ENAMETOOLONG
        }
    }

    /// Copies `bytes` into the program's memory (EFAULT if unmapped).
    public func copyOut(_ bytes: [UInt8], to address: UInt64) throws(LinuxErrno) {
        try layout.locked { () throws(LinuxErrno) in
            var done = 0
            for range in try ranges(address, bytes.count, writing: true) {
                bytes[done..<(done + range.count)].withUnsafeBytes { range.copyMemory(from: $0) }
                done += range.count
            }
        }
    }

    /// Runs `body` with the Sentry's views of [address, address + count) (EFAULT if any of it
    /// is unmapped), for a call that may block while it fills them (a read from a host fd):
    /// the address space's lock is not held meanwhile, and a munmap by another thread frees
    /// the ranges only once `body` is done, so they never belong to someone else while written.
    func withPinnedRanges<Result>(
        _ address: UInt64, _ count: Int, _ body: ([UnsafeMutableRawBufferPointer]) throws(LinuxErrno) -> Result
    ) throws(LinuxErrno) -> Result {
        let views = try layout.locked { () throws(LinuxErrno) -> [UnsafeMutableRawBufferPointer] in
            let views = try ranges(address, count, writing: true)
            pins += 1
            return views
        }
        defer {
            layout.locked {
                pins -= 1
                if pins == 0 {
                    for (offset, length) in deferredFrees { file.free(at: offset, count: length) }
                    deferredFrees = []
                    deferredShared = []
                }
            }
        }
        return try body(views)
    }
}

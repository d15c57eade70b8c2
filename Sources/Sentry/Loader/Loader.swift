import HostSys
import LinuxABI

/// What the loader leaves for the task: where to start and the initial stack pointer.
public struct LoadedProgram: Equatable, Sendable {
    public let entry: UInt64
    public let stackPointer: UInt64
}

/// Loads programs into a `MemoryManager` (DESIGN.md, "Loader/").
public enum Loader {
    /// The top of the initial stack and its size.
    public static let stackTop: UInt64 = 0x7fff_ff00_0000
    public static let stackSize: UInt64 = 8 << 20

    /// Where a position-independent executable is loaded (Linux's ELF_ET_DYN_BASE).
    public static let executableBase: UInt64 = 0x5555_5555_4000

    /// Loads an ELF executable as execve(2) does: maps each PT_LOAD segment with its
    /// protection (a PIE at `executableBase`), copies the file's bytes (the rest of memsz stays
    /// zero), loads the PT_INTERP interpreter (read with `readFile`) where mmap would place it,
    /// and builds the initial stack with `arguments`, `environment` and the auxiliary vector.
    /// The program starts at the interpreter's entry if it has one.
    /// The ids and the secure-execution flag the auxiliary vector tells the program (AT_UID,
    /// AT_EUID, AT_GID, AT_EGID, AT_SECURE): with AT_SECURE set, ld.so and libc ignore
    /// LD_PRELOAD and the like, as a set-user-ID program must.
    public struct Identity: Sendable {
        public var uid: UInt32, effectiveUID: UInt32, gid: UInt32, effectiveGID: UInt32
        public var secure: Bool

        public init(uid: UInt32 = 0, effectiveUID: UInt32 = 0, gid: UInt32 = 0, effectiveGID: UInt32 = 0, secure: Bool = false) {
            (self.uid, self.effectiveUID, self.gid, self.effectiveGID, self.secure) = (uid, effectiveUID, gid, effectiveGID, secure)
        }
    }

    public static func load(
        _ bytes: [UInt8], interpreter interpreterBytes: [UInt8]?, into mm: MemoryManager, arguments: [[UInt8]],
        environment: [[UInt8]], random: [UInt8], identity: Identity = Identity()
    ) throws(LinuxErrno) -> LoadedProgram {
        let elf = try parse(bytes, role: .executable)
        // The file's addresses were checked against the user address space when parsed; the
        // entry points and PT_PHDR were not (Linux does not either: a bad one faults when the
        // program starts), so arithmetic on them wraps rather than traps.
        let bias = elf.type == .sharedObject ? executableBase : 0
        let end = try mapSegments(elf, bytes, bias: bias, into: mm)
        // The heap starts at the first page after the highest segment (brk(2)).
        mm.brkStart = end
        mm.brk = end
        var start = bias &+ elf.entry
        var interpreterBase: UInt64 = 0
        if elf.interpreter != nil {
            guard let interpreterBytes else { throw .ENOEXEC }
            let interpreter = try parse(interpreterBytes, role: .interpreter)
            guard interpreter.type == .sharedObject else { throw .ELIBBAD }
            let low = interpreter.loadSegments.map(\.virtualAddress).min() ?? 0
            let high = interpreter.loadSegments.map { $0.virtualAddress + $0.memorySize }.max() ?? 0
            let page = UInt64(linuxPageSize)
            let span = ((high + page - 1) & ~(page - 1)) - (low & ~(page - 1))
            interpreterBase = try mm.findFreeRange(length: span) &- (low & ~(page - 1))
            _ = try mapSegments(interpreter, interpreterBytes, bias: interpreterBase, into: mm)
            start = interpreterBase &+ interpreter.entry
        }
        let programHeaders = bias &+ (elf.programHeaders.first { $0.type == .phdr }?.virtualAddress
            ?? (elf.loadSegments.first.map { $0.virtualAddress &- $0.offset &+ elf.programHeaderOffset } ?? 0))
        try mm.mapAnonymous(at: stackTop - stackSize, length: stackSize, protection: [.read, .write])
        let vdso = try VDSO.map(into: mm)
        let auxiliary: [(UInt64, UInt64)] = [
            (33, vdso),  // AT_SYSINFO_EHDR
            (3, programHeaders),  // AT_PHDR
            (4, UInt64(ELFProgramHeader.size)),  // AT_PHENT
            (5, UInt64(elf.programHeaders.count)),  // AT_PHNUM
            (6, UInt64(linuxPageSize)),  // AT_PAGESZ
            (7, interpreterBase),  // AT_BASE
            (8, 0),  // AT_FLAGS
            (9, bias &+ elf.entry),  // AT_ENTRY
            (11, UInt64(identity.uid)), (12, UInt64(identity.effectiveUID)),  // AT_UID, AT_EUID
            (13, UInt64(identity.gid)), (14, UInt64(identity.effectiveGID)),  // AT_GID, AT_EGID
            (16, 0x178b_fbff),  // AT_HWCAP: the baseline x86-64 features (CPUID.1:EDX)
            (17, 100),  // AT_CLKTCK
            (23, identity.secure ? 1 : 0),  // AT_SECURE
        ]
        let stackPointer = try buildStack(mm, arguments: arguments, environment: environment, auxiliary: auxiliary, random: random)
        return LoadedProgram(entry: start, stackPointer: stackPointer)
    }

    /// The interpreter (PT_INTERP) an executable names, read with `readFile` and checked, or
    /// nil for a static executable: execve(2) calls this before its point of no return, so a
    /// missing interpreter is ENOENT and a bad one ELIBBAD to the caller.
    public static func interpreter(
        of bytes: [UInt8], readFile: ([UInt8]) throws(LinuxErrno) -> [UInt8]
    ) throws(LinuxErrno) -> [UInt8]? {
        guard let path = try parse(bytes, role: .executable).interpreter else { return nil }
        guard !path.isEmpty else { throw .ENOEXEC }
        let image = try readFile(Array(path.utf8))
        guard (try? parse(image, role: .interpreter))?.type == .sharedObject else { throw .ELIBBAD }
        return image
    }

    static func parse(_ bytes: [UInt8], role: ELFFile.Role) throws(LinuxErrno) -> ELFFile {
        do {
            return try ELFFile(bytes: bytes, role: role)
        } catch {
            throw error.errno
        }
    }

    /// Maps the PT_LOAD segments of `elf` at `bias` and copies their file bytes; returns the
    /// page-aligned end of the highest segment.
    static func mapSegments(_ elf: ELFFile, _ bytes: [UInt8], bias: UInt64, into mm: MemoryManager) throws(LinuxErrno) -> UInt64 {
        let page = UInt64(linuxPageSize)
        var mapped: [(start: UInt64, end: UInt64)] = []
        for segment in elf.loadSegments where segment.memorySize > 0 {
            let address = bias &+ segment.virtualAddress
            let start = address & ~(page - 1)
            let end = (address + segment.memorySize + page - 1) & ~(page - 1)
            // Segments may share a page at their boundary: map only what is not mapped yet.
            var from = start
            for range in mapped where range.start < end && from < range.end { from = max(from, range.end) }
            if from < end {
                try mm.mapAnonymous(at: from, length: end - from, protection: segment.protection.union(.read))
                mapped.append((from, end))
            }
            try mm.copyOut(Array(bytes[Int(segment.offset)..<Int(segment.offset + segment.fileSize)]), to: address)
        }
        return mapped.map(\.end).max() ?? 0
    }

    /// Writes the initial stack as the x86-64 ABI lays it out, from the top down: strings,
    /// 16 random bytes (AT_RANDOM), then argc, argv, NULL, envp, NULL, auxv pairs, AT_NULL,
    /// with the stack pointer 16-byte aligned at argc.
    static func buildStack(
        _ mm: MemoryManager, arguments: [[UInt8]], environment: [[UInt8]], auxiliary: [(UInt64, UInt64)], random: [UInt8]
    ) throws(LinuxErrno) -> UInt64 {
        var top = stackTop
        func push(_ bytes: [UInt8]) throws(LinuxErrno) -> UInt64 {
            top -= UInt64(bytes.count)
            try mm.copyOut(bytes, to: top)
            return top
        }
        var argumentPointers: [UInt64] = []
        for argument in arguments { argumentPointers.append(try push(argument + [0])) }
        var environmentPointers: [UInt64] = []
        for variable in environment { environmentPointers.append(try push(variable + [0])) }
        let executableName = argumentPointers.first ?? 0
        let platform = try push(Array("x86_64".utf8) + [0])
        let randomAddress = try push(Array(random.prefix(16)) + Array(repeating: 0, count: max(0, 16 - random.count)))
        // AT_PLATFORM, AT_RANDOM, AT_EXECFN, AT_NULL
        let vector: [(UInt64, UInt64)] = auxiliary + [(15, platform), (25, randomAddress), (31, executableName), (0, 0)]
        var words: [UInt64] = [UInt64(arguments.count)] + argumentPointers + [0] + environmentPointers + [0]
        for (key, value) in vector { words += [key, value] }
        top = (top - UInt64(words.count * 8)) & ~15
        var bytes: [UInt8] = []
        for word in words { withUnsafeBytes(of: word.littleEndian) { bytes += $0 } }
        try mm.copyOut(bytes, to: top)
        return top
    }
}

extension ELFProgramHeader {
    /// The segment's protection, from its flags.
    var protection: MemoryProtection {
        var protection: MemoryProtection = []
        if flags.contains(.read) { protection.insert(.read) }
        if flags.contains(.write) { protection.insert(.write) }
        if flags.contains(.execute) { protection.insert(.exec) }
        return protection
    }
}

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

    /// Loads a static ELF executable (ET_EXEC, no interpreter): maps each PT_LOAD segment
    /// with its protection, copies the file's bytes (the rest of memsz stays zero), and builds
    /// the initial stack with `arguments`, `environment` and the auxiliary vector, as
    /// execve(2) does. Dynamic and PIE programs give ENOEXEC until the loader learns them.
    public static func loadStatic(
        _ bytes: [UInt8], into mm: MemoryManager, arguments: [String], environment: [String], random: [UInt8]
    ) throws(LinuxErrno) -> LoadedProgram {
        let elf: ELFFile
        do {
            elf = try ELFFile(bytes: bytes)
        } catch {
            throw error.errno
        }
        guard elf.type == .executable, elf.interpreter == nil else { throw .ENOEXEC }
        let page = UInt64(linuxPageSize)
        var mapped: [(start: UInt64, end: UInt64)] = []
        for segment in elf.loadSegments where segment.memorySize > 0 {
            let start = segment.virtualAddress & ~(page - 1)
            let end = (segment.virtualAddress + segment.memorySize + page - 1) & ~(page - 1)
            // Segments may share a page at their boundary: map only what is not mapped yet.
            var from = start
            for range in mapped where range.start < end && from < range.end { from = max(from, range.end) }
            if from < end {
                try mm.mapAnonymous(at: from, length: end - from, protection: segment.protection)
                mapped.append((from, end))
            }
            let fileBytes = Array(bytes[Int(segment.offset)..<Int(segment.offset + segment.fileSize)])
            try mm.copyOut(fileBytes, to: segment.virtualAddress)
        }
        // The heap starts at the first page after the highest segment (brk(2)).
        mm.brkStart = mapped.map(\.end).max() ?? 0
        mm.brk = mm.brkStart
        let programHeaders = elf.programHeaders.first { $0.type == .phdr }?.virtualAddress
            ?? (elf.loadSegments.first.map { $0.virtualAddress - $0.offset + elf.programHeaderOffset } ?? 0)
        try mm.mapAnonymous(at: stackTop - stackSize, length: stackSize, protection: [.read, .write])
        let auxiliary: [(UInt64, UInt64)] = [
            (3, programHeaders),  // AT_PHDR
            (4, UInt64(ELFProgramHeader.size)),  // AT_PHENT
            (5, UInt64(elf.programHeaders.count)),  // AT_PHNUM
            (6, page),  // AT_PAGESZ
            (7, 0),  // AT_BASE: no interpreter
            (9, elf.entry),  // AT_ENTRY
            (11, 0), (12, 0), (13, 0), (14, 0),  // AT_UID, AT_EUID, AT_GID, AT_EGID
            (17, 100),  // AT_CLKTCK
            (23, 0),  // AT_SECURE
        ]
        let stackPointer = try buildStack(mm, arguments: arguments, environment: environment, auxiliary: auxiliary, random: random)
        return LoadedProgram(entry: elf.entry, stackPointer: stackPointer)
    }

    /// Writes the initial stack as the x86-64 ABI lays it out, from the top down: strings,
    /// 16 random bytes (AT_RANDOM), then argc, argv, NULL, envp, NULL, auxv pairs, AT_NULL,
    /// with the stack pointer 16-byte aligned at argc.
    static func buildStack(
        _ mm: MemoryManager, arguments: [String], environment: [String], auxiliary: [(UInt64, UInt64)], random: [UInt8]
    ) throws(LinuxErrno) -> UInt64 {
        var top = stackTop
        func push(_ bytes: [UInt8]) throws(LinuxErrno) -> UInt64 {
            top -= UInt64(bytes.count)
            try mm.copyOut(bytes, to: top)
            return top
        }
        var argumentPointers: [UInt64] = []
        for argument in arguments { argumentPointers.append(try push(Array(argument.utf8) + [0])) }
        var environmentPointers: [UInt64] = []
        for variable in environment { environmentPointers.append(try push(Array(variable.utf8) + [0])) }
        let executableName = argumentPointers.first ?? 0
        let randomAddress = try push(Array(random.prefix(16)) + Array(repeating: 0, count: max(0, 16 - random.count)))
        let vector: [(UInt64, UInt64)] = auxiliary + [(25, randomAddress), (31, executableName), (0, 0)]  // AT_RANDOM, AT_EXECFN, AT_NULL
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

import LinuxABI
import Gofer

/// One Elf64_Phdr: a segment of the file and where it goes in memory.
public struct ELFProgramHeader: Hashable, Sendable {
    /// p_type values the loader acts on.
    public struct SegmentType: RawRepresentable, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let load = SegmentType(rawValue: 1)
        public static let dynamic = SegmentType(rawValue: 2)
        public static let interp = SegmentType(rawValue: 3)
        public static let note = SegmentType(rawValue: 4)
        public static let phdr = SegmentType(rawValue: 6)
        public static let tls = SegmentType(rawValue: 7)
        public static let gnuStack = SegmentType(rawValue: 0x6474_e551)
    }

    /// p_flags: PF_X, PF_W, PF_R.
    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let execute = Flags(rawValue: 1)
        public static let write = Flags(rawValue: 2)
        public static let read = Flags(rawValue: 4)
    }

    /// Size of an Elf64_Phdr.
    public static let size = 56

    public var type: SegmentType
    public var flags: Flags
    public var offset: UInt64
    public var virtualAddress: UInt64
    public var physicalAddress: UInt64
    public var fileSize: UInt64
    public var memorySize: UInt64
    public var alignment: UInt64
}

/// The ELF64 header and program headers of an x86-64 Linux executable, parsed from untrusted
/// bytes with the checks Linux's `load_elf_binary` (and gVisor's `loader.parseHeader`) make
/// before mapping anything.
///
/// Checked: the magic, ELFCLASS64, ELFDATA2LSB, EI_VERSION 1, EM_X86_64, ET_EXEC or ET_DYN,
/// e_phentsize 56, 1 ≤ e_phnum with the table no larger than one page (Linux's limit, 73
/// entries), the table inside the file; for each PT_LOAD, p_filesz ≤ p_memsz,
/// p_vaddr + p_memsz inside the user address space; for the first PT_INTERP, a length from 2 to
/// PATH_MAX, inside the file, NUL-terminated. EI_OSABI and e_version are ignored, as Linux does.
///
/// Stricter than Linux, on purpose: a PT_LOAD whose file bytes pass the end of the file, or
/// whose p_align is not 0 or a power of two, is rejected with ENOEXEC. Linux would map it and
/// let the program take SIGBUS on first touch, or ignore the alignment.
public struct ELFFile: Sendable {
    /// Whether the file is the program exec names or the interpreter its PT_INTERP names; the
    /// two get different errnos for oversized segments, and an interpreter's own PT_INTERP is
    /// ignored (as `load_elf_interp` does).
    public enum Role: Hashable, Sendable {
        case executable
        case interpreter
    }

    /// e_type.
    public enum FileType: UInt16, Sendable {
        /// ET_EXEC: loaded at the addresses in its program headers.
        case executable = 2
        /// ET_DYN: position-independent (PIE or ld.so), loaded at a chosen base.
        case sharedObject = 3
    }

    /// Size of the Elf64_Ehdr.
    public static let headerSize = 64
    /// Linux's limit on the program header table: one page (`ELF_MIN_ALIGN`).
    public static let maxProgramHeaderTableSize = 4096
    /// Linux's PATH_MAX, the longest PT_INTERP accepted (terminating NUL included).
    public static let maxInterpreterLength: UInt64 = 4096
    /// TASK_SIZE on x86-64 with 4-level paging: the first address above user space.
    public static let userAddressSpaceEnd: UInt64 = 0x7fff_ffff_f000

    static let machineX86_64: UInt16 = 62

    public let type: FileType
    /// e_entry: the entry point, relative to the load base for ET_DYN.
    public let entry: UInt64
    /// e_phoff: where the program header table starts in the file (AT_PHDR is derived from it).
    public let programHeaderOffset: UInt64
    /// All program headers, in file order.
    public let programHeaders: [ELFProgramHeader]
    /// The interpreter path from PT_INTERP, without its NUL; nil for a static executable or
    /// when parsed as an interpreter.
    public let interpreter: String?

    /// The PT_LOAD segments, in file order.
    public var loadSegments: [ELFProgramHeader] { programHeaders.filter { $0.type == .load } }

    /// Parses and checks `bytes`, the whole file.
    public init(bytes: [UInt8], role: Role = .executable) throws(ELFError) {
        let file = ByteReader(bytes)
        guard bytes.count >= Self.headerSize else { throw .truncatedHeader(fileSize: bytes.count) }
        guard bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46 else { throw .badMagic }
        guard bytes[4] == 2 else { throw .unsupportedClass(bytes[4]) }
        guard bytes[5] == 1 else { throw .unsupportedDataEncoding(bytes[5]) }
        guard bytes[6] == 1 else { throw .unsupportedVersion(bytes[6]) }

        // Every field below lies inside the 64 bytes just checked.
        let rawType = file.integer(at: 16, as: UInt16.self) ?? 0
        let machine = file.integer(at: 18, as: UInt16.self) ?? 0
        guard machine == Self.machineX86_64 else { throw .unsupportedMachine(machine) }
        guard let type = FileType(rawValue: rawType) else { throw .unsupportedType(rawType) }
        let entry = file.integer(at: 24, as: UInt64.self) ?? 0
        let phoff = file.integer(at: 32, as: UInt64.self) ?? 0
        let phentsize = file.integer(at: 54, as: UInt16.self) ?? 0
        let phnum = file.integer(at: 56, as: UInt16.self) ?? 0
        guard Int(phentsize) == ELFProgramHeader.size else { throw .badProgramHeaderEntrySize(phentsize) }
        let tableSize = Int(phnum) * ELFProgramHeader.size
        guard phnum > 0, tableSize <= Self.maxProgramHeaderTableSize else { throw .badProgramHeaderCount(phnum) }
        guard let tableOffset = Int(exactly: phoff), file.bytes(at: tableOffset, count: tableSize) != nil else {
            throw .programHeadersOutsideFile(offset: phoff)
        }

        var headers: [ELFProgramHeader] = []
        headers.reserveCapacity(Int(phnum))
        var interpreter: String?
        var sawInterpreter = false
        for index in 0..<Int(phnum) {
            let header = Self.programHeader(file, at: tableOffset + index * ELFProgramHeader.size)
            switch header.type {
            case .load:
                try Self.check(load: header, index: index, fileSize: bytes.count, role: role)
            case .interp where role == .executable && !sawInterpreter:
                // Linux uses the first PT_INTERP and ignores the rest.
                sawInterpreter = true
                interpreter = try Self.interpreterPath(header, in: file)
            default:
                break
            }
            headers.append(header)
        }

        self.type = type
        self.entry = entry
        self.programHeaderOffset = phoff
        self.programHeaders = headers
        self.interpreter = interpreter
    }

    /// The Elf64_Phdr at `offset`, which the caller has checked lies inside the file.
    private static func programHeader(_ file: ByteReader, at offset: Int) -> ELFProgramHeader {
        func u32(_ field: Int) -> UInt32 { file.integer(at: offset + field, as: UInt32.self) ?? 0 }
        func u64(_ field: Int) -> UInt64 { file.integer(at: offset + field, as: UInt64.self) ?? 0 }
        return ELFProgramHeader(
            type: .init(rawValue: u32(0)), flags: .init(rawValue: u32(4)), offset: u64(8),
            virtualAddress: u64(16), physicalAddress: u64(24), fileSize: u64(32), memorySize: u64(40),
            alignment: u64(48))
    }

    private static func check(load: ELFProgramHeader, index: Int, fileSize: Int, role: Role) throws(ELFError) {
        guard load.alignment == 0 || load.alignment & (load.alignment - 1) == 0 else {
            throw .segmentBadAlignment(index: index, alignment: load.alignment)
        }
        guard load.fileSize <= load.memorySize else {
            throw .segmentFileSizeExceedsMemorySize(index: index, role: role)
        }
        let (end, overflow) = load.virtualAddress.addingReportingOverflow(load.memorySize)
        guard !overflow, end <= userAddressSpaceEnd else {
            throw .segmentBeyondAddressSpace(index: index, role: role)
        }
        let (fileEnd, fileOverflow) = load.offset.addingReportingOverflow(load.fileSize)
        guard !fileOverflow, fileEnd <= UInt64(fileSize) else { throw .segmentOutsideFile(index: index) }
    }

    private static func interpreterPath(_ interp: ELFProgramHeader, in file: ByteReader) throws(ELFError) -> String {
        guard interp.fileSize >= 2, interp.fileSize <= maxInterpreterLength else {
            throw .interpreterBadLength(interp.fileSize)
        }
        guard let offset = Int(exactly: interp.offset),
            let path = file.bytes(at: offset, count: Int(interp.fileSize))
        else { throw .interpreterOutsideFile }
        guard path.last == 0 else { throw .interpreterNotTerminated }
        // The path ends at the first NUL, which may come before the last byte.
        let name = path.prefix(while: { $0 != 0 })
        guard !name.isEmpty else { throw .interpreterEmpty }
        return String(decoding: name, as: UTF8.self)
    }
}

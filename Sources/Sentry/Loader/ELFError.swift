import LinuxABI

/// Why an ELF file cannot be executed, and the errno execve(2) returns for it.
///
/// The errnos are Linux's (`fs/binfmt_elf.c`, as gVisor's loader mirrors them): a malformed or
/// unsupported file is ENOEXEC; a segment that cannot fit the address space is EINVAL for the
/// program itself and ENOMEM for its interpreter (`load_elf_binary` and `load_elf_interp`
/// differ there); an empty interpreter path is EACCES, as gVisor returns it.
public enum ELFError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file is shorter than the 64-byte ELF header.
    case truncatedHeader(fileSize: Int)
    /// The first four bytes are not "\u{7f}ELF".
    case badMagic
    /// EI_CLASS is not ELFCLASS64.
    case unsupportedClass(UInt8)
    /// EI_DATA is not ELFDATA2LSB (little-endian).
    case unsupportedDataEncoding(UInt8)
    /// EI_VERSION is not EV_CURRENT.
    case unsupportedVersion(UInt8)
    /// e_machine is not EM_X86_64.
    case unsupportedMachine(UInt16)
    /// e_type is neither ET_EXEC nor ET_DYN.
    case unsupportedType(UInt16)
    /// e_phentsize is not the 56 bytes of an Elf64_Phdr.
    case badProgramHeaderEntrySize(UInt16)
    /// e_phnum is zero, or the table is larger than Linux's one-page limit.
    case badProgramHeaderCount(UInt16)
    /// The program header table does not lie inside the file.
    case programHeadersOutsideFile(offset: UInt64)
    /// A PT_LOAD segment's file bytes do not lie inside the file.
    case segmentOutsideFile(index: Int)
    /// A PT_LOAD segment's p_align is neither 0 nor a power of two.
    case segmentBadAlignment(index: Int, alignment: UInt64)
    /// A PT_LOAD segment has p_filesz > p_memsz.
    case segmentFileSizeExceedsMemorySize(index: Int, role: ELFFile.Role)
    /// A PT_LOAD segment's p_vaddr + p_memsz overflows or passes the top of the user address space.
    case segmentBeyondAddressSpace(index: Int, role: ELFFile.Role)
    /// PT_INTERP's p_filesz is below 2 or above PATH_MAX.
    case interpreterBadLength(UInt64)
    /// PT_INTERP's bytes do not lie inside the file.
    case interpreterOutsideFile
    /// PT_INTERP's last byte is not NUL.
    case interpreterNotTerminated
    /// PT_INTERP names the empty path.
    case interpreterEmpty

    /// What execve(2) returns for this file.
    public var errno: LinuxErrno {
        switch self {
        case .segmentFileSizeExceedsMemorySize(_, let role), .segmentBeyondAddressSpace(_, let role):
            return role == .executable ? .EINVAL : .ENOMEM
        case .interpreterEmpty:
            return .EACCES
        default:
            return .ENOEXEC
        }
    }

    public var description: String {
        switch self {
        case .truncatedHeader(let size): return "ELF file of \(size) bytes is shorter than its header"
        case .badMagic: return "not an ELF file"
        case .unsupportedClass(let c): return "unsupported ELF class \(c) (want 64-bit)"
        case .unsupportedDataEncoding(let d): return "unsupported ELF data encoding \(d) (want little-endian)"
        case .unsupportedVersion(let v): return "unsupported ELF version \(v)"
        case .unsupportedMachine(let m): return "unsupported ELF machine \(m) (want x86-64)"
        case .unsupportedType(let t): return "unsupported ELF type \(t) (want ET_EXEC or ET_DYN)"
        case .badProgramHeaderEntrySize(let s): return "program header entry size \(s) (want 56)"
        case .badProgramHeaderCount(let n): return "bad program header count \(n)"
        case .programHeadersOutsideFile(let offset): return "program headers at \(offset) lie outside the file"
        case .segmentOutsideFile(let i): return "PT_LOAD segment \(i) lies outside the file"
        case .segmentBadAlignment(let i, let a): return "PT_LOAD segment \(i) alignment \(a) is not a power of two"
        case .segmentFileSizeExceedsMemorySize(let i, _): return "PT_LOAD segment \(i) has p_filesz > p_memsz"
        case .segmentBeyondAddressSpace(let i, _): return "PT_LOAD segment \(i) does not fit the address space"
        case .interpreterBadLength(let n): return "PT_INTERP length \(n) out of range"
        case .interpreterOutsideFile: return "PT_INTERP lies outside the file"
        case .interpreterNotTerminated: return "PT_INTERP path is not NUL-terminated"
        case .interpreterEmpty: return "PT_INTERP path is empty"
        }
    }
}

import Foundation
import LinuxABI
import Testing

@testable import Sentry

/// Little-endian field patching for building malformed variants.
extension Array<UInt8> {
    mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for i in 0..<MemoryLayout<T>.size { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    func get<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(truncatingIfNeeded: self[offset + i]) << (8 * i) }
        return value
    }
}

/// A minimal static ET_EXEC: header, one PT_LOAD covering the whole file, `code` after the
/// program header. Built here so the tests do not depend on which static binaries the host has.
func minimalExecutable(code: [UInt8] = [0x0f, 0x05], extraHeaders: [[UInt8]] = []) -> [UInt8] {
    let phnum = 1 + extraHeaders.count
    let codeOffset = 64 + 56 * phnum
    var file = [UInt8](repeating: 0, count: codeOffset)
    file.replaceSubrange(0..<8, with: [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0])
    file.put(UInt16(2), at: 16)  // ET_EXEC
    file.put(UInt16(62), at: 18)  // EM_X86_64
    file.put(UInt32(1), at: 20)
    file.put(UInt64(0x40_0000 + codeOffset), at: 24)  // entry
    file.put(UInt64(64), at: 32)  // phoff
    file.put(UInt16(64), at: 52)
    file.put(UInt16(56), at: 54)
    file.put(UInt16(phnum), at: 56)
    let size = UInt64(codeOffset + code.count)
    file.put(UInt32(1), at: 64)  // PT_LOAD
    file.put(UInt32(5), at: 68)  // R+X
    file.put(UInt64(0), at: 72)
    file.put(UInt64(0x40_0000), at: 80)
    file.put(UInt64(0x40_0000), at: 88)
    file.put(size, at: 96)
    file.put(size, at: 104)
    file.put(UInt64(0x1000), at: 112)
    for (i, header) in extraHeaders.enumerated() {
        file.replaceSubrange((64 + 56 * (i + 1))..<(64 + 56 * (i + 2)), with: header)
    }
    return file + code
}

/// A 56-byte program header.
func programHeader(type: UInt32, offset: UInt64, fileSize: UInt64, memorySize: UInt64? = nil, align: UInt64 = 1) -> [UInt8] {
    var header = [UInt8](repeating: 0, count: 56)
    header.put(type, at: 0)
    header.put(UInt32(4), at: 4)
    header.put(offset, at: 8)
    header.put(fileSize, at: 32)
    header.put(memorySize ?? fileSize, at: 40)
    header.put(align, at: 48)
    return header
}

@Suite("ELF64 parser")
struct ELFFileTests {
    /// /bin/true from the host: a dynamically linked PIE.
    static func hostTrue() throws -> [UInt8] {
        let data = try #require(FileManager.default.contents(atPath: "/bin/true"), "/bin/true is missing on this host")
        return [UInt8](data)
    }

    /// Offset of program header `index` in a file whose table is at e_phoff.
    static func phdr(_ file: [UInt8], _ index: Int) -> Int { Int(file.get(UInt64.self, at: 32)) + 56 * index }

    /// Index of the first program header of `type`.
    static func firstHeader(_ file: [UInt8], type: UInt32) throws -> Int {
        let count = Int(file.get(UInt16.self, at: 56))
        return try #require((0..<count).first { file.get(UInt32.self, at: phdr(file, $0)) == type })
    }

    @Test("/bin/true parses: PIE with an interpreter")
    func hostBinary() throws {
        let elf = try ELFFile(bytes: try Self.hostTrue())
        #expect(elf.type == .sharedObject)
        #expect(elf.interpreter == "/lib64/ld-linux-x86-64.so.2")
        #expect(elf.entry != 0)
        #expect(elf.programHeaderOffset == 64)
        #expect(!elf.loadSegments.isEmpty)
        #expect(elf.programHeaders.contains { $0.type == .phdr })
        #expect(elf.loadSegments.contains { $0.flags.contains(.execute) })
        for segment in elf.loadSegments {
            #expect(segment.fileSize <= segment.memorySize)
        }
    }

    @Test("the sandbox's vDSO image: a shared object linked at 0, one read-execute PT_LOAD, a PT_DYNAMIC inside it, within a page")
    func vdsoImage() throws {
        let elf = try ELFFile(bytes: VDSO.image, role: .interpreter)
        #expect(elf.type == .sharedObject)
        let loads = elf.loadSegments
        #expect(loads.count == 1)
        #expect(loads.first?.virtualAddress == 0)
        #expect(loads.first?.protection == [.read, .exec])
        let dynamic = try #require(elf.programHeaders.first { $0.type == .dynamic })
        #expect(dynamic.virtualAddress + dynamic.fileSize <= (loads.first?.fileSize ?? 0))
        #expect(VDSO.image.count <= 4096)
    }

    @Test("/bin/true as an interpreter: its PT_INTERP is ignored")
    func asInterpreter() throws {
        let elf = try ELFFile(bytes: try Self.hostTrue(), role: .interpreter)
        #expect(elf.interpreter == nil)
    }

    @Test("a minimal static executable parses")
    func staticExecutable() throws {
        let elf = try ELFFile(bytes: minimalExecutable())
        #expect(elf.type == .executable)
        #expect(elf.interpreter == nil)
        #expect(elf.entry == 0x40_0000 + 120)
        #expect(elf.loadSegments.count == 1)
        #expect(elf.loadSegments[0].flags == [.read, .execute])
    }

    @Test("every prefix of the first 4 KiB of /bin/true throws ENOEXEC")
    func everyPrefix() throws {
        let file = try Self.hostTrue()
        for length in 0..<min(4096, file.count) {
            do {
                _ = try ELFFile(bytes: Array(file.prefix(length)))
                Issue.record("prefix of \(length) bytes parsed")
            } catch {
                #expect(error.errno == .ENOEXEC, "prefix of \(length) bytes: \(error)")
            }
        }
    }

    @Test("every single-byte corruption of the headers throws or parses, never traps")
    func corruption() throws {
        let file = try Self.hostTrue()
        let end = Self.phdr(file, Int(file.get(UInt16.self, at: 56)))
        for offset in 0..<end {
            for value: UInt8 in [0x00, 0x80, 0xff] {
                var variant = file
                variant[offset] = value
                _ = try? ELFFile(bytes: variant)
            }
        }
    }

    @Test("header field checks", arguments: [
        (0, UInt8(0x7e), ELFError.badMagic),
        (3, UInt8(0x47), ELFError.badMagic),
        (4, UInt8(1), ELFError.unsupportedClass(1)),
        (5, UInt8(2), ELFError.unsupportedDataEncoding(2)),
        (6, UInt8(0), ELFError.unsupportedVersion(0)),
        (16, UInt8(1), ELFError.unsupportedType(1)),  // ET_REL
        (16, UInt8(4), ELFError.unsupportedType(4)),  // ET_CORE
        (18, UInt8(183), ELFError.unsupportedMachine(183)),  // EM_AARCH64
        (54, UInt8(32), ELFError.badProgramHeaderEntrySize(32)),
    ])
    func headerFields(offset: Int, value: UInt8, expected: ELFError) throws {
        var file = minimalExecutable()
        file[offset] = value
        #expect(throws: expected) { try ELFFile(bytes: file) }
        #expect(expected.errno == .ENOEXEC)
    }

    @Test("program header count: zero, huge, just over one page")
    func phnum() throws {
        for count: UInt16 in [0, 74, 0xffff] {
            var file = try Self.hostTrue()
            file.put(count, at: 56)
            #expect(throws: ELFError.badProgramHeaderCount(count)) { try ELFFile(bytes: file) }
        }
    }

    @Test("program header table outside the file or overflowing")
    func phoff() throws {
        for offset: UInt64 in [UInt64.max - 10, 1 << 63, 0x10_0000] {
            var file = try Self.hostTrue()
            file.put(offset, at: 32)
            #expect(throws: ELFError.programHeadersOutsideFile(offset: offset)) { try ELFFile(bytes: file) }
        }
        var file = minimalExecutable()
        file.put(UInt64(file.count - 55), at: 32)  // last entry one byte short
        #expect(throws: ELFError.programHeadersOutsideFile(offset: UInt64(file.count - 55))) { try ELFFile(bytes: file) }
    }

    @Test("PT_LOAD with p_filesz > p_memsz: EINVAL for the program, ENOMEM for an interpreter")
    func fileSizeOverMemorySize() throws {
        var file = try Self.hostTrue()
        let index = try Self.firstHeader(file, type: 1)
        file.put(UInt64(0x10), at: Self.phdr(file, index) + 40)
        #expect(throws: ELFError.segmentFileSizeExceedsMemorySize(index: index, role: .executable)) {
            try ELFFile(bytes: file)
        }
        #expect(ELFError.segmentFileSizeExceedsMemorySize(index: index, role: .executable).errno == .EINVAL)
        #expect(throws: ELFError.segmentFileSizeExceedsMemorySize(index: index, role: .interpreter)) {
            try ELFFile(bytes: file, role: .interpreter)
        }
        #expect(ELFError.segmentFileSizeExceedsMemorySize(index: index, role: .interpreter).errno == .ENOMEM)
    }

    @Test("PT_LOAD sizes and offsets that overflow or leave the file")
    func loadBounds() throws {
        let base = minimalExecutable()
        var huge = base
        huge.put(UInt64.max, at: 104)  // memsz
        #expect(throws: ELFError.segmentBeyondAddressSpace(index: 0, role: .executable)) { try ELFFile(bytes: huge) }
        var high = base
        high.put(ELFFile.userAddressSpaceEnd - 0x10, at: 80)  // vaddr near the top
        #expect(throws: ELFError.segmentBeyondAddressSpace(index: 0, role: .executable)) { try ELFFile(bytes: high) }
        var offset = base
        offset.put(UInt64.max - 4, at: 72)  // p_offset + p_filesz overflows
        #expect(throws: ELFError.segmentOutsideFile(index: 0)) { try ELFFile(bytes: offset) }
        var long = base
        long.put(UInt64(base.count + 1), at: 96)
        long.put(UInt64(base.count + 1), at: 104)
        #expect(throws: ELFError.segmentOutsideFile(index: 0)) { try ELFFile(bytes: long) }
    }

    @Test("PT_LOAD alignment must be 0 or a power of two")
    func alignment() throws {
        for align: UInt64 in [0, 1, 0x1000, 1 << 63] {
            var file = minimalExecutable()
            file.put(align, at: 112)
            #expect(throws: Never.self) { try ELFFile(bytes: file) }
        }
        for align: UInt64 in [3, 0x1001, UInt64.max] {
            var file = minimalExecutable()
            file.put(align, at: 112)
            #expect(throws: ELFError.segmentBadAlignment(index: 0, alignment: align)) { try ELFFile(bytes: file) }
        }
    }

    @Test("PT_INTERP without a NUL, too short, too long, outside the file, empty")
    func interpreter() throws {
        let file = try Self.hostTrue()
        let index = try Self.firstHeader(file, type: 3)
        let header = Self.phdr(file, index)
        let offset = Int(file.get(UInt64.self, at: header + 8))
        let size = Int(file.get(UInt64.self, at: header + 32))

        var unterminated = file
        unterminated[offset + size - 1] = UInt8(ascii: "x")
        #expect(throws: ELFError.interpreterNotTerminated) { try ELFFile(bytes: unterminated) }

        for length: UInt64 in [0, 1, 4097, UInt64.max] {
            var variant = file
            variant.put(length, at: header + 32)
            #expect(throws: ELFError.interpreterBadLength(length)) { try ELFFile(bytes: variant) }
        }

        for start: UInt64 in [UInt64(file.count - 10), UInt64.max - 5, 1 << 63] {
            var variant = file
            variant.put(start, at: header + 8)
            #expect(throws: ELFError.interpreterOutsideFile) { try ELFFile(bytes: variant) }
        }

        var empty = file
        empty[offset] = 0
        #expect(throws: ELFError.interpreterEmpty) { try ELFFile(bytes: empty) }
        #expect(ELFError.interpreterEmpty.errno == .EACCES)

        // A NUL before the last byte ends the path early, as Linux reads it.
        var early = file
        early[offset + 5] = 0
        #expect(try ELFFile(bytes: early).interpreter == "/lib6")
    }

    @Test("the first PT_INTERP wins")
    func firstInterpreter() throws {
        let path1 = Array("/a\0".utf8)
        let path2 = Array("/bb\0".utf8)
        let codeOffset = UInt64(64 + 56 * 3)
        let file = minimalExecutable(
            code: path1 + path2,
            extraHeaders: [
                programHeader(type: 3, offset: codeOffset, fileSize: UInt64(path1.count)),
                programHeader(type: 3, offset: codeOffset + UInt64(path1.count), fileSize: UInt64(path2.count)),
            ])
        #expect(try ELFFile(bytes: file).interpreter == "/a")
    }
}

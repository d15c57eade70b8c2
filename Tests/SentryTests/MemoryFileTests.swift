import LinuxABI
import Testing

@testable import Sentry

@Suite("memory file")
struct MemoryFileTests {
    @Test("freed ranges are reused first-fit, coalesce with their neighbours, and read as zeros when handed out again")
    func reuse() throws {
        let file = try MemoryFile(capacity: 64 << 12)
        let page: UInt64 = 4096
        let a = try file.allocate(2 * page), b = try file.allocate(3 * page), c = try file.allocate(page)
        #expect([a, b, c] == [0, 2 * page, 5 * page])
        file.bytes(at: b, count: Int(3 * page)).initializeMemory(as: UInt8.self, repeating: 0xaa)
        file.free(at: b, count: 3 * page)
        // A smaller request takes the front of the hole; its bytes are zeros, not the old 0xaa.
        let d = try file.allocate(page)
        #expect(d == b)
        #expect(file.bytes(at: d, count: Int(page)).allSatisfy { $0 == 0 })
        // Freeing a and d merges them with the rest of b's hole into one 5-page range.
        file.free(at: a, count: 2 * page)
        file.free(at: d, count: page)
        #expect(try file.allocate(5 * page) == 0)
        // Freeing the last range gives the space back to the end: the file is full again
        // only after the whole capacity is handed out.
        file.free(at: c, count: page)
        #expect(try file.allocate(59 * page) == 5 * page)
        #expect(throws: LinuxErrno.ENOMEM) { try file.allocate(page) }
    }

    @Test("a copy skips the holes and reproduces the data around them")
    func sparseCopy() throws {
        let file = try MemoryFile(capacity: 64 << 12)
        let page = 4096
        let source = try file.allocate(8 * UInt64(page)), destination = try file.allocate(8 * UInt64(page))
        file.bytes(at: source + UInt64(page), count: 10).copyBytes(from: Array("first data".utf8))
        file.bytes(at: source + 6 * UInt64(page), count: 4).copyBytes(from: Array("last".utf8))
        file.copy(from: source, to: destination, count: 8 * UInt64(page))
        #expect(Array(file.bytes(at: destination, count: 8 * page)) == Array(file.bytes(at: source, count: 8 * page)))
    }
}

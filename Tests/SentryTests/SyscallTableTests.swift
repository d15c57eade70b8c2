import LinuxABI
import Testing

@testable import Sentry

@Suite("syscall table")
struct SyscallTableTests {
    @Test("amd64 lists every call in number order; calls without a handler are ENOSYS")
    func amd64() throws {
        let table = SyscallTable.amd64
        #expect(table.entries.count == Sysno.amd64.count)
        #expect(table.entries.map(\.sysno) == table.entries.map(\.sysno).sorted())
        for entry in table.entries {
            let handled = Syscalls.handlers[entry.sysno] != nil
            #expect((entry.support.level == "unimplemented") == !handled, "\(entry.name)")
            #expect(entry.support.errno == (handled ? nil : .ENOSYS))
        }
        #expect(table.entry(for: .mmap)?.support.level == "partial")
        #expect(table.entry(for: .mount)?.support.level == "unimplemented")
        #expect(table.entry(for: .exit_group)?.support == .supported)
        let read = try #require(table.entry(for: .read))
        #expect(read.name == "read")
        #expect(read.sysno.rawValue == 0)
        #expect(table.entry(for: Sysno(100_000)) == nil)
    }

    @Test("support levels and notes")
    func levels() {
        #expect(SyscallSupport.supported.level == "supported")
        #expect(SyscallSupport.supported.errno == nil)
        #expect(SyscallSupport.partial(note: "no O_TMPFILE").note == "no O_TMPFILE")
        #expect(SyscallSupport.partial(note: "x").errno == nil)
    }
}

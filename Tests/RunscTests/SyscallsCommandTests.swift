import ArgumentParser
import Foundation
import LinuxABI
import Sentry
import Testing

@testable import Runsc

@Suite("runsc syscalls")
struct SyscallsCommandTests {
    @Test("json lists every amd64 syscall with its support")
    func json() throws {
        let output = SyscallsCommand.render(SyscallTable.amd64, format: .json)
        let document = try JSONDecoder().decode(SyscallsCommand.Document.self, from: Data(output.utf8))
        #expect(document.architecture == "amd64")
        #expect(document.syscalls.count == Sysno.amd64.count)
        #expect(document.syscalls.first == SyscallsCommand.Row(number: 0, name: "read", support: "supported", note: ""))
        #expect(Set(document.syscalls.map(\.support)) == ["supported", "partial", "unimplemented"])
        #expect(document.syscalls.first { $0.name == "mmap" }?.support == "partial")
        #expect(document.syscalls.first { $0.name == "mmap" }?.note.contains("shared writable") == true)
        #expect(document.syscalls.map(\.support) == SyscallTable.amd64.entries.map(\.support.level))
        #expect(document.syscalls.map(\.number) == document.syscalls.map(\.number).sorted())
    }

    @Test("table has a header and one line per syscall")
    func table() throws {
        let lines = SyscallsCommand.render(SyscallTable.amd64, format: .table).split(separator: "\n")
        #expect(lines.count == Sysno.amd64.count + 1)
        #expect(lines[0].hasPrefix("NUM"))
        let words = lines[1].split(separator: " ")
        #expect(words == ["0", "read", "supported"])
    }

    @Test("--format parses table and json, rejects others")
    func formatFlag() throws {
        #expect(try SyscallsCommand.parse([]).format == .table)
        #expect(try SyscallsCommand.parse(["--format", "json"]).format == .json)
        #expect(throws: (any Error).self) { try SyscallsCommand.parse(["--format", "xml"]) }
    }
}

import ArgumentParser
import Foundation
import LinuxABI
import Sentry

/// `runsc syscalls`: prints the Sentry's x86-64 system call table and how far each call is
/// implemented, as gVisor's `runsc syscalls` does.
struct SyscallsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syscalls",
        abstract: "Print the system calls the sandbox implements, partially implements, or rejects with ENOSYS.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @Option(help: "Output format: \(Format.allCases.map(\.rawValue).joined(separator: " or ")).")
    var format: Format = .table

    func run() throws {
        print(Self.render(SyscallTable.amd64, format: format), terminator: "")
    }

    /// One row of the JSON output.
    struct Row: Codable, Equatable {
        var number: Int
        var name: String
        var support: String
        var note: String
    }

    /// The JSON document: the architecture and every row in number order.
    struct Document: Codable, Equatable {
        var architecture: String
        var syscalls: [Row]
    }

    static func render(_ table: SyscallTable, format: Format) -> String {
        let rows = table.entries.map {
            Row(number: $0.sysno.rawValue, name: $0.name, support: $0.support.level, note: $0.support.note)
        }
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            guard let data = try? encoder.encode(Document(architecture: "amd64", syscalls: rows)) else {
                preconditionFailure("encoding strings and integers cannot fail")
            }
            return String(decoding: data, as: UTF8.self) + "\n"
        case .table:
            let nameWidth = max(4, rows.map(\.name.count).max() ?? 0)
            func pad(_ text: String, _ width: Int) -> String {
                text + String(repeating: " ", count: max(0, width - text.count))
            }
            var out = pad("NUM", 5) + "  " + pad("NAME", nameWidth) + "  " + pad("SUPPORT", 13) + "  NOTE\n"
            for row in rows {
                let line = pad(String(row.number), 5) + "  " + pad(row.name, nameWidth) + "  " + pad(row.support, 13) + "  " + row.note
                out += line.trimmingCharacters(in: .whitespaces) + "\n"
            }
            return out
        }
    }
}

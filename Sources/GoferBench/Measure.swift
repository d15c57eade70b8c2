import Glibc
import Gofer
import HostSys
import LinuxABI

/// One row: the same operation on the host and through the gofer.
struct Row {
    let operation: String
    /// Nanoseconds per operation (for throughput rows: per MiB).
    let host: Double
    let gofer: Double
    let unit: String
}

/// The measurements. Each runs the host side, then the gofer side, for the same time.
struct Measure {
    let client: LisafsClient
    let tree: Tree
    let nanoseconds: UInt64

    /// Calls `body(i)` for i = 0, 1, 2, … until the time is up; returns ns per call.
    func perCall(_ body: (Int) throws -> Void) throws -> Double {
        for i in 0..<100 { try body(i) }  // warm-up: caches, page faults, the gofer's dentries
        let start = Clock.monotonicNanoseconds()
        var count = 0
        var elapsed: UInt64 = 0
        repeat {
            for _ in 0..<64 {
                try body(count)
                count += 1
            }
            elapsed = Clock.monotonicNanoseconds() - start
        } while elapsed < nanoseconds
        return Double(elapsed) / Double(count)
    }

    func smallDirectory() throws -> LisafsFDID {
        let walk = try client.call(WalkRequest(dirFD: client.root.controlFD, path: ["small"]))
        guard let inode = walk.inodes.last else { throw LinuxErrno.ENOENT }
        return inode.controlFD
    }

    /// stat of a file by name: newfstatat(2) relative to the directory on the host; WalkStat
    /// through the gofer (one call, no FD id left behind).
    func stat() throws -> Row {
        let directory = try FileDescriptor.open(tree.path + "/small", flags: OpenFlags([.path, .directory]).rawValue)
        let names = tree.names.map { HostPath($0) }
        let sized = tree.names.compactMap { SizedString($0) }
        let host = try perCall { i in _ = try directory.statx(names[i % names.count]) }
        let dir = try smallDirectory()
        let gofer = try perCall { i in
            let answer = try client.call(WalkStatRequest(dirFD: dir, path: [sized[i % sized.count]]))
            guard answer.stats.count == 1 else { throw LinuxErrno.EIO }
        }
        return Row(operation: "stat (WalkStat)", host: host, gofer: gofer, unit: "ns/op")
    }

    /// open, read 4 KiB, close: openat+pread+close on the host; Walk, OpenAt, PRead and Close
    /// through the gofer (no donated fd).
    func openReadClose() throws -> Row {
        let directory = try FileDescriptor.open(tree.path + "/small", flags: OpenFlags([.path, .directory]).rawValue)
        let names = tree.names.map { HostPath($0) }
        let sized = tree.names.compactMap { SizedString($0) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buffer.deallocate() }
        let host = try perCall { i in
            let file = try directory.openAt(names[i % names.count], flags: [])
            guard try file.read(into: buffer, at: 0) == 4096 else { throw LinuxErrno.EIO }
        }
        let dir = try smallDirectory()
        let gofer = try perCall { i in
            let walk = try client.call(WalkRequest(dirFD: dir, path: [sized[i % sized.count]]))
            guard let file = walk.inodes.last else { throw LinuxErrno.EIO }
            let open = try client.call(OpenAtRequest(fd: file.controlFD, flags: 0))
            guard try client.call(PReadRequest(offset: 0, fd: open.openFD, count: 4096)).data.count == 4096 else { throw LinuxErrno.EIO }
            _ = try client.call(CloseRequest(fds: [open.openFD, file.controlFD]))
        }
        return Row(operation: "open+read 4 KiB+close", host: host, gofer: gofer, unit: "ns/op")
    }

    /// Listing the directory of small files: getdents64 on the host, Getdents64 through the gofer.
    func getdents() throws -> Row {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 32768, alignment: 8)
        defer { buffer.deallocate() }
        let host = try perCall { _ in
            let directory = try FileDescriptor.open(tree.path + "/small", flags: OpenFlags([.directory]).rawValue)
            while try directory.readDirectoryEntries(into: buffer) > 0 {}
        }
        let dir = try smallDirectory()
        let gofer = try perCall { _ in
            let open = try client.call(OpenAtRequest(fd: dir, flags: UInt32(O_RDONLY | O_DIRECTORY)))
            var entries = 0
            while true {
                let answer = try client.call(Getdents64Request(dirFD: open.openFD, count: 32768))
                if answer.dirents.isEmpty { break }
                entries += answer.dirents.count
            }
            guard entries >= tree.names.count else { throw LinuxErrno.EIO }
            _ = try client.call(CloseRequest(fds: [open.openFD]))
        }
        return Row(operation: "getdents of \(tree.names.count) entries", host: host, gofer: gofer, unit: "ns/listing")
    }

    /// Reading the big file in 1 MiB chunks: pread on the host; PRead through the gofer; and
    /// pread on the fd the gofer donated with OpenAt.
    func sequentialReads() throws -> [Row] {
        let chunk = 1 << 20
        let chunks = tree.bigFileBytes / chunk
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        let hostFile = try FileDescriptor.open(tree.path + "/big.bin", flags: O_RDONLY)
        let host = try perCall { i in
            guard try hostFile.read(into: buffer, at: Int64((i % chunks) * chunk)) == chunk else { throw LinuxErrno.EIO }
        }
        let walk = try client.call(WalkRequest(dirFD: client.root.controlFD, path: ["big.bin"]))
        guard let file = walk.inodes.last else { throw LinuxErrno.ENOENT }
        var open = try client.callReceivingDescriptors(OpenAtRequest(fd: file.controlFD, flags: 0))
        let gofer = try perCall { i in
            guard try client.read(open.response.openFD, offset: UInt64((i % chunks) * chunk), count: chunk).count == chunk else {
                throw LinuxErrno.EIO
            }
        }
        guard let donated = open.descriptors.take() else { throw LinuxErrno.EIO }
        let direct = try perCall { i in
            guard try donated.read(into: buffer, at: Int64((i % chunks) * chunk)) == chunk else { throw LinuxErrno.EIO }
        }
        return [
            Row(operation: "sequential read, PRead", host: host, gofer: gofer, unit: "ns/MiB"),
            Row(operation: "sequential read, donated fd", host: host, gofer: direct, unit: "ns/MiB"),
        ]
    }
}

enum Report {
    static func print(_ rows: [Row]) {
        Swift.print("")
        Swift.print(pad("operation", 32) + pad("host", 14, right: true) + pad("gofer", 14, right: true) + pad("gofer/host", 12, right: true) + "  unit")
        for row in rows {
            Swift.print(
                pad(row.operation, 32) + pad(format(row.host), 14, right: true) + pad(format(row.gofer), 14, right: true)
                    + pad(format(row.gofer / row.host, digits: 2), 12, right: true) + "  " + row.unit
                    + (row.unit == "ns/MiB" ? "  (host \(format(1e9 / row.host)) MiB/s, gofer \(format(1e9 / row.gofer)) MiB/s)" : ""))
        }
        Swift.print("")
        Swift.print("targets")
        if let stat = rows.first(where: { $0.operation.hasPrefix("stat") }) {
            Swift.print("  stat through the gofer <= 15000 ns: \(format(stat.gofer)) ns " + (stat.gofer <= 15000 ? "met" : "MISSED"))
        }
        if let donated = rows.first(where: { $0.operation.hasSuffix("donated fd") }) {
            let ratio = donated.gofer / donated.host
            Swift.print("  donated-fd reads <= 1.2x host: \(format(ratio, digits: 2))x " + (ratio <= 1.2 ? "met" : "MISSED"))
        }
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return right ? fill + text : text + fill
    }

    static func format(_ value: Double, digits: Int = 0) -> String {
        if digits == 0 { return String(Int(value.rounded())) }
        let scaled = Int((value * 100).rounded())
        return "\(scaled / 100).\(String(scaled % 100).count == 1 ? "0" : "")\(scaled % 100)"
    }
}

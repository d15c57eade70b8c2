import LinuxABI
import Synchronization

/// An open directory whose entries are listed once, at the first getdents64(2) (and again
/// after a rewind), and handed out from a cursor: tmpfs and the overlay, whose entries live
/// in the Sentry.
///
/// Locks: `cursor` guards the listing and the position.
final class DirectoryListing: FileOperations, @unchecked Sendable {
    /// One entry: inode number, `d_type`, name.
    typealias Entry = (inode: UInt64, type: UInt8, name: [UInt8])

    private let statFile: () throws(LinuxErrno) -> LinuxStat
    private let list: () throws(LinuxErrno) -> [Entry]
    private let cursor = Mutex<(entries: [Entry]?, next: Int)>((nil, 0))

    init(stat: @escaping () throws(LinuxErrno) -> LinuxStat, entries: @escaping () throws(LinuxErrno) -> [Entry]) {
        self.statFile = stat
        self.list = entries
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { throw .EISDIR }
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { throw .EBADF }
    func stat() throws(LinuxErrno) -> LinuxStat { try statFile() }

    /// lseek(2) on a directory: SEEK_SET to an offset getdents64 reported (an entry index);
    /// 0 lists the directory afresh.
    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 {
        guard whence == 0, offset >= 0 else { throw .EINVAL }
        cursor.withLock { $0 = (nil, Int(offset)) }
        return offset
    }

    func readDirectory(maximumBytes: Int) throws(LinuxErrno) -> [UInt8] {
        let listed: [Entry]
        if let entries = cursor.withLock({ $0.entries }) {
            listed = entries
        } else {
            listed = try list()
        }
        return try cursor.withLock { (cursor) throws(LinuxErrno) -> [UInt8] in
            if cursor.entries == nil { cursor.entries = listed }
            let entries = cursor.entries ?? listed
            var output: [UInt8] = []
            while cursor.next < entries.count {
                let entry = entries[cursor.next]
                let record = direntRecord(inode: entry.inode, offset: UInt64(cursor.next + 1), type: entry.type, name: entry.name)
                guard output.count + record.count <= maximumBytes else {
                    if output.isEmpty { throw .EINVAL }
                    break
                }
                output += record
                cursor.next += 1
            }
            return output
        }
    }
}

/// `struct linux_dirent64`: ino u64, off i64, reclen u16, type u8, name, NUL, padded to 8.
func direntRecord(inode: UInt64, offset: UInt64, type: UInt8, name: [UInt8]) -> [UInt8] {
    let length = (19 + name.count + 1 + 7) & ~7
    var record: [UInt8] = []
    record.reserveCapacity(length)
    withUnsafeBytes(of: inode.littleEndian) { record += $0 }
    withUnsafeBytes(of: offset.littleEndian) { record += $0 }
    withUnsafeBytes(of: UInt16(length).littleEndian) { record += $0 }
    record.append(type)
    record += name
    record += Array(repeating: 0, count: length - record.count)
    return record
}

/// The entries of `linux_dirent64` records (as getdents64 returns them); a record that does
/// not fit or has no NUL ends the list.
func direntEntries(_ bytes: [UInt8]) -> [DirectoryListing.Entry] {
    var entries: [DirectoryListing.Entry] = []
    var offset = 0
    while offset + 19 <= bytes.count {
        let length = Int(bytes[offset + 16]) | Int(bytes[offset + 17]) << 8
        guard length >= 20, offset + length <= bytes.count else { break }
        let inode = bytes[offset..<(offset + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let nameBytes = bytes[(offset + 19)..<(offset + length)]
        guard let end = nameBytes.firstIndex(of: 0) else { break }
        entries.append((inode, bytes[offset + 18], Array(bytes[(offset + 19)..<end])))
        offset += length
    }
    return entries
}

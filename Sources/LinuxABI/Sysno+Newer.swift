// System calls newer than the kernel headers the table is generated from (Debian 12 ships
// 6.1 headers); numbers from the kernel's syscall_64.tbl.

extension Sysno {
    /// fchmodat2(2), Linux 6.6: fchmodat with flags (AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW).
    public static let fchmodat2 = Sysno(452)
}

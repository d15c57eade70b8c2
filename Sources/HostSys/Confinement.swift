import CShim
import Glibc
import LinuxABI

/// The calls a sandbox process makes to confine itself: mounts, pivot_root, capabilities.
public enum Confinement {
    /// Makes every mount of this (new) mount namespace private, so nothing done here
    /// propagates back to the host (mount(2) with MS_REC|MS_PRIVATE on /).
    public static func makeMountsPrivate() throws(Errno) {
        _ = try hostCall { Glibc.mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil) }
    }

    /// Makes `path` the root of this mount namespace and unmounts everything else: bind-mounts
    /// it on itself (read-only when asked), pivot_root(2)s into it and detaches the old root.
    /// Afterwards no path leads outside `path`.
    public static func pivotRoot(to path: String, readOnly: Bool) throws(Errno) {
        _ = try hostCall { Glibc.mount(path, path, nil, UInt(MS_BIND | MS_REC), nil) }
        if readOnly {
            _ = try hostCall { Glibc.mount(nil, path, nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC), nil) }
        }
        _ = try hostCall { chdir(path) }
        // pivot_root(".", "."): the old root is stacked under the new one, then detached.
        _ = try hostCall { Int32(truncatingIfNeeded: ".".withCString { cshim_syscall6(Int(SYS_pivot_root), Int(bitPattern: $0), Int(bitPattern: $0), 0, 0, 0, 0) }) }
        _ = try hostCall { umount2(".", Int32(MNT_DETACH)) }
        _ = try hostCall { chdir("/") }
    }

    /// Makes an empty read-only tmpfs the root of this (new) mount namespace, for a process
    /// that needs no file once it runs (the Sentry): every mount is made private, a tmpfs goes
    /// over /tmp, and `pivotRoot` moves into it. Afterwards no path leads to a host file.
    public static func pivotToEmptyRoot() throws(Errno) {
        try makeMountsPrivate()
        let flags = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)
        _ = try hostCall { Glibc.mount("none", "/tmp", "tmpfs", flags, "size=4k,mode=0555") }
        try pivotRoot(to: "/tmp", readOnly: true)
    }

    /// Remounts this namespace's root read-only (a bind remount: only this namespace sees it).
    public static func remountRootReadOnly() throws(Errno) {
        _ = try hostCall { Glibc.mount(nil, "/", nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY), nil) }
    }

    /// Linux capability numbers (capabilities(7)) a confined process may keep.
    public enum Capability: Int32, CaseIterable, Sendable {
        case chown = 0
        case dacOverride = 1
        case dacReadSearch = 2
        case fowner = 3
        case fsetid = 4
        case kill = 5
        case setgid = 6
        case setuid = 7
        case sysChroot = 18
        case sysPtrace = 19
        case sysAdmin = 21
        case mknod = 27
    }

    /// Keeps only `keep` in the effective and permitted sets, empties the inheritable and
    /// ambient sets, drops every other capability from the bounding set, and sets
    /// no_new_privs, so neither this process nor what it could exec regains any.
    public static func limitCapabilities(to keep: Set<Capability>) throws(Errno) {
        let lastCap = 63
        for capability in 0...lastCap where !keep.contains(where: { $0.rawValue == capability }) {
            // EINVAL: the kernel knows fewer capabilities; nothing to drop.
            if cshim_prctl(PR_CAPBSET_DROP, UInt(capability), 0, 0, 0) != 0 && Errno.current != .EINVAL {
                throw Errno.current
            }
        }
        _ = try hostCall { cshim_prctl(PR_CAP_AMBIENT, UInt(PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0) }
        var mask: UInt64 = 0
        for capability in keep { mask |= 1 << UInt64(capability.rawValue) }
        // struct __user_cap_header_struct { u32 version; int pid; } and two data words of
        // { u32 effective, permitted, inheritable } (_LINUX_CAPABILITY_VERSION_3).
        var header: (UInt32, Int32) = (0x2008_0522, 0)
        var data: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
            UInt32(truncatingIfNeeded: mask), UInt32(truncatingIfNeeded: mask), 0,
            UInt32(truncatingIfNeeded: mask >> 32), UInt32(truncatingIfNeeded: mask >> 32), 0
        )
        _ = try withUnsafeMutablePointer(to: &header) { (headerPointer) throws(Errno) in
            try withUnsafeMutablePointer(to: &data) { (dataPointer) throws(Errno) in
                try hostCall {
                    cshim_syscall6(Int(SYS_capset), Int(bitPattern: headerPointer), Int(bitPattern: dataPointer), 0, 0, 0, 0)
                }
            }
        }
        _ = try hostCall { cshim_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }
    }
}

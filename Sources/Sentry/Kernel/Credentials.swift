import LinuxABI

/// Capabilities (capabilities(7)) as bit numbers of a capability set.
enum Capability {
    static let ipcOwner: UInt64 = 15
    static let chown: UInt64 = 0, dacOverride: UInt64 = 1, dacReadSearch: UInt64 = 2, fowner: UInt64 = 3, fsetid: UInt64 = 4
    static let kill: UInt64 = 5, setgid: UInt64 = 6, setuid: UInt64 = 7, setpcap: UInt64 = 8, linuxImmutable: UInt64 = 9
    static let sysAdmin: UInt64 = 21, sysNice: UInt64 = 23, sysResource: UInt64 = 24, mknod: UInt64 = 27, macOverride: UInt64 = 32, wakeAlarm: UInt64 = 35
    /// CAP_LAST_CAP (CAP_CHECKPOINT_RESTORE) and the set of every capability.
    static let last: UInt64 = 40
    static let all: UInt64 = (1 << (last + 1)) - 1
    /// The capabilities a change of the file-system uid drops from and raises into the
    /// effective set (Linux's CAP_FS_SET).
    static let fileSystemSet: UInt64 = [chown, dacOverride, dacReadSearch, fowner, fsetid, linuxImmutable, mknod, macOverride]
        .reduce(0) { $0 | 1 << $1 }
}

/// The kind of access a permission check asks for (MAY_READ, MAY_WRITE, MAY_EXEC).
struct Access: OptionSet, Sendable {
    let rawValue: UInt32
    static let execute = Access(rawValue: 1), write = Access(rawValue: 2), read = Access(rawValue: 4)
}

/// A process's credentials (credentials(7), capabilities(7)): real, effective, saved and
/// file-system user and group ids, supplementary groups, and capability sets, with the rules
/// by which Linux lets them change and checks file permissions against them.
///
/// Linux keeps credentials per thread, and the C library changes every thread's together
/// (setxid); here they belong to the process, which is what a program sees either way.
struct Credentials: Sendable, Equatable {
    var realUID: UInt32, effectiveUID: UInt32, savedUID: UInt32, fileSystemUID: UInt32
    var realGID: UInt32, effectiveGID: UInt32, savedGID: UInt32, fileSystemGID: UInt32
    /// Supplementary groups, sorted (Linux sorts them; getgroups(2) returns them so).
    var groups: [UInt32]
    var permitted: UInt64, effective: UInt64, inheritable: UInt64 = 0, bounding: UInt64 = Capability.all, ambient: UInt64 = 0
    /// PR_SET_KEEPCAPS: capabilities survive the change of every uid from 0 (until execve).
    var keepCapabilities = false
    /// PR_SET_NO_NEW_PRIVS: execve grants nothing (set-user-ID bits are ignored); never unset.
    var noNewPrivileges = false

    /// The credentials of a process the sandbox starts as `uid`:`gid` (the OCI process user):
    /// root has every capability, another user none, as after Linux's setuid from root.
    init(uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        (realUID, effectiveUID, savedUID, fileSystemUID) = (uid, uid, uid, uid)
        (realGID, effectiveGID, savedGID, fileSystemGID) = (gid, gid, gid, gid)
        self.groups = Array(Set(groups)).sorted()
        (permitted, effective) = uid == 0 ? (Capability.all, Capability.all) : (0, 0)
    }

    static let root = Credentials(uid: 0, gid: 0)

    /// The credentials of the task the calling OS thread runs (root for a thread that runs
    /// none), which file systems give the files they create.
    static var current: Credentials {
        guard let task = Task.current else { return .root }
        return task.credentialOverride ?? task.group.credentials
    }

    func has(_ capability: UInt64) -> Bool { effective & (1 << capability) != 0 }

    /// Whether `gid` is the file-system group or a supplementary one (in_group_p).
    func inGroup(_ gid: UInt32) -> Bool { gid == fileSystemGID || groups.contains(gid) }

    // MARK: Permission checks

    /// Whether `access` to a file with `status` is allowed, as Linux's generic_permission: the
    /// owner's, group's or others' bits by the file-system ids, then CAP_DAC_OVERRIDE (any
    /// read or write; execute only of a directory or a file with an execute bit) and
    /// CAP_DAC_READ_SEARCH (reading, and searching directories).
    func mayAccess(_ status: LinuxStat, _ access: Access) -> Bool {
        let mode = status.mode
        let bits: UInt32
        if status.uid == fileSystemUID {
            bits = (mode >> 6) & 7
        } else if inGroup(status.gid) {
            bits = (mode >> 3) & 7
        } else {
            bits = mode & 7
        }
        if access.rawValue & ~bits == 0 { return true }
        let isDirectory = mode & FileMode.typeMask == FileMode.directory
        if has(Capability.dacOverride) && (!access.contains(.execute) || isDirectory || mode & 0o111 != 0) { return true }
        if has(Capability.dacReadSearch) && !access.contains(.write) && (isDirectory || !access.contains(.execute)) { return true }
        return false
    }

    /// Throws EACCES unless `mayAccess`.
    func require(_ access: Access, to status: LinuxStat) throws(LinuxErrno) {
        guard mayAccess(status, access) else { throw .EACCES }
    }

    /// Whether the caller owns a file with `status` or may act as its owner (inode_owner_or_capable).
    func ownsOrMayOverride(_ status: LinuxStat) -> Bool { status.uid == fileSystemUID || has(Capability.fowner) }

    /// The sticky-bit rule of removing or renaming a name in `directory`: in a sticky
    /// directory only the owner of the file or of the directory (or CAP_FOWNER) may (EPERM).
    func requireMayDelete(_ file: LinuxStat, from directory: LinuxStat) throws(LinuxErrno) {
        guard directory.mode & FileMode.sticky != 0 else { return }
        guard file.uid == fileSystemUID || directory.uid == fileSystemUID || has(Capability.fowner) else { throw .EPERM }
    }

    /// What access(2) checks with: the real ids as the file-system ids, and without root's
    /// capabilities unless the real uid is root (faccessat without AT_EACCESS).
    var forAccessCheck: Credentials {
        var checked = self
        checked.fileSystemUID = realUID
        checked.fileSystemGID = realGID
        if realUID != 0 { checked.effective = 0 } else { checked.effective = permitted }
        return checked
    }

    // MARK: Changes of ids (setuid(2) and the rest)

    private static let unchanged = UInt32.max

    /// setuid(2): with CAP_SETUID every uid; otherwise the effective (and file-system) uid
    /// to the real or saved one (EPERM else).
    mutating func setUID(_ uid: UInt32) throws(LinuxErrno) {
        guard uid != Self.unchanged else { throw .EINVAL }
        let old = self
        if has(Capability.setuid) {
            (realUID, effectiveUID, savedUID, fileSystemUID) = (uid, uid, uid, uid)
        } else if uid == realUID || uid == savedUID {
            (effectiveUID, fileSystemUID) = (uid, uid)
        } else {
            throw .EPERM
        }
        fixCapabilities(after: old)
    }

    /// setreuid(2): -1 keeps an id. Without CAP_SETUID, the real uid may become the
    /// effective one, the effective any of the three. The saved uid follows the effective
    /// when the real changes or the effective becomes other than the old real.
    mutating func setREUID(real: UInt32, effective newEffective: UInt32) throws(LinuxErrno) {
        let old = self, privileged = has(Capability.setuid)
        if real != Self.unchanged {
            guard privileged || real == old.realUID || real == old.effectiveUID else { throw .EPERM }
            realUID = real
        }
        if newEffective != Self.unchanged {
            guard privileged || [old.realUID, old.effectiveUID, old.savedUID].contains(newEffective) else { throw .EPERM }
            effectiveUID = newEffective
        }
        if real != Self.unchanged || (newEffective != Self.unchanged && newEffective != old.realUID) { savedUID = effectiveUID }
        fileSystemUID = effectiveUID
        fixCapabilities(after: old)
    }

    /// setresuid(2): -1 keeps an id; without CAP_SETUID each new id must be one of the three
    /// old ones.
    mutating func setRESUID(real: UInt32, effective newEffective: UInt32, saved: UInt32) throws(LinuxErrno) {
        // Nothing to change (Linux returns before anything, the file-system uid included).
        if (real == Self.unchanged || real == realUID) && (newEffective == Self.unchanged || (newEffective == effectiveUID && newEffective == fileSystemUID))
            && (saved == Self.unchanged || saved == savedUID)
        {
            return
        }
        let old = self, allowed = [old.realUID, old.effectiveUID, old.savedUID]
        for id in [real, newEffective, saved] where id != Self.unchanged {
            guard has(Capability.setuid) || allowed.contains(id) else { throw .EPERM }
        }
        if real != Self.unchanged { realUID = real }
        if newEffective != Self.unchanged { effectiveUID = newEffective }
        if saved != Self.unchanged { savedUID = saved }
        fileSystemUID = effectiveUID
        fixCapabilities(after: old)
    }

    /// setfsuid(2): returns the old file-system uid; changes it to one of the real,
    /// effective, saved or current ones (any with CAP_SETUID), else changes nothing.
    mutating func setFileSystemUID(_ uid: UInt32) -> UInt32 {
        let old = self
        guard uid != Self.unchanged,
            has(Capability.setuid) || [realUID, effectiveUID, savedUID, fileSystemUID].contains(uid)
        else { return old.fileSystemUID }
        fileSystemUID = uid
        if old.fileSystemUID == 0 && uid != 0 { effective &= ~Capability.fileSystemSet }
        if old.fileSystemUID != 0 && uid == 0 { effective |= Capability.fileSystemSet & permitted }
        return old.fileSystemUID
    }

    /// Linux's cap_emulate_setxuid: leaving uid 0 in all of real, effective and saved drops
    /// the permitted and effective sets (unless PR_SET_KEEPCAPS) and the ambient one; an
    /// effective uid leaving 0 drops the effective set, one coming to 0 raises it to the
    /// permitted one.
    private mutating func fixCapabilities(after old: Credentials) {
        let wasRoot = old.realUID == 0 || old.effectiveUID == 0 || old.savedUID == 0
        if wasRoot && realUID != 0 && effectiveUID != 0 && savedUID != 0 {
            if !keepCapabilities { (permitted, effective) = (0, 0) }
            ambient = 0
        }
        if old.effectiveUID == 0 && effectiveUID != 0 { effective = 0 }
        if old.effectiveUID != 0 && effectiveUID == 0 { effective = permitted }
    }

    /// setgid(2), as setuid with CAP_SETGID (capabilities do not change with gids).
    mutating func setGID(_ gid: UInt32) throws(LinuxErrno) {
        guard gid != Self.unchanged else { throw .EINVAL }
        if has(Capability.setgid) {
            (realGID, effectiveGID, savedGID, fileSystemGID) = (gid, gid, gid, gid)
        } else if gid == realGID || gid == savedGID {
            (effectiveGID, fileSystemGID) = (gid, gid)
        } else {
            throw .EPERM
        }
    }

    /// setregid(2), as setreuid.
    mutating func setREGID(real: UInt32, effective newEffective: UInt32) throws(LinuxErrno) {
        let old = self, privileged = has(Capability.setgid)
        if real != Self.unchanged {
            guard privileged || real == old.realGID || real == old.effectiveGID else { throw .EPERM }
            realGID = real
        }
        if newEffective != Self.unchanged {
            guard privileged || [old.realGID, old.effectiveGID, old.savedGID].contains(newEffective) else { throw .EPERM }
            effectiveGID = newEffective
        }
        if real != Self.unchanged || (newEffective != Self.unchanged && newEffective != old.realGID) { savedGID = effectiveGID }
        fileSystemGID = effectiveGID
    }

    /// setresgid(2), as setresuid.
    mutating func setRESGID(real: UInt32, effective newEffective: UInt32, saved: UInt32) throws(LinuxErrno) {
        if (real == Self.unchanged || real == realGID) && (newEffective == Self.unchanged || (newEffective == effectiveGID && newEffective == fileSystemGID))
            && (saved == Self.unchanged || saved == savedGID)
        {
            return
        }
        let allowed = [realGID, effectiveGID, savedGID]
        for id in [real, newEffective, saved] where id != Self.unchanged {
            guard has(Capability.setgid) || allowed.contains(id) else { throw .EPERM }
        }
        if real != Self.unchanged { realGID = real }
        if newEffective != Self.unchanged { effectiveGID = newEffective }
        if saved != Self.unchanged { savedGID = saved }
        fileSystemGID = effectiveGID
    }

    /// setfsgid(2), as setfsuid.
    mutating func setFileSystemGID(_ gid: UInt32) -> UInt32 {
        let old = fileSystemGID
        guard gid != Self.unchanged, has(Capability.setgid) || [realGID, effectiveGID, savedGID, fileSystemGID].contains(gid) else { return old }
        fileSystemGID = gid
        return old
    }

    // MARK: execve

    /// The credentials after execve(2) of a file with `status`: a set-user-ID (set-group-ID)
    /// file runs with its owner (group) as the effective and saved id unless no_new_privs;
    /// root (real or effective uid 0) gets the bounding set as permitted, and as effective
    /// when its effective uid is 0; another user keeps only its ambient capabilities.
    /// PR_SET_KEEPCAPS ends.
    func afterExec(of status: LinuxStat) -> Credentials {
        var new = self
        if !noNewPrivileges {
            if status.mode & FileMode.setUID != 0 { new.effectiveUID = status.uid }
            if status.mode & FileMode.setGID != 0 && status.mode & 0o010 != 0 { new.effectiveGID = status.gid }
        }
        (new.savedUID, new.fileSystemUID) = (new.effectiveUID, new.effectiveUID)
        (new.savedGID, new.fileSystemGID) = (new.effectiveGID, new.effectiveGID)
        if new.effectiveUID != realUID || new.effectiveGID != realGID { new.ambient = 0 }
        if new.realUID == 0 || new.effectiveUID == 0 {
            new.permitted = inheritable | bounding | new.ambient
            new.effective = new.effectiveUID == 0 ? new.permitted : new.ambient
        } else {
            new.permitted = new.ambient
            new.effective = new.ambient
        }
        if noNewPrivileges {
            // no_new_privs: nothing is gained (Linux keeps the ids and intersects the sets).
            (new.effectiveUID, new.savedUID, new.fileSystemUID) = (effectiveUID, effectiveUID, effectiveUID)
            (new.effectiveGID, new.savedGID, new.fileSystemGID) = (effectiveGID, effectiveGID, effectiveGID)
            new.permitted &= permitted
            new.effective &= new.permitted
            new.ambient &= new.permitted
        }
        new.keepCapabilities = false
        return new
    }

    /// Whether an execve that went from `old` to these credentials is a secure execution
    /// (AT_SECURE, Linux's bprm->secureexec): it changed the effective ids, or a process
    /// whose real uid is not root gained capabilities.
    func isSecureExec(from old: Credentials) -> Bool {
        effectiveUID != old.realUID || effectiveGID != old.realGID || (realUID != 0 && permitted & ~old.permitted != 0)
    }
}

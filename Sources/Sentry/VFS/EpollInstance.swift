import HostSys
import LinuxABI
import Synchronization

/// An epoll instance (epoll(7)): the files a program watches, by fd, with the events it
/// asked for and the 64-bit data it gets back. Readiness comes from each file's `readiness`
/// when the program waits (the Sentry's wake-ups say when to look again).
///
/// Edge-triggered entries (EPOLLET) report a readiness bit when it appears, and again after
/// an event of the file since their last report (its `eventStamp` moved: data arrived, room
/// was made, a peer went), as Linux reports each event; between events, a bit already
/// reported is not reported again. Pipes, AF_UNIX and AF_INET sockets count their own
/// events; other files give the Sentry-wide generation, so any change anywhere counts for
/// them (more reports than Linux). One difference the other way: the Netstack reports new
/// data into an AF_INET socket that is still readable only once the program has read from
/// it (or accepted, for a listener) since the last report, where Linux reports each
/// arrival; a program that waits again without reading is not woken by more data. One-shot
/// entries (EPOLLONESHOT) are disarmed after one report until EPOLL_CTL_MOD.
///
/// Locks: `entries` (a mutex) guards the interest list; a wait scans a copy.
final class EpollInstance: FileOperations, @unchecked Sendable {
    struct Entry {
        weak var file: FileDescription?
        var events: UInt32
        var data: UInt64
        /// Bits reported to an edge-triggered entry and still set at the last scan, and the
        /// file's event stamp at that report.
        var reported: UInt32 = 0
        var reportedStamp: UInt64 = 0
        var disarmed = false
    }

    static let edgeTriggered: UInt32 = 1 << 31, oneShot: UInt32 = 1 << 30
    /// Bits always reported, asked for or not (EPOLLERR, EPOLLHUP).
    static let always: UInt32 = 0x8 | 0x10

    let entries = Mutex<[Int32: Entry]>([:])
    let inode: UInt64

    init(inode: UInt64) { self.inode = inode }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { throw .EINVAL }
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { throw .EINVAL }

    func stat() throws(LinuxErrno) -> LinuxStat {
        var stat = LinuxStat()
        stat.mode = 0o600  // an anonymous inode: no file type bits
        stat.ino = inode
        stat.nlink = 1
        stat.blksize = 4096
        return stat
    }

    /// Whether `other` is watched by this instance, directly or through watched instances
    /// (at most `depth` levels down), or the nesting is deeper than that: either would let
    /// a readiness check loop forever or go too deep, so epoll_ctl refuses it (ELOOP).
    func reaches(_ other: EpollInstance, depth: Int = 4) -> Bool {
        if self === other || depth == 0 { return true }
        let nested = entries.withLock { $0.values.compactMap { $0.file?.operations as? EpollInstance } }
        return nested.contains { $0.reaches(other, depth: depth - 1) }
    }

    /// How deep the calling thread is in nested instances' readiness checks.
    private final class Depth { var value = 0 }
    private static let nesting = ThreadLocal<Depth>()

    /// An epoll fd is readable when one of its entries has an event. A check nested deeper
    /// than Linux allows (however the nesting was built) reports nothing, so no chain or race
    /// can recurse without bound.
    func readiness(_ events: PollEvents) -> PollEvents {
        let depth = Self.nesting.value ?? Depth()
        Self.nesting.value = depth
        guard depth.value < 5 else { return [] }
        depth.value += 1
        defer { depth.value -= 1 }
        return collect(maximum: 1, consume: false).isEmpty ? [] : events.intersection(.input)
    }

    /// The events ready now, at most `maximum`, as (events, data); with `consume`, edge and
    /// one-shot entries take note that they were reported. An entry whose open file is gone
    /// (every fd of it closed) is skipped, as Linux drops it then.
    func collect(maximum: Int, consume: Bool) -> [(UInt32, UInt64)] {
        let snapshot = entries.withLock { $0 }
        var ready: [(Int32, UInt32, UInt64)] = []
        var seen: [Int32: (events: UInt32, stamp: UInt64)] = [:]
        for (fd, entry) in snapshot.sorted(by: { $0.key < $1.key }) where !entry.disarmed {
            guard let file = entry.file else { continue }
            let wanted = entry.events & 0xffff | Self.always
            let (events, stamp) = file.operations.stampedReadiness(PollEvents(rawValue: Int16(truncatingIfNeeded: wanted)))
            let now = UInt32(UInt16(bitPattern: events.rawValue)) & wanted
            seen[fd] = (now, stamp)
            var report = now
            // No event since the last report: the bits it reported are not news.
            if entry.events & Self.edgeTriggered != 0 && file.operations.eventStamp <= entry.reportedStamp { report &= ~entry.reported }
            if report != 0 && ready.count < maximum { ready.append((fd, report, entry.data)) }
        }
        if consume {
            let reportedFDs = Set(ready.map(\.0))
            entries.withLock { list in
                for (fd, (now, stamp)) in seen {
                    guard var entry = list[fd] else { continue }
                    // Bits gone since re-arm the edge; reported bits are remembered.
                    entry.reported &= now
                    if reportedFDs.contains(fd) {
                        entry.reported |= now
                        entry.reportedStamp = stamp
                        if entry.events & Self.oneShot != 0 { entry.disarmed = true }
                    }
                    list[fd] = entry
                }
            }
        }
        return ready.map { ($0.1, $0.2) }
    }
}

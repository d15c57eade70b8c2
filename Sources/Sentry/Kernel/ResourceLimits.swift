/// Resource limits (getrlimit(2)): the resource numbers and the limits a sandboxed program
/// starts with (those of a Linux login shell, with the open-file limit gVisor uses).
enum ResourceLimits {
    static let infinity = UInt64.max
    static let cpu = 0, fileSize = 1, data = 2, stack = 3, core = 4, rss = 5, processes = 6, openFiles = 7
    static let memoryLock = 8, addressSpace = 9, locks = 10, pendingSignals = 11, messageQueue = 12
    static let nice = 13, realtimePriority = 14, realtimeTime = 15
    /// The number of resources Linux defines (RLIM_NLIMITS).
    static let count = 16

    static let defaults: [Int: (UInt64, UInt64)] = {
        var limits: [Int: (UInt64, UInt64)] = [:]
        for resource in 0..<count { limits[resource] = (infinity, infinity) }
        limits[stack] = (8 << 20, infinity)
        limits[core] = (0, infinity)
        limits[processes] = (127_655, 127_655)
        limits[openFiles] = (1 << 20, 1 << 20)
        limits[memoryLock] = (8 << 20, 8 << 20)
        limits[pendingSignals] = (127_655, 127_655)
        limits[messageQueue] = (819_200, 819_200)
        limits[nice] = (0, 0)
        limits[realtimePriority] = (0, 0)
        return limits
    }()
}
